package notifiers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
)

const webhookSecret = "whsec-hanoi-2025"

// captured is one request a loopback webhook receiver saw.
type captured struct {
	header http.Header
	body   []byte
}

// mustReceiver starts a loopback webhook receiver that answers status
// (with header) and records what it receives.
func mustReceiver(tb testing.TB, status int, header http.Header) (*httptest.Server, func() []captured) {
	tb.Helper()
	var (
		mu  sync.Mutex
		got []captured
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), b})
		mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

// webhookSub is a webhook subscription posting to url; the returned
// secret store holds its URL and HMAC secret.
func webhookSub(tb testing.TB, url string) (events.Subscription, *sqlite.Store) {
	tb.Helper()
	sub := events.Subscription{ID: "ngo-cyber-hook", Sink: events.SinkWebhook, Treaties: []string{hanoi}}
	return sub, MustSecrets(tb, map[string]events.SinkSecret{sub.ID: {URL: url, Secret: webhookSecret}})
}

// sendWebhook sends msg through a Webhook sink with client to a
// subscription posting to url.
func sendWebhook(tb testing.TB, client *http.Client, url string, msg notifiers.Message) (notifiers.Receipt, error) {
	tb.Helper()
	sub, secrets := webhookSub(tb, url)
	return notifiers.NewWebhook(client, secrets).Send(tb.Context(), sub, msg)
}

