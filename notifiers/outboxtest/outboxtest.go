package outboxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// Run runs the contract suite against the stores open returns. open is
// called once per subtest and must return a new, empty store that lives
// until the test ends (close it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) notifiers.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, notifiers.Store)
	}{
		{"EnqueueRoundTrip", testEnqueueRoundTrip},
		{"EnqueueIsIdempotent", testEnqueueIdempotent},
		{"ConcurrentEnqueueAddsOnce", testConcurrentEnqueue},
		{"DeliveryNotFound", testDeliveryNotFound},
		{"HeadsOnePerChannelInOrder", testHeads},
		{"DeliveriesNewestFirst", testDeliveriesNewestFirst},
		{"OutcomeWrites", testOutcomeWrites},
		{"MarkSendingRecordsThePace", testMarkSendingPace},
		{"ThreadKeepsItsFirstMessage", testThreads},
		{"PaceNeverMovesBack", testPaceNeverMovesBack},
		{"RedriveDelivery", testRedriveDelivery},
		{"FenceRefusalWritesNothing", testFenceRefusal},
		{"FenceSeesTheLeaseHolder", testFenceSeesHolder},
		{"DeadMessages", testDeadMessages},
		{"RedriveDeadMessage", testRedriveDeadMessage},
		{"ScheduleRuns", testScheduleRuns},
		{"FencedScheduleRun", testFencedScheduleRun},
		{"SettingsSetOnce", testSettingsSetOnce},
		{"ConcurrentSettingSetOnce", testConcurrentSettingOnce},
		{"LeaseNeverTakenIsFree", testLeaseNeverTaken},
		{"LeaseTakeAtVersion", testLeaseTake},
		{"LeaseRenewAndRelease", testLeaseRenewAndRelease},
		{"ConcurrentLeaseTakesOneWins", testConcurrentLeaseTake},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// The suite's subscriptions and channels: a Slack channel of a treaty
// office, an NGO's webhook, the console.
const (
	subSlack   = "3f9a1c2b7d4e"
	subWebhook = "8c1d2e3f4a5b"
	subConsole = "console"

	chanSlack   = "slack:C0123456789"
	chanWebhook = "webhook:5d41402abc4b"
	chanConsole = "console:console"

	hanoi = "XVIII-16" // United Nations Convention against Cybercrime
	bbnj  = "XXI-10"   // Agreement on marine biodiversity beyond national jurisdiction
)

// senderLease is the lease the notifier's senders share.
const senderLease = "sender"

// t0 is the suite's clock: whole milliseconds, which every store keeps
// exactly.
var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// delivery is the delivery of the deposit at position pos to sub, as the
// router writes it.
func delivery(sub, channel string, pos int64, treaty string) events.Delivery {
	return events.Delivery{
		Subscription: sub,
		DedupKey:     fmt.Sprintf("event:%d:deposit", pos),
		Position:     pos,
		ChannelKey:   channel,
		ThreadKey:    treaty,
		Notice:       fmt.Appendf(nil, `{"kind":"deposit","treaty":%q,"participant":"Viet Nam","position":%d}`, treaty, pos),
		CreatedAt:    at(int(pos)),
	}
}

func mustEnqueue(t *testing.T, s notifiers.Store, ds ...events.Delivery) int {
	t.Helper()
	n, err := s.EnqueueDeliveries(t.Context(), ds)
	if err != nil {
		t.Fatalf("EnqueueDeliveries: %v", err)
	}
	return n
}

func all(t *testing.T, s notifiers.Store) []events.Delivery {
	t.Helper()
	ds, err := s.Deliveries(t.Context(), "", 0)
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	return ds
}

func get(t *testing.T, s notifiers.Store, id int64) events.Delivery {
	t.Helper()
	d, err := s.Delivery(t.Context(), id)
	if err != nil {
		t.Fatalf("Delivery(%d): %v", id, err)
	}
	return d
}

func ids(ds []events.Delivery) []int64 {
	out := make([]int64, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameDelivery reports the first field in which got differs from want.
func sameDelivery(t *testing.T, what string, got, want events.Delivery) {
	t.Helper()
	switch {
	case got.ID != want.ID:
		t.Errorf("%s: id %d, want %d", what, got.ID, want.ID)
	case got.Subscription != want.Subscription || got.DedupKey != want.DedupKey:
		t.Errorf("%s: %s/%s, want %s/%s", what, got.Subscription, got.DedupKey, want.Subscription, want.DedupKey)
	case got.Position != want.Position:
		t.Errorf("%s: position %d, want %d", what, got.Position, want.Position)
	case got.ChannelKey != want.ChannelKey || got.ThreadKey != want.ThreadKey:
		t.Errorf("%s: channel %q thread %q, want %q %q", what, got.ChannelKey, got.ThreadKey, want.ChannelKey, want.ThreadKey)
	case !bytes.Equal(got.Notice, want.Notice):
		t.Errorf("%s: notice %s, want %s", what, got.Notice, want.Notice)
	case got.Status != want.Status:
		t.Errorf("%s: status %q, want %q", what, got.Status, want.Status)
	case got.Attempts != want.Attempts:
		t.Errorf("%s: attempts %d, want %d", what, got.Attempts, want.Attempts)
	case !got.NextAttemptAt.Equal(want.NextAttemptAt):
		t.Errorf("%s: next attempt at %v, want %v", what, got.NextAttemptAt, want.NextAttemptAt)
	case got.LastError != want.LastError:
		t.Errorf("%s: last error %q, want %q", what, got.LastError, want.LastError)
	case !got.CreatedAt.Equal(want.CreatedAt):
		t.Errorf("%s: created at %v, want %v", what, got.CreatedAt, want.CreatedAt)
	case !got.SentAt.Equal(want.SentAt):
		t.Errorf("%s: sent at %v, want %v", what, got.SentAt, want.SentAt)
	case got.TS != want.TS:
		t.Errorf("%s: ts %q, want %q", what, got.TS, want.TS)
	}
}

// stored is d as a store gives it back right after EnqueueDeliveries.
func stored(d events.Delivery, id int64) events.Delivery {
	d.ID, d.Status, d.NextAttemptAt = id, events.DeliveryPending, d.CreatedAt
	return d
}

func testEnqueueRoundTrip(t *testing.T, s notifiers.Store) {
	if n := mustEnqueue(t, s); n != 0 {
		t.Errorf("enqueueing nothing: %d new", n)
	}
	d1 := delivery(subSlack, chanSlack, 76, hanoi)
	d2 := delivery(subConsole, chanConsole, 77, bbnj)
	d2.ThreadKey = "" // a delivery that threads under nothing
	d3 := events.Delivery{Subscription: subSlack, DedupKey: "digest:2026-11-30T08:00:00Z", ChannelKey: chanSlack,
		Notice: []byte(`{"kind":"digest"}`), CreatedAt: at(500)} // time-driven: no position
	// Fields a store must not read from the caller.
	d1.Status, d1.Attempts, d1.LastError, d1.TS, d1.NextAttemptAt = events.DeliverySent, 7, "ignored", "ignored", at(99999)
	if n := mustEnqueue(t, s, d1, d2, d3); n != 3 {
		t.Fatalf("3 new deliveries: %d new", n)
	}
	got := all(t, s)
	if len(got) != 3 {
		t.Fatalf("%d deliveries kept, want 3", len(got))
	}
	// Newest first; IDs grow in insertion order.
	if !(got[2].ID < got[1].ID && got[1].ID < got[0].ID) {
		t.Fatalf("ids %v do not grow in insertion order", ids(got))
	}
	d1.Status, d1.Attempts, d1.LastError, d1.TS = "", 0, "", ""
	for i, want := range []events.Delivery{d1, d2, d3} {
		sameDelivery(t, fmt.Sprintf("delivery %d", i+1), got[2-i], stored(want, got[2-i].ID))
		sameDelivery(t, fmt.Sprintf("Delivery(%d)", got[2-i].ID), get(t, s, got[2-i].ID), stored(want, got[2-i].ID))
	}
	counts, err := s.DeliveryCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{events.DeliveryPending: 3}; !maps.Equal(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
}

func testEnqueueIdempotent(t *testing.T, s notifiers.Store) {
	d1, d2 := delivery(subSlack, chanSlack, 76, hanoi), delivery(subSlack, chanSlack, 77, hanoi)
	mustEnqueue(t, s, d1, d2)
	first := all(t, s)
	// A redelivered event: the same deliveries, written later, with a
	// changed notice; the same dedup key for another subscription is new.
	again := d1
	again.CreatedAt, again.Notice = at(5000), []byte(`{"kind":"changed"}`)
	other := d1
	other.Subscription, other.ChannelKey = subWebhook, chanWebhook
	if n := mustEnqueue(t, s, again, d2, other); n != 1 {
		t.Errorf("a redelivered event added %d deliveries; want 1 (the other subscription's)", n)
	}
	got := all(t, s)
	if len(got) != 3 {
		t.Fatalf("%d deliveries, want 3", len(got))
	}
	for i := range first {
		sameDelivery(t, "kept delivery", got[i+1], first[i])
	}
	if got[0].Subscription != subWebhook {
		t.Errorf("the new delivery is %s's, want %s's", got[0].Subscription, subWebhook)
	}
}

func testConcurrentEnqueue(t *testing.T, s notifiers.Store) {
	var batch []events.Delivery
	for pos := int64(1); pos <= 20; pos++ {
		batch = append(batch, delivery(subSlack, chanSlack, pos, hanoi))
	}
	const writers = 4
	added := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			n, err := s.EnqueueDeliveries(context.Background(), batch)
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			added[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range added {
		total += n
	}
	if total != len(batch) {
		t.Errorf("concurrent writers of one batch added %v deliveries (%d in all), want %d in all", added, total, len(batch))
	}
	if got := len(all(t, s)); got != len(batch) {
		t.Errorf("%d deliveries kept, want %d", got, len(batch))
	}
}

func testDeliveryNotFound(t *testing.T, s notifiers.Store) {
	mustEnqueue(t, s, delivery(subSlack, chanSlack, 76, hanoi))
	id := all(t, s)[0].ID
	if _, err := s.Delivery(t.Context(), id+1); !errors.Is(err, events.ErrNotFound) {
		t.Errorf("Delivery(%d) of a missing delivery: %v, want ErrNotFound", id+1, err)
	}
}

func testHeads(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	heads := func() []int64 {
		t.Helper()
		hs, err := s.DeliveryHeads(ctx)
		if err != nil {
			t.Fatalf("DeliveryHeads: %v", err)
		}
		return ids(hs)
	}
	if h := heads(); len(h) != 0 {
		t.Fatalf("heads of an empty outbox: %v", h)
	}
	// Slack: 1, 3, 4; the webhook: 2; the console: 5.
	mustEnqueue(t, s, delivery(subSlack, chanSlack, 1, hanoi), delivery(subWebhook, chanWebhook, 2, hanoi),
		delivery(subSlack, chanSlack, 3, hanoi), delivery(subSlack, chanSlack, 4, hanoi), delivery(subConsole, chanConsole, 5, hanoi))
	byPos := map[int64]int64{}
	for _, d := range all(t, s) {
		byPos[d.Position] = d.ID
	}
	want := func(what string, positions ...int64) {
		t.Helper()
		var w []int64
		for _, p := range positions {
			w = append(w, byPos[p])
		}
		if got := heads(); !sameIDs(got, w) {
			t.Errorf("%s: heads %v, want %v (positions %v)", what, got, w, positions)
		}
	}
	want("at first", 1, 2, 5)
	// A head waiting for a later attempt is still its channel's head: the
	// messages behind it wait.
	if err := s.MarkRetry(ctx, events.Fence{}, byPos[1], 1, "connection refused", at(60_000)); err != nil {
		t.Fatal(err)
	}
	want("the first backs off", 1, 2, 5)
	// So is one whose outcome is unknown.
	if err := s.MarkUncertain(ctx, events.Fence{}, byPos[1], 2, "timeout", at(120_000)); err != nil {
		t.Fatal(err)
	}
	want("the first is uncertain", 1, 2, 5)
	if err := s.MarkSent(ctx, events.Fence{}, byPos[1], "1764230400.000100", at(130_000)); err != nil {
		t.Fatal(err)
	}
	want("the first is sent", 2, 3, 5)
	if err := s.MarkDead(ctx, events.Fence{}, byPos[3], "channel_not_found", false); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSending(ctx, events.Fence{}, byPos[2], "in flight", "", at(140_000)); err != nil {
		t.Fatal(err)
	}
	want("the third is dead, the second in flight", 2, 4, 5)
	for _, p := range []int64{2, 4, 5} {
		if err := s.MarkSent(ctx, events.Fence{}, byPos[p], "", at(150_000)); err != nil {
			t.Fatal(err)
		}
	}
	want("all sent or dead")
}

func testDeliveriesNewestFirst(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	for pos := int64(1); pos <= 5; pos++ {
		mustEnqueue(t, s, delivery(subSlack, chanSlack, pos, hanoi))
	}
	ds := all(t, s)
	for _, i := range []int{0, 2} { // positions 5 and 3
		if err := s.MarkDead(ctx, events.Fence{}, ds[i].ID, "invalid_auth", false); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		status    string
		limit     int
		positions []int64
	}{
		{"", 0, []int64{5, 4, 3, 2, 1}},
		{"", 2, []int64{5, 4}},
		{"", -1, []int64{5, 4, 3, 2, 1}},
		{events.DeliveryDead, 0, []int64{5, 3}},
		{events.DeliveryDead, 1, []int64{5}},
		{events.DeliveryPending, 10, []int64{4, 2, 1}},
		{events.DeliverySent, 10, nil},
	} {
		got, err := s.Deliveries(ctx, tc.status, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var pos []int64
		for _, d := range got {
			pos = append(pos, d.Position)
		}
		if !sameIDs(pos, tc.positions) {
			t.Errorf("Deliveries(%q, %d): positions %v, want %v", tc.status, tc.limit, pos, tc.positions)
		}
	}
	counts, err := s.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{events.DeliveryPending: 3, events.DeliveryDead: 2}; !maps.Equal(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
}

func testOutcomeWrites(t *testing.T, s notifiers.Store) {
	const interrupted = "the notifier stopped during the call"
	ctx := t.Context()
	d := delivery(subWebhook, chanWebhook, 76, hanoi)
	mustEnqueue(t, s, d)
	want := stored(d, all(t, s)[0].ID)
	id := want.ID
	steps := []struct {
		name  string
		write func() error
		apply func(*events.Delivery)
	}{
		{"sending", func() error { return s.MarkSending(ctx, events.Fence{}, id, interrupted, "", at(1000)) },
			func(d *events.Delivery) { d.Status, d.LastError = events.DeliverySending, interrupted }},
		{"retry", func() error { return s.MarkRetry(ctx, events.Fence{}, id, 1, "connection refused", at(2000)) },
			func(d *events.Delivery) {
				d.Status, d.Attempts, d.LastError, d.NextAttemptAt = events.DeliveryPending, 1, "connection refused", at(2000)
			}},
		{"uncertain", func() error { return s.MarkUncertain(ctx, events.Fence{}, id, 2, "503 Service Unavailable", at(4000)) },
			func(d *events.Delivery) {
				d.Status, d.Attempts, d.LastError, d.NextAttemptAt = events.DeliverySending, 2, "503 Service Unavailable", at(4000)
			}},
		{"sent", func() error { return s.MarkSent(ctx, events.Fence{}, id, "", at(5000)) },
			func(d *events.Delivery) { d.Status, d.LastError, d.SentAt = events.DeliverySent, "", at(5000) }},
		{"dead", func() error { return s.MarkDead(ctx, events.Fence{}, id, "410 Gone", false) },
			func(d *events.Delivery) { d.Status, d.LastError = events.DeliveryDead, "410 Gone" }},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		st.apply(&want)
		sameDelivery(t, "after "+st.name, get(t, s, id), want)
	}
	// A sent delivery keeps the sink's ts.
	d2 := delivery(subSlack, chanSlack, 77, hanoi)
	mustEnqueue(t, s, d2)
	id2 := all(t, s)[0].ID
	if err := s.MarkSent(ctx, events.Fence{}, id2, "1764230400.000200", at(6000)); err != nil {
		t.Fatal(err)
	}
	w2 := stored(d2, id2)
	w2.Status, w2.SentAt, w2.TS = events.DeliverySent, at(6000), "1764230400.000200"
	sameDelivery(t, "sent with a ts", get(t, s, id2), w2)
}

func paces(t *testing.T, s notifiers.Store) map[string]events.Pace {
	t.Helper()
	p, err := s.Paces(t.Context())
	if err != nil {
		t.Fatalf("Paces: %v", err)
	}
	return p
}

func samePace(t *testing.T, what string, got map[string]events.Pace, want map[string]events.Pace) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: paces %v, want %v", what, got, want)
		return
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !g.LastSend.Equal(w.LastSend) || !g.NotBefore.Equal(w.NotBefore) {
			t.Errorf("%s: pace of %s %+v, want %+v", what, k, g, w)
		}
	}
}

func testMarkSendingPace(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, delivery(subSlack, chanSlack, 76, hanoi), delivery(subConsole, chanConsole, 77, hanoi))
	ds := all(t, s)
	samePace(t, "before any send", paces(t, s), map[string]events.Pace{})
	// An unpaced channel (the console) records no pace.
	if err := s.MarkSending(ctx, events.Fence{}, ds[0].ID, "in flight", "", at(1000)); err != nil {
		t.Fatal(err)
	}
	samePace(t, "an unpaced send", paces(t, s), map[string]events.Pace{})
	if err := s.MarkSending(ctx, events.Fence{}, ds[1].ID, "in flight", chanSlack, at(2000)); err != nil {
		t.Fatal(err)
	}
	samePace(t, "a paced send", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(2000)}})
	if got := get(t, s, ds[1].ID); got.Status != events.DeliverySending || got.LastError != "in flight" {
		t.Errorf("after MarkSending: %q %q", got.Status, got.LastError)
	}
}

func testThreads(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	thread := func(channel, key string) string {
		t.Helper()
		ts, err := s.Thread(ctx, channel, key)
		if err != nil {
			t.Fatalf("Thread: %v", err)
		}
		return ts
	}
	if ts := thread(chanSlack, hanoi); ts != "" {
		t.Fatalf("a thread before any message: %q", ts)
	}
	noThread := delivery(subSlack, chanSlack, 75, bbnj)
	noThread.ThreadKey = ""
	mustEnqueue(t, s, noThread, delivery(subSlack, chanSlack, 76, hanoi), delivery(subSlack, chanSlack, 77, hanoi),
		delivery(subWebhook, chanWebhook, 76, hanoi))
	ds := all(t, s) // newest first: webhook 76, slack 77, slack 76, slack 75
	// A message sent without a ts (a webhook) starts no thread.
	if err := s.MarkSent(ctx, events.Fence{}, ds[0].ID, "", at(1000)); err != nil {
		t.Fatal(err)
	}
	if ts := thread(chanWebhook, hanoi); ts != "" {
		t.Errorf("a message without ts started thread %q", ts)
	}
	// A delivery without a thread key threads nothing.
	if err := s.MarkSent(ctx, events.Fence{}, ds[3].ID, "1764230400.000075", at(1500)); err != nil {
		t.Fatal(err)
	}
	if ts := thread(chanSlack, bbnj); ts != "" {
		t.Errorf("a delivery without a thread key started thread %q", ts)
	}
	if err := s.MarkSent(ctx, events.Fence{}, ds[2].ID, "1764230400.000076", at(2000)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, events.Fence{}, ds[1].ID, "1764230400.000077", at(3000)); err != nil {
		t.Fatal(err)
	}
	if ts := thread(chanSlack, hanoi); ts != "1764230400.000076" {
		t.Errorf("thread %q, want the first message's ts", ts)
	}
	if ts := thread(chanWebhook, hanoi); ts != "" {
		t.Errorf("another channel's thread: %q", ts)
	}
}

func testPaceNeverMovesBack(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	set := func(lastSend, notBefore time.Time) {
		t.Helper()
		if err := s.SetPace(ctx, events.Fence{}, chanSlack, lastSend, notBefore); err != nil {
			t.Fatalf("SetPace: %v", err)
		}
	}
	set(at(2000), time.Time{})
	samePace(t, "a send", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(2000)}})
	set(at(3000), at(33_000)) // a 429 with Retry-After: 30
	samePace(t, "a 429", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(3000), NotBefore: at(33_000)}})
	set(at(1000), time.Time{}) // an older call's end, recorded late
	samePace(t, "an older send", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(3000), NotBefore: at(33_000)}})
	set(at(4000), at(10_000)) // a shorter wait does not shorten the longer one
	samePace(t, "a shorter wait", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(4000), NotBefore: at(33_000)}})
	if err := s.SetPace(ctx, events.Fence{}, chanWebhook, at(500), time.Time{}); err != nil {
		t.Fatal(err)
	}
	samePace(t, "two channels", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(4000), NotBefore: at(33_000)}, chanWebhook: {LastSend: at(500)}})
}

