package notifiers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// TestSinkCheckRefusesWhatCouldNeverBeDelivered: a slack sink without a
// bot token and placeholder webhook URLs are refused as invalid input,
// naming the problem and never the URL; real-looking ones pass.
func TestSinkCheckRefusesWhatCouldNeverBeDelivered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check notifiers.SinkCheck
		sink  string
		url   string
		want  string // "" accepted
	}{
		{"slack without a bot token", notifiers.SinkCheck{}, events.SinkSlack, "", "none is configured: set SLACK_BOT_TOKEN"},
		{"slack with a bot token", notifiers.SinkCheck{SlackBotToken: true}, events.SinkSlack, "", ""},
		{"the README's placeholder", notifiers.SinkCheck{}, events.SinkSlackWebhook, "https://hooks.slack.com/services/...", "is a placeholder (it holds ...)"},
		{"an ellipsis character", notifiers.SinkCheck{}, events.SinkSlackWebhook, "https://hooks.slack.com/services/T1/B1/…", "is a placeholder (it holds …)"},
		{"Slack's documentation example", notifiers.SinkCheck{}, events.SinkSlackWebhook, "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "placeholder of Slack's documentation"},
		{"a hooks.slack.com URL of another shape", notifiers.SinkCheck{}, events.SinkSlackWebhook, "https://hooks.slack.com/services/T1/B1", "is not a Slack incoming webhook URL"},
		{"a real-looking Slack webhook", notifiers.SinkCheck{}, events.SinkSlackWebhook, "https://hooks.slack.com/services/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", ""},
		{"a template", notifiers.SinkCheck{}, events.SinkWebhook, "https://ngo.org/hook/{id}", "is a placeholder (it holds {)"},
		{"an encoded template", notifiers.SinkCheck{}, events.SinkWebhook, "https://ngo.org/hook/%3Cid%3E", "is a placeholder (it holds 3C)"},
		{"a documentation domain", notifiers.SinkCheck{}, events.SinkWebhook, "https://ngo.example/hook", "is on ngo.example"},
		{"example.org", notifiers.SinkCheck{}, events.SinkWebhook, "https://hooks.example.org/x", "is on hooks.example.org"},
		{".invalid", notifiers.SinkCheck{}, events.SinkWebhook, "https://receiver.invalid./x", "is on receiver.invalid"},
		{"a loopback receiver", notifiers.SinkCheck{}, events.SinkWebhook, "http://127.0.0.1:9000/hook", ""},
		{"the console", notifiers.SinkCheck{}, events.SinkConsole, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check.Validate(events.Subscription{Sink: tc.sink, Channel: "C0NGO", Treaties: []string{"XVIII-16"}}, events.SinkSecret{URL: tc.url})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var inv *events.InvalidError
			if !errors.As(err, &inv) || !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an InvalidError with %q", err, tc.want)
			}
			if tc.url != "" && strings.Contains(err.Error(), tc.url) {
				t.Fatalf("the error quotes the URL: %v", err)
			}
		})
	}
}
