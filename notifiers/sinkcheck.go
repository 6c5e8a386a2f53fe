package notifiers

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// SinkCheck says what this process can deliver to. Its Validate is the
// ledger's events.LedgerConfig.ValidateSink: a subscription the notifier
// could never deliver is refused when it is made, with the reason, rather
// than accepted and found out later in the dead letters.
type SinkCheck struct {
	// SlackBotToken reports whether a Slack bot token is configured
	// (SLACK_BOT_TOKEN); the slack sink posts with it.
	SlackBotToken bool
}

// slackHookPath is the path of a Slack incoming webhook:
// /services/T<team>/B<hook>/<secret>.
var slackHookPath = regexp.MustCompile(`^/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9]+)$`)

// allZeros matches Slack's documentation ids, T00000000 and B00000000.
var allZeros = regexp.MustCompile(`^[TB]0+$`)

// Validate refuses, with an *events.InvalidError naming the problem (and
// never the URL, a credential), a slack sink when no bot token is
// configured, and a webhook or Slack incoming-webhook URL that is a
// placeholder: one holding "..." or "…" or a <…>/{…} template, one on a
// name reserved for documentation or never resolvable (example.com,
// .example, .invalid, .test), or a hooks.slack.com URL that is not
// /services/T…/B…/… or is Slack's own documentation example (T00000000,
// B00000000, XXXX…). It is safe for concurrent use.
func (c SinkCheck) Validate(s events.Subscription, secret events.SinkSecret) error {
	switch s.Sink {
	case events.SinkSlack:
		if !c.SlackBotToken {
			return &events.InvalidError{Field: "sink", Reason: "the slack sink posts with a Slack bot token and none is configured: " +
				"set SLACK_BOT_TOKEN (an xoxb-… token of a Slack app with chat:write and channels:history) where you subscribe and where the notifier runs (serve, notify run), " +
				"or use --sink slack-webhook with an incoming webhook's URL"}
		}
	case events.SinkSlackWebhook, events.SinkWebhook:
		if reason := placeholderURL(secret.URL); reason != "" {
			return &events.InvalidError{Field: "url", Reason: "the --url of the " + s.Sink + " sink " + reason + "; give the real URL"}
		}
	}
	return nil
}

// placeholderURL says why a webhook URL is an obvious placeholder, or "".
// It never quotes the URL.
func placeholderURL(raw string) string {
	for _, p := range []string{"...", "…", "<", ">", "{", "}", "%3C", "%3c", "%7B", "%7b"} {
		if strings.Contains(raw, p) {
			return "is a placeholder (it holds " + strings.TrimPrefix(p, "%") + ")"
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "" // ValidateSubscription already refused it
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, tld := range []string{".example", ".invalid", ".test"} {
		if host == tld[1:] || strings.HasSuffix(host, tld) {
			return "is on " + host + ", a name reserved for documentation and tests that no receiver can have (RFC 2606)"
		}
	}
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return "is on " + host + ", a name reserved for documentation (RFC 2606)"
		}
	}
	if host == "hooks.slack.com" {
		m := slackHookPath.FindStringSubmatch(u.EscapedPath())
		switch {
		case m == nil:
			return "is not a Slack incoming webhook URL: want https://hooks.slack.com/services/T…/B…/… as Slack gives it"
		case allZeros.MatchString(m[1]) || allZeros.MatchString(m[2]) || strings.Trim(m[3], "Xx") == "":
			return "is the placeholder of Slack's documentation (T00000000/B00000000/XXXX…), not a webhook of yours"
		}
	}
	return ""
}
