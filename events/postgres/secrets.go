package postgres

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sealing"
)

// Compile-time check that Store implements events.SecretStore.
var _ events.SecretStore = (*Store)(nil)

// needKey is the refusal of a PostgreSQL store given neither a secrets key
// nor a key file: every instance must seal with the same key, which the
// database never holds.
func (s *Store) needKey() error {
	if !s.sealer.HasKey() && s.sealer.KeyFile() == "" {
		return fmt.Errorf("a PostgreSQL store keeps sink secrets sealed with a secrets key that every instance is given, and none was: set Config.SecretsKey or Config.SecretsKeyFile (the same key on every instance): %w", events.ErrInvalid)
	}
	return nil
}

// KeyMismatchError is returned when the secrets key a store was given is
// not the one the database's sink secrets were sealed with (another
// instance's). It wraps events.ErrRefused.
type KeyMismatchError struct {
	// Key describes the key given: its file, or "the configured secrets
	// key".
	Key string
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("the secrets key in %s is not the key the sink secrets of this database were sealed with: give every instance the same key (TREATYWATCH_SECRETS_KEY or the same key file)", e.Key)
}

// Unwrap returns events.ErrRefused.
func (e *KeyMismatchError) Unwrap() error { return events.ErrRefused }

// checkKey compares, in tx, the key's check with the database's; when
// record is set and the database has none, it records it (the first
// instance to seal a secret).
func (s *Store) checkKey(ctx context.Context, tx pgx.Tx, check string, record bool) error {
	if s.keyChecked.Load() {
		return nil
	}
	if record {
		if _, err := tx.Exec(ctx, `INSERT INTO sink_secrets_key (id, key_check, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
			check, s.now().UnixNano()); err != nil {
			return fmt.Errorf("record the secrets key check: %w", err)
		}
	}
	var kept string
	err := tx.QueryRow(ctx, `SELECT key_check FROM sink_secrets_key WHERE id = 1`).Scan(&kept)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // nothing sealed yet
	}
	if err != nil {
		return fmt.Errorf("read the secrets key check: %w", err)
	}
	if !hmac.Equal([]byte(kept), []byte(check)) {
		return &KeyMismatchError{Key: s.sealer.Describe()}
	}
	s.keyChecked.Store(true)
	return nil
}

// PutSinkSecret implements events.SecretStore: the secret is sealed with
// AES-256-GCM under the secrets key and stored in sink_secrets, replacing
// any.
func (s *Store) PutSinkSecret(ctx context.Context, subscription string, secret events.SinkSecret) error {
	if err := s.needKey(); err != nil {
		return err
	}
	check, err := s.sealer.Check(true)
	if err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(subscription, secret)
	if err != nil {
		return err
	}
	return s.portTx(ctx, func(tx pgx.Tx) error {
		if err := s.checkKey(ctx, tx, check, true); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sink_secrets (subscription, sealed, created_at) VALUES ($1, $2, $3)
ON CONFLICT (subscription) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`,
			subscription, sealed, s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("store sink secret of %s: %w", subscription, err)
		}
		return nil
	})
}

// SinkSecret implements events.SecretStore. It returns an error wrapping
// events.ErrNotFound when the subscription has no stored secret, a
// *KeyMismatchError when the store's key is not the database's, and an
// error naming the key when the secret cannot be opened with it.
func (s *Store) SinkSecret(ctx context.Context, subscription string) (events.SinkSecret, error) {
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT sealed FROM sink_secrets WHERE subscription = $1`, subscription).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.SinkSecret{}, fmt.Errorf("no sink secret for subscription %s: %w", subscription, events.ErrNotFound)
	}
	if err != nil {
		return events.SinkSecret{}, fmt.Errorf("read sink secret of %s: %w", subscription, err)
	}
	if err := s.needKey(); err != nil {
		return events.SinkSecret{}, err
	}
	check, err := s.sealer.Check(false)
	if err != nil {
		return events.SinkSecret{}, err
	}
	if err := s.portTx(ctx, func(tx pgx.Tx) error { return s.checkKey(ctx, tx, check, false) }); err != nil {
		return events.SinkSecret{}, err
	}
	return s.sealer.Open(subscription, sealed)
}

// DeleteSinkSecret implements events.SecretStore.
func (s *Store) DeleteSinkSecret(ctx context.Context, subscription string) error {
	if _, err := s.execOne(ctx, `DELETE FROM sink_secrets WHERE subscription = $1`, subscription); err != nil {
		return fmt.Errorf("delete sink secret of %s: %w", subscription, err)
	}
	return nil
}

// SinkSecretIDs implements events.SecretStore.
func (s *Store) SinkSecretIDs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT subscription FROM sink_secrets ORDER BY subscription`)
	if err != nil {
		return nil, fmt.Errorf("list sink secrets: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list sink secrets: %w", err)
	}
	return out, nil
}

// ParseSecretsKey is sealing.ParseKey: a secrets key written as 64
// hexadecimal digits (the key file's form, and TREATYWATCH_SECRETS_KEY's).
func ParseSecretsKey(v string) ([]byte, error) { return sealing.ParseKey(v) }
