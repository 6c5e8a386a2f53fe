package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sealing"
)

// Compile-time check that Store implements events.SecretStore.
var _ events.SecretStore = (*Store)(nil)

// PutSinkSecret implements events.SecretStore: the secret is sealed with
// AES-256-GCM under the store's secrets key (created on first use, see
// Config.SecretsKeyFile) and stored in sink_secrets, replacing any.
func (s *Store) PutSinkSecret(ctx context.Context, subscription string, secret events.SinkSecret) error {
	sealed, err := s.sealer.Seal(subscription, secret)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sink_secrets (subscription, sealed, created_at) VALUES (?, ?, ?)
ON CONFLICT (subscription) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`,
			subscription, sealed, s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("store sink secret of %s: %w", subscription, err)
		}
		return nil
	})
}

// SinkSecret implements events.SecretStore. It returns an error wrapping
// events.ErrNotFound when the subscription has no stored secret, and an
// error naming the key file when the secret cannot be opened with it.
func (s *Store) SinkSecret(ctx context.Context, subscription string) (events.SinkSecret, error) {
	var sealed []byte
	err := s.read.QueryRowContext(ctx, `SELECT sealed FROM sink_secrets WHERE subscription = ?`, subscription).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return events.SinkSecret{}, fmt.Errorf("no sink secret for subscription %s: %w", subscription, events.ErrNotFound)
	}
	if err != nil {
		return events.SinkSecret{}, fmt.Errorf("read sink secret of %s: %w", subscription, err)
	}
	return s.sealer.Open(subscription, sealed)
}

// DeleteSinkSecret implements events.SecretStore.
func (s *Store) DeleteSinkSecret(ctx context.Context, subscription string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sink_secrets WHERE subscription = ?`, subscription); err != nil {
			return fmt.Errorf("delete sink secret of %s: %w", subscription, err)
		}
		return nil
	})
}

// SinkSecretIDs implements events.SecretStore.
func (s *Store) SinkSecretIDs(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT subscription FROM sink_secrets ORDER BY subscription`)
	if err != nil {
		return nil, fmt.Errorf("list sink secrets: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list sink secrets: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sink secrets: %w", err)
	}
	return out, nil
}

// SecretsKeyFile returns the path of the file the secrets key is read
// from (and created in), whether or not it exists; unused when
// Config.SecretsKey is set.
func (s *Store) SecretsKeyFile() string { return s.sealer.KeyFile() }

// ParseSecretsKey is sealing.ParseKey: a secrets key written as 64
// hexadecimal digits (the key file's form, and TREATYWATCH_SECRETS_KEY's).
func ParseSecretsKey(v string) ([]byte, error) { return sealing.ParseKey(v) }
