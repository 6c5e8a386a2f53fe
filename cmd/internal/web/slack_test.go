package web_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slashCommand posts a slash command signed with secret at time ts.
func slashCommand(e *env, secret string, ts time.Time, text string) response {
	e.t.Helper()
	form := url.Values{"command": {"/treaty"}, "text": {text}, "channel_id": {"C0123456789"}, "user_id": {"U1"}, "user_name": {"ada"}, "team_id": {"T1"}}
	body := form.Encode()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":" + body))
	sig := "v0=" + hex.EncodeToString(mac.Sum(nil))
	return e.Do(http.MethodPost, "/slack/commands", "", "application/x-www-form-urlencoded", []byte(body),
		"X-Slack-Request-Timestamp: "+stamp, "X-Slack-Signature: "+sig)
}

type slackMsg struct {
	ResponseType string           `json:"response_type"`
	Text         string           `json:"text"`
	Blocks       []map[string]any `json:"blocks"`
}

func TestSlashCommand(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	now := time.Now()

	t.Run("status", func(t *testing.T) {
		r := slashCommand(e, slackSecret, now, "status hanoi")
		wantStatus(t, r, http.StatusOK)
		var m slackMsg
		r.JSON(t, &m)
		if m.ResponseType != "ephemeral" || len(m.Blocks) < 2 || m.Blocks[0]["type"] != "header" {
			t.Fatalf("answer = %s", r.Body)
		}
		if !strings.Contains(string(r.Body), "0 of 40") || !strings.Contains(m.Text, "Hanoi Convention (XVIII-16)") {
			t.Errorf("answer = %s", r.Body)
		}
	})

	t.Run("help and unknown", func(t *testing.T) {
		for _, text := range []string{"", "help", "frobnicate"} {
			r := slashCommand(e, slackSecret, now, text)
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(string(r.Body), "subscribe TREATY") {
				t.Errorf("%q: %s", text, r.Body)
			}
		}
	})

	t.Run("refusal is a message", func(t *testing.T) {
		r := slashCommand(e, slackSecret, now, "status atlantis")
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), "unknown treaty") {
			t.Errorf("answer = %s", r.Body)
		}
	})

	t.Run("subscribe", func(t *testing.T) {
		r := slashCommand(e, slackSecret, now, `subscribe hanoi --on deposits,milestones --digest "0 9 * * 1" --tz Europe/Paris`)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.Body), "Subscribed") {
			t.Fatalf("answer = %s", r.Body)
		}
		subs, err := e.Ledger.Subscriptions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) != 1 {
			t.Fatalf("subscriptions = %+v", subs)
		}
		s := subs[0]
		if s.Sink != events.SinkSlack || s.Channel != "C0123456789" || len(s.Treaties) != 1 || s.Treaties[0] != hanoi ||
			strings.Join(s.On, ",") != "deposits,milestones" || s.Digest != "0 9 * * 1" || s.TZ != "Europe/Paris" {
			t.Errorf("subscription = %+v", s)
		}
		r = slashCommand(e, slackSecret, now, `subscribe hanoi --digest "every tuesday"`)
		if !strings.Contains(string(r.Body), "warning") {
			t.Errorf("a bad digest spec was accepted: %s", r.Body)
		}
	})

	t.Run("bad signature", func(t *testing.T) {
		r := slashCommand(e, "another secret", now, "status hanoi")
		wantStatus(t, r, http.StatusUnauthorized)
		r = e.Do(http.MethodPost, "/slack/commands", "", "application/x-www-form-urlencoded", []byte("text=status"))
		wantStatus(t, r, http.StatusUnauthorized)
	})

	t.Run("stale timestamp", func(t *testing.T) {
		r := slashCommand(e, slackSecret, now.Add(-6*time.Minute), "status hanoi")
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(string(r.Body), "stale") {
			t.Errorf("body = %s", r.Body)
		}
	})

	t.Run("not configured", func(t *testing.T) {
		plain := MustEnv(t, envOptions{})
		wantStatus(t, slashCommand(plain, slackSecret, now, "status hanoi"), http.StatusServiceUnavailable)
	})
}

// TestSlashStatusIsTheAdaptersMessage: the status answer is, byte for
// byte, what the Slack adapter makes of the same status's card: the
// handler builds no Block Kit of its own.
func TestSlashStatusIsTheAdaptersMessage(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	for _, tc := range []struct{ command, treaty string }{{"status hanoi", hanoi}, {"status XXVII-7-d", "XXVII-7-d"}} {
		r := slashCommand(e, slackSecret, time.Now(), tc.command)
		wantStatus(t, r, http.StatusOK)
		st, err := e.Runner.Status(t.Context(), tc.treaty, events.DateOf(today()), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := notifiers.SlackMessage(notifiers.StatusCard(st))
		want.ResponseType = slack.ResponseTypeEphemeral
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Body, append(b, '\n')) {
			t.Errorf("%s: answer\n%s\nwant the adapter's\n%s", tc.command, r.Body, b)
		}
	}
}

// TestSlashRefusalIsPlainText: a refused command echoes what the user
// typed as plain_text, and the fallback text escapes it, so Slack reads
// no mention or link in either (the fallback used to carry "<@U123>"
// as typed).
func TestSlashRefusalIsPlainText(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	r := slashCommand(e, slackSecret, time.Now(), "status <@U123> & co")
	wantStatus(t, r, http.StatusOK)
	var m slackMsg
	r.JSON(t, &m)
	if !strings.Contains(m.Text, `&lt;@U123&gt; &amp; co`) || strings.Contains(m.Text, "<@") {
		t.Errorf("fallback %q is not escaped", m.Text)
	}
	if len(m.Blocks) != 2 {
		t.Fatalf("answer = %s", r.Body)
	}
	text, _ := m.Blocks[0]["text"].(map[string]any)
	if text["type"] != "plain_text" || !strings.Contains(fmt.Sprint(text["text"]), "<@U123> & co") {
		t.Errorf("first block %v, want the reason as plain_text, as typed", m.Blocks[0])
	}
}

// TestSlashHandlerBuildsNoBlockKit: no file of package web builds Block
// Kit; the Slack adapter in notifiers does (SlackMessage, SlackRefusal,
// SlackSubscribed).
func TestSlashHandlerBuildsNoBlockKit(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "slack" {
					for _, part := range []string{"Block", "TextObject", "MarkdownType", "PlainTextType", "MixedElement"} {
						if strings.Contains(sel.Sel.Name, part) {
							t.Errorf("%s uses slack.%s: Block Kit belongs to notifiers' Slack adapter", name, sel.Sel.Name)
						}
					}
				}
			}
			return true
		})
	}
	if !slices.Contains(files, "slack.go") {
		t.Fatalf("no slack.go among %v: is the test running in the package folder?", files)
	}
}
