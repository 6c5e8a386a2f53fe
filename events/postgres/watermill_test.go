package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// TestWatermillConsumerGroupSharesEachMessageOnce has two instances (two
// stores on one database) subscribe in one consumer group to a topic that
// a third publishes to — a backlog, then messages one at a time until
// each instance has handled some, then a burst: the two share the
// messages, each handled by one of them exactly once, in publication
// order; a subscriber of another group gets every message too.
func TestWatermillConsumerGroupSharesEachMessageOnce(t *testing.T) {
	const topic, n = "treatywatch.notices", 60
	url := pgtest.NewMigratedDatabase(t)
	cfg := postgres.WatermillConfig{PollInterval: 10 * time.Millisecond, InitializeSchema: true}
	pub, err := postgres.NewWatermillPublisher(mustOpenPorts(t, url), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			m := message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, `{"n":%d}`, i))
			m.Metadata.Set("n", fmt.Sprint(i))
			if err := pub.Publish(topic, m); err != nil {
				t.Fatalf("Publish %d: %v", i, err)
			}
		}
	}
	// Some messages wait before anyone subscribes.
	publish(0, n/2)

	type handled struct {
		by string
		n  string
	}
	var (
		mu   sync.Mutex
		got  []handled
		seen = map[string]bool{} // of the other group
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	consume := func(group string, record func(*message.Message)) {
		c := cfg
		c.ConsumerGroup = group
		sub, err := postgres.NewWatermillSubscriber(mustOpenPorts(t, url), c, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer func() { _ = sub.Close() }()
			for m := range msgs {
				record(m)
				time.Sleep(5 * time.Millisecond) // a handler that takes a moment
				m.Ack()
			}
		})
	}
	for _, name := range []string{"instance-a", "instance-b"} {
		consume("notifier", func(m *message.Message) {
			mu.Lock()
			got = append(got, handled{by: name, n: m.Metadata.Get("n")})
			mu.Unlock()
		})
	}
	consume("auditor", func(m *message.Message) {
		mu.Lock()
		seen[m.Metadata.Get("n")] = true
		mu.Unlock()
	})
	// Then one at a time, each once the last was handled, until each
	// subscriber of the group has handled some: either may get a message.
	last := n / 2
	handledAll := func(upTo int) bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && got[len(got)-1].n == fmt.Sprint(upTo-1) && seen[fmt.Sprint(upTo-1)]
	}
	waitHandled := func(upTo int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !handledAll(upTo); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("timed out waiting for message %d: the group handled %d messages, the other group %d", upTo-1, len(got), len(seen))
			}
		}
	}
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		var a, b bool
		for _, h := range got {
			a, b = a || h.by == "instance-a", b || h.by == "instance-b"
		}
		return a && b
	}
	for waitHandled(last); !both() && last < 20*n; last++ {
		publish(last, last+1)
		waitHandled(last + 1)
	}
	// And a burst.
	publish(last, last+n/2)
	last += n / 2
	// The sentinel: the last message reaches both groups. Messages come in
	// order, so any second delivery of an earlier one came before it.
	waitHandled(last)
	cancel()
	wg.Wait()

	count := map[string]int{}
	by := map[string]int{}
	for i, h := range got {
		count[h.n]++
		by[h.by]++
		if h.n != fmt.Sprint(i) {
			t.Errorf("the group's message %d was message %s: out of order or again", i, h.n)
			break
		}
	}
	for i := range last {
		if k := count[fmt.Sprint(i)]; k != 1 {
			t.Errorf("message %d handled %d times by the group, want once", i, k)
		}
	}
	if by["instance-a"] == 0 || by["instance-b"] == 0 {
		t.Errorf("the group's subscribers handled %v: they did not share the messages", by)
	}
	if len(seen) != last {
		t.Errorf("the other group got %d of %d messages", len(seen), last)
	}
	t.Logf("%d messages, handled by %v", last, by)
}

// TestWatermillSubscriberNeedsAGroup checks the subscriber's options.
func TestWatermillSubscriberNeedsAGroup(t *testing.T) {
	s := mustOpenPorts(t, pgtest.NewMigratedDatabase(t))
	if _, err := postgres.NewWatermillSubscriber(s, postgres.WatermillConfig{}, nil); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("a subscriber without a group: %v, want ErrInvalid", err)
	}
	if _, err := postgres.NewWatermillSubscriber(s, postgres.WatermillConfig{ConsumerGroup: "notifier", BatchSize: -1}, nil); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("a negative batch size: %v, want ErrInvalid", err)
	}
}
