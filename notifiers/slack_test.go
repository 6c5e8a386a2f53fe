package notifiers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

const (
	slackToken   = "xoxb-test-token"
	slackChannel = "C0HANOI01"
)

// fakeSlack is a loopback Slack Web API that records the chat.postMessage
// forms the real slack-go client sends.
type fakeSlack struct {
	mu    sync.Mutex
	forms []url.Values
	reply func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeSlack) posts() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

// mustFakeSlack starts a fake Slack answering with reply (nil: success,
// ts 1789000000.0001NN) and returns a Slack sink pointed at it.
func mustFakeSlack(tb testing.TB, reply func(w http.ResponseWriter, r *http.Request)) (*notifiers.Slack, *fakeSlack, *httptest.Server) {
	tb.Helper()
	f := &fakeSlack{reply: reply}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		n := len(f.forms)
		f.mu.Unlock()
		if f.reply != nil {
			f.reply(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ok": true, "channel": slackChannel, "ts": "1789000000.0001" + twoDigits(n),
		})
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	// No trailing slash: NewSlackClient adds it.
	return notifiers.NewSlack(notifiers.NewSlackClient(slackToken, srv.URL, 2*time.Second)), f, srv
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10%10), byte('0' + n%10)}) }

func slackSub() events.Subscription {
	return events.Subscription{ID: "ngo-cyber", Sink: events.SinkSlack, Channel: slackChannel, Treaties: []string{hanoi}, On: []string{events.TopicAll}}
}

// TestSlackSendsBlockKit posts every golden notice through the real
// slack-go client and checks the exact form it sends: the token, the
// channel, the fallback text, no unfurling, no thread, and blocks equal
// to the golden Block Kit JSON.
func TestSlackSendsBlockKit(t *testing.T) {
	sink, fake, _ := mustFakeSlack(t, nil)
	cases := hanoiNotices()
	for i, tc := range cases {
		msg := notifiers.Render(tc.notice)
		rc, err := sink.Send(t.Context(), slackSub(), msg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := "1789000000.0001" + twoDigits(i+1); rc.TS != want || rc.Channel != slackChannel {
			t.Errorf("%s: receipt %+v, want ts %s in %s", tc.name, rc, want, slackChannel)
		}
	}
	posts := fake.posts()
	if len(posts) != len(cases) {
		t.Fatalf("%d posts, want %d", len(posts), len(cases))
	}
	for i, tc := range cases {
		form := posts[i]
		for key, want := range map[string]string{
			"token": slackToken, "channel": slackChannel, "text": notifiers.Render(tc.notice).Text, "unfurl_links": "false",
		} {
			if got := form.Get(key); got != want {
				t.Errorf("%s: form %s = %q, want %q", tc.name, key, got, want)
			}
		}
		if form.Has("thread_ts") {
			t.Errorf("%s: thread_ts %q sent for a message with no thread", tc.name, form.Get("thread_ts"))
		}
		assertGoldenJSON(t, tc.name, []byte(form.Get("blocks")))
	}
}

// TestSlackThreadsFollowUps posts a deposit, then a correction for the
// same treaty under the deposit's ts, as the sender does.
func TestSlackThreadsFollowUps(t *testing.T) {
	sink, fake, _ := mustFakeSlack(t, nil)
	cases := hanoiNotices()
	first := notifiers.Render(find(t, cases, "deposit"))
	rc, err := sink.Send(t.Context(), slackSub(), first)
	if err != nil {
		t.Fatal(err)
	}
	follow := notifiers.Render(find(t, cases, "correction"))
	if follow.ThreadKey != first.ThreadKey {
		t.Fatalf("thread keys differ: %q, %q", first.ThreadKey, follow.ThreadKey)
	}
	follow.ThreadTS = rc.TS
	if _, err := sink.Send(t.Context(), slackSub(), follow); err != nil {
		t.Fatal(err)
	}
	posts := fake.posts()
	if got := posts[1].Get("thread_ts"); got != rc.TS {
		t.Errorf("thread_ts = %q, want %q", got, rc.TS)
	}
}

// TestSlackFailures checks how Slack's answers are classified.
func TestSlackFailures(t *testing.T) {
	slackError := func(code string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":false,"error":"`+code+`"}`)
		}
	}
	status := func(code int, header ...string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(code)
		}
	}
	tests := []struct {
		name       string
		reply      func(w http.ResponseWriter, r *http.Request)
		kind       string
		retryAfter time.Duration
		reason     string
	}{
		// A 429 may follow a post Slack accepted: the sender retries anyway
		// and accepts the rare duplicate.
		{"429 with Retry-After", status(http.StatusTooManyRequests, "Retry-After", "1"), notifiers.FailureRateLimited, time.Second, ""},
		{"429 without Retry-After", status(http.StatusTooManyRequests), notifiers.FailureRateLimited, 0, ""},
		{"invalid_auth", slackError("invalid_auth"), notifiers.FailurePermanent, 0, "invalid_auth"},
		{"channel_not_found", slackError("channel_not_found"), notifiers.FailurePermanent, 0, "channel_not_found"},
		{"not_in_channel", slackError("not_in_channel"), notifiers.FailurePermanent, 0, "not_in_channel"},
		{"is_archived", slackError("is_archived"), notifiers.FailurePermanent, 0, "is_archived"},
		{"account_inactive", slackError("account_inactive"), notifiers.FailurePermanent, 0, "account_inactive"},
		{"token_revoked", slackError("token_revoked"), notifiers.FailurePermanent, 0, "token_revoked"},
		{"no_permission", slackError("no_permission"), notifiers.FailurePermanent, 0, "no_permission"},
		{"ratelimited in the body", slackError("ratelimited"), notifiers.FailureRateLimited, 0, ""},
		{"internal_error", slackError("internal_error"), notifiers.FailureRetry, 0, ""},
		{"500", status(http.StatusInternalServerError), notifiers.FailureRetry, 0, ""},
		{"503", status(http.StatusServiceUnavailable), notifiers.FailureRetry, 0, ""},
		{"404: wrong API URL", status(http.StatusNotFound), notifiers.FailurePermanent, 0, "HTTP 404 Not Found"},
	}
	msg := notifiers.Render(hanoiNotices()[0].notice)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, fake, _ := mustFakeSlack(t, tt.reply)
			rc, err := sink.Send(t.Context(), slackSub(), msg)
			if err == nil {
				t.Fatalf("Send succeeded with receipt %+v", rc)
			}
			if len(fake.posts()) != 1 {
				t.Errorf("%d posts, want exactly 1 (the sink must not retry)", len(fake.posts()))
			}
			assertClass(t, err, tt.kind, tt.retryAfter, tt.reason)
		})
	}
}

