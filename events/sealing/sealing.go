package sealing

import (
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

	"github.com/treatywatch/treatywatch/events"
)

// KeyLen is the length of the AES-256 key that seals sink secrets.
const KeyLen = 32

// checkLabel is what the key's check value is the HMAC of.
const checkLabel = "treatywatch sink secrets key check"

// ParseKey parses a secrets key written as 64 hexadecimal digits (the form
// of the key file and of TREATYWATCH_SECRETS_KEY).
func ParseKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != KeyLen {
		return nil, &events.InvalidError{Field: "secrets key", Reason: "want 64 hexadecimal digits (32 bytes)"}
	}
	return key, nil
}

// CheckKey returns an error naming the problem when key, given to a store,
// is not a secrets key; nil is no key (the store reads its key file).
func CheckKey(key []byte) error {
	if key != nil && len(key) != KeyLen {
		return &events.InvalidError{Field: "SecretsKey", Reason: fmt.Sprintf("%d bytes, want %d", len(key), KeyLen)}
	}
	return nil
}

// Sealer seals and opens sink secrets with one key. It is safe for
// concurrent use; the key is read (and its file created) on first use.
type Sealer struct {
	key         []byte // given; nil: read keyFile
	keyFile     string
	missingHint string // what to do when keyFile is missing

	mu    sync.Mutex
	aead  cipher.AEAD
	check string
}

// New returns a sealer with key, or, when key is nil, the key in keyFile
// (created when a secret is first sealed). missingHint ends the error
// given when the file is missing where a secret is to be opened ("restore
// it from the backup made with the database, or subscribe those sinks
// again").
func New(key []byte, keyFile, missingHint string) *Sealer {
	return &Sealer{key: key, keyFile: keyFile, missingHint: missingHint}
}

// HasKey reports whether the sealer was given its key (not a key file).
func (s *Sealer) HasKey() bool { return s.key != nil }

// KeyFile returns the key file's path ("" when none).
func (s *Sealer) KeyFile() string { return s.keyFile }

// Describe names the key in messages: its file, or "the configured secrets
// key".
func (s *Sealer) Describe() string {
	if s.key != nil || s.keyFile == "" {
		return "the configured secrets key"
	}
	return s.keyFile
}

// Check returns the key's check value: the hexadecimal HMAC-SHA256 of a
// fixed label under the key, which reveals nothing of it. Instances that
// share a database compare it to find a key that is not the others'.
func (s *Sealer) Check(create bool) (string, error) {
	if _, err := s.cipher(create); err != nil {
		return "", err
	}
	return s.check, nil
}

// Seal returns secret sealed for subscription: a random nonce, then the
// ciphertext of its JSON, authenticated with the subscription's id, so a
// sealed value moved to another subscription does not open.
func (s *Sealer) Seal(subscription string, secret events.SinkSecret) ([]byte, error) {
	aead, err := s.cipher(true)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(secret) //nolint:gosec // G117: marshalled to be sealed, never stored or sent as is
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal sink secret: %w", err)
	}
	return aead.Seal(nonce, nonce, plain, []byte(subscription)), nil
}

// Open returns the secret sealed for subscription, or an error naming the
// key when it cannot be opened with it (another key, or a changed value).
func (s *Sealer) Open(subscription string, sealed []byte) (events.SinkSecret, error) {
	aead, err := s.cipher(false)
	if err != nil {
		return events.SinkSecret{}, err
	}
	if len(sealed) < aead.NonceSize() {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: sealed value too short", subscription)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(subscription))
	if err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s cannot be opened with %s (another key, or the row was changed): %w", subscription, s.Describe(), err)
	}
	var out events.SinkSecret
	if err := json.Unmarshal(plain, &out); err != nil {
		return events.SinkSecret{}, fmt.Errorf("sink secret of %s: %w", subscription, err)
	}
	return out, nil
}

// cipher returns the AEAD, reading the key, and creating its file (0600,
// 32 random bytes in hexadecimal) when create is set and it is missing.
func (s *Sealer) cipher(create bool) (cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aead != nil {
		return s.aead, nil
	}
	key := s.key
	if key == nil {
		if s.keyFile == "" {
			return nil, fmt.Errorf("no secrets key to seal sink secrets with: give the store its key (SecretsKey) or a key file (SecretsKeyFile): %w", events.ErrInvalid)
		}
		var err error
		if key, err = s.readKeyFile(create); err != nil {
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
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(checkLabel))
	s.aead, s.check = aead, hex.EncodeToString(mac.Sum(nil))
	return s.aead, nil
}

func (s *Sealer) readKeyFile(create bool) ([]byte, error) {
	b, err := os.ReadFile(s.keyFile)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, KeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(s.keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return s.readKeyFile(false) // another process made it first
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
		return nil, fmt.Errorf("the secrets key file %s is missing, so the stored webhook URLs and secrets cannot be read: %s: %w", s.keyFile, s.missingHint, events.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the secrets key file: %w", err)
	}
	return ParseKey(strings.TrimSpace(string(b)))
}
