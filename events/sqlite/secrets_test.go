package sqlite_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// A Slack incoming webhook URL is a credential: whoever has it can post.
const (
	hookURL    = "https://hooks.slack.com/services/T0HANOI00/B0CYBER00/s3cr3tW3bh00kP4th"
	hookSecret = "hmac-5f0c2d9b8e7a"
)

// fileBytes returns the database file and its -wal as one byte slice.
func fileBytes(tb testing.TB, path string) []byte {
	tb.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			tb.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestSinkSecrets_SealedAtRest(t *testing.T) {
	ctx := t.Context()
	path := TempPath(t)
	s := MustOpen(t, path)
	want := events.SinkSecret{URL: hookURL, Secret: hookSecret}
	if err := s.PutSinkSecret(ctx, "ngo-cyber", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.SinkSecret(ctx, "ngo-cyber")
	if err != nil || got != want {
		t.Fatalf("SinkSecret = %+v, %v; want %+v", got, err, want)
	}
	if ids, err := s.SinkSecretIDs(ctx); err != nil || len(ids) != 1 || ids[0] != "ngo-cyber" {
		t.Fatalf("SinkSecretIDs = %v, %v", ids, err)
	}
	raw := fileBytes(t, path)
	for _, secret := range []string{hookURL, "s3cr3tW3bh00kP4th", hookSecret} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file holds %q in plain text", secret)
		}
	}
	fi, err := os.Stat(path + ".secrets-key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets key file: %v, %v; want mode 0600", fi, err)
	}

	// Another store with another key cannot open it; without the key file
	// the error says what to do.
	other := MustOpenConfig(t, path, sqlite.Config{SecretsKey: bytes.Repeat([]byte{7}, 32)})
	if _, err := other.SinkSecret(ctx, "ngo-cyber"); err == nil || !strings.Contains(err.Error(), "cannot be opened") {
		t.Errorf("with another key: %v", err)
	}
	if err := os.Rename(path+".secrets-key", path+".moved"); err != nil {
		t.Fatal(err)
	}
	fresh := MustOpen(t, path)
	if _, err := fresh.SinkSecret(ctx, "ngo-cyber"); err == nil || !strings.Contains(err.Error(), "restore it from the backup") {
		t.Errorf("without the key file: %v", err)
	}

	if err := s.DeleteSinkSecret(ctx, "ngo-cyber"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SinkSecret(ctx, "ngo-cyber"); !errors.Is(err, events.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func TestOpen_FilesAreTheOwnersOnly(t *testing.T) {
	path := TempPath(t)
	s := MustOpen(t, path)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 3)})
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), perm)
		}
	}

	t.Run("files made by earlier versions are tightened", func(t *testing.T) {
		dir := t.TempDir()
		old := filepath.Join(dir, "old.db")
		if err := os.WriteFile(old, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(old, 0o644); err != nil {
			t.Fatal(err)
		}
		MustOpen(t, old)
		if fi, err := os.Stat(old); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("old file: %v %v, want mode 0600", fi.Mode(), err)
		}
	})
	t.Run("folders it creates are the owner's only", func(t *testing.T) {
		nested := filepath.Join(t.TempDir(), "data", "ledger.db")
		MustOpen(t, nested)
		if fi, err := os.Stat(filepath.Dir(nested)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("folder: %v %v, want mode 0700", fi.Mode(), err)
		}
	})
}

