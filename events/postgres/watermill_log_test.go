package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// logTopic is the name the tests subscribe to the log under.
const logTopic = "treatywatch.log"

// testLogMessage is the tests' translation of an event into a message:
// its position for UUID and in the metadata, its stream, its payload.
func testLogMessage(e *events.Envelope) (*message.Message, error) {
	m := message.NewMessage("pos-"+strconv.FormatInt(e.Position, 10), message.Payload(e.Payload))
	m.Metadata.Set("position", strconv.FormatInt(e.Position, 10))
	m.Metadata.Set("stream", e.Stream)
	return m, nil
}

// handledLog is what the consumers of a test saw: in the order handled,
// who handled which position.
type handledLog struct {
	mu  sync.Mutex
	got map[string][]int64 // by consumer group
	by  map[string]int     // handled per consumer
}

func newHandledLog() *handledLog {
	return &handledLog{got: map[string][]int64{}, by: map[string]int{}}
}

// add records that consumer of group handled the message m.
func (h *handledLog) add(t *testing.T, group, consumer string, m *message.Message) {
	pos, err := strconv.ParseInt(m.Metadata.Get("position"), 10, 64)
	if err != nil || m.UUID != "pos-"+m.Metadata.Get("position") {
		t.Errorf("message %s: metadata position %q", m.UUID, m.Metadata.Get("position"))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got[group] = append(h.got[group], pos)
	h.by[consumer]++
}

// reached reports whether group has handled position pos.
func (h *handledLog) reached(group string, pos int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.got[group]
	return len(g) > 0 && g[len(g)-1] >= pos
}

// wait waits until group has handled position pos.
func (h *handledLog) wait(t *testing.T, group string, pos int64) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !h.reached(group, pos); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.mu.Lock()
			defer h.mu.Unlock()
			t.Fatalf("timed out waiting for group %s to handle position %d: it handled %d events", group, pos, len(h.got[group]))
		}
	}
}

// checkOnceInOrder checks that group handled the positions 1..head, each
// once, in order.
func (h *handledLog) checkOnceInOrder(t *testing.T, group string, head int64) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.got[group]
	for i, pos := range g {
		if pos != int64(i+1) {
			t.Errorf("group %s: its event %d was position %d: skipped, repeated or out of order (%v)", group, i+1, pos, g[max(0, i-3):min(len(g), i+3)])
			return
		}
	}
	if int64(len(g)) != head {
		t.Errorf("group %s handled %d events, want %d", group, len(g), head)
	}
}

// consumeLog subscribes consumer, in group, to the log of the store at
// url (a store of its own: another instance) and records what it
// handles until ctx ends; the returned function waits for it to stop.
func consumeLog(t *testing.T, ctx context.Context, url, group, consumer string, h *handledLog, work time.Duration, batch int) func() {
	t.Helper()
	store := mustOpenPorts(t, url)
	sub, err := postgres.NewLogSubscriber(store, postgres.LogSubscriberConfig{
		Topic: logTopic, ConsumerGroup: group, Message: testLogMessage, PollInterval: 10 * time.Millisecond, BatchSize: batch,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(ctx, logTopic)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for m := range msgs {
			h.add(t, group, consumer, m)
			if work > 0 {
				time.Sleep(work) // a handler that takes a moment
			}
			m.Ack()
		}
	})
	return func() {
		if err := sub.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	}
}

// TestLogSubscriberDeliversEveryEventOnceInOrderAcrossARestart reads the
// log through watermill-sql: a backlog, then events appended while it
// runs; stopped and started again, the group resumes after the last
// event it acknowledged, and the offset in log_offsets is the head.
func TestLogSubscriberDeliversEveryEventOnceInOrderAcrossARestart(t *testing.T) {
	url := pgtest.NewDatabase(t)
	w := mustOpenPorts(t, url)
	MustAppend(t, w, events.StreamAppend{Stream: bbnj, Records: numbered(20)})
	h := newHandledLog()

	ctx, cancel := context.WithCancel(t.Context())
	stop := consumeLog(t, ctx, url, "notifier", "first", h, 0, 0)
	h.wait(t, "notifier", 20)
	MustAppend(t, w, events.StreamAppend{Stream: paris, Records: numbered(5)})
	h.wait(t, "notifier", 25)
	// Handled is not yet acknowledged: stopped now, the subscriber would
	// deliver the event again after the restart (at least once). Wait
	// for the acknowledgement's commit.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		got, err := w.LogOffset(t.Context(), "notifier")
		if err != nil {
			t.Fatal(err)
		}
		if got == 25 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("LogOffset after the first run = %d; want 25", got)
		}
	}
	cancel()
	stop()

	// Events recorded while no one listens, then a restart.
	MustAppend(t, w, events.StreamAppend{Stream: paris, ExpectedVersion: 5, Records: numbered(10)})
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	stop = consumeLog(t, ctx, url, "notifier", "second", h, 0, 3)
	defer stop()
	h.wait(t, "notifier", 35)
	MustAppend(t, w, events.StreamAppend{Stream: bbnj, ExpectedVersion: 20, Records: numbered(1)})
	h.wait(t, "notifier", 36)
	h.checkOnceInOrder(t, "notifier", 36)
	if h.by["second"] != 11 {
		t.Errorf("the restarted subscriber handled %d events, want the 11 after the offset", h.by["second"])
	}
}

