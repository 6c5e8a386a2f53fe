package notifiers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// runRouter runs a router on the env's ledger until the test ends.
func (e *env) runRouter(t *testing.T) *notifiers.Router {
	t.Helper()
	sub, err := pubsub.NewSubscriber(e.store, pubsub.SubscriberConfig{ConsumerGroup: "notifier", PollInterval: 10 * time.Millisecond, NackDelay: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := notifiers.NewRouter(notifiers.RouterConfig{Log: e.store, Store: e.store, Read: e.runner, Subscriber: sub, Topic: pubsub.LogTopic,
		Now: time.Now, MaxRetries: 2, InitialInterval: time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait(); sub.Close() })
	<-r.Running()
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRouterWritesTheDeliveriesOfAThreshold: when the fortieth instrument
// of the Hanoi Convention is deposited (hypothetically, on 3 March 2026),
// a subscriber of deposits and milestones gets the deposit and the
// threshold with the computed entry-into-force date, 1 June 2026 (art.
// 65(1): ninetieth day); a subscriber of signatures gets nothing; a
// subscription created after the event hears nothing of it.
func TestRouterWritesTheDeliveriesOfAThreshold(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-03-03")
	dir, _ := events.NewDirectory()
	var rows []events.ImportRow
	for i, p := range dir.All()[:39] {
		rows = append(rows, events.ImportRow{Line: 2 * i, Participant: p.Name, Action: "accession", Date: "2026-03-02"})
	}
	if _, err := e.ledger.Import(ctx, "XVIII-16", rows, events.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, On: []string{"deposits", "milestones"}})
	e.subscribe(t, events.Subscription{ID: "sigs", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, On: []string{"signatures"}})
	e.runRouter(t)
	fortieth, err := e.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "accession", Participant: "Viet Nam", Date: "2026-03-03", Meta: events.Metadata{Reference: "C.N.40.2026.TREATIES-XVIII.16"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the threshold delivery", func() bool { return len(e.deliveries(t, notifiers.KindThreshold)) == 1 })
	e.subscribe(t, events.Subscription{ID: "late", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}})
	// The sentinel: a later act that the late subscription hears of. The
	// router handles the log in order, so once its delivery is written,
	// anything the late subscription could wrongly get of the fortieth
	// instrument would be written too.
	sentinel, err := e.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: "Japan", Date: "2026-03-03"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late subscription's delivery of a later signature", func() bool {
		for _, d := range e.deliveries(t, notifiers.KindSignature) {
			if d.Subscription == "late" && d.Position == sentinel.Position {
				return true
			}
		}
		return false
	})
	all, err := e.outbox.List(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		if d.Subscription == "late" && d.Position != sentinel.Position {
			t.Errorf("the late subscription got a delivery of position %d, before it existed: %+v", d.Position, d.Notice)
		}
	}
	var got []string
	for _, d := range e.deliveries(t, notifiers.KindThreshold) {
		if d.Subscription != "ngo" || d.Notice.EntryIntoForce != events.MustDate("2026-06-01") || d.Notice.Counted != 40 || d.Position != fortieth.Position {
			t.Fatalf("threshold delivery = %+v", d)
		}
	}
	for _, d := range e.deliveries(t, notifiers.KindDeposit) {
		got = append(got, d.Subscription+" "+d.Notice.Participant)
		if d.Notice.Reference != "C.N.40.2026.TREATIES-XVIII.16" {
			t.Fatalf("deposit without its reference: %+v", d.Notice)
		}
	}
	if len(got) != 1 || got[0] != "ngo Viet Nam" {
		t.Fatalf("deposit deliveries = %v, want the ngo subscription's Viet Nam deposit only", got)
	}
	if ms := e.deliveries(t, notifiers.KindMilestone); len(ms) != 0 {
		t.Fatalf("milestones reached before the subscription were announced: %+v", ms)
	}
}