func testRedriveDelivery(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	const note = "redriven; an earlier attempt may have arrived, so the sink is asked first"
	d1, d2 := delivery(subSlack, chanSlack, 76, hanoi), delivery(subSlack, chanSlack, 77, hanoi)
	mustEnqueue(t, s, d1, d2)
	ds := all(t, s)
	plain, maybe := ds[1].ID, ds[0].ID
	if ok, err := s.RedriveDelivery(ctx, plain, at(9000), note); err != nil || ok {
		t.Errorf("redriving a pending delivery: %v %v, want false", ok, err)
	}
	if err := s.MarkUncertain(ctx, events.Fence{}, plain, 3, "timeout", at(1000)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDead(ctx, events.Fence{}, plain, "gave up after 8 attempts", false); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDead(ctx, events.Fence{}, maybe, "outcome unknown: timeout; could not confirm", true); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{plain, maybe} {
		if ok, err := s.RedriveDelivery(ctx, id, at(10_000), note); err != nil || !ok {
			t.Fatalf("RedriveDelivery(%d): %v %v", id, ok, err)
		}
	}
	w1 := stored(d1, plain)
	w1.NextAttemptAt = at(10_000)
	sameDelivery(t, "a redriven delivery", get(t, s, plain), w1)
	w2 := stored(d2, maybe)
	w2.Status, w2.LastError, w2.NextAttemptAt = events.DeliverySending, note, at(10_000)
	sameDelivery(t, "a redriven delivery that may have arrived", get(t, s, maybe), w2)
	if ok, err := s.RedriveDelivery(ctx, maybe, at(11_000), note); err != nil || ok {
		t.Errorf("redriving it again: %v %v, want false", ok, err)
	}
	if ok, err := s.RedriveDelivery(ctx, maybe+100, at(11_000), note); err != nil || ok {
		t.Errorf("redriving a missing delivery: %v %v, want false", ok, err)
	}
	// Dead again, for a reason that says it did not arrive, it comes back
	// pending.
	if err := s.MarkDead(ctx, events.Fence{}, maybe, "channel_not_found", false); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RedriveDelivery(ctx, maybe, at(12_000), note); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got := get(t, s, maybe); got.Status != events.DeliveryPending || got.LastError != "" {
		t.Errorf("redriven the second time: %q %q, want pending without an error", got.Status, got.LastError)
	}
}

// errTakenOver is the suite's fence refusal.
var errTakenOver = errors.New("another sender took the lease over")

func testFenceRefusal(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	d := delivery(subSlack, chanSlack, 76, hanoi)
	mustEnqueue(t, s, d)
	id := all(t, s)[0].ID
	if err := s.MarkUncertain(ctx, events.Fence{}, id, 1, "timeout", at(1000)); err != nil {
		t.Fatal(err)
	}
	before := get(t, s, id)
	refuse := events.Fence{Lease: senderLease, Check: func(string) error { return errTakenOver }}
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"MarkSending", func() error { return s.MarkSending(ctx, refuse, id, "in flight", chanSlack, at(2000)) }},
		{"MarkSent", func() error { return s.MarkSent(ctx, refuse, id, "1764230400.000076", at(2000)) }},
		{"MarkRetry", func() error { return s.MarkRetry(ctx, refuse, id, 2, "connection refused", at(2000)) }},
		{"MarkUncertain", func() error { return s.MarkUncertain(ctx, refuse, id, 2, "503", at(2000)) }},
		{"MarkDead", func() error { return s.MarkDead(ctx, refuse, id, "invalid_auth", true) }},
		{"SetPace", func() error { return s.SetPace(ctx, refuse, chanSlack, at(2000), at(30_000)) }},
	} {
		if err := w.write(); !errors.Is(err, errTakenOver) {
			t.Errorf("%s with a refusing fence: %v, want the fence's error", w.name, err)
		}
		sameDelivery(t, w.name+" refused", get(t, s, id), before)
		samePace(t, w.name+" refused", paces(t, s), map[string]events.Pace{})
		if ts, err := s.Thread(ctx, chanSlack, hanoi); err != nil || ts != "" {
			t.Errorf("%s refused: thread %q %v", w.name, ts, err)
		}
	}
	// The same writes with a fence that lets them through.
	pass := events.Fence{Lease: senderLease, Check: func(string) error { return nil }}
	if err := s.MarkSending(ctx, pass, id, "in flight", chanSlack, at(3000)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, pass, id, "1764230400.000076", at(4000)); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, id); got.Status != events.DeliverySent {
		t.Errorf("through a passing fence: %q", got.Status)
	}
	samePace(t, "through a passing fence", paces(t, s), map[string]events.Pace{chanSlack: {LastSend: at(3000)}})
}

