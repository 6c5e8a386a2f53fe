package postgres_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// A Slack incoming webhook URL is a credential: whoever has it can post.
const (
	hookURL    = "https://hooks.slack.com/services/T0HANOI00/B0CYBER00/s3cr3tW3bh00kP4th"
	hookSecret = "hmac-5f0c2d9b8e7a"
)

// tableBytes returns every row of a table as PostgreSQL writes it out
// (bytea in hexadecimal).
func tableBytes(t *testing.T, url, table string) []byte {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(t.Context()) }()
	var out []byte
	rows, err := conn.Query(t.Context(), `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			t.Fatal(err)
		}
		out = append(out, text...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sealedBytes returns the sealed values as stored.
func sealedBytes(t *testing.T, url string) []byte {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(t.Context()) }()
	var out []byte
	rows, err := conn.Query(t.Context(), `SELECT sealed FROM sink_secrets`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// TestSinkSecrets_SharedByInstancesSealedAtRest stores a webhook's secret
// through one instance and reads it through another given the same key;
// the database holds it sealed, and the key not at all.
func TestSinkSecrets_SharedByInstancesSealedAtRest(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewMigratedDatabase(t)
	a, b := mustOpenPorts(t, url), mustOpenPorts(t, url)
	want := events.SinkSecret{URL: hookURL, Secret: hookSecret}
	if err := a.PutSinkSecret(ctx, "ngo-cyber", want); err != nil {
		t.Fatal(err)
	}
	got, err := b.SinkSecret(ctx, "ngo-cyber")
	if err != nil || got != want {
		t.Fatalf("the other instance reads %+v, %v; want %+v", got, err, want)
	}
	if ids, err := b.SinkSecretIDs(ctx); err != nil || len(ids) != 1 || ids[0] != "ngo-cyber" {
		t.Fatalf("SinkSecretIDs = %v, %v", ids, err)
	}
	raw := append(append(tableBytes(t, url, "sink_secrets"), tableBytes(t, url, "sink_secrets_key")...), sealedBytes(t, url)...)
	for _, secret := range [][]byte{[]byte(hookURL), []byte("s3cr3tW3bh00kP4th"), []byte(hookSecret), testSecretsKey, []byte(hex.EncodeToString(testSecretsKey))} {
		if bytes.Contains(raw, secret) {
			t.Errorf("the database holds %q in plain text", secret)
		}
	}
	if err := b.DeleteSinkSecret(ctx, "ngo-cyber"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SinkSecret(ctx, "ngo-cyber"); !errors.Is(err, events.ErrNotFound) {
		t.Errorf("a deleted secret: %v, want ErrNotFound", err)
	}
	if err := a.DeleteSinkSecret(ctx, "ngo-cyber"); err != nil {
		t.Errorf("deleting a secret that is gone: %v", err)
	}
}

// TestSinkSecrets_AnotherKeyIsRefused gives a second instance another
// key: it can neither seal a secret the first cannot open, nor read one,
// and what it was refused leaves the database as it was.
func TestSinkSecrets_AnotherKeyIsRefused(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewMigratedDatabase(t)
	a := mustOpenPorts(t, url)
	other := mustOpenPortsWith(t, url, postgres.Config{SecretsKey: []byte("fedcba9876543210fedcba9876543210")})
	want := events.SinkSecret{URL: hookURL, Secret: hookSecret}
	if err := a.PutSinkSecret(ctx, "ngo-cyber", want); err != nil {
		t.Fatal(err)
	}
	before := sealedBytes(t, url)
	err := other.PutSinkSecret(ctx, "treaty-office", events.SinkSecret{URL: "https://hooks.slack.com/services/T0/B0/x"})
	var km *postgres.KeyMismatchError
	if !errors.As(err, &km) || !errors.Is(err, events.ErrRefused) {
		t.Fatalf("sealing with another key: %v, want a *KeyMismatchError wrapping ErrRefused", err)
	}
	if !strings.Contains(err.Error(), "same key") {
		t.Errorf("the refusal does not say what to do: %v", err)
	}
	if _, err := other.SinkSecret(ctx, "ngo-cyber"); !errors.As(err, &km) {
		t.Errorf("reading with another key: %v, want a *KeyMismatchError", err)
	}
	if ids, err := a.SinkSecretIDs(ctx); err != nil || len(ids) != 1 {
		t.Errorf("secrets after the refusal: %v %v, want the first one only", ids, err)
	}
	if after := sealedBytes(t, url); !bytes.Equal(after, before) {
		t.Error("a refused seal changed the stored secrets")
	}
	if got, err := a.SinkSecret(ctx, "ngo-cyber"); err != nil || got != want {
		t.Errorf("the first instance reads %+v %v after the refusal", got, err)
	}
}

// TestSinkSecrets_KeyRequired checks that a store given no key says so
// rather than invent one that the other instances would not have, and
// that a key file is created on first use (0600) and read by the next
// instance.
func TestSinkSecrets_KeyRequired(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewMigratedDatabase(t)
	none := mustOpenPortsWith(t, url, postgres.Config{})
	err := none.PutSinkSecret(ctx, "ngo-cyber", events.SinkSecret{URL: hookURL})
	if !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), "SecretsKey") {
		t.Fatalf("sealing without a key: %v, want ErrInvalid naming SecretsKey", err)
	}
	if ids, err := none.SinkSecretIDs(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("secrets after the refusal: %v %v", ids, err)
	}

	keyFile := filepath.Join(t.TempDir(), "secrets-key")
	a := mustOpenPortsWith(t, url, postgres.Config{SecretsKeyFile: keyFile})
	if err := a.PutSinkSecret(ctx, "ngo-cyber", events.SinkSecret{URL: hookURL}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets key file: %v, %v; want mode 0600", fi, err)
	}
	b := mustOpenPortsWith(t, url, postgres.Config{SecretsKeyFile: keyFile})
	if got, err := b.SinkSecret(ctx, "ngo-cyber"); err != nil || got.URL != hookURL {
		t.Errorf("an instance given the same key file reads %+v %v", got, err)
	}
	if _, err := postgres.Open(ctx, url, postgres.Config{SecretsKey: []byte("short")}, nil); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Open with a 5-byte key: %v, want ErrInvalid", err)
	}
}