// TestSubscribe_SecretsNeverInTheLog: the log keeps the subscription id,
// the endpoint's scheme and host and a fingerprint; the URL and the HMAC
// secret are sealed in their own table and deleted with the subscription.
func TestSubscribe_SecretsNeverInTheLog(t *testing.T) {
	ctx := t.Context()
	path := TempPath(t)
	s := MustOpen(t, path)
	l := ledgerOn(t, s, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	for _, def := range shippedDefinitions(t) {
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	secret := events.SinkSecret{URL: hookURL}
	e, err := l.Subscribe(ctx, events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{"hanoi"}, On: []string{"deposits"}}, secret, events.Metadata{Actor: "ngo"})
	if err != nil {
		t.Fatal(err)
	}
	var created events.SubscriptionCreated
	if err := json.Unmarshal(e.Payload, &created); err != nil {
		t.Fatal(err)
	}
	sub := created.Subscription
	if sub.Endpoint != "https://hooks.slack.com/…" || sub.SecretFingerprint != secret.Fingerprint() || sub.Treaties[0] != "XVIII-16" {
		t.Errorf("stored subscription %+v", sub)
	}
	if strings.Contains(string(e.Payload), "s3cr3t") {
		t.Errorf("the event holds the URL: %s", e.Payload)
	}
	if got, err := s.SinkSecret(ctx, sub.ID); err != nil || got != secret {
		t.Fatalf("stored secret %+v, %v", got, err)
	}
	if bytes.Contains(fileBytes(t, path), []byte("s3cr3tW3bh00kP4th")) {
		t.Error("the database file holds the webhook URL in plain text")
	}

	// The same subscription again, from anywhere, is refused.
	again := events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{"XVIII-16"}, On: []string{"deposits"}}
	_, err = l.Subscribe(ctx, again, secret, events.Metadata{})
	var dup *events.DuplicateSubscriptionError
	if !errors.As(err, &dup) || dup.ID != sub.ID || !errors.Is(err, events.ErrDuplicate) || !strings.Contains(err.Error(), "already subscribed as "+sub.ID) {
		t.Fatalf("identical subscription: %v", err)
	}
	// Another topic, another treaty or another URL is another subscription.
	for _, other := range []struct {
		sub    events.Subscription
		secret events.SinkSecret
	}{
		{events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{"XVIII-16"}, On: []string{"milestones"}}, secret},
		{events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{"XXVI-9"}, On: []string{"deposits"}}, secret},
		{events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{"XVIII-16"}, On: []string{"deposits"}}, events.SinkSecret{URL: hookURL + "x"}},
	} {
		if _, err := l.Subscribe(ctx, other.sub, other.secret, events.Metadata{}); err != nil {
			t.Errorf("%+v: %v", other.sub, err)
		}
	}

	if _, err := l.Unsubscribe(ctx, sub.ID, events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SinkSecret(ctx, sub.ID); !errors.Is(err, events.ErrNotFound) {
		t.Errorf("after unsubscribe the secret is still stored: %v", err)
	}
	// Once removed, subscribing the same way again is allowed.
	if _, err := l.Subscribe(ctx, again, secret, events.Metadata{}); err != nil {
		t.Errorf("subscribe again after unsubscribe: %v", err)
	}
}

// TestSubscribe_LegacySecrets reads a subscription written by an earlier
// version, whose event (schema version 1) holds the URL and the HMAC
// secret: it decodes without them, its secret is adopted into the secret
// store so the sink keeps working, and Redact shows it without them.
func TestSubscribe_LegacySecrets(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, TempPath(t))
	l := ledgerOn(t, s, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	v1 := `{"subscription":{"id":"old-hook","sink":"webhook","url":"https://ngo.example/hooks/abc123","treaties":["XVIII-16"],"on":["all"],"secret":"` + hookSecret + `"}}`
	MustAppend(t, s, events.StreamAppend{Stream: events.SubscriptionStream("old-hook"), Records: []events.Record{
		{Type: events.TypeSubscriptionCreated, SchemaVersion: 1, Payload: json.RawMessage(v1)},
	}})
	subs, err := l.Subscriptions(ctx)
	if err != nil || len(subs) != 1 {
		t.Fatalf("Subscriptions = %+v, %v", subs, err)
	}
	want := events.SinkSecret{URL: "https://ngo.example/hooks/abc123", Secret: hookSecret}
	if got := subs[0]; got.ID != "old-hook" || got.Endpoint != "https://ngo.example/…" || !got.LegacySecretsInLog || got.SecretFingerprint != want.Fingerprint() {
		t.Errorf("upcast subscription %+v", got)
	}
	legacy, err := l.AdoptLegacySinkSecrets(ctx)
	if err != nil || len(legacy) != 1 || legacy[0] != "old-hook" {
		t.Fatalf("AdoptLegacySinkSecrets = %v, %v", legacy, err)
	}
	if got, err := s.SinkSecret(ctx, "old-hook"); err != nil || got != want {
		t.Fatalf("adopted secret %+v, %v", got, err)
	}
	page, err := s.ReadAll(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	shown := events.Redact(page[0])
	if strings.Contains(string(shown.Payload), "abc123") || strings.Contains(string(shown.Payload), hookSecret) || !strings.Contains(string(shown.Payload), `"legacy_secrets_in_log":true`) {
		t.Errorf("redacted payload %s", shown.Payload)
	}
	if err := s.Verify(ctx); err != nil {
		t.Errorf("the stored event is unchanged: %v", err)
	}
	// Unsubscribing deletes the adopted secret; the sweep finds nothing.
	if _, err := l.Unsubscribe(ctx, "old-hook", events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.SweepSinkSecrets(ctx); err != nil || n != 0 {
		t.Errorf("SweepSinkSecrets = %d, %v", n, err)
	}
}

// TestSweepSinkSecrets removes a secret whose subscription was never
// recorded (the process stopped between the two writes).
func TestSweepSinkSecrets(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, TempPath(t))
	l := ledgerOn(t, s, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err := s.PutSinkSecret(ctx, "orphan", events.SinkSecret{URL: hookURL}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.SweepSinkSecrets(ctx); err != nil || n != 1 {
		t.Fatalf("SweepSinkSecrets = %d, %v; want 1", n, err)
	}
	if ids, _ := s.SinkSecretIDs(ctx); len(ids) != 0 {
		t.Errorf("left %v", ids)
	}
}