func TestSlackNetworkFailuresAreRetryable(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) }) // runs first
		sink := notifiers.NewSlack(notifiers.NewSlackClient(slackToken, srv.URL+"/", 50*time.Millisecond))
		_, err := sink.Send(t.Context(), slackSub(), notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailureRetry, 0, "")
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		sink := notifiers.NewSlack(notifiers.NewSlackClient(slackToken, srv.URL, time.Second))
		_, err := sink.Send(t.Context(), slackSub(), notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailureRetry, 0, "")
	})
	t.Run("no channel", func(t *testing.T) {
		sink, fake, _ := mustFakeSlack(t, nil)
		sub := slackSub()
		sub.Channel = ""
		_, err := sink.Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailurePermanent, 0, "subscription ngo-cyber has no channel")
		if len(fake.posts()) != 0 {
			t.Error("posted without a channel")
		}
	})
}

// TestSlackWebhook posts through slack-go's incoming-webhook client to a
// loopback server and checks the JSON body.
func TestSlackWebhook(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		if r.URL.Path != "/services/T0000/B0000/XXXXSECRET" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	sub, secrets := slackWebhookSub(t, srv.URL+"/services/T0000/B0000/XXXXSECRET")
	sink := notifiers.NewSlackWebhook(&http.Client{Timeout: 2 * time.Second}, secrets)

	for _, name := range []string{"deposit", "digest"} {
		msg := notifiers.Render(find(t, hanoiNotices(), name))
		msg.ThreadTS = "1789000000.000100"
		rc, err := sink.Send(t.Context(), sub, msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rc != (notifiers.Receipt{}) {
			t.Errorf("%s: receipt %+v, want none from an incoming webhook", name, rc)
		}
		mu.Lock()
		body := bodies[len(bodies)-1]
		mu.Unlock()
		var got struct {
			Text     string          `json:"text"`
			ThreadTS string          `json:"thread_ts"`
			Blocks   json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v in %s", name, err, body)
		}
		if got.Text != msg.Text || got.ThreadTS != msg.ThreadTS {
			t.Errorf("%s: text %q thread_ts %q, want %q %q", name, got.Text, got.ThreadTS, msg.Text, msg.ThreadTS)
		}
		assertGoldenJSON(t, name, got.Blocks)
	}
}

func TestSlackWebhookFailures(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		header     http.Header
		body       string
		kind       string
		retryAfter time.Duration
	}{
		{"410 channel_is_archived", http.StatusGone, nil, "channel_is_archived", notifiers.FailurePermanent, 0},
		{"404 no_service", http.StatusNotFound, nil, "no_service", notifiers.FailurePermanent, 0},
		{"403 action_prohibited", http.StatusForbidden, nil, "action_prohibited", notifiers.FailurePermanent, 0},
		{"429 Retry-After 3", http.StatusTooManyRequests, http.Header{"Retry-After": {"3"}}, "", notifiers.FailureRateLimited, 3 * time.Second},
		{"500", http.StatusInternalServerError, nil, "rollup_error", notifiers.FailureRetry, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.code)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			sub, secrets := slackWebhookSub(t, srv.URL+"/services/T0000/B0000/XXXXSECRET")
			_, err := notifiers.NewSlackWebhook(nil, secrets).Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice))
			assertClass(t, err, tt.kind, tt.retryAfter, "")
		})
	}
	t.Run("network errors do not leak the URL", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		sub, secrets := slackWebhookSub(t, srv.URL+"/services/T0000/B0000/XXXXSECRET")
		_, err := notifiers.NewSlackWebhook(nil, secrets).Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailureRetry, 0, "")
		if strings.Contains(err.Error(), "XXXXSECRET") {
			t.Errorf("error leaks the webhook URL: %v", err)
		}
	})
}