func lease(holder string, ms int) events.Lease {
	return events.Lease{Holder: holder, Host: "depositary-1", PID: 4242, Process: "boot-1/pidns-1", TTL: 15 * time.Second, ExpiresAt: at(ms + 15_000)}
}

func testFenceSeesHolder(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	mustEnqueue(t, s, delivery(subSlack, chanSlack, 76, hanoi))
	id := all(t, s)[0].ID
	var seen []string
	watch := events.Fence{Lease: senderLease, Check: func(holder string) error {
		seen = append(seen, holder)
		return nil
	}}
	write := func() {
		t.Helper()
		if err := s.MarkRetry(ctx, watch, id, 0, "", at(1000)); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if ok, err := s.TakeLease(ctx, senderLease, 0, lease("host-a:100:aa", 0)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	write()
	if ok, err := s.ReleaseLease(ctx, senderLease, "host-a:100:aa"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	write()
	if want := []string{"", "host-a:100:aa", ""}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("the fence saw holders %q, want %q", seen, want)
	}
	// A fence on a lease never taken sees it free.
	seen = nil
	watch.Lease = "never-taken"
	write()
	if len(seen) != 1 || seen[0] != "" {
		t.Errorf("the fence of a lease never taken saw %q", seen)
	}
}

func testDeadMessages(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	if ms, err := s.DeadMessages(ctx); err != nil || len(ms) != 0 {
		t.Fatalf("dead messages of an empty store: %v %v", ms, err)
	}
	m1 := events.DeadMessage{UUID: "01JD3Z5Q8W", Topic: "treatywatch.log", Position: 76, Payload: []byte(`{"position":76}`),
		Metadata: map[string]string{"position": "76", "reason_poisoned": "unknown payload type"}, Reason: "unknown payload type", At: at(1000)}
	m2 := events.DeadMessage{UUID: "01JD3Z5Q8X", Topic: "treatywatch.log", Payload: []byte(`not json`),
		Metadata: map[string]string{}, Reason: "message is not a ledger envelope", At: at(1000)}
	m3 := events.DeadMessage{UUID: "01JD3Z5Q8Y", Topic: "treatywatch.log", Position: 80, Payload: []byte(`{}`),
		Metadata: map[string]string{"position": "80"}, Reason: "panic", At: at(2000)}
	if err := s.AddDeadMessages(ctx, []events.DeadMessage{m1, m2}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeadMessages(ctx, []events.DeadMessage{m3}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeadMessages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d dead messages, want 3", len(got))
	}
	if !(got[0].ID < got[1].ID && got[1].ID < got[2].ID) {
		t.Errorf("ids %d %d %d are not oldest first", got[0].ID, got[1].ID, got[2].ID)
	}
	for i, want := range []events.DeadMessage{m1, m2, m3} {
		g := got[i]
		if g.UUID != want.UUID || g.Topic != want.Topic || g.Position != want.Position || !bytes.Equal(g.Payload, want.Payload) ||
			!maps.Equal(g.Metadata, want.Metadata) || g.Reason != want.Reason || !g.At.Equal(want.At) {
			t.Errorf("dead message %d: %+v, want %+v", i+1, g, want)
		}
	}
}

func testRedriveDeadMessage(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	if err := s.AddDeadMessages(ctx, []events.DeadMessage{
		{UUID: "a", Topic: "treatywatch.log", Position: 76, Payload: []byte(`{}`), Metadata: map[string]string{}, Reason: "r", At: at(0)},
		{UUID: "b", Topic: "treatywatch.log", Payload: []byte(`{}`), Metadata: map[string]string{}, Reason: "r", At: at(0)},
	}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.DeadMessages(ctx)
	if err != nil || len(ms) != 2 {
		t.Fatal(ms, err)
	}
	pos, ok, err := s.RedriveDeadMessage(ctx, ms[0].ID)
	if err != nil || !ok || pos != 76 {
		t.Errorf("RedriveDeadMessage: %d %v %v, want 76 true", pos, ok, err)
	}
	if pos, ok, err := s.RedriveDeadMessage(ctx, ms[1].ID); err != nil || !ok || pos != 0 {
		t.Errorf("RedriveDeadMessage without a position: %d %v %v, want 0 true", pos, ok, err)
	}
	if left, err := s.DeadMessages(ctx); err != nil || len(left) != 0 {
		t.Errorf("dead messages left after redriving both: %v %v", left, err)
	}
	if _, ok, err := s.RedriveDeadMessage(ctx, ms[0].ID); err != nil || ok {
		t.Errorf("redriving a message again: %v %v, want false", ok, err)
	}
	if _, ok, err := s.RedriveDeadMessage(ctx, ms[1].ID+100); err != nil || ok {
		t.Errorf("redriving a missing message: %v %v, want false", ok, err)
	}
}

func testScheduleRuns(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	lastRun := func(name string) time.Time {
		t.Helper()
		l, err := s.LastRun(ctx, name)
		if err != nil {
			t.Fatalf("LastRun(%s): %v", name, err)
		}
		return l
	}
	const digest, timed = "digest:" + subSlack, "timed"
	if l := lastRun(digest); !l.IsZero() {
		t.Fatalf("a schedule that never ran: %v", l)
	}
	// The first sight of a schedule records its start, with nothing to send.
	if n, err := s.RecordRun(ctx, digest, at(1000), nil); err != nil || n != 0 {
		t.Fatal(n, err)
	}
	if l := lastRun(digest); !l.Equal(at(1000)) {
		t.Errorf("last run %v, want %v", l, at(1000))
	}
	d := events.Delivery{Subscription: subSlack, DedupKey: "digest:2026-11-30T08:00:00Z", ChannelKey: chanSlack,
		Notice: []byte(`{"kind":"digest"}`), CreatedAt: at(2000)}
	if n, err := s.RecordRun(ctx, digest, at(2000), []events.Delivery{d}); err != nil || n != 1 {
		t.Fatalf("a run with a digest: %d %v", n, err)
	}
	if l := lastRun(digest); !l.Equal(at(2000)) {
		t.Errorf("last run %v, want %v", l, at(2000))
	}
	got := all(t, s)
	if len(got) != 1 {
		t.Fatalf("%d deliveries after the run", len(got))
	}
	sameDelivery(t, "the run's digest", got[0], stored(d, got[0].ID))
	// A run repeated after a crash adds nothing, and moves the last run.
	if n, err := s.RecordRun(ctx, digest, at(3000), []events.Delivery{d}); err != nil || n != 0 {
		t.Errorf("the run again: %d %v, want 0", n, err)
	}
	if l := lastRun(digest); !l.Equal(at(3000)) {
		t.Errorf("last run %v, want %v", l, at(3000))
	}
	if l := lastRun(timed); !l.IsZero() {
		t.Errorf("another schedule's last run: %v", l)
	}
}

func testSettingsSetOnce(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	const key = "console_since"
	if v, err := s.NotifierSetting(ctx, key); err != nil || v != "" {
		t.Fatalf("an unset setting: %q %v", v, err)
	}
	if v, err := s.SetNotifierSettingOnce(ctx, key, "75"); err != nil || v != "75" {
		t.Fatalf("SetNotifierSettingOnce: %q %v", v, err)
	}
	if v, err := s.SetNotifierSettingOnce(ctx, key, "90"); err != nil || v != "75" {
		t.Errorf("setting it again: %q %v, want the first value", v, err)
	}
	if v, err := s.NotifierSetting(ctx, key); err != nil || v != "75" {
		t.Errorf("NotifierSetting: %q %v", v, err)
	}
	if v, err := s.NotifierSetting(ctx, "other"); err != nil || v != "" {
		t.Errorf("another setting: %q %v", v, err)
	}
}

func testConcurrentSettingOnce(t *testing.T, s notifiers.Store) {
	const writers = 8
	got := make([]string, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			v, err := s.SetNotifierSettingOnce(context.Background(), "console_since", fmt.Sprint(100+i))
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("concurrent writers were told different values in force: %q (writer %d: %q)", got, i, v)
		}
	}
}

func mustLease(t *testing.T, s notifiers.Store, name string) events.Lease {
	t.Helper()
	l, err := s.Lease(t.Context(), name)
	if err != nil {
		t.Fatalf("Lease(%s): %v", name, err)
	}
	return l
}

func sameLease(t *testing.T, what string, got, want events.Lease) {
	t.Helper()
	if got.Holder != want.Holder || got.Host != want.Host || got.PID != want.PID || got.Process != want.Process ||
		got.Version != want.Version || got.TTL != want.TTL || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s: lease %+v, want %+v", what, got, want)
	}
}

func testLeaseNeverTaken(t *testing.T, s notifiers.Store) {
	for _, name := range []string{senderLease, "another"} {
		sameLease(t, name, mustLease(t, s, name), events.Lease{})
	}
}

func testLeaseTake(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	a, b := lease("host-a:100:aa", 0), lease("host-b:200:bb", 20_000)
	b.Host, b.PID, b.Process, b.TTL = "depositary-2", 200, "", 10*time.Second
	if ok, err := s.TakeLease(ctx, senderLease, 0, a); err != nil || !ok {
		t.Fatalf("taking a free lease: %v %v", ok, err)
	}
	want := a
	want.Version = 1
	sameLease(t, "taken", mustLease(t, s, senderLease), want)
	// A sender that saw version 0 comes too late.
	if ok, err := s.TakeLease(ctx, senderLease, 0, b); err != nil || ok {
		t.Errorf("taking at a stale version: %v %v, want false", ok, err)
	}
	sameLease(t, "after a stale take", mustLease(t, s, senderLease), want)
	// A sender that saw version 1 for the whole TTL takes it over.
	if ok, err := s.TakeLease(ctx, senderLease, 1, b); err != nil || !ok {
		t.Fatalf("taking over at the version seen: %v %v", ok, err)
	}
	want = b
	want.Version = 2
	sameLease(t, "taken over", mustLease(t, s, senderLease), want)
	// Leases are independent.
	sameLease(t, "another lease", mustLease(t, s, "another"), events.Lease{})
	if ok, err := s.TakeLease(ctx, "another", 0, a); err != nil || !ok {
		t.Errorf("taking another lease: %v %v", ok, err)
	}
	sameLease(t, "the first lease after another was taken", mustLease(t, s, senderLease), want)
}

func testLeaseRenewAndRelease(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	a := lease("host-a:100:aa", 0)
	if ok, err := s.TakeLease(ctx, senderLease, 0, a); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := s.RenewLease(ctx, senderLease, "host-b:200:bb", 15*time.Second, at(99_000)); err != nil || ok {
		t.Errorf("a renewal by another: %v %v, want false", ok, err)
	}
	want := a
	want.Version = 1
	sameLease(t, "after another's renewal", mustLease(t, s, senderLease), want)
	if ok, err := s.RenewLease(ctx, senderLease, a.Holder, 20*time.Second, at(23_000)); err != nil || !ok {
		t.Fatalf("a renewal by the holder: %v %v", ok, err)
	}
	want.Version, want.TTL, want.ExpiresAt = 2, 20*time.Second, at(23_000)
	sameLease(t, "renewed", mustLease(t, s, senderLease), want)
	if ok, err := s.ReleaseLease(ctx, senderLease, "host-b:200:bb"); err != nil || ok {
		t.Errorf("a release by another: %v %v, want false", ok, err)
	}
	sameLease(t, "after another's release", mustLease(t, s, senderLease), want)
	if ok, err := s.ReleaseLease(ctx, senderLease, a.Holder); err != nil || !ok {
		t.Fatalf("a release by the holder: %v %v", ok, err)
	}
	got := mustLease(t, s, senderLease)
	if got.Holder != "" || got.Host != "" || got.PID != 0 || got.Process != "" || !got.ExpiresAt.IsZero() || got.Version != 3 {
		t.Errorf("released: %+v, want free at version 3", got)
	}
	if ok, err := s.RenewLease(ctx, senderLease, a.Holder, 15*time.Second, at(40_000)); err != nil || ok {
		t.Errorf("a renewal after the release: %v %v, want false", ok, err)
	}
	// Free again: taken at the version seen.
	if ok, err := s.TakeLease(ctx, senderLease, 3, lease("host-b:200:bb", 50_000)); err != nil || !ok {
		t.Errorf("taking the released lease: %v %v", ok, err)
	}
}

func testConcurrentLeaseTake(t *testing.T, s notifiers.Store) {
	const senders = 6
	won := make([]bool, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			ok, err := s.TakeLease(context.Background(), senderLease, 0, lease(fmt.Sprintf("host:%d:nonce", 100+i), 0))
			if err != nil {
				t.Errorf("sender %d: %v", i, err)
			}
			won[i] = ok
		})
	}
	wg.Wait()
	winners := 0
	holder := ""
	for i, ok := range won {
		if ok {
			winners++
			holder = fmt.Sprintf("host:%d:nonce", 100+i)
		}
	}
	if winners != 1 {
		t.Fatalf("%d senders took the lease at version 0, want exactly 1", winners)
	}
	if l := mustLease(t, s, senderLease); l.Holder != holder || l.Version != 1 {
		t.Errorf("lease %+v, want held by the winner %s at version 1", l, holder)
	}
}