// TestRouterDeadLettersAnEventItCannotProcess: an event of an unknown type
// (written by a newer program, say) in a treaty stream fails, is retried with backoff, then goes to the dead
// letters with the reason, and the router moves on.
func TestRouterDeadLettersAnEventItCannotProcess(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}})
	if _, err := e.store.Append(ctx, events.StreamAppend{Stream: events.TreatyStream("BOGUS"), ExpectedVersion: 0,
		Records: []events.Record{{Type: "act.bogus", SchemaVersion: 1, Payload: []byte(`{"participant":"Viet Nam"}`)}}}); err != nil {
		t.Fatal(err)
	}
	e.runRouter(t)
	if _, err := e.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: "Viet Nam", Date: "2025-10-25"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the signature after the poisoned event", func() bool { return len(e.deliveries(t, notifiers.KindSignature)) == 1 })
	dls, err := e.outbox.DeadLetters(ctx)
	if err != nil || len(dls) != 1 || dls[0].Kind != "event" || dls[0].Position != 3 || dls[0].Reason == "" {
		t.Fatalf("dead letters = %+v, %v", dls, err)
	}
}

// TestADigestSubscriptionGetsOnlyItsDigests: a weekly digest subscription
// ("0 9 * * 1") and an immediate one follow the Hanoi Convention in two
// Slack channels. Viet Nam's signature reaches the immediate channel at
// once; the digest channel gets nothing of it until Monday's digest, which
// lists it — one post in all. (Before the fix the router also sent the
// digest subscription every event at once.)
func TestADigestSubscriptionGetsOnlyItsDigests(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	e.subscribe(t, events.Subscription{ID: "now", Sink: events.SinkSlack, Channel: "C0NOW", Treaties: []string{"XVIII-16"}})
	e.subscribe(t, events.Subscription{ID: "weekly", Sink: events.SinkSlack, Channel: "C0WEEKLY", Treaties: []string{"XVIII-16"}, Digest: "0 9 * * 1"})
	s := e.scheduler(t, &clock{})
	// The digest's schedule is first seen a week ago (acts are recorded
	// at the wall clock's time); it next runs on the first Monday 09:00 UTC
	// after now.
	mustRunDue(t, s, time.Now().Add(-7*24*time.Hour).UTC().Format(time.RFC3339))
	monday := time.Now().UTC().Truncate(time.Hour)
	for monday.Weekday() != time.Monday || monday.Hour() != 9 || !monday.After(time.Now()) {
		monday = monday.Add(time.Hour)
	}
	e.runRouter(t)
	sig, err := e.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: "Viet Nam", Date: "2025-10-25"})
	if err != nil {
		t.Fatal(err)
	}
	// The positive sentinel: the immediate subscription's delivery. The
	// router writes every delivery of an event at once, so anything the
	// digest subscription wrongly got of it is written by then.
	waitFor(t, "the immediate subscription's delivery", func() bool {
		for _, d := range e.deliveries(t, notifiers.KindSignature) {
			if d.Subscription == "now" && d.Position == sig.Position {
				return true
			}
		}
		return false
	})
	if n := mustRunDue(t, s, monday.Format(time.RFC3339)); n != 1 {
		t.Fatalf("%s ran %d digests, want 1", monday, n)
	}
	// The sender runs on a clock a minute past Monday 09:00, when the
	// digest is due.
	ahead := time.Until(monday) + time.Minute
	if err := e.sender(t, fake, func(c *notifiers.SenderConfig) { c.Now = func() time.Time { return time.Now().Add(ahead) } }).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	byChannel := map[string][]slackfake.Post{}
	for _, p := range fake.Posts() {
		byChannel[p.Channel] = append(byChannel[p.Channel], p)
	}
	// (The immediate channel may also hear of the signature window
	// closing, depending on today's date.)
	if got := byChannel["C0NOW"]; len(got) == 0 || !strings.Contains(got[0].Text, "Signature by Viet Nam") {
		t.Fatalf("immediate channel posts = %+v, want Viet Nam's signature first", got)
	}
	weekly := byChannel["C0WEEKLY"]
	if len(weekly) != 1 {
		t.Fatalf("digest channel got %d posts, want only the digest: %+v", len(weekly), weekly)
	}
	if !strings.Contains(weekly[0].Blocks+weekly[0].Text, "Viet Nam") {
		t.Fatalf("the digest does not list Viet Nam's signature: %+v", weekly[0])
	}
	for _, d := range e.deliveries(t, notifiers.KindSignature) {
		if d.Subscription == "weekly" {
			t.Fatalf("the digest subscription got the signature at once: %+v", d)
		}
	}
}
