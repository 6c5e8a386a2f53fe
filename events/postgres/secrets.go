package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store implements events.SecretStore.
var _ events.SecretStore = (*Store)(nil)

// secretsKeyLen is the length of the AES-256 key that seals sink secrets.
const secretsKeyLen = 32

// keyCheckLabel is what the key check of sink_secrets_key authenticates.
const keyCheckLabel = "treatywatch sink secrets key check"

// sealer seals and opens sink secrets with the secrets key, which every
// instance on one database must be given (Config.SecretsKey or
// Config.SecretsKeyFile): it is never stored in the database. The first
// instance that seals a secret records the key's check (an HMAC of a fixed
// label under the key) in sink_secrets_key; an instance given another key
// refuses to seal or open, naming the mismatch, rather than seal a secret
// the other instances cannot open. Safe for concurrent use.
type sealer struct {
	key     []byte // Config.SecretsKey; nil: read keyFile
	keyFile string // Config.SecretsKeyFile

	mu      sync.Mutex
	aead    cipher.AEAD
	check   string // hex HMAC of keyCheckLabel under the key
	checked bool   // the check matched the database's
}

func newSealer(key []byte, keyFile string) *sealer {
	return &sealer{key: key, keyFile: keyFile}
}

func (k *sealer) describe() string {
	if k.key != nil || k.keyFile == "" {
		return "the configured secrets key"
	}
	return k.keyFile
}

// cipher returns the AEAD, reading the key (and creating its file, 0600,
// when create is set and it does not exist).
func (k *sealer) cipher(create bool) (cipher.AEAD, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.aead != nil {
		return k.aead, k.check, nil
	}
	key := k.key
	if key == nil {
		if k.keyFile == "" {
			return nil, "", fmt.Errorf("a PostgreSQL store keeps sink secrets sealed with a secrets key that every instance is given, and none was: set Config.SecretsKey or Config.SecretsKeyFile (the same key on every instance): %w", events.ErrInvalid)
		}
		var err error
		if key, err = readKeyFile(k.keyFile, create); err != nil {
			return nil, "", err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, "", fmt.Errorf("secrets key: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(keyCheckLabel))
	k.aead, k.check = aead, hex.EncodeToString(mac.Sum(nil))
	return k.aead, k.check, nil
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
	s.sealer.mu.Lock()
	done := s.sealer.checked
	s.sealer.mu.Unlock()
	if done {
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
		return &KeyMismatchError{Key: s.sealer.describe()}
	}
	s.sealer.mu.Lock()
	s.sealer.checked = true
	s.sealer.mu.Unlock()
	return nil
}

// PutSinkSecret implements events.SecretStore: the secret is sealed with
// AES-256-GCM under the secrets key and stored in sink_secrets, replacing
// any.
func (s *Store) PutSinkSecret(ctx context.Context, subscription string, secret events.SinkSecret) error {
	aead, check, err := s.sealer.cipher(true)
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
	aead, check, err := s.sealer.cipher(false)
	if err != nil {
		return events.SinkSecret{}, err
	}
	if err := s.portTx(ctx, func(tx pgx.Tx) error { return s.checkKey(ctx, tx, check, false) }); err != nil {
		return events.SinkSecret{}, err
	}
	if len(sealed) < aead.NonceSize() {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: sealed value too short", subscription)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(subscription))
	if err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s cannot be opened with %s (another key, or the row was changed): %w", subscription, s.sealer.describe(), err)
	}
	var out events.SinkSecret
	if err := json.Unmarshal(plain, &out); err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: %w", subscription, err)
	}
	return out, nil
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
		return nil, fmt.Errorf("the secrets key file %s is missing, so the stored webhook URLs and secrets cannot be read: copy it from another instance or the backup, or subscribe those sinks again: %w", path, events.ErrNotFound)
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
