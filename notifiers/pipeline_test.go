package notifiers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is a real SQLite ledger with the Hanoi Convention registered.
type env struct {
	path   string // the database file
	store  *sqlite.Store
	ledger *events.Ledger
	outbox *notifiers.Outbox
	runner *projections.Runner // the read side: follows the log when asked
}

// hanoiDef is the Hanoi Convention (UNTC XVIII-16) as shipped
// (seed/treaties/xviii-16-hanoi.yaml).
func hanoiDef(tb testing.TB) events.Definition {
	tb.Helper()
	dir, err := events.NewDirectory()
	if err != nil {
		tb.Fatal(err)
	}
	def, err := seed.Definition(dir, seed.HanoiID)
	if err != nil {
		tb.Fatal(err)
	}
	return def
}

func mustEnv(tb testing.TB, today string) *env {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "treatywatch.db")
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	now := events.MustDate(today).Time().Add(12 * time.Hour)
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return now }, Secrets: st, ValidateSchedule: notifiers.ValidateSchedule})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.AddTreaty(ctx, hanoiDef(tb), events.Metadata{Actor: "test"}); err != nil {
		tb.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: st}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &env{path: path, store: st, ledger: l, outbox: notifiers.NewOutbox(st), runner: runner}
}

func (e *env) subscribe(tb testing.TB, s events.Subscription) events.Subscription {
	tb.Helper()
	return e.subscribeSecret(tb, s, events.SinkSecret{})
}

// subscribeSecret subscribes with a sink secret and returns the
// subscription as stored (with its endpoint and fingerprint).
func (e *env) subscribeSecret(tb testing.TB, s events.Subscription, secret events.SinkSecret) events.Subscription {
	tb.Helper()
	ev, err := e.ledger.Subscribe(context.Background(), s, secret, events.Metadata{Actor: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	var created events.SubscriptionCreated
	if err := json.Unmarshal(ev.Payload, &created); err != nil {
		tb.Fatal(err)
	}
	return created.Subscription
}

// deposit is a notice of Viet Nam's (hypothetical) ratification.
func deposit(pos int64) notifiers.Notice {
	return notifiers.Notice{Kind: notifiers.KindDeposit, Treaty: "XVIII-16", TreatyName: "Hanoi Convention", Position: pos, Participant: "Viet Nam",
		Action: events.Ratification, Date: events.MustDate("2026-06-01"), Reference: "C.N.100.2026.TREATIES-XVIII.16", Counted: 1, Required: 40}
}

func (e *env) enqueue(tb testing.TB, sub events.Subscription, notices ...notifiers.Notice) {
	tb.Helper()
	var ds []notifiers.Delivery
	for _, n := range notices {
		ds = append(ds, notifiers.Delivery{Subscription: sub.ID, DedupKey: notifiers.DedupKey(n), Position: n.Position, ChannelKey: notifiers.ChannelKey(sub),
			ThreadKey: n.Treaty, Notice: n, CreatedAt: time.Now()})
	}
	if _, err := e.outbox.Enqueue(context.Background(), ds); err != nil {
		tb.Fatal(err)
	}
}

func (e *env) sender(tb testing.TB, fake *slackfake.Server, tune func(*notifiers.SenderConfig)) *notifiers.Sender {
	tb.Helper()
	cfg := notifiers.SenderConfig{Store: e.store, Log: e.store, Now: time.Now, PerChannel: 20 * time.Millisecond, Backoff: 5 * time.Millisecond,
		Sinks: map[string]notifiers.Sink{events.SinkSlack: notifiers.NewSlack(notifiers.NewSlackClient("xoxb-test", fake.APIURL(), 2*time.Second))}}
	if tune != nil {
		tune(&cfg)
	}
	s, err := notifiers.NewSender(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func statuses(t *testing.T, o *notifiers.Outbox) map[string]int {
	t.Helper()
	c, err := o.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSenderWaitsRetryAfterOn429(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	e.enqueue(t, sub, deposit(10))
	fake.Fail(slackfake.Fault{Status: 429, RetryAfter: 1, Times: 1})
	start := time.Now()
	if err := e.sender(t, fake, nil).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("sent again after %s, before Retry-After: 1", waited)
	}
	if posts := fake.Posts(); len(posts) != 1 || posts[0].Channel != "C0HANOI" || posts[0].DeliveryID() != "1" {
		t.Fatalf("posts = %+v", posts)
	}
	if fake.Calls("conversations.history") == 0 {
		t.Fatal("after a 429 the sender posted again without checking whether the first post arrived")
	}
	if c := statuses(t, e.outbox); c[notifiers.StatusSent] != 1 {
		t.Fatalf("statuses = %v", c)
	}
}

func TestA429ThatPostedIsNotPostedTwice(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	e.enqueue(t, sub, deposit(10))
	fake.Fail(slackfake.Fault{Status: 429, RetryAfter: 1, PostAnyway: true, Times: 1})
	if err := e.sender(t, fake, nil).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if posts := fake.Posts(); len(posts) != 1 {
		t.Fatalf("%d posts, want exactly 1", len(posts))
	}
	if c := statuses(t, e.outbox); c[notifiers.StatusSent] != 1 {
		t.Fatalf("statuses = %v", c)
	}
}

func TestInvalidAuthIsDeadLetteredThenRedriven(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	e.enqueue(t, sub, deposit(10))
	fake.Fail(slackfake.Fault{SlackError: "invalid_auth"})
	s := e.sender(t, fake, nil)
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("chat.postMessage"); n != 1 {
		t.Fatalf("invalid_auth was tried %d times; want once, no retry storm", n)
	}
	dls, err := e.outbox.DeadLetters(ctx)
	if err != nil || len(dls) != 1 || dls[0].ID != "D1" || !strings.Contains(dls[0].Reason, "invalid_auth") {
		t.Fatalf("dead letters = %+v, %v", dls, err)
	}
	fake.Heal()
	if _, err := e.outbox.Redrive(ctx, "D1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if posts := fake.Posts(); len(posts) != 1 {
		t.Fatalf("after redrive: %d posts", len(posts))
	}
	if dls, _ := e.outbox.DeadLetters(ctx); len(dls) != 0 {
		t.Fatalf("dead letters after redrive: %+v", dls)
	}
}

func TestServerErrorsRetryWithBackoffThenDeadLetter(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	e.enqueue(t, sub, deposit(10))
	fake.Fail(slackfake.Fault{Status: 503})
	if err := e.sender(t, fake, func(c *notifiers.SenderConfig) { c.MaxAttempts = 3 }).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := fake.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	dls, _ := e.outbox.DeadLetters(ctx)
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, "gave up after 3 attempts") {
		t.Fatalf("dead letters = %+v", dls)
	}
}

func TestOneMessagePerIntervalPerChannelAndThreads(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	a := e.subscribe(t, events.Subscription{ID: "a", Sink: events.SinkSlack, Channel: "C0A", Treaties: []string{"XVIII-16"}})
	b := e.subscribe(t, events.Subscription{ID: "b", Sink: events.SinkSlack, Channel: "C0B", Treaties: []string{"XVIII-16"}})
	e.enqueue(t, a, deposit(10), deposit(11), deposit(12))
	e.enqueue(t, b, deposit(10), deposit(11), deposit(12))
	if err := e.sender(t, fake, func(c *notifiers.SenderConfig) { c.PerChannel = 150 * time.Millisecond }).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	byChannel := map[string][]slackfake.Post{}
	for _, p := range fake.Posts() {
		byChannel[p.Channel] = append(byChannel[p.Channel], p)
	}
	for ch, posts := range byChannel {
		if len(posts) != 3 {
			t.Fatalf("%s: %d posts", ch, len(posts))
		}
		for i := 1; i < len(posts); i++ {
			if gap := posts[i].At.Sub(posts[i-1].At); gap < 130*time.Millisecond {
				t.Errorf("%s: posts %d and %d only %s apart", ch, i-1, i, gap)
			}
			if posts[i].ThreadTS != posts[0].TS {
				t.Errorf("%s: follow-up %d threads under %q, want the first message %q", ch, i, posts[i].ThreadTS, posts[0].TS)
			}
		}
	}
	// The two channels were served in parallel, not one after the other:
	// each channel's first post came before the other's last.
	a0, aN := byChannel["C0A"][0].At, byChannel["C0A"][2].At
	b0, bN := byChannel["C0B"][0].At, byChannel["C0B"][2].At
	if !a0.Before(bN) || !b0.Before(aN) {
		t.Errorf("channels served one after the other: C0A %s–%s, C0B %s–%s", a0, aN, b0, bN)
	}
}

func TestEnqueueIsIdempotent(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}})
	e.enqueue(t, sub, deposit(10))
	e.enqueue(t, sub, deposit(10))
	if c := statuses(t, e.outbox); c[notifiers.StatusPending] != 1 {
		t.Fatalf("statuses after enqueuing the same notice twice = %v", c)
	}
}

