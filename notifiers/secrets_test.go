package notifiers_test

import (
	"path/filepath"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// MustSecrets returns a real SQLite store in a temporary folder holding
// the given sink secrets, keyed by subscription id.
func MustSecrets(tb testing.TB, secrets map[string]events.SinkSecret) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "secrets.db"), sqlite.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	for id, s := range secrets {
		if err := st.PutSinkSecret(tb.Context(), id, s); err != nil {
			tb.Fatal(err)
		}
	}
	return st
}

// slackWebhookSub is a Slack incoming-webhook subscription posting to
// url; the returned store holds the URL.
func slackWebhookSub(tb testing.TB, url string) (events.Subscription, *sqlite.Store) {
	tb.Helper()
	sub := events.Subscription{ID: "ngo-hook", Sink: events.SinkSlackWebhook}
	return sub, MustSecrets(tb, map[string]events.SinkSecret{sub.ID: {URL: url}})
}
