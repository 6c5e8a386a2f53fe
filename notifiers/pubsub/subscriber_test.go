package pubsub_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// TestLogTopic: LogTopic delivers every event appended with Store.Append,
// all streams, in position order, with its envelope and metadata; then
// the events appended later, found by polling.
func TestLogTopic(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	want := MustAppendActs(t, store, 25, "XVIII-16", "XXVII-7", "XXVII-7-a")
	sub := MustSubscriber(t, store, testConfig("notifier", nil))
	msgs := MustSubscribe(t, sub, pubsub.LogTopic)

	check := func(msg *message.Message, w events.Envelope) {
		t.Helper()
		if got, want := msg.UUID, fmt.Sprintf("pos-%d", w.Position); got != want {
			t.Fatalf("UUID %q, want %q", got, want)
		}
		for key, want := range map[string]string{
			pubsub.MetadataPosition:      strconv.FormatInt(w.Position, 10),
			pubsub.MetadataStream:        w.Stream,
			pubsub.MetadataType:          w.Type,
			pubsub.MetadataVersion:       strconv.FormatInt(w.Version, 10),
			pubsub.MetadataSchemaVersion: "1",
			pubsub.MetadataRecordedAt:    w.RecordedAt.Format(time.RFC3339Nano),
			pubsub.MetadataCorrelationID: w.Meta.CorrelationID,
		} {
			if got := msg.Metadata.Get(key); got != want {
				t.Errorf("%s: metadata %s = %q, want %q", msg.UUID, key, got, want)
			}
		}
		if got := middleware.MessageCorrelationID(msg); got != w.Meta.CorrelationID {
			t.Errorf("%s: middleware.MessageCorrelationID = %q, want %q", msg.UUID, got, w.Meta.CorrelationID)
		}
		pos, err := pubsub.Position(msg)
		if err != nil || pos != w.Position {
			t.Errorf("%s: Position = %d, %v; want %d", msg.UUID, pos, err, w.Position)
		}
		got, err := pubsub.Envelope(msg)
		if err != nil {
			t.Fatalf("%s: Envelope: %v", msg.UUID, err)
		}
		if got.Position != w.Position || got.Stream != w.Stream || got.Version != w.Version ||
			got.Type != w.Type || got.SchemaVersion != w.SchemaVersion || got.ValidDate != w.ValidDate ||
			!got.RecordedAt.Equal(w.RecordedAt) || got.Meta != w.Meta || !bytes.Equal(got.Payload, w.Payload) {
			t.Errorf("%s: Envelope =\n%+v\nwant\n%+v", msg.UUID, got, w)
		}
	}
	for _, w := range want {
		msg := MustReceive(t, msgs)
		check(msg, w)
		msg.Ack()
	}
	// Found by polling: no Bell. It is the next message: no duplicate of
	// an earlier one came before it.
	later := MustAppendActs(t, store, 1, "I-1")
	msg := MustReceive(t, msgs)
	check(msg, later[0])
	msg.Ack()

	// A published message is an event of the log too.
	pub := MustPublisher(t, store, pubsub.PublisherConfig{})
	if err := pub.Publish("alerts", message.NewMessage("m-1", []byte(`{"a":1}`))); err != nil {
		t.Fatal(err)
	}
	msg = MustReceive(t, msgs)
	if got := msg.Metadata.Get(pubsub.MetadataType); got != pubsub.MessageType {
		t.Errorf("type %q, want %q", got, pubsub.MessageType)
	}
	if got := msg.Metadata.Get(pubsub.MetadataStream); got != pubsub.TopicStream("alerts") {
		t.Errorf("stream %q, want %q", got, pubsub.TopicStream("alerts"))
	}
	if _, err := pubsub.Position(message.NewMessage("x", nil)); !errors.Is(err, pubsub.ErrNotLogMessage) {
		t.Errorf("Position of another message: %v, want ErrNotLogMessage", err)
	}
}