// TestLogSubscribersShareAGroupWhileAppendersRace has appenders on four
// pools (four instances) write concurrently while two subscribers of one
// group, each on a store of its own (one reading an event at a time, the
// other batches), and one subscriber of another group read: the group's
// two share the log, together handling every position
// once, in order — no late commit skipped, none repeated — and the other
// group gets every position too.
func TestLogSubscribersShareAGroupWhileAppendersRace(t *testing.T) {
	const appenders, each = 4, 40
	url := pgtest.NewDatabase(t)
	h := newHandledLog()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stops []func()
	// One reads an event at a time, the other batches of 5.
	stops = append(stops, consumeLog(t, ctx, url, "notifier", "instance-a", h, time.Millisecond, 1))
	stops = append(stops, consumeLog(t, ctx, url, "notifier", "instance-b", h, time.Millisecond, 5))
	stops = append(stops, consumeLog(t, ctx, url, "auditor", "auditor", h, 0, 16))

	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	for a := range appenders {
		store := mustOpenPorts(t, url)
		stream := events.TreatyStream(fmt.Sprintf("race-%d", a))
		wg.Go(func() {
			var version int64
			for i := range each {
				// One or two events per commit, as the ledger writes them.
				n := 1 + i%2
				if _, err := store.Append(ctx, events.StreamAppend{Stream: stream, ExpectedVersion: version, Records: numbered(n)}); err != nil {
					errs <- err
					return
				}
				version += int64(n)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	head, err := mustOpenPorts(t, url).Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.wait(t, "notifier", head)
	h.wait(t, "auditor", head)
	cancel()
	for _, stop := range stops {
		stop()
	}
	h.checkOnceInOrder(t, "notifier", head)
	h.checkOnceInOrder(t, "auditor", head)
	if h.by["instance-a"] == 0 || h.by["instance-b"] == 0 {
		t.Errorf("the group's subscribers handled %v: they did not share the log", h.by)
	}
	t.Logf("%d events, handled %v", head, h.by)
}

// TestSetLogOffsetResumesThereAndRefusesPastTheHead sets a group's
// offset as migrate-db does: the group's subscriber starts after it; a
// position past the head is refused and changes nothing.
func TestSetLogOffsetResumesThereAndRefusesPastTheHead(t *testing.T) {
	url := pgtest.NewDatabase(t)
	w := mustOpenPorts(t, url)
	MustAppend(t, w, events.StreamAppend{Stream: bbnj, Records: numbered(10)})
	if err := w.SetLogOffset(t.Context(), "notifier", 7); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int64{11, -1} {
		if err := w.SetLogOffset(t.Context(), "notifier", bad); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("SetLogOffset(%d) = %v, want ErrInvalid", bad, err)
		}
	}
	if got, err := w.LogOffset(t.Context(), "notifier"); err != nil || got != 7 {
		t.Fatalf("LogOffset = %d, %v; want 7, unchanged by the refused ones", got, err)
	}
	h := newHandledLog()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := consumeLog(t, ctx, url, "notifier", "copy", h, 0, 0)
	defer stop()
	h.wait(t, "notifier", 10)
	h.mu.Lock()
	defer h.mu.Unlock()
	if got := h.got["notifier"]; len(got) != 3 || got[0] != 8 {
		t.Errorf("after offset 7 the group handled %v, want [8 9 10]", got)
	}
}

// TestLogSubscriberOptions checks the options and that the log topic
// takes no publications.
func TestLogSubscriberOptions(t *testing.T) {
	s := mustOpenPorts(t, pgtest.NewDatabase(t))
	ok := postgres.LogSubscriberConfig{Topic: logTopic, ConsumerGroup: "notifier", Message: testLogMessage}
	for name, mutate := range map[string]func(*postgres.LogSubscriberConfig){
		"no topic":       func(c *postgres.LogSubscriberConfig) { c.Topic = "" },
		"no group":       func(c *postgres.LogSubscriberConfig) { c.ConsumerGroup = "" },
		"no translation": func(c *postgres.LogSubscriberConfig) { c.Message = nil },
		"negative batch": func(c *postgres.LogSubscriberConfig) { c.BatchSize = -1 },
	} {
		c := ok
		mutate(&c)
		if _, err := postgres.NewLogSubscriber(s, c, nil); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	sub, err := postgres.NewLogSubscriber(s, ok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Close() }()
	if _, err := sub.Subscribe(t.Context(), "treatywatch.other"); err != nil {
		// watermill-sql runs BeforeSubscribingQueries at once: refused.
		if !errors.Is(err, events.ErrInvalid) {
			t.Errorf("Subscribe to another topic: %v, want ErrInvalid", err)
		}
	} else {
		t.Errorf("Subscribe to another topic: accepted")
	}
	if !errors.Is(postgres.ErrLogTopicReadOnly, events.ErrRefused) {
		t.Errorf("ErrLogTopicReadOnly does not wrap ErrRefused")
	}
}