func TestWebhookSignedDelivery(t *testing.T) {
	srv, received := mustReceiver(t, http.StatusNoContent, nil)
	n := find(t, hanoiNotices(), "deposit")
	msg := notifiers.Render(n)
	msg.DeliveryID = 42
	before := time.Now().Add(-time.Second)
	rc, err := sendWebhook(t, &http.Client{Timeout: 2 * time.Second}, srv.URL+"/hooks/treatywatch", msg)
	if err != nil {
		t.Fatal(err)
	}
	if rc != (notifiers.Receipt{}) {
		t.Errorf("receipt %+v, want none", rc)
	}
	reqs := received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	req := reqs[0]
	sig := req.header.Get(notifiers.SignatureHeader)

	t.Run("signature verifies with the secret", func(t *testing.T) {
		if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
			t.Fatalf("signature header %q", sig)
		}
		if !notifiers.VerifySignature(webhookSecret, req.body, sig) {
			t.Error("signature does not verify with the subscription's secret")
		}
		if sig != notifiers.Sign(webhookSecret, req.body) {
			t.Error("Sign disagrees with the header")
		}
	})
	t.Run("signature fails", func(t *testing.T) {
		tampered := bytes.Replace(req.body, []byte(`"counted":28`), []byte(`"counted":29`), 1)
		if bytes.Equal(tampered, req.body) {
			t.Fatal("fixture: nothing to tamper with")
		}
		for name, ok := range map[string]bool{
			"wrong secret":    notifiers.VerifySignature("whsec-other", req.body, sig),
			"empty secret":    notifiers.VerifySignature("", req.body, sig),
			"tampered body":   notifiers.VerifySignature(webhookSecret, tampered, sig),
			"no prefix":       notifiers.VerifySignature(webhookSecret, req.body, strings.TrimPrefix(sig, "sha256=")),
			"not hex":         notifiers.VerifySignature(webhookSecret, req.body, "sha256=zz"),
			"empty header":    notifiers.VerifySignature(webhookSecret, req.body, ""),
			"truncated":       notifiers.VerifySignature(webhookSecret, req.body, sig[:len(sig)-2]),
			"other algorithm": notifiers.VerifySignature(webhookSecret, req.body, "sha1="+strings.TrimPrefix(sig, "sha256=")),
		} {
			if ok {
				t.Errorf("%s: verified", name)
			}
		}
	})
	t.Run("body and headers", func(t *testing.T) {
		var p notifiers.WebhookPayload
		dec := json.NewDecoder(bytes.NewReader(req.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%v: %s", err, req.body)
		}
		if p.Notice.Kind != notifiers.KindDeposit || p.Notice.Participant != "Viet Nam" || p.Notice.Date != n.Date ||
			p.Notice.Reference != n.Reference || p.Notice.Counted != 28 || p.Notice.Required != 40 {
			t.Errorf("notice = %+v, want the deposit", p.Notice)
		}
		if p.Text != notifiers.RenderText(n) {
			t.Errorf("text = %q, want RenderText", p.Text)
		}
		if p.Subscription != "ngo-cyber-hook" || p.DeliveryID != 42 {
			t.Errorf("subscription %q delivery %d", p.Subscription, p.DeliveryID)
		}
		if p.SentAt.Before(before) || p.SentAt.After(time.Now()) || p.SentAt.Location() != time.UTC {
			t.Errorf("sent_at = %v, want now in UTC", p.SentAt)
		}
		if got := req.header.Get(notifiers.TimestampHeader); got != strconv.FormatInt(p.SentAt.Unix(), 10) {
			t.Errorf("timestamp header %q, want sent_at %d", got, p.SentAt.Unix())
		}
		for k, want := range map[string]string{"Content-Type": "application/json", notifiers.DeliveryHeader: "42"} {
			if got := req.header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
}

func TestWebhookWithoutSecretIsUnsigned(t *testing.T) {
	srv, received := mustReceiver(t, http.StatusOK, nil)
	sub := events.Subscription{ID: "ngo-cyber-hook", Sink: events.SinkWebhook, Treaties: []string{hanoi}}
	secrets := MustSecrets(t, map[string]events.SinkSecret{sub.ID: {URL: srv.URL}})
	if _, err := notifiers.NewWebhook(nil, secrets).Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice)); err != nil {
		t.Fatal(err)
	}
	if h := received()[0].header; h.Get(notifiers.SignatureHeader) != "" {
		t.Errorf("signature header %q without a secret", h.Get(notifiers.SignatureHeader))
	}
}

func TestWebhookFailures(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		kind       string
		retryAfter time.Duration
		reason     string
	}{
		{"410 Gone", http.StatusGone, nil, notifiers.FailurePermanent, 0, "HTTP 410 Gone: Gone"},
		{"400 Bad Request", http.StatusBadRequest, nil, notifiers.FailurePermanent, 0, "HTTP 400 Bad Request: Bad Request"},
		{"401 Unauthorized", http.StatusUnauthorized, nil, notifiers.FailurePermanent, 0, "HTTP 401 Unauthorized: Unauthorized"},
		{"408 is retryable", http.StatusRequestTimeout, nil, notifiers.FailureRetry, 0, ""},
		{"503 is retryable", http.StatusServiceUnavailable, nil, notifiers.FailureRetry, 0, ""},
		{"500 is retryable", http.StatusInternalServerError, nil, notifiers.FailureRetry, 0, ""},
		{"429 Retry-After seconds", http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, notifiers.FailureRateLimited, 7 * time.Second, ""},
		{"429 without Retry-After", http.StatusTooManyRequests, nil, notifiers.FailureRateLimited, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, received := mustReceiver(t, tt.status, tt.header)
			_, err := sendWebhook(t, nil, srv.URL+"/hooks/secret-path", notifiers.Render(hanoiNotices()[0].notice))
			assertClass(t, err, tt.kind, tt.retryAfter, tt.reason)
			if strings.Contains(err.Error(), "secret-path") {
				t.Errorf("error leaks the URL: %v", err)
			}
			if len(received()) != 1 {
				t.Errorf("%d requests, want exactly 1 (the sink must not retry)", len(received()))
			}
		})
	}
	t.Run("429 Retry-After HTTP-date", func(t *testing.T) {
		srv, _ := mustReceiver(t, http.StatusTooManyRequests, http.Header{"Retry-After": {httpDate}})
		_, err := sendWebhook(t, nil, srv.URL, notifiers.Render(hanoiNotices()[0].notice))
		kind, after := notifiers.Classify(err)
		if kind != notifiers.FailureRateLimited || after < 80*time.Second || after > 91*time.Second {
			t.Errorf("Classify = %s, %s; want rate_limited, about 90s", kind, after)
		}
	})
	t.Run("timeout is retryable and does not leak the URL", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		_, err := sendWebhook(t, &http.Client{Timeout: 50 * time.Millisecond}, srv.URL+"/hooks/secret-path", notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailureRetry, 0, "")
		if strings.Contains(err.Error(), "secret-path") {
			t.Errorf("error leaks the URL: %v", err)
		}
	})
	t.Run("no url", func(t *testing.T) {
		_, err := sendWebhook(t, nil, "", notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailurePermanent, 0, "subscription ngo-cyber-hook has no url")
	})
}

func TestClassifyNil(t *testing.T) {
	if kind, after := notifiers.Classify(nil); kind != "" || after != 0 {
		t.Errorf("Classify(nil) = %q, %s", kind, after)
	}
}
