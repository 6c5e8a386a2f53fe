package notifiers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

const (
	slackToken   = "xoxb-test-token"
	slackChannel = "C0HANOI01"
)

// mustFakeSlack starts the fake Slack and returns a Slack sink pointed at
// it through the real slack-go client.
func mustFakeSlack(tb testing.TB) (*notifiers.Slack, *slackfake.Server) {
	tb.Helper()
	fake := slackfake.New()
	tb.Cleanup(fake.Close)
	// No trailing slash: NewSlackClient adds it.
	return notifiers.NewSlack(notifiers.NewSlackClient(slackToken, fake.URL, 2*time.Second)), fake
}

func slackSub() events.Subscription {
	return events.Subscription{ID: "ngo-cyber", Sink: events.SinkSlack, Channel: slackChannel, Treaties: []string{hanoi}, On: []string{events.TopicAll}}
}

// TestSlackSendsBlockKit posts every golden notice through the real
// slack-go client and checks the exact form it sends: the token, the
// channel, the fallback text, no unfurling, no thread, and blocks equal
// to the golden Block Kit JSON.
func TestSlackSendsBlockKit(t *testing.T) {
	sink, fake := mustFakeSlack(t)
	cases := hanoiNotices()
	var receipts []notifiers.Receipt
	for _, tc := range cases {
		rc, err := sink.Send(t.Context(), slackSub(), notifiers.Render(tc.notice))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		receipts = append(receipts, rc)
	}
	posts := fake.Posts()
	if len(posts) != len(cases) {
		t.Fatalf("%d posts, want %d", len(posts), len(cases))
	}
	for i, tc := range cases {
		if rc := receipts[i]; rc.TS != posts[i].TS || rc.Channel != slackChannel {
			t.Errorf("%s: receipt %+v, want ts %s in %s", tc.name, rc, posts[i].TS, slackChannel)
		}
		form := posts[i].Form
		for key, want := range map[string]string{
			"token": slackToken, "channel": slackChannel, "text": notifiers.SlackMessage(notifiers.CardOf(tc.notice)).Text, "unfurl_links": "false",
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
	sink, fake := mustFakeSlack(t)
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
	posts := fake.Posts()
	if got := posts[1].Form.Get("thread_ts"); got != rc.TS || posts[1].Form.Get("reply_broadcast") != "true" {
		t.Errorf("thread_ts = %q, reply_broadcast %q; want %q, true", got, posts[1].Form.Get("reply_broadcast"), rc.TS)
	}
}

// TestSlackFailures checks how Slack's answers are classified, and which
// leave open whether the message was posted.
func TestSlackFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      slackfake.Fault
		kind       string
		retryAfter time.Duration
		reason     string
		uncertain  bool // the message may have been posted
	}{
		// A 429 may follow a post Slack accepted.
		{"429 with Retry-After", slackfake.Fault{Status: 429, RetryAfter: 1}, notifiers.FailureRateLimited, time.Second, "", true},
		{"429 without Retry-After", slackfake.Fault{Status: 429}, notifiers.FailureRateLimited, 0, "", true},
		{"invalid_auth", slackfake.Fault{SlackError: "invalid_auth"}, notifiers.FailurePermanent, 0, "invalid_auth", false},
		{"channel_not_found", slackfake.Fault{SlackError: "channel_not_found"}, notifiers.FailurePermanent, 0, "channel_not_found", false},
		{"not_in_channel", slackfake.Fault{SlackError: "not_in_channel"}, notifiers.FailurePermanent, 0, "not_in_channel", false},
		{"is_archived", slackfake.Fault{SlackError: "is_archived"}, notifiers.FailurePermanent, 0, "is_archived", false},
		{"account_inactive", slackfake.Fault{SlackError: "account_inactive"}, notifiers.FailurePermanent, 0, "account_inactive", false},
		{"token_revoked", slackfake.Fault{SlackError: "token_revoked"}, notifiers.FailurePermanent, 0, "token_revoked", false},
		{"no_permission", slackfake.Fault{SlackError: "no_permission"}, notifiers.FailurePermanent, 0, "no_permission", false},
		// A "slow down" answer with HTTP 200 is a refusal: nothing posted.
		{"ratelimited in the body", slackfake.Fault{SlackError: "ratelimited"}, notifiers.FailureRateLimited, 0, "", false},
		// Slack: "it's possible some aspect of the operation succeeded".
		{"internal_error", slackfake.Fault{SlackError: "internal_error"}, notifiers.FailureRetry, 0, "", true},
		{"fatal_error", slackfake.Fault{SlackError: "fatal_error"}, notifiers.FailureRetry, 0, "", true},
		{"500", slackfake.Fault{Status: 500}, notifiers.FailureRetry, 0, "", true},
		{"503", slackfake.Fault{Status: 503}, notifiers.FailureRetry, 0, "", true},
		{"404: wrong API URL", slackfake.Fault{Status: 404}, notifiers.FailurePermanent, 0, "HTTP 404 Not Found", false},
	}
	msg := notifiers.Render(hanoiNotices()[0].notice)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, fake := mustFakeSlack(t)
			fake.Fail(tt.fault)
			rc, err := sink.Send(t.Context(), slackSub(), msg)
			if err == nil {
				t.Fatalf("Send succeeded with receipt %+v", rc)
			}
			if n := fake.Calls(slackfake.PostMessage); n != 1 {
				t.Errorf("%d calls, want exactly 1 (the sink must not retry)", n)
			}
			assertClass(t, err, tt.kind, tt.retryAfter, tt.reason)
			if got := notifiers.MayHaveArrived(err); got != tt.uncertain {
				t.Errorf("MayHaveArrived(%v) = %v, want %v", err, got, tt.uncertain)
			}
		})
	}
}

