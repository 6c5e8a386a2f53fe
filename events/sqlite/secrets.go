package sqlite

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store implements events.SecretStore.
var _ events.SecretStore = (*Store)(nil)

// secretsKeyLen is the length of the AES-256 key that seals sink secrets.
const secretsKeyLen = 32

// PutSinkSecret implements events.SecretStore: the secret is sealed with
// AES-256-GCM under the store's secrets key (created on first use, see
// Config.SecretsKeyFile) and stored in sink_secrets, replacing any.
func (s *Store) PutSinkSecret(ctx context.Context, subscription string, secret events.SinkSecret) error {
	aead, err := s.secretsAEAD(true)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(secret) //nolint:gosec // G117: marshalled to be sealed, never stored or sent as is
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("seal sink secret: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(subscription))
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
	aead, err := s.secretsAEAD(false)
	if err != nil {
		return events.SinkSecret{}, err
	}
	if len(sealed) < aead.NonceSize() {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: sealed value too short", subscription)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(subscription))
	if err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s cannot be opened with the key in %s (another key, or the row was changed): %w", subscription, s.keyDescription(), err)
	}
	var out events.SinkSecret
	if err := json.Unmarshal(plain, &out); err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: %w", subscription, err)
	}
	return out, nil
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
func (s *Store) SecretsKeyFile() string { return s.secretsKeyFile }

func (s *Store) keyDescription() string {
	if s.secretsKey != nil {
		return "the configured secrets key"
	}
	return s.secretsKeyFile
}

// secretsAEAD returns the cipher that seals sink secrets, reading the key
// from Config.SecretsKey or its file, and creating the file (0600, 32
// random bytes in hexadecimal) when create is set and it does not exist.
func (s *Store) secretsAEAD(create bool) (cipher.AEAD, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.aead != nil {
		return s.aead, nil
	}
	key := s.secretsKey
	if key == nil {
		var err error
		if key, err = readKeyFile(s.secretsKeyFile, create); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	s.aead = aead
	return aead, nil
}

func readKeyFile(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, secretsKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return readKeyFile(path, false) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("create the secrets key file: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("write the secrets key file: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("write the secrets key file: %w", err)
		}
		return key, f.Close()
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the secrets key file %s is missing, so the stored webhook URLs and secrets cannot be read: restore it from the backup made with the database, or subscribe those sinks again: %w", path, events.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the secrets key file: %w", err)
	}
	return ParseSecretsKey(strings.TrimSpace(string(b)))
}

// ParseSecretsKey parses a secrets key written as 64 hexadecimal digits
// (the form of the key file and of TREATYWATCH_SECRETS_KEY).
func ParseSecretsKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != secretsKeyLen {
		return nil, &events.InvalidError{Field: "secrets key", Reason: "want 64 hexadecimal digits (32 bytes)"}
	}
	return key, nil
}