// TestOffsetsSurviveReopen: a group's offset is the last acknowledged
// position, kept in the file; a new subscriber of the group on the
// reopened file resumes after it, a message unacknowledged at Close
// included, and another group starts from the beginning.
func TestOffsetsSurviveReopen(t *testing.T) {
	path := TempPath(t)
	store := MustOpen(t, path)
	MustAppendActs(t, store, 10, "XVIII-16")
	sub := MustSubscriber(t, store, testConfig("notifier", nil))
	msgs := MustSubscribe(t, sub, pubsub.LogTopic)
	for range 4 {
		MustReceive(t, msgs).Ack()
	}
	held := MustReceive(t, msgs) // position 5, never acknowledged
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-msgs; ok {
		t.Fatal("channel still open after Close")
	}
	if held.Context().Err() == nil {
		t.Error("the held message's context is not canceled after Close")
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = MustOpen(t, path)
	if got, err := pubsub.Offset(t.Context(), store, pubsub.LogTopic, "notifier"); err != nil || got != 4 {
		t.Fatalf("Offset = %d, %v; want 4", got, err)
	}
	msgs = MustSubscribe(t, MustSubscriber(t, store, testConfig("notifier", nil)), pubsub.LogTopic)
	for want := int64(5); want <= 10; want++ {
		msg := MustReceive(t, msgs)
		if pos, _ := pubsub.Position(msg); pos != want {
			t.Fatalf("resumed at position %d, want %d", pos, want)
		}
		msg.Ack()
	}
	other := MustSubscribe(t, MustSubscriber(t, store, testConfig("audit", nil)), pubsub.LogTopic)
	if pos, _ := pubsub.Position(MustReceive(t, other)); pos != 1 {
		t.Fatalf("a new group starts at position %d, want 1", pos)
	}
}

// TestAckWhileClosing: an Ack given within CloseGrace of Close is
// committed.
func TestAckWhileClosing(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	MustAppendActs(t, store, 3, "XVIII-16")
	cfg := testConfig("notifier", nil)
	cfg.CloseGrace = 5 * time.Second
	sub := MustSubscriber(t, store, cfg)
	msgs := MustSubscribe(t, sub, pubsub.LogTopic)
	msg := MustReceive(t, msgs)
	closed := make(chan error)
	go func() { closed <- sub.Close() }()
	time.Sleep(50 * time.Millisecond)
	if msg.Context().Err() != nil {
		t.Error("the message's context is canceled before its grace ends")
	}
	msg.Ack()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got, err := pubsub.Offset(t.Context(), store, pubsub.LogTopic, "notifier"); err != nil || got != 1 {
		t.Fatalf("Offset = %d, %v; want 1", got, err)
	}
}

// TestNackRedelivers: a nacked message comes again, the same, until it is
// acknowledged; then the next one.
func TestNackRedelivers(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	pub := MustPublisher(t, store, pubsub.PublisherConfig{})
	var sent []*message.Message
	for i := range 3 {
		msg := message.NewMessage(watermill.NewUUID(), []byte(strconv.Itoa(i)))
		msg.Metadata.Set("n", strconv.Itoa(i))
		sent = append(sent, msg)
	}
	if err := pub.Publish("retry", sent...); err != nil {
		t.Fatal(err)
	}
	msgs := MustSubscribe(t, MustSubscriber(t, store, testConfig("g", nil)), "retry")
	for range 3 {
		msg := MustReceive(t, msgs)
		if !sameMessage(msg, sent[0]) {
			t.Fatalf("got %s %q %v, want the nacked %s again", msg.UUID, msg.Payload, msg.Metadata, sent[0].UUID)
		}
		msg.Nack()
	}
	MustReceive(t, msgs).Ack()
	if msg := MustReceive(t, msgs); !sameMessage(msg, sent[1]) {
		t.Fatalf("after the Ack got %s, want %s", msg.UUID, sent[1].UUID)
	}
	if got, err := pubsub.Offset(t.Context(), store, "retry", "g"); err != nil || got != 1 {
		t.Fatalf("Offset = %d, %v; want 1", got, err)
	}
}

func sameMessage(a, b *message.Message) bool {
	return a.UUID == b.UUID && bytes.Equal(a.Payload, b.Payload) && maps.Equal(a.Metadata, b.Metadata)
}

// TestPayloads: every payload and metadata comes back byte for byte,
// whether it is stored as JSON or in base64.
func TestPayloads(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	pub := MustPublisher(t, store, pubsub.PublisherConfig{})
	payloads := []string{
		`{"a":1}`, `{"a": 1}`, "null", "12", `"<b>&"`, "\"\u2028\"", "x", "", "\x00\xff\xfe", " 1", `[1,2]`, "{\"é\":\"ü\"}",
	}
	var sent []*message.Message
	for i, p := range payloads {
		msg := message.NewMessage(fmt.Sprintf("m-%d", i), []byte(p))
		msg.Metadata.Set("i", strconv.Itoa(i))
		msg.Metadata.Set(middleware.CorrelationIDMetadataKey, "corr")
		sent = append(sent, msg)
		if err := pub.Publish("payloads", msg); err != nil {
			t.Fatalf("Publish %q: %v", p, err)
		}
	}
	msgs := MustSubscribe(t, MustSubscriber(t, store, testConfig("", nil)), "payloads")
	for _, want := range sent {
		msg := MustReceive(t, msgs)
		if !sameMessage(msg, want) {
			t.Errorf("got %s %q %v, want %s %q %v", msg.UUID, msg.Payload, msg.Metadata, want.UUID, want.Payload, want.Metadata)
		}
		msg.Ack()
	}
	es, err := store.ReadStream(t.Context(), pubsub.TopicStream("payloads"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(payloads) || es[0].Meta.CorrelationID != "corr" || es[0].Type != pubsub.MessageType {
		t.Fatalf("stream holds %d events, first %+v", len(es), es[0])
	}
}

// TestPublishRefusals: the log topic is read-only, the topic must not be
// empty, a closed Publisher publishes nothing.
func TestPublishRefusals(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	pub := MustPublisher(t, store, pubsub.PublisherConfig{})
	if err := pub.Publish(pubsub.LogTopic, message.NewMessage("a", nil)); !errors.Is(err, pubsub.ErrReadOnlyTopic) {
		t.Errorf("Publish to the log topic: %v, want ErrReadOnlyTopic", err)
	}
	if err := pub.Publish("", message.NewMessage("a", nil)); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Publish to the empty topic: %v, want ErrInvalid", err)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("t", message.NewMessage("a", nil)); !errors.Is(err, pubsub.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if head, err := store.Head(t.Context()); err != nil || head != 0 {
		t.Errorf("head %d, %v after refused publishes; want 0", head, err)
	}
	sub := MustSubscriber(t, store, testConfig("g", nil))
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(t.Context(), "t"); !errors.Is(err, pubsub.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// TestConcurrentPublishers: Publishers on the same stream (as in two
// processes) retry each other's conflicts; every message is appended
// once, and each Publish's messages stay together.
func TestConcurrentPublishers(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	const publishers, calls = 4, 25
	var wg sync.WaitGroup
	for p := range publishers {
		pub := MustPublisher(t, store, pubsub.PublisherConfig{})
		wg.Go(func() {
			for c := range calls {
				a := message.NewMessage(fmt.Sprintf("%d-%d-a", p, c), []byte("x"))
				b := message.NewMessage(fmt.Sprintf("%d-%d-b", p, c), []byte("x"))
				if err := pub.Publish("shared", a, b); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	msgs := MustSubscribe(t, MustSubscriber(t, store, testConfig("", nil)), "shared")
	seen := map[string]bool{}
	for range publishers * calls {
		a := MustReceive(t, msgs)
		a.Ack()
		b := MustReceive(t, msgs)
		b.Ack()
		if a.UUID[:len(a.UUID)-1]+"b" != b.UUID || seen[a.UUID] {
			t.Fatalf("got %s then %s", a.UUID, b.UUID)
		}
		seen[a.UUID] = true
	}
}

// TestConsumerGroupClaim: two Subscribers of one group never deliver the
// same message (one delivers while it runs, the other takes over from
// the offset when it stops); another group gets every message.
func TestConsumerGroupClaim(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	bell := pubsub.NewBell()
	pub := MustPublisher(t, store, pubsub.PublisherConfig{Bell: bell})
	const n = 60
	var want []string
	for i := range n {
		msg := message.NewMessage(fmt.Sprintf("m-%02d", i), []byte("x"))
		want = append(want, msg.UUID)
		if err := pub.Publish("work", msg); err != nil {
			t.Fatal(err)
		}
	}
	subs := []*pubsub.Subscriber{
		MustSubscriber(t, store, testConfig("workers", bell)),
		MustSubscriber(t, store, testConfig("workers", bell)),
	}
	var (
		mu  sync.Mutex
		got []string
	)
	var wg sync.WaitGroup
	for _, sub := range subs {
		msgs := MustSubscribe(t, sub, "work")
		wg.Go(func() {
			for msg := range msgs {
				mu.Lock()
				got = append(got, msg.UUID)
				half := len(got) == n/2
				mu.Unlock()
				msg.Ack()
				if half {
					// Stop whichever subscriber delivers: the other
					// takes over from the offset.
					go sub.Close()
				}
			}
		})
	}
	// The sentinel: one more message, published once the others were
	// delivered. The group delivers in order, so a duplicate of an earlier
	// message would come before it.
	received := func(k int) bool { mu.Lock(); defer mu.Unlock(); return len(got) >= k }
	has := func(id string) bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(got, id) }
	deadline := time.Now().Add(20 * time.Second)
	for !received(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sentinel := message.NewMessage("m-sentinel", []byte("x"))
	want = append(want, sentinel.UUID)
	if err := pub.Publish("work", sentinel); err != nil {
		t.Fatal(err)
	}
	for !has(sentinel.UUID) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, sub := range subs {
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if !slices.Equal(got, want) {
		t.Fatalf("the group got\n%v\nwant each message once, in order:\n%v", got, want)
	}

	others := MustSubscribe(t, MustSubscriber(t, store, testConfig("audit", bell)), "work")
	for _, id := range want {
		msg := MustReceive(t, others)
		if msg.UUID != id {
			t.Fatalf("another group got %s, want %s", msg.UUID, id)
		}
		msg.Ack()
	}
}

// TestBellWakes: with a Bell, a subscription delivers an append at once,
// not at its next poll: rung by hand, or by RingAfterAppend's store.
func TestBellWakes(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	bell := pubsub.NewBell()
	cfg := testConfig("notifier", bell)
	cfg.PollInterval = time.Hour
	msgs := MustSubscribe(t, MustSubscriber(t, store, cfg), pubsub.LogTopic)
	ringing := pubsub.RingAfterAppend(store, bell)
	for i := range 4 {
		MustNotReceive(t, msgs, 20*time.Millisecond) // the subscription waits
		start := time.Now()
		if i%2 == 0 {
			MustAppendActs(t, store, 1, fmt.Sprintf("T-%d", i))
			bell.Ring()
		} else {
			MustAppendActs(t, ringing, 1, fmt.Sprintf("T-%d", i))
		}
		msg := MustReceive(t, msgs)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("delivered %s after %s", msg.UUID, d)
		}
		msg.Ack()
	}
}

// TestNoConsumerGroup: without a group, each subscription reads the
// topic from its beginning (watermill's NewSubscriberReceivesOldMessages)
// and keeps no offset.
func TestNoConsumerGroup(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	bell := pubsub.NewBell()
	tests.TestNewSubscriberReceivesOldMessages(t,
		tests.TestContext{TestID: tests.NewTestID(), Features: tests.Features{NewSubscriberReceivesOldMessages: true, Persistent: true}},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return MustPublisher(t, store, pubsub.PublisherConfig{Bell: bell}), MustSubscriber(t, store, testConfig("", bell))
		})
	head, err := store.Head(t.Context()) // the messages of the watermill test
	if err != nil {
		t.Fatal(err)
	}
	MustAppendActs(t, store, 2, "XVIII-16")
	for range 2 {
		msgs := MustSubscribe(t, MustSubscriber(t, store, testConfig("", bell)), pubsub.LogTopic)
		for want := int64(1); want <= head+2; want++ {
			msg := MustReceive(t, msgs)
			if pos, _ := pubsub.Position(msg); pos != want {
				t.Fatalf("got position %d, want %d", pos, want)
			}
			msg.Ack()
		}
	}
	if got, err := pubsub.Offset(t.Context(), store, pubsub.LogTopic, ""); err != nil || got != 0 {
		t.Errorf("Offset without a group = %d, %v; want 0 (none kept)", got, err)
	}
}

// TestConfigValidate: negative options are refused.
func TestConfigValidate(t *testing.T) {
	store := MustOpen(t, TempPath(t))
	for name, cfg := range map[string]pubsub.SubscriberConfig{
		"poll":      {PollInterval: -1},
		"nack":      {NackDelay: -1},
		"ttl":       {ClaimTTL: -1},
		"short ttl": {ClaimTTL: time.Millisecond},
		"grace":     {CloseGrace: -1},
		"page":      {PageSize: -1},
	} {
		if _, err := pubsub.NewSubscriber(store, cfg, nil); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: NewSubscriber: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := pubsub.NewSubscriber(nil, pubsub.SubscriberConfig{}, nil); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("nil store: %v, want ErrInvalid", err)
	}
}
