package sealing_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sealing"
)

var secret = events.SinkSecret{URL: "https://hooks.treaty-watchers.org/in/7f3a", Secret: "s3cr3t"}

// TestSealOpensOnlyForItsSubscriptionAndKey: a sealed secret opens with
// the same key for the same subscription, and neither for another
// subscription nor with another key; the bytes hold no plain text.
func TestSealOpensOnlyForItsSubscriptionAndKey(t *testing.T) {
	key := make([]byte, sealing.KeyLen)
	s := sealing.New(key, "", "")
	sealed, err := s.Seal("sub-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "7f3a") || strings.Contains(string(sealed), "s3cr3t") {
		t.Fatal("the sealed bytes hold the secret in plain text")
	}
	got, err := s.Open("sub-1", sealed)
	if err != nil || got != secret {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	if _, err := s.Open("sub-2", sealed); err == nil {
		t.Error("a secret sealed for sub-1 opened for sub-2")
	}
	other := make([]byte, sealing.KeyLen)
	other[0] = 1
	if _, err := sealing.New(other, "", "").Open("sub-1", sealed); err == nil || !strings.Contains(err.Error(), "cannot be opened with the configured secrets key") {
		t.Errorf("another key: %v", err)
	}
	a, _ := s.Check(false)
	b, _ := sealing.New(other, "", "").Check(false)
	if a == "" || a == b || strings.Contains(a, string(key)) {
		t.Errorf("checks %q and %q: want two different, non-empty values", a, b)
	}
}

// TestKeyFileIsCreatedOnceOwnerOnly: the first seal creates the key file
// (0600, 64 hex digits), a second sealer reads the same key, and a
// missing file where a secret is to be opened is ErrNotFound with the hint.
func TestKeyFileIsCreatedOnceOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db.secrets-key")
	sealed, err := sealing.New(nil, path, "").Seal("sub-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v: want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(path)
	if _, err := sealing.ParseKey(strings.TrimSpace(string(b))); err != nil {
		t.Fatalf("the key file does not hold a key: %v", err)
	}
	if got, err := sealing.New(nil, path, "").Open("sub-1", sealed); err != nil || got != secret {
		t.Fatalf("a second sealer on the file: %+v, %v", got, err)
	}
	missing := sealing.New(nil, filepath.Join(t.TempDir(), "gone"), "restore it from the backup")
	if _, err := missing.Open("sub-1", sealed); !errors.Is(err, events.ErrNotFound) || !strings.Contains(err.Error(), "restore it from the backup") {
		t.Errorf("a missing key file: %v", err)
	}
}

// TestKeyRefusals: keys of the wrong form are refused, naming the problem.
func TestKeyRefusals(t *testing.T) {
	for _, v := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := sealing.ParseKey(v); !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), "64 hexadecimal digits") {
			t.Errorf("ParseKey(%q) = %v", v, err)
		}
	}
	if err := sealing.CheckKey(make([]byte, 16)); !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), "16 bytes, want 32") {
		t.Errorf("CheckKey of 16 bytes: %v", err)
	}
	if err := sealing.CheckKey(nil); err != nil {
		t.Errorf("CheckKey(nil) = %v", err)
	}
	if _, err := sealing.New(nil, "", "").Seal("sub-1", secret); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("no key and no file: %v", err)
	}
}
