package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/notifiers"
)

// hookReceiver is a webhook receiver on loopback that records the bodies
// and signature headers it is sent.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  [][]byte
	sigs []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, b)
		h.sigs = append(h.sigs, r.Header.Get(notifiers.SignatureHeader))
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) received() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.got...), append([]string(nil), h.sigs...)
}

// dbBytes returns the ledger file and its -wal.
func (c *cli) dbBytes() []byte {
	c.t.Helper()
	var all []byte
	for _, p := range []string{c.db, c.db + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			c.t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestWebhookSecretsStayOutOfTheLog subscribes a signed webhook and checks
// that its URL path and HMAC secret appear nowhere a reader of the ledger
// or its files could find them, that deliveries still reach the URL
// signed with the secret, and that the same subscription is refused.
func TestWebhookSecretsStayOutOfTheLog(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	recv := newHookReceiver(t)
	hookPath := "/hooks/ngo-cyber-7f3a9c2e41"
	out := c.ok("subscribe", "--sink", "webhook", "--url", recv.URL+hookPath, "--treaty", "hanoi", "--on", "deposits")
	var secret string
	for _, line := range strings.Split(out, "\n") {
		if _, s, ok := strings.Cut(line, "stored encrypted): "); ok {
			secret = s
		}
	}
	if len(secret) != 48 || !strings.Contains(out, "http://127.0.0.1") || !strings.Contains(out, "(sha256:") || strings.Contains(out, hookPath) {
		t.Fatalf("subscribe output:\n%s", out)
	}
	r := c.run("", "subscribe", "--sink", "webhook", "--url", recv.URL+hookPath, "--treaty", "XVIII-16", "--on", "deposits")
	if r.code != 5 || !strings.Contains(r.stderr, "already subscribed as ") {
		t.Fatalf("the same subscription again: exit %d %q", r.code, r.stderr)
	}
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")

	for _, view := range [][]string{{"log", "--json"}, {"log"}, {"subscriptions"}, {"subscriptions", "--json"}} {
		if got := c.ok(view...); strings.Contains(got, hookPath) || strings.Contains(got, secret) || strings.Contains(got, "ngo-cyber-7f3a") {
			t.Errorf("%v shows a secret:\n%s", view, got)
		}
	}
	if b := c.dbBytes(); bytes.Contains(b, []byte("ngo-cyber-7f3a")) || bytes.Contains(b, []byte(secret)) {
		t.Error("the ledger file holds the webhook URL or secret in plain text")
	}

	// The notifier finds the URL and the secret in the secret store; its
	// log lines (at debug level) hold neither.
	proc := c.start("-v", "notify", "run")
	var bodies [][]byte
	var sigs []string
	waitFor(t, 20*time.Second, "the webhook delivery", func() bool {
		bodies, sigs = recv.received()
		return len(bodies) > 0
	})
	// While the notifier runs, the ledger has its -wal and -shm files.
	for _, suffix := range []string{"", "-wal", "-shm", ".secrets-key"} {
		if fi, err := os.Stat(c.db + suffix); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", suffix, fi, err)
		}
	}
	proc.mustStop(t)
	logs := proc.stdout.String() + proc.stderr.String()
	if len(bodies) != 1 {
		t.Fatalf("webhook received %d deliveries, want 1", len(bodies))
	}
	if !notifiers.VerifySignature(secret, bodies[0], sigs[0]) {
		t.Errorf("delivery signature %q does not verify with the secret shown at subscribe", sigs[0])
	}
	var p notifiers.WebhookPayload
	if err := json.Unmarshal(bodies[0], &p); err != nil || p.Notice.Participant != "Algeria" {
		t.Errorf("delivery %s: %v", bodies[0], err)
	}
	if strings.Contains(logs, "ngo-cyber-7f3a") || strings.Contains(logs, secret) {
		t.Errorf("the notifier logged a secret:\n%s", logs)
	}
}
