package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// signedSlack is a slash command request signed the way Slack signs it
// (v0: HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret).
type signedSlack struct {
	body    string
	headers []string
}

// signSlack signs a slash command with text at ts, and checks that
// slack-go's verifier accepts the signature when the secret is the right
// one.
func signSlack(tb testing.TB, secret string, ts time.Time, text string) signedSlack {
	tb.Helper()
	body := url.Values{"command": {"/treaty"}, "text": {text}, "channel_id": {"C0123456789"}, "user_id": {"U1"}, "user_name": {"ada"}, "team_id": {"T1"}}.Encode()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	sig := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if secret == slackSecret && time.Since(ts).Abs() < 5*time.Minute {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", stamp)
		h.Set("X-Slack-Signature", sig)
		sv, err := slack.NewSecretsVerifier(h, slackSecret)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = sv.Write([]byte(body))
		if err := sv.Ensure(); err != nil {
			tb.Fatalf("slack-go refuses the test's signature: %v", err)
		}
	}
	return signedSlack{body: body, headers: []string{"X-Slack-Request-Timestamp: " + stamp, "X-Slack-Signature: " + sig}}
}

func (e *env) slack(req signedSlack, extra ...string) response {
	e.t.Helper()
	return e.Do(http.MethodPost, "/slack/commands", "", "application/x-www-form-urlencoded", []byte(req.body), append(req.headers, extra...)...)
}

func subscriptionCount(tb testing.TB, e *env) int {
	tb.Helper()
	subs, err := e.Ledger.Subscriptions(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return len(subs)
}

func TestSlashCommandSignatures(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	now := time.Now()
	good := signSlack(t, slackSecret, now, "status hanoi")
	cases := []struct {
		name string
		req  signedSlack
		want int
		msg  string
	}{
		{"good", good, http.StatusOK, "Hanoi Convention"},
		{"replayed", good, http.StatusUnauthorized, "replayed"},
		{"replayed with another header order and case", signedSlack{good.body, []string{strings.ToLower(good.headers[1]), good.headers[0]}}, http.StatusUnauthorized, "replayed"},
		{"replayed with the signature in upper case", signedSlack{good.body, []string{good.headers[0], "X-Slack-Signature: v0=" + strings.ToUpper(strings.TrimPrefix(good.headers[1], "X-Slack-Signature: v0="))}}, http.StatusUnauthorized, "replayed"},
		{"wrong secret", signSlack(t, "not the secret", now, "status hanoi"), http.StatusUnauthorized, "invalid Slack signature"},
		{"body changed after signing", signedSlack{strings.Replace(good.body, "hanoi", "tpnw", 1), good.headers}, http.StatusUnauthorized, "invalid Slack signature"},
		{"stale: 6 minutes old", signSlack(t, slackSecret, now.Add(-6*time.Minute), "status hanoi"), http.StatusUnauthorized, "stale"},
		{"from the future: 6 minutes ahead", signSlack(t, slackSecret, now.Add(6*time.Minute), "status hanoi"), http.StatusUnauthorized, "stale"},
		{"no headers", signedSlack{good.body, nil}, http.StatusUnauthorized, "invalid Slack signature headers"},
		{"no signature", signedSlack{good.body, good.headers[:1]}, http.StatusUnauthorized, "invalid Slack signature headers"},
		{"signature not v0", signedSlack{good.body, []string{good.headers[0], strings.Replace(good.headers[1], "v0=", "v1=", 1)}}, http.StatusUnauthorized, "invalid Slack signature headers"},
		{"signature not hex", signedSlack{good.body, []string{good.headers[0], "X-Slack-Signature: v0=zz"}}, http.StatusUnauthorized, "invalid Slack signature headers"},
		{"signature too short", signedSlack{good.body, []string{good.headers[0], "X-Slack-Signature: v0=abcd"}}, http.StatusUnauthorized, "invalid Slack signature headers"},
		{"timestamp not a number", signedSlack{good.body, []string{"X-Slack-Request-Timestamp: soon", good.headers[1]}}, http.StatusUnauthorized, "invalid Slack signature headers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.slack(c.req)
			wantStatus(t, r, c.want)
			if !strings.Contains(string(r.Body), c.msg) {
				t.Errorf("body %s, want %q in it", r.Body, c.msg)
			}
		})
	}
	if strings.Contains(e.Logs.String(), slackSecret) {
		t.Error("the signing secret is in the log")
	}
}

// TestReplayedSubscribeSubscribesOnce replays a signed subscribe command,
// to the same server and to a restarted one within the five minutes: it
// is refused each time, and the channel has one subscription. A new,
// identical command is answered with the ledger's refusal, naming the
// subscription.
func TestReplayedSubscribeSubscribesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	e := MustEnv(t, envOptions{slackSecret: slackSecret, path: path})
	req := signSlack(t, slackSecret, time.Now(), "subscribe hanoi --on deposits")
	r := e.slack(req)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), "Subscribed") {
		t.Fatalf("answer %s", r.Body)
	}
	wantStatus(t, e.slack(req), http.StatusUnauthorized)
	if n := subscriptionCount(t, e); n != 1 {
		t.Fatalf("%d subscriptions after a replay, want 1", n)
	}
	e.Close()

	restarted := MustEnv(t, envOptions{slackSecret: slackSecret, path: path})
	r = restarted.slack(req)
	wantStatus(t, r, http.StatusUnauthorized)
	if r.Err(t).Code != "replayed" {
		t.Errorf("after a restart: %s", r.Body)
	}
	if n := subscriptionCount(t, restarted); n != 1 {
		t.Fatalf("%d subscriptions after a replay to a restarted server, want 1", n)
	}

	// The same command typed again: a new request, refused by the ledger.
	r = restarted.slack(signSlack(t, slackSecret, time.Now().Add(time.Second), "subscribe hanoi --on deposits"))
	wantStatus(t, r, http.StatusOK)
	subs, _ := restarted.Ledger.Subscriptions(t.Context())
	if !strings.Contains(string(r.Body), "already subscribed as "+subs[0].ID) || !strings.Contains(string(r.Body), "warning") {
		t.Errorf("a second identical subscription: %s", r.Body)
	}
	if n := subscriptionCount(t, restarted); n != 1 {
		t.Errorf("%d subscriptions, want 1", n)
	}
}