// TestSlackNetworkFailures: a call that failed before its request was
// written (a refused connection) certainly posted nothing; one that failed
// after (a timeout, a reset) may have.
func TestSlackNetworkFailures(t *testing.T) {
	msg := notifiers.Render(hanoiNotices()[0].notice)
	for _, tc := range []struct {
		name      string
		fault     slackfake.Fault
		uncertain bool
	}{
		{"timeout before recording", slackfake.Fault{Hang: true}, true},
		{"timeout after recording", slackfake.Fault{Hang: true, PostAnyway: true}, true},
		{"reset after recording", slackfake.Fault{Reset: true, PostAnyway: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := slackfake.New()
			t.Cleanup(fake.Close)
			fake.Fail(tc.fault)
			sink := notifiers.NewSlack(notifiers.NewSlackClient(slackToken, fake.APIURL(), 100*time.Millisecond))
			_, err := sink.Send(t.Context(), slackSub(), msg)
			assertClass(t, err, notifiers.FailureRetry, 0, "")
			if notifiers.MayHaveArrived(err) != tc.uncertain {
				t.Errorf("MayHaveArrived(%v) = %v, want %v", err, !tc.uncertain, tc.uncertain)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		sink, fake := mustFakeSlack(t)
		fake.Down()
		_, err := sink.Send(t.Context(), slackSub(), msg)
		assertClass(t, err, notifiers.FailureRetry, 0, "")
		if notifiers.MayHaveArrived(err) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("a refused connection: %v (may have arrived: %v), want a certain failure", err, notifiers.MayHaveArrived(err))
		}
		if err := fake.Up(); err != nil {
			t.Fatal(err)
		}
		if _, err := sink.Send(t.Context(), slackSub(), msg); err != nil {
			t.Fatalf("after Up: %v", err)
		}
	})
	t.Run("no channel", func(t *testing.T) {
		sink, fake := mustFakeSlack(t)
		sub := slackSub()
		sub.Channel = ""
		_, err := sink.Send(t.Context(), sub, msg)
		assertClass(t, err, notifiers.FailurePermanent, 0, "subscription ngo-cyber has no channel")
		if fake.Calls(slackfake.PostMessage) != 0 {
			t.Error("posted without a channel")
		}
	})
}

// TestSlackWebhook posts through slack-go's incoming-webhook client to
// the fake Slack and checks the JSON body.
func TestSlackWebhook(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	sub, secrets := slackWebhookSub(t, fake.WebhookURL("XXXXSECRET"))
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
		posts := fake.Posts()
		got := posts[len(posts)-1]
		fallback := notifiers.SlackMessage(msg.Card).Text
		if !got.Webhook || got.Channel != "XXXXSECRET" || got.Text != fallback || got.ThreadTS != msg.ThreadTS {
			t.Errorf("%s: post %+v, want text %q thread_ts %q through the webhook", name, got, fallback, msg.ThreadTS)
		}
		assertGoldenJSON(t, name, []byte(got.Blocks))
	}
}

func TestSlackWebhookFailures(t *testing.T) {
	tests := []struct {
		name       string
		fault      slackfake.Fault
		kind       string
		retryAfter time.Duration
		uncertain  bool
	}{
		{"410 channel_is_archived", slackfake.Fault{SlackError: "channel_is_archived"}, notifiers.FailurePermanent, 0, false},
		{"404 no_service", slackfake.Fault{SlackError: "no_service"}, notifiers.FailurePermanent, 0, false},
		{"403 action_prohibited", slackfake.Fault{SlackError: "action_prohibited"}, notifiers.FailurePermanent, 0, false},
		{"400 invalid_payload", slackfake.Fault{SlackError: "invalid_payload"}, notifiers.FailurePermanent, 0, false},
		{"429 Retry-After 3", slackfake.Fault{Status: 429, RetryAfter: 3}, notifiers.FailureRateLimited, 3 * time.Second, true},
		{"500 rollup_error", slackfake.Fault{SlackError: "rollup_error"}, notifiers.FailureRetry, 0, true},
		{"503 after recording", slackfake.Fault{Status: 503, PostAnyway: true}, notifiers.FailureRetry, 0, true},
		{"timeout", slackfake.Fault{Hang: true}, notifiers.FailureRetry, 0, true},
		{"reset after recording", slackfake.Fault{Reset: true, PostAnyway: true}, notifiers.FailureRetry, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New()
			t.Cleanup(fake.Close)
			tt.fault.Method = slackfake.Webhook
			fake.Fail(tt.fault)
			sub, secrets := slackWebhookSub(t, fake.WebhookURL("XXXXSECRET"))
			_, err := notifiers.NewSlackWebhook(&http.Client{Timeout: 200 * time.Millisecond}, secrets).Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice))
			assertClass(t, err, tt.kind, tt.retryAfter, "")
			if notifiers.MayHaveArrived(err) != tt.uncertain {
				t.Errorf("MayHaveArrived(%v) = %v, want %v", err, !tt.uncertain, tt.uncertain)
			}
			if strings.Contains(err.Error(), "XXXXSECRET") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
		})
	}
	t.Run("connection refused: certain, and the URL does not leak", func(t *testing.T) {
		fake := slackfake.New()
		t.Cleanup(fake.Close)
		fake.Down()
		sub, secrets := slackWebhookSub(t, fake.WebhookURL("XXXXSECRET"))
		_, err := notifiers.NewSlackWebhook(nil, secrets).Send(t.Context(), sub, notifiers.Render(hanoiNotices()[0].notice))
		assertClass(t, err, notifiers.FailureRetry, 0, "")
		if notifiers.MayHaveArrived(err) {
			t.Errorf("a refused connection may have arrived? %v", err)
		}
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