// TestNoDuplicateSendsUnderConcurrentDispatch runs the sender's loop with
// a very short poll and pacing over many channels: a delivery read as
// pending by one dispatch must not be sent again after another dispatch
// has sent it.
func TestNoDuplicateSendsUnderConcurrentDispatch(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	const channels, perChannel = 10, 20
	for c := 0; c < channels; c++ {
		sub := e.subscribe(t, events.Subscription{ID: fmt.Sprintf("s%d", c), Sink: events.SinkSlack, Channel: fmt.Sprintf("C%d", c), Treaties: []string{"XVIII-16"}})
		var ns []notifiers.Notice
		for i := 0; i < perChannel; i++ {
			ns = append(ns, deposit(int64(100+i)))
		}
		e.enqueue(t, sub, ns...)
	}
	s := e.sender(t, fake, func(c *notifiers.SenderConfig) { c.PerChannel = time.Millisecond; c.Poll = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	// The sentinel: every delivery marked sent. The sender posts only
	// deliveries that are pending or sending, so none can come again.
	deadline := time.Now().Add(20 * time.Second)
	for statuses(t, e.outbox)[notifiers.StatusSent] < channels*perChannel && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	seen := map[string]int{}
	for _, p := range fake.Posts() {
		seen[p.DeliveryID()]++
	}
	if len(seen) != channels*perChannel || len(fake.Posts()) != channels*perChannel {
		t.Fatalf("%d posts of %d distinct deliveries, want %d of each", len(fake.Posts()), len(seen), channels*perChannel)
	}
}
