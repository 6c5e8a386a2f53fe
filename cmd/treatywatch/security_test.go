package main_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// TestNoSecretInAnyLogLine runs the whole service at debug level —
// serve, tokens made by the CLI and the API, a subscription with each
// sink, a signed slash command, deliveries that fail into the dead
// letters — and captures every line it and the CLI print: none holds a
// secret (the Slack bot token and signing secret, API tokens, webhook URLs
// and HMAC secrets).
func TestNoSecretInAnyLogLine(t *testing.T) {
	t.Parallel()
	const (
		botToken      = "xoxb-1111-SECRETBOTTOKEN"
		signingSecret = "8f2b6c-SECRETSIGNING-77"
		hmacSecret    = "SECRETHMAC-4d1e9a"
	)
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	// Slack refuses the bot's posts to one channel, and the incoming
	// webhook is gone: both end in the dead letters with their reasons.
	fake.Script(func(r slackfake.Request) *slackfake.Fault {
		switch {
		case r.Method == slackfake.PostMessage && r.Channel == "C0DEAD":
			return &slackfake.Fault{SlackError: "channel_not_found"}
		case r.Method == slackfake.Webhook:
			return &slackfake.Fault{Status: http.StatusNotFound, SlackError: "no_service"}
		}
		return nil
	})
	hookURL := fake.WebhookURL("SECRETHOOKPATH")
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "gone", http.StatusGone)
	}))
	defer recv.Close()
	receiverURL := recv.URL + "/hooks/SECRETRECEIVERPATH"

	var cliOut strings.Builder
	run := func(args ...string) string {
		out := c.with("SLACK_BOT_TOKEN="+botToken, "SLACK_API_URL="+fake.APIURL()).ok(args...)
		cliOut.WriteString(out)
		return out
	}
	last := func(out string) string {
		out = strings.TrimSpace(out)
		return out[strings.LastIndex(out, "\n")+1:]
	}
	admin := last(c.ok("token", "create", "--role", "admin", "--name", "security admin"))
	officer := last(c.ok("token", "create", "--role", "officer", "--name", "security officer"))
	run("subscribe", "--sink", "slack", "--channel", "C0NGO", "--treaty", "XVIII-16", "--on", "deposits")
	run("subscribe", "--sink", "slack", "--channel", "C0DEAD", "--treaty", "XVIII-16", "--on", "deposits")
	run("subscribe", "--sink", "slack-webhook", "--url", hookURL, "--treaty", "XVIII-16", "--on", "deposits")
	c.ok("subscribe", "--sink", "webhook", "--url", receiverURL, "--secret", hmacSecret, "--treaty", "XVIII-16", "--on", "deposits")

	// The service is a real process: everything it prints, from its first
	// line to its last, is captured.
	addr := freePort(t)
	var logs syncBuffer
	cmd := c.with("SLACK_BOT_TOKEN="+botToken, "SLACK_SIGNING_SECRET="+signingSecret,
		"SLACK_API_URL="+fake.APIURL(), "TREATYWATCH_CHANNEL_INTERVAL=10ms").command("", "-v", "serve", "--addr", addr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	c.startProcess(cmd)
	base := "http://" + addr
	waitReady(t, base, func() string { return "" })
	deadline := time.Now().Add(60 * time.Second)
	call := func(method, path, token, contentType, body string, header ...string) (int, string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", contentType)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A token made through the API, with an Idempotency-Key, and a bad
	// token tried: neither secret reaches the logs.
	status, body := call(http.MethodPost, "/api/v1/tokens", admin, "application/json", `{"role":"officer","name":"api officer"}`, "Idempotency-Key", "make-a-token")
	if status != http.StatusCreated {
		t.Fatalf("POST /api/v1/tokens: %d %s", status, body)
	}
	apiToken := body[strings.Index(body, "tw_"):]
	apiToken = apiToken[:strings.IndexAny(apiToken, `"`)]
	if s, _ := call(http.MethodPost, "/api/v1/treaties/XVIII-16/actions", "tw_"+strings.Repeat("0", 64), "application/json", `{}`); s != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", s)
	}
	// A deposit that every subscription hears about.
	if s, b := call(http.MethodPost, "/api/v1/treaties/XVIII-16/actions", officer, "application/json",
		`{"action":"ratification","participant":"Algeria","date":"2026-03-02","reference":"C.N.100.2026.TREATIES-XVIII.16"}`); s != http.StatusCreated {
		t.Fatalf("record: %d %s", s, b)
	}
	// A signed slash command.
	form := url.Values{"command": {"/treaty"}, "text": {"status hanoi"}, "channel_id": {"C0NGO"}, "user_id": {"U0NGO"}, "team_id": {"T0NGO"}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	mac.Write([]byte("v0:" + ts + ":" + form))
	if s, b := call(http.MethodPost, "/slack/commands", "", "application/x-www-form-urlencoded", form,
		"X-Slack-Request-Timestamp", ts, "X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil))); s != http.StatusOK {
		t.Fatalf("slash command: %d %s", s, b)
	}

	// Wait for the sentinel: one delivery sent and three in the dead
	// letters (the refused channel, the gone incoming webhook, the gone
	// receiver).
	db, err := sql.Open("sqlite3", "file:"+c.db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sent, dead int
	for time.Now().Before(deadline) {
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'dead') FROM notify_deliveries`).Scan(&sent, &dead); err != nil {
			t.Fatal(err)
		}
		if sent >= 1 && dead >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sent < 1 || dead < 3 {
		t.Fatalf("%d sent and %d dead, want 1 and 3\n%s", sent, dead, logs.String())
	}
	cliOut.WriteString(c.ok("notify", "dead-letters"))
	cliOut.WriteString(c.ok("notify", "dead-letters", "--json"))
	cliOut.WriteString(c.ok("subscriptions", "--json"))
	cliOut.WriteString(c.ok("token", "list", "--json"))
	cliOut.WriteString(c.ok("log", "--json"))
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()

	all := logs.String() + cliOut.String()
	if !strings.Contains(logs.String(), `level=DEBUG`) && !strings.Contains(logs.String(), `"level":"DEBUG"`) {
		t.Logf("(no debug lines were printed)")
	}
	for name, secret := range map[string]string{
		"the Slack bot token": botToken, "the Slack signing secret": signingSecret, "the HMAC secret": hmacSecret,
		"the admin token": admin, "the officer token": officer, "the token made through the API": apiToken,
		"the incoming webhook's path": "SECRETHOOKPATH", "the receiver's path": "SECRETRECEIVERPATH",
	} {
		if strings.Contains(all, secret) {
			i := strings.Index(all, secret)
			t.Errorf("%s appears in the output: …%s…", name, all[max(0, i-120):min(len(all), i+len(secret)+40)])
		}
	}
	if !strings.Contains(all, "channel_not_found") || !strings.Contains(all, "410") {
		t.Errorf("the dead letters' reasons are missing from the output:\n%s", all)
	}
}
