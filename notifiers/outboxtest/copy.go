package outboxtest

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"maps"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// Exporter is a store whose notifier state a copy of the ledger takes
// (events/sqlite's Store).
type Exporter interface {
	notifiers.Store
	events.Store
	ExportNotifierState(ctx context.Context) (events.NotifierState, error)
}

// Importer is a store a copy of a ledger is written into, log and
// notifier state in one transaction (events/postgres' Store).
type Importer interface {
	notifiers.Store
	events.Store
	ImportLedger(ctx context.Context, log iter.Seq2[events.Envelope, error], c events.LedgerCopy) (int64, error)
}

// RunCopy runs the contract of a copy of a ledger's notifier state from
// the stores source returns to those target returns: every delivery comes
// back through the ports the sender uses with its id and state, the dead
// letters with theirs, the threads, the paces, the schedules' last runs
// and the settings; the copy goes on as the source would (new ids follow,
// redrives behave as they would have); a target whose notifier holds rows
// is refused; and a copy that fails half-way leaves the target empty, log
// included. Each call of source and target must return a new, empty store
// that lives until the test ends.
func RunCopy(t *testing.T, source func(*testing.T) Exporter, target func(*testing.T) Importer) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(*testing.T) Exporter, func(*testing.T) Importer)
	}{
		{"CopyKeepsEveryRowAndItsState", testCopyKeepsEverything},
		{"CopyGoesOnAsTheSource", testCopyGoesOn},
		{"CopyIntoANonEmptyNotifierRefused", testCopyNonEmpty},
		{"CopyThatFailsWritesNothing", testCopyFails},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, source, target) })
	}
}

// The ids of copyState's deliveries, by what happened to them.
type copyIDs struct {
	sent, sending, retry, pending, dead, deadUnsure, digest int64
	deadMsg, redrivenMsg                                    int64
}

