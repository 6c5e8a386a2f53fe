package main_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSlashSubscribeWithoutABotTokenIsRefused: `/treaty subscribe hanoi`
// on a service with a signing secret but no SLACK_BOT_TOKEN answers with
// the reason, and records nothing — the subscription could never be
// delivered. With a bot token, the same command subscribes the channel.
func TestSlashSubscribeWithoutABotTokenIsRefused(t *testing.T) {
	t.Parallel()
	const signingSecret = "slash-signing-secret"
	c := newCLI(t)
	c.ok("seed")
	slash := func(base, text string) string {
		t.Helper()
		form := url.Values{"command": {"/treaty"}, "text": {text}, "channel_id": {"C0NGO"}, "user_id": {"U0NGO"}, "team_id": {"T0NGO"}}.Encode()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(signingSecret))
		mac.Write([]byte("v0:" + ts + ":" + form))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/slack/commands", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("slash command: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}

	srv, base := c.with("SLACK_SIGNING_SECRET=" + signingSecret).serve("--no-seed")
	if got := slash(base, "subscribe hanoi --on deposits"); !strings.Contains(got, "none is configured: set SLACK_BOT_TOKEN") {
		t.Fatalf("answer without a bot token = %s", got)
	}
	srv.mustStop(t)
	if out := c.ok("subscriptions", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("a refused slash subscription was recorded: %s", out)
	}

	srv, base = c.with("SLACK_SIGNING_SECRET="+signingSecret, "SLACK_BOT_TOKEN=xoxb-test", "SLACK_API_URL=http://127.0.0.1:9/").serve("--no-seed")
	if got := slash(base, "subscribe hanoi --on deposits,milestones"); strings.Contains(got, "SLACK_BOT_TOKEN") {
		t.Fatalf("answer with a bot token = %s", got)
	}
	srv.mustStop(t)
	if out := c.ok("subscriptions", "--json"); !strings.Contains(out, `"C0NGO"`) {
		t.Fatalf("the slash subscription was not recorded: %s", out)
	}
}