// assertClass checks Classify's verdict on err and the typed error behind
// it.
func assertClass(tb testing.TB, err error, kind string, retryAfter time.Duration, reason string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %s", kind)
	}
	gotKind, gotAfter := notifiers.Classify(err)
	if gotKind != kind || gotAfter != retryAfter {
		tb.Errorf("Classify(%v) = %s, %s; want %s, %s", err, gotKind, gotAfter, kind, retryAfter)
	}
	if notifiers.IsPermanent(err) != (kind == notifiers.FailurePermanent) {
		tb.Errorf("IsPermanent(%v) = %v", err, !(kind == notifiers.FailurePermanent))
	}
	switch kind {
	case notifiers.FailurePermanent:
		var pe *notifiers.PermanentError
		if !errors.As(err, &pe) {
			tb.Fatalf("%v (%T) is not a *PermanentError", err, err)
		}
		if reason != "" && pe.Reason != reason {
			tb.Errorf("Reason = %q, want %q", pe.Reason, reason)
		}
		if reason != "" && !strings.Contains(err.Error(), reason) {
			tb.Errorf("error %q does not mention %q", err, reason)
		}
	case notifiers.FailureRateLimited:
		var rl *notifiers.RateLimitedError
		if !errors.As(err, &rl) {
			tb.Fatalf("%v (%T) is not a *RateLimitedError", err, err)
		}
		if rl.RetryAfter != retryAfter {
			tb.Errorf("RetryAfter = %s, want %s", rl.RetryAfter, retryAfter)
		}
	}
}

// assertGoldenJSON compares compact JSON blocks, as a client sent them,
// with testdata/<name>.golden.
func assertGoldenJSON(tb testing.TB, name string, compact []byte) {
	tb.Helper()
	var got bytes.Buffer
	if err := json.Indent(&got, compact, "", "  "); err != nil {
		tb.Fatalf("%s: blocks are not JSON: %v: %s", name, err, compact)
	}
	got.WriteByte('\n')
	want, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		tb.Errorf("%s: blocks sent differ from testdata/%s.golden:\n%s", name, name, got.Bytes())
	}
}

func find(tb testing.TB, cases []renderCase, name string) notifiers.Notice {
	tb.Helper()
	for _, c := range cases {
		if c.name == name {
			return c.notice
		}
	}
	tb.Fatalf("no case %q", name)
	return notifiers.Notice{}
}