// copyState fills src with a ledger's notifier in every state: a Slack
// delivery sent with its ts (which opened its treaty's thread), one left
// "sending" after a call whose outcome is unknown, one waiting for a
// retry, one pending, one dead and one dead that may have arrived, a
// time-driven digest; a Retry-After on the Slack channel; two dead
// ledger events, one of them redriven; two schedules' runs and a setting.
// It appends three events so that the copy has a log.
func copyState(t *testing.T, src Exporter) copyIDs {
	t.Helper()
	ctx := t.Context()
	var none events.Fence
	for v := range 3 {
		if _, err := src.Append(ctx, events.StreamAppend{Stream: events.TreatyStream(hanoi), ExpectedVersion: int64(v),
			Records: []events.Record{{Type: "test.copied", SchemaVersion: 1, Payload: []byte(`{"n":1}`)}}}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	mustEnqueue(t, src,
		delivery(subSlack, chanSlack, 1, hanoi),
		delivery(subSlack, chanSlack, 2, hanoi),
		delivery(subWebhook, chanWebhook, 2, hanoi),
		delivery(subWebhook, chanWebhook, 3, bbnj),
		delivery(subSlack, chanSlack, 3, bbnj),
		delivery(subConsole, chanConsole, 3, bbnj),
		events.Delivery{Subscription: subSlack, DedupKey: "digest:2026-11-30T08:00:00Z", ChannelKey: chanSlack,
			Notice: []byte(`{"kind":"digest","note":"Türkiye <b>&amp;</b>"}`), CreatedAt: at(500)},
	)
	ds := all(t, src)
	byKey := map[string]int64{}
	for _, d := range ds {
		byKey[d.Subscription+"/"+d.DedupKey] = d.ID
	}
	id := copyIDs{
		sent: byKey[subSlack+"/event:1:deposit"], sending: byKey[subSlack+"/event:2:deposit"],
		retry: byKey[subWebhook+"/event:2:deposit"], pending: byKey[subWebhook+"/event:3:deposit"],
		dead: byKey[subSlack+"/event:3:deposit"], deadUnsure: byKey[subConsole+"/event:3:deposit"],
		digest: byKey[subSlack+"/digest:2026-11-30T08:00:00Z"],
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("MarkSending", src.MarkSending(ctx, none, id.sent, "posting to Slack", chanSlack, at(1000)))
	must("MarkSent", src.MarkSent(ctx, none, id.sent, "1764500000.000100", at(1200)))
	must("MarkSending", src.MarkSending(ctx, none, id.sending, "posting to Slack", chanSlack, at(2000)))
	must("MarkUncertain", src.MarkUncertain(ctx, none, id.sending, 1, "Post: context deadline exceeded (the message may have been posted)", at(9000)))
	must("MarkRetry", src.MarkRetry(ctx, none, id.retry, 2, "webhook answered 503", at(7000)))
	must("MarkDead", src.MarkDead(ctx, none, id.dead, "channel_not_found", false))
	must("MarkDead", src.MarkDead(ctx, none, id.deadUnsure, "gave up after 8 uncertain attempts", true))
	must("SetPace", src.SetPace(ctx, none, chanSlack, at(2100), at(60_000)))
	must("SetPace", src.SetPace(ctx, none, chanWebhook, at(3000), time.Time{}))
	must("AddDeadMessages", src.AddDeadMessages(ctx, []events.DeadMessage{
		{UUID: "0b1c6a2e-0000-4000-8000-000000000001", Topic: "treatywatch.log", Position: 2, Payload: []byte(`{"bad":true}`),
			Metadata: map[string]string{"position": "2", "type": "test.copied"}, Reason: "unknown event type", At: at(4000)},
		{UUID: "0b1c6a2e-0000-4000-8000-000000000002", Topic: "treatywatch.log", Payload: []byte{},
			Metadata: map[string]string{}, Reason: "no position", At: at(4100)},
	}))
	dms, err := src.DeadMessages(ctx)
	must("DeadMessages", err)
	if len(dms) != 2 {
		t.Fatalf("%d dead messages kept, want 2", len(dms))
	}
	id.redrivenMsg, id.deadMsg = dms[1].ID, dms[0].ID
	if _, ok, err := src.RedriveDeadMessage(ctx, id.redrivenMsg); err != nil || !ok {
		t.Fatalf("RedriveDeadMessage: %v, %v", ok, err)
	}
	_, err = src.RecordRun(ctx, "notices", at(5000), nil)
	must("RecordRun", err)
	_, err = src.RecordRun(ctx, "digest:"+subSlack, at(5100), nil)
	must("RecordRun", err)
	_, err = src.SetNotifierSettingOnce(ctx, "console.start", "3")
	must("SetNotifierSettingOnce", err)
	return id
}

// mustCopy exports src's notifier and imports it with src's log into dst.
func mustCopy(t *testing.T, src Exporter, dst Importer) events.NotifierState {
	t.Helper()
	st, err := src.ExportNotifierState(t.Context())
	if err != nil {
		t.Fatalf("ExportNotifierState: %v", err)
	}
	if _, err := dst.ImportLedger(t.Context(), events.LogPages(t.Context(), src, 100), events.LedgerCopy{Notifier: st}); err != nil {
		t.Fatalf("ImportLedger: %v", err)
	}
	return st
}

func testCopyKeepsEverything(t *testing.T, source func(*testing.T) Exporter, target func(*testing.T) Importer) {
	src, dst := source(t), target(t)
	id := copyState(t, src)
	st := mustCopy(t, src, dst)
	if len(st.Deliveries) != 7 || len(st.DeadMessages) != 2 || len(st.Threads) != 1 || len(st.Paces) != 2 || len(st.LastRuns) != 2 || len(st.Settings) != 1 {
		t.Fatalf("exported %d deliveries, %d dead messages, %d threads, %d paces, %d runs, %d settings; want 7, 2, 1, 2, 2, 1",
			len(st.Deliveries), len(st.DeadMessages), len(st.Threads), len(st.Paces), len(st.LastRuns), len(st.Settings))
	}
	want, got := all(t, src), all(t, dst)
	if len(got) != len(want) {
		t.Fatalf("the copy holds %d deliveries, the source %d", len(got), len(want))
	}
	for i := range want {
		sameDelivery(t, "copied delivery", got[i], want[i])
	}
	if d := get(t, dst, id.sending); d.Status != events.DeliverySending || d.Attempts != 1 || !d.NextAttemptAt.Equal(at(9000)) {
		t.Errorf("the uncertain delivery in the copy: %+v, want still sending, 1 attempt, due at +9s: confirmed before any post", d)
	}
	for _, status := range []string{events.DeliveryPending, events.DeliverySending, events.DeliverySent, events.DeliveryDead} {
		a, err := src.Deliveries(t.Context(), status, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.Deliveries(t.Context(), status, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(ids(a), ids(b)) {
			t.Errorf("deliveries %s: copy %v, source %v", status, ids(b), ids(a))
		}
	}
	hs, hd := heads(t, src), heads(t, dst)
	if !sameIDs(ids(hs), ids(hd)) {
		t.Errorf("DeliveryHeads: copy %v, source %v", ids(hd), ids(hs))
	}
	cs, err := src.DeliveryCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cd, err := dst.DeliveryCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(cs, cd) {
		t.Errorf("DeliveryCounts: copy %v, source %v", cd, cs)
	}
	if ts, err := dst.Thread(t.Context(), chanSlack, hanoi); err != nil || ts != "1764500000.000100" {
		t.Errorf("the copy's thread of %s in %s: %q, %v; want the first message's ts", hanoi, chanSlack, ts, err)
	}
	ps, err := dst.Paces(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p := ps[chanSlack]; !p.LastSend.Equal(at(2100)) || !p.NotBefore.Equal(at(60_000)) {
		t.Errorf("the copy's pace of %s: %+v, want last send +2.1s and Retry-After until +60s", chanSlack, p)
	}
	if p := ps[chanWebhook]; !p.LastSend.Equal(at(3000)) || !p.NotBefore.IsZero() {
		t.Errorf("the copy's pace of %s: %+v, want last send +3s and no Retry-After", chanWebhook, p)
	}
	ms, err := dst.DeadMessages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID != id.deadMsg || ms[0].Position != 2 || ms[0].Reason != "unknown event type" ||
		!bytes.Equal(ms[0].Payload, []byte(`{"bad":true}`)) || ms[0].Metadata["type"] != "test.copied" || !ms[0].At.Equal(at(4000)) {
		t.Errorf("the copy's dead messages: %+v; want only the one not redriven, as kept", ms)
	}
	for name, when := range map[string]time.Time{"notices": at(5000), "digest:" + subSlack: at(5100)} {
		if got, err := dst.LastRun(t.Context(), name); err != nil || !got.Equal(when) {
			t.Errorf("the copy's last run of %s: %v, %v; want %v", name, got, err, when)
		}
	}
	if v, err := dst.NotifierSetting(t.Context(), "console.start"); err != nil || v != "3" {
		t.Errorf("the copy's setting console.start: %q, %v", v, err)
	}
	if h, err := dst.Head(t.Context()); err != nil || h != 3 {
		t.Errorf("the copy's head: %d, %v; want 3", h, err)
	}
}

func testCopyGoesOn(t *testing.T, source func(*testing.T) Exporter, target func(*testing.T) Importer) {
	src, dst := source(t), target(t)
	id := copyState(t, src)
	mustCopy(t, src, dst)
	ctx := t.Context()
	// A new delivery follows the copied ones, and one already kept is not
	// enqueued again.
	if n := mustEnqueue(t, dst, delivery(subSlack, chanSlack, 4, hanoi), delivery(subSlack, chanSlack, 1, hanoi)); n != 1 {
		t.Fatalf("enqueueing one new delivery and one copied: %d new, want 1", n)
	}
	newest := all(t, dst)[0]
	if newest.ID <= id.digest || newest.DedupKey != "event:4:deposit" {
		t.Errorf("the first delivery after the copy has id %d (%s), want more than the copied %d", newest.ID, newest.DedupKey, id.digest)
	}
	// The dead delivery that may have arrived comes back to be confirmed;
	// the other to be posted.
	if ok, err := dst.RedriveDelivery(ctx, id.deadUnsure, at(10_000), "redriven: confirm first"); err != nil || !ok {
		t.Fatalf("RedriveDelivery(%d): %v, %v", id.deadUnsure, ok, err)
	}
	if d := get(t, dst, id.deadUnsure); d.Status != events.DeliverySending || d.LastError != "redriven: confirm first" {
		t.Errorf("the redriven uncertain dead delivery: %q (%q), want sending, to be confirmed", d.Status, d.LastError)
	}
	if ok, err := dst.RedriveDelivery(ctx, id.dead, at(10_000), "redriven: confirm first"); err != nil || !ok {
		t.Fatalf("RedriveDelivery(%d): %v, %v", id.dead, ok, err)
	}
	if d := get(t, dst, id.dead); d.Status != events.DeliveryPending || d.LastError != "" || d.Attempts != 0 {
		t.Errorf("the redriven dead delivery: %+v, want pending with no error or attempts", d)
	}
	if pos, ok, err := dst.RedriveDeadMessage(ctx, id.deadMsg); err != nil || !ok || pos != 2 {
		t.Errorf("RedriveDeadMessage of the copied dead message: %d, %v, %v; want position 2", pos, ok, err)
	}
	if _, ok, err := dst.RedriveDeadMessage(ctx, id.redrivenMsg); err != nil || ok {
		t.Errorf("RedriveDeadMessage of the one redriven in the source: %v, %v; want none waiting", ok, err)
	}
	if err := dst.AddDeadMessages(ctx, []events.DeadMessage{{UUID: "new", Topic: "treatywatch.log", Payload: []byte{}, Metadata: map[string]string{}, Reason: "r", At: at(11_000)}}); err != nil {
		t.Fatalf("AddDeadMessages after the copy: %v", err)
	}
	ms, err := dst.DeadMessages(ctx)
	if err != nil || len(ms) != 1 || ms[0].ID <= id.redrivenMsg {
		t.Errorf("the dead message kept after the copy: %+v, %v; want one with an id past the copied %d", ms, err, id.redrivenMsg)
	}
	// A thread's first message stays the copied one.
	if err := dst.MarkSent(ctx, events.Fence{}, newest.ID, "1764600000.000200", at(12_000)); err != nil {
		t.Fatal(err)
	}
	if ts, err := dst.Thread(ctx, chanSlack, hanoi); err != nil || ts != "1764500000.000100" {
		t.Errorf("the thread after a later message: %q, %v; want the copied first message", ts, err)
	}
	// The pace never moves back from the copied Retry-After.
	if err := dst.SetPace(ctx, events.Fence{}, chanSlack, at(2200), at(30_000)); err != nil {
		t.Fatal(err)
	}
	ps, err := dst.Paces(ctx)
	if err != nil || !ps[chanSlack].NotBefore.Equal(at(60_000)) {
		t.Errorf("the pace after an earlier Retry-After: %+v, %v; want the copied one kept", ps[chanSlack], err)
	}
}

func testCopyNonEmpty(t *testing.T, source func(*testing.T) Exporter, target func(*testing.T) Importer) {
	src, dst := source(t), target(t)
	copyState(t, src)
	mine := delivery(subConsole, chanConsole, 9, bbnj)
	mustEnqueue(t, dst, mine)
	st, err := src.ExportNotifierState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = dst.ImportLedger(t.Context(), events.LogPages(t.Context(), src, 100), events.LedgerCopy{Notifier: st})
	var ne *events.TableNotEmptyError
	if !errors.As(err, &ne) || !errors.Is(err, events.ErrRefused) || ne.Table != "notify_deliveries" || ne.Rows != 1 {
		t.Fatalf("ImportLedger into a store with a delivery: %v (%T), want a *TableNotEmptyError naming notify_deliveries, 1 row", err, err)
	}
	if got := all(t, dst); len(got) != 1 || got[0].DedupKey != mine.DedupKey {
		t.Errorf("after the refusal the target holds %v, want only its own delivery", ids(got))
	}
	if h, err := dst.Head(t.Context()); err != nil || h != 0 {
		t.Errorf("after the refusal the target's head is %d (%v), want 0", h, err)
	}
}

func testCopyFails(t *testing.T, source func(*testing.T) Exporter, target func(*testing.T) Importer) {
	src, dst := source(t), target(t)
	copyState(t, src)
	st, err := src.ExportNotifierState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// A state no store writes: two deliveries with one dedup key. The
	// copy fails on the last rows it writes, after the log, the first
	// deliveries and a sink secret.
	twin := st.Deliveries[0]
	twin.ID = 99
	st.Deliveries = append(st.Deliveries, twin)
	c := events.LedgerCopy{Notifier: st, SinkSecrets: map[string]events.SinkSecret{subWebhook: {URL: "https://hooks.treaty-watchers.org/in/7f3a", Secret: "whsec-7f3a"}}} //nolint:gosec // G101: a made-up secret of the contract's fixture
	if _, err := dst.ImportLedger(t.Context(), events.LogPages(t.Context(), src, 100), c); err == nil {
		t.Fatal("ImportLedger of two deliveries with one dedup key: no error")
	}
	if h, err := dst.Head(t.Context()); err != nil || h != 0 {
		t.Errorf("after the failed copy the target's head is %d (%v), want 0: nothing written", h, err)
	}
	if got := all(t, dst); len(got) != 0 {
		t.Errorf("after the failed copy the target holds deliveries %v", ids(got))
	}
	if ps, err := dst.Paces(t.Context()); err != nil || len(ps) != 0 {
		t.Errorf("after the failed copy the target holds paces %v (%v)", ps, err)
	}
	if secrets, ok := any(dst).(events.SecretStore); ok {
		if kept, err := secrets.SinkSecretIDs(t.Context()); err != nil || len(kept) != 0 {
			t.Errorf("after the failed copy the target holds sink secrets %v (%v)", kept, err)
		}
	}
	// The same copy without the twin then goes through.
	c.Notifier.Deliveries = c.Notifier.Deliveries[:len(c.Notifier.Deliveries)-1]
	if _, err := dst.ImportLedger(t.Context(), events.LogPages(t.Context(), src, 100), c); err != nil {
		t.Fatalf("ImportLedger after the failed one: %v", err)
	}
}

func heads(t *testing.T, s notifiers.Store) []events.Delivery {
	t.Helper()
	hs, err := s.DeliveryHeads(t.Context())
	if err != nil {
		t.Fatalf("DeliveryHeads: %v", err)
	}
	return hs
}
