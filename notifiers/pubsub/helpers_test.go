package pubsub_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// TempPath returns the path of a database file in a new temporary
// directory.
func TempPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "treatywatch.db")
}

// MustOpen opens the store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path, sqlite.Config{}, nil)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close store: %v", err)
		}
	})
	return s
}

// testConfig is a SubscriberConfig with the short delays that tests want.
func testConfig(group string, bell *pubsub.Bell) pubsub.SubscriberConfig {
	return pubsub.SubscriberConfig{
		ConsumerGroup: group,
		PollInterval:  20 * time.Millisecond,
		NackDelay:     10 * time.Millisecond,
		ClaimTTL:      2 * time.Second,
		CloseGrace:    200 * time.Millisecond,
		Bell:          bell,
	}
}

// MustSubscriber returns a Subscriber on store that is closed when the
// test ends (before the store, whose cleanup was registered earlier).
func MustSubscriber(tb testing.TB, store pubsub.Store, cfg pubsub.SubscriberConfig) *pubsub.Subscriber {
	tb.Helper()
	sub, err := pubsub.NewSubscriber(store, cfg, nil)
	if err != nil {
		tb.Fatalf("NewSubscriber: %v", err)
	}
	tb.Cleanup(func() {
		if err := sub.Close(); err != nil {
			tb.Errorf("Close subscriber: %v", err)
		}
	})
	return sub
}

// MustPublisher returns a Publisher on store that is closed when the test
// ends.
func MustPublisher(tb testing.TB, store pubsub.Store, cfg pubsub.PublisherConfig) *pubsub.Publisher {
	tb.Helper()
	pub, err := pubsub.NewPublisher(store, cfg, nil)
	if err != nil {
		tb.Fatalf("NewPublisher: %v", err)
	}
	tb.Cleanup(func() {
		if err := pub.Close(); err != nil {
			tb.Errorf("Close publisher: %v", err)
		}
	})
	return pub
}

// MustSubscribe subscribes to topic until the test ends.
func MustSubscribe(tb testing.TB, sub message.Subscriber, topic string) <-chan *message.Message {
	tb.Helper()
	msgs, err := sub.Subscribe(tb.Context(), topic)
	if err != nil {
		tb.Fatalf("Subscribe(%s): %v", topic, err)
	}
	return msgs
}

// MustReceive returns the next message, failing the test after a timeout.
func MustReceive(tb testing.TB, msgs <-chan *message.Message) *message.Message {
	tb.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			tb.Fatal("messages channel closed")
		}
		return msg
	case <-time.After(10 * time.Second):
		tb.Fatal("no message within 10 s")
	}
	return nil
}

// MustNotReceive fails the test if a message comes within d.
func MustNotReceive(tb testing.TB, msgs <-chan *message.Message, d time.Duration) {
	tb.Helper()
	select {
	case msg, ok := <-msgs:
		if ok {
			tb.Fatalf("unexpected message %s (%v)", msg.UUID, msg.Metadata)
		}
	case <-time.After(d):
	}
}

// MustAppendActs appends n events to the streams of the given treaties in
// turn, one Append each, with a correlation id per event, and returns
// them.
func MustAppendActs(tb testing.TB, s events.Store, n int, treaties ...string) []events.Envelope {
	tb.Helper()
	versions := map[string]int64{}
	var out []events.Envelope
	for i := range n {
		stream := events.TreatyStream(treaties[i%len(treaties)])
		es, err := s.Append(tb.Context(), events.StreamAppend{
			Stream:          stream,
			ExpectedVersion: versions[stream],
			Records: []events.Record{{
				Type:          "test.noted",
				SchemaVersion: 1,
				ValidDate:     events.MustDate("2025-10-25"),
				Meta:          events.Metadata{Actor: "test", CorrelationID: fmt.Sprintf("corr-%d", i)},
				Payload:       []byte(fmt.Sprintf(`{"n":%d}`, i)),
			}},
		})
		if err != nil {
			tb.Fatalf("Append %d: %v", i, err)
		}
		versions[stream] = es[0].Version
		out = append(out, es...)
	}
	return out
}
