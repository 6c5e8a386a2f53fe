package notifiers_test

// The "faults at Slack" hardening suite: the real sender, the real
// slack-go client and the fake Slack answering with every kind of fault.
// Each delivery must arrive exactly once (counted by delivery id in the
// fake's recorded posts) or be dead-lettered with its reason, and a
// message whose outcome was unknown is never posted again before Slack was
// asked whether it arrived.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// clientTimeout bounds each call of the rig's sinks: a hang lasts this long.
const clientTimeout = 250 * time.Millisecond

// rig is a real SQLite ledger, the fake Slack, and the configuration of
// a sender posting to it with the real clients.
type rig struct {
	*env
	fake *slackfake.Server
	cfg  notifiers.SenderConfig

	mu       sync.Mutex
	outcomes map[string]int
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	r := &rig{env: mustEnv(tb, "2026-11-27"), fake: slackfake.New(), outcomes: map[string]int{}}
	tb.Cleanup(r.fake.Close)
	r.cfg = notifiers.SenderConfig{Store: r.store, Log: r.store, Now: time.Now,
		PerChannel: 20 * time.Millisecond, Backoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Sinks: map[string]notifiers.Sink{
			events.SinkSlack:        notifiers.NewSlack(notifiers.NewSlackClient("xoxb-test", r.fake.APIURL(), clientTimeout)),
			events.SinkSlackWebhook: notifiers.NewSlackWebhook(&http.Client{Timeout: clientTimeout}, r.store),
		},
		Observe: func(o string) { r.mu.Lock(); r.outcomes[o]++; r.mu.Unlock() },
	}
	return r
}

func (r *rig) outcome(o string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[o]
}

func (r *rig) drain(tb testing.TB) {
	tb.Helper()
	s, err := notifiers.NewSender(r.cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (r *rig) delivery(tb testing.TB, id int64) notifiers.Delivery {
	tb.Helper()
	d, err := r.outbox.Get(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// slackFaultCase is one fault answered to the first post of the delivery
// under test.
type slackFaultCase struct {
	name  string
	fault *slackfake.Fault // answered to the delivery's first post; nil: none
	down  bool             // the fake refuses connections until the sender first waits
	// confirmFaults are queued for the confirmation calls.
	confirmFaults []slackfake.Fault
	thread        bool // the delivery is a follow-up in a thread (confirmed with conversations.replies)
	maxAttempts   int

	dead      string // "": the delivery ends sent; else a text of its dead-letter reason
	posted    int    // the delivery's recorded posts: 1, or 0 when dead before arriving
	postCalls int    // chat.postMessage calls for the delivery
	confirms  int    // confirmation calls (history or replies)
	waited    time.Duration
}

func TestSlackFaultsEachDeliveryArrivesOnceOrIsDeadLettered(t *testing.T) {
	f := func(f slackfake.Fault) *slackfake.Fault { return &f }
	cases := []slackFaultCase{
		{name: "429 Retry-After before recording", fault: f(slackfake.Fault{Status: 429, RetryAfter: 1}), posted: 1, postCalls: 2, confirms: 1, waited: time.Second},
		{name: "429 Retry-After after recording", fault: f(slackfake.Fault{Status: 429, RetryAfter: 1, PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1, waited: time.Second},
		{name: "5xx before recording", fault: f(slackfake.Fault{Status: 503}), posted: 1, postCalls: 2, confirms: 1},
		{name: "5xx after recording", fault: f(slackfake.Fault{Status: 503, PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1},
		{name: "internal_error after recording", fault: f(slackfake.Fault{SlackError: "internal_error", PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1},
		{name: "timeout before recording", fault: f(slackfake.Fault{Hang: true}), posted: 1, postCalls: 2, confirms: 1},
		{name: "timeout after recording", fault: f(slackfake.Fault{Hang: true, PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1},
		{name: "reset before recording", fault: f(slackfake.Fault{Reset: true}), posted: 1, postCalls: 2, confirms: 1},
		{name: "reset after recording", fault: f(slackfake.Fault{Reset: true, PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1},
		{name: "thread reply: 5xx after recording", thread: true, fault: f(slackfake.Fault{Status: 502, PostAnyway: true}), posted: 1, postCalls: 1, confirms: 1},
		{name: "thread reply: timeout before recording", thread: true, fault: f(slackfake.Fault{Hang: true}), posted: 1, postCalls: 2, confirms: 1},
		// Certain failures: posted again without asking.
		{name: "connection refused", down: true, posted: 1, postCalls: 1, confirms: 0},
		{name: "ratelimited with HTTP 200", fault: f(slackfake.Fault{SlackError: "ratelimited"}), posted: 1, postCalls: 2, confirms: 0},
		// Slack refused for good: dead-lettered at once with Slack's code.
		{name: "invalid_auth", fault: f(slackfake.Fault{SlackError: "invalid_auth"}), dead: "slack: invalid_auth (permanent: not retried)", postCalls: 1},
		{name: "channel_not_found", fault: f(slackfake.Fault{SlackError: "channel_not_found"}), dead: "slack: channel_not_found (permanent: not retried)", postCalls: 1},
		{name: "not_in_channel", fault: f(slackfake.Fault{SlackError: "not_in_channel"}), dead: "slack: not_in_channel (permanent: not retried)", postCalls: 1},
		{name: "is_archived", fault: f(slackfake.Fault{SlackError: "is_archived"}), dead: "slack: is_archived (permanent: not retried)", postCalls: 1},
		// The confirmation fails: asked again later, never posted blind.
		{name: "confirmation 5xx twice, then it is found", fault: f(slackfake.Fault{Status: 503, PostAnyway: true}),
			confirmFaults: []slackfake.Fault{{Method: slackfake.History, Status: 503, Times: 2}}, posted: 1, postCalls: 1, confirms: 3},
		{name: "confirmation times out, then finds nothing", fault: f(slackfake.Fault{Status: 503}),
			confirmFaults: []slackfake.Fault{{Method: slackfake.History, Hang: true, Times: 1}}, posted: 1, postCalls: 2, confirms: 2},
		{name: "confirmation rate limited", fault: f(slackfake.Fault{Hang: true, PostAnyway: true}),
			confirmFaults: []slackfake.Fault{{Method: slackfake.History, Status: 429, RetryAfter: 1, Times: 1}}, posted: 1, postCalls: 1, confirms: 2, waited: time.Second},
		{name: "confirmation refused for good", fault: f(slackfake.Fault{Status: 503, PostAnyway: true}),
			confirmFaults: []slackfake.Fault{{Method: slackfake.History, SlackError: "missing_scope"}},
			dead:          "outcome unknown: slack: slack server error: 503 Service Unavailable; could not confirm whether it arrived: slack: missing_scope (permanent: not retried); not re-sent to avoid a duplicate",
			posted:        1, postCalls: 1, confirms: 1},
		{name: "confirmation fails until the attempts are spent", fault: f(slackfake.Fault{Status: 503}), maxAttempts: 3,
			confirmFaults: []slackfake.Fault{{Method: slackfake.History, Status: 500}},
			dead:          "outcome unknown: slack: slack server error: 503 Service Unavailable; gave up confirming after 3 attempts: slack: slack server error: 500 Internal Server Error; not re-sent to avoid a duplicate",
			posted:        0, postCalls: 1, confirms: 2},
		{name: "5xx before recording until the attempts are spent", fault: f(slackfake.Fault{Status: 503, Times: 3}), maxAttempts: 3,
			dead: "gave up after 3 attempts: slack: slack server error: 503 Service Unavailable (it did not arrive)", posted: 0, postCalls: 3, confirms: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			if tc.maxAttempts > 0 {
				r.cfg.MaxAttempts = tc.maxAttempts
			}
			sub := r.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
			target := int64(1)
			if tc.thread { // a first message starts the treaty's thread
				r.enqueue(t, sub, deposit(9))
				r.drain(t)
				target = 2
			}
			r.enqueue(t, sub, deposit(10))
			want := strconv.FormatInt(target, 10)
			if fault := tc.fault; fault != nil {
				times := max(fault.Times, 1)
				r.fake.Script(func(req slackfake.Request) *slackfake.Fault {
					if req.Method == slackfake.PostMessage && req.DeliveryID == want && req.Attempt < times {
						return fault
					}
					return nil
				})
			}
			for _, cf := range tc.confirmFaults {
				if tc.thread {
					cf.Method = slackfake.Replies
				}
				r.fake.Fail(cf)
			}
			if tc.down {
				r.fake.Down()
				r.cfg.Sleep = func(ctx context.Context, d time.Duration) error {
					if err := r.fake.Up(); err != nil {
						return err
					}
					return sleepCtx(ctx, d)
				}
			}
			r.drain(t)

			d := r.delivery(t, target)
			posts := r.fake.PostsByDelivery()[want]
			if posts != tc.posted {
				t.Errorf("delivery %s recorded %d times, want %d", want, posts, tc.posted)
			}
			if tc.dead == "" {
				if d.Status != notifiers.StatusSent {
					t.Fatalf("delivery is %s (%s), want sent", d.Status, d.LastError)
				}
				if p := postOf(r.fake, want); d.TS != p.TS {
					t.Errorf("marked sent with ts %q, the post has %q", d.TS, p.TS)
				}
			} else if d.Status != notifiers.StatusDead || !strings.Contains(d.LastError, tc.dead) {
				t.Fatalf("delivery is %s with reason %q, want dead with %q", d.Status, d.LastError, tc.dead)
			}
			confirmMethod := slackfake.History
			if tc.thread {
				confirmMethod = slackfake.Replies
			}
			reqs := callsFor(r.fake.Requests(), want, confirmMethod)
			if n := count(reqs, slackfake.PostMessage); n != tc.postCalls {
				t.Errorf("%d chat.postMessage calls, want %d", n, tc.postCalls)
			}
			if n := count(reqs, confirmMethod); n != tc.confirms {
				t.Errorf("%d %s calls, want %d", n, confirmMethod, tc.confirms)
			}
			assertConfirmedBeforeReposting(t, reqs)
			if tc.waited > 0 {
				assertWaitedAfter429(t, reqs, tc.waited)
			}
			if tc.down && r.outcome("retry") != 1 {
				t.Errorf("outcomes %v, want one retry after the refused connection", r.outcomes)
			}
		})
	}
}

// TestARedrivenUncertainDeliveryIsConfirmedFirst: a post that Slack
// accepted but answered 503, whose confirmation kept failing until the
// delivery was dead-lettered, is looked for again when it is redriven —
// and found, so it is not posted a second time.
func TestARedrivenUncertainDeliveryIsConfirmedFirst(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.cfg.MaxAttempts = 2
	sub := r.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	r.enqueue(t, sub, deposit(10))
	r.fake.Fail(slackfake.Fault{Status: 503, PostAnyway: true, Times: 1})
	r.fake.Fail(slackfake.Fault{Method: slackfake.History, Status: 503})
	r.drain(t)
	if d := r.delivery(t, 1); d.Status != notifiers.StatusDead || !strings.Contains(d.LastError, "`notify redrive` asks again") {
		t.Fatalf("delivery %s: %q, want dead after failed confirmations", d.Status, d.LastError)
	}
	r.fake.Heal()
	if _, err := r.outbox.Redrive(ctx, "D1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if d := r.delivery(t, 1); d.Status != notifiers.StatusSending {
		t.Fatalf("redriven as %s, want sending (confirm first)", d.Status)
	}
	before := r.fake.Calls(slackfake.History)
	r.drain(t)
	if d := r.delivery(t, 1); d.Status != notifiers.StatusSent {
		t.Fatalf("after redrive: %s %q", d.Status, d.LastError)
	}
	if n := r.fake.PostsByDelivery()["1"]; n != 1 || r.fake.Calls(slackfake.PostMessage) != 1 {
		t.Fatalf("posted %d times (%d calls), want once", n, r.fake.Calls(slackfake.PostMessage))
	}
	if r.fake.Calls(slackfake.History) != before+1 {
		t.Fatal("the redriven delivery was not looked for before sending")
	}
}

// TestConfirmationPagesThroughABusyChannel: the uncertain message is
// older than the 300 that followed it in the channel; the confirmation
// follows Slack's cursors until it finds it.
func TestConfirmationPagesThroughABusyChannel(t *testing.T) {
	r := newRig(t)
	sub := r.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	r.enqueue(t, sub, deposit(10))
	r.fake.Fail(slackfake.Fault{Hang: true, PostAnyway: true, Times: 1})
	// Someone else posts 300 messages while the notifier waits to ask (a
	// backoff long enough that the wait happens however slow the machine).
	r.cfg.Backoff, r.cfg.MaxBackoff = time.Second, time.Second
	chatter := notifiers.NewSlack(notifiers.NewSlackClient("xoxb-other", r.fake.APIURL(), time.Second))
	r.cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		for r.fake.Calls(slackfake.PostMessage) < 301 {
			if _, err := chatter.Send(ctx, sub, notifiers.Message{Card: notifiers.Card{Title: "chatter"}}); err != nil {
				return err
			}
		}
		return sleepCtx(ctx, d)
	}
	r.drain(t)
	if d := r.delivery(t, 1); d.Status != notifiers.StatusSent || r.fake.PostsByDelivery()["1"] != 1 {
		t.Fatalf("delivery %s %q, %d posts", d.Status, d.LastError, r.fake.PostsByDelivery()["1"])
	}
	if n := r.fake.Calls(slackfake.History); n != 2 {
		t.Fatalf("%d conversations.history pages read, want 2 (200 + the rest)", n)
	}
}

// TestSlackWebhookUnknownOutcomeIsDeadLetteredNotReposted: an incoming
// webhook cannot be asked whether a message arrived, and Slack does not
// deduplicate: a delivery whose outcome is unknown goes to the dead
// letters with what happened, and is posted again only by a redrive.
func TestSlackWebhookUnknownOutcomeIsDeadLetteredNotReposted(t *testing.T) {
	f := func(f slackfake.Fault) *slackfake.Fault { f.Method = slackfake.Webhook; return &f }
	for _, tc := range []struct {
		name   string
		fault  *slackfake.Fault
		down   bool
		crash  bool   // the delivery is found "sending", as a crash in the send window leaves it
		dead   string // "": sent
		posted int
		calls  int
	}{
		{name: "5xx before recording", fault: f(slackfake.Fault{Status: 503}),
			dead: "outcome unknown: slack-webhook: slack server error: 503 Service Unavailable; not re-sent to avoid a duplicate; `notify redrive` resends", calls: 1},
		{name: "5xx after recording", fault: f(slackfake.Fault{Status: 500, SlackError: "rollup_error", PostAnyway: true}),
			dead: "outcome unknown: slack-webhook: slack server error: 500 Internal Server Error; not re-sent", posted: 1, calls: 1},
		{name: "timeout after recording", fault: f(slackfake.Fault{Hang: true, PostAnyway: true}),
			dead: "outcome unknown: slack-webhook: Post http://127.0.0.1", posted: 1, calls: 1},
		{name: "reset after recording", fault: f(slackfake.Fault{Reset: true, PostAnyway: true}), dead: "outcome unknown: slack-webhook: Post", posted: 1, calls: 1},
		{name: "429", fault: f(slackfake.Fault{Status: 429, RetryAfter: 1}), dead: "outcome unknown: slack-webhook: rate limited, retry after 1s; not re-sent", calls: 1},
		{name: "crash during the call", crash: true,
			dead: "outcome unknown: the notifier stopped during the call to the sink; not re-sent to avoid a duplicate; `notify redrive` resends", calls: 0},
		{name: "410 channel_is_archived", fault: f(slackfake.Fault{SlackError: "channel_is_archived"}), dead: "slack-webhook: HTTP 410 Gone (permanent: not retried)", calls: 1},
		{name: "connection refused", down: true, posted: 1, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := newRig(t)
			sub := r.subscribeSecret(t, events.Subscription{ID: "hook", Sink: events.SinkSlackWebhook, Treaties: []string{"XVIII-16"}}, events.SinkSecret{URL: r.fake.WebhookURL("XXXXSECRET")})
			r.enqueue(t, sub, deposit(10))
			if tc.fault != nil {
				r.fake.Fail(*tc.fault)
			}
			if tc.crash {
				if err := r.outbox.MarkSending(ctx, 1, notifiers.ChannelKey(sub), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if tc.down {
				r.fake.Down()
				r.cfg.Sleep = func(ctx context.Context, d time.Duration) error {
					if err := r.fake.Up(); err != nil {
						return err
					}
					return sleepCtx(ctx, d)
				}
			}
			r.drain(t)
			d := r.delivery(t, 1)
			if got := len(r.fake.Posts()); got != tc.posted {
				t.Errorf("%d posts, want %d", got, tc.posted)
			}
			if got := r.fake.Calls(slackfake.Webhook); got != tc.calls {
				t.Errorf("%d webhook calls, want %d", got, tc.calls)
			}
			if tc.dead == "" {
				if d.Status != notifiers.StatusSent {
					t.Fatalf("delivery %s %q, want sent", d.Status, d.LastError)
				}
				return
			}
			if d.Status != notifiers.StatusDead || !strings.Contains(d.LastError, tc.dead) {
				t.Fatalf("delivery %s with reason %q, want dead with %q", d.Status, d.LastError, tc.dead)
			}
			if strings.Contains(d.LastError, "XXXXSECRET") {
				t.Fatalf("the reason leaks the webhook URL: %q", d.LastError)
			}
			// `notify redrive` resends, as the reason says.
			r.fake.Heal()
			if _, err := r.outbox.Redrive(ctx, "D1", time.Now()); err != nil {
				t.Fatal(err)
			}
			r.drain(t)
			if d := r.delivery(t, 1); d.Status != notifiers.StatusSent || len(r.fake.Posts()) != tc.posted+1 {
				t.Fatalf("after redrive: %s %q, %d posts", d.Status, d.LastError, len(r.fake.Posts()))
			}
		})
	}
}

// TestWebhookUnknownOutcomeIsResentWithTheSameDeliveryID: a generic
// webhook's receiver deduplicates on X-Treatywatch-Delivery, so a
// delivery whose first attempt it stored but answered 503 is sent again
// with the same id, and the receiver keeps one.
func TestWebhookUnknownOutcomeIsResentWithTheSameDeliveryID(t *testing.T) {
	var (
		mu     sync.Mutex
		ids    []string
		stored = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		id := req.Header.Get(notifiers.DeliveryHeader)
		mu.Lock()
		ids = append(ids, id)
		stored[id] = 1 // a receiver keyed by delivery id
		first := len(ids) == 1
		mu.Unlock()
		if first {
			http.Error(w, "stored, then the proxy failed", http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	r := newRig(t)
	r.cfg.Sinks[events.SinkWebhook] = notifiers.NewWebhook(&http.Client{Timeout: clientTimeout}, r.store)
	sub := r.subscribeSecret(t, events.Subscription{ID: "ngo-cyber-hook", Sink: events.SinkWebhook, Treaties: []string{hanoi}}, events.SinkSecret{URL: srv.URL + "/hook", Secret: webhookSecret})
	r.enqueue(t, sub, deposit(10))
	r.drain(t)
	if d := r.delivery(t, 1); d.Status != notifiers.StatusSent {
		t.Fatalf("delivery %s %q", d.Status, d.LastError)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 2 || ids[0] != "1" || ids[1] != "1" || len(stored) != 1 {
		t.Fatalf("attempts carried delivery ids %q; the receiver kept %v", ids, stored)
	}
}

// TestPacingHoldsAcrossSenderRestart sends to a channel, stops the
// sender, starts a new one at once on the same database, and checks, by
// the fake Slack's arrival times, that the second message came at least
// the channel interval after the first — as it does within one sender.
func TestPacingHoldsAcrossSenderRestart(t *testing.T) {
	const pace = 400 * time.Millisecond
	r := newRig(t)
	r.cfg.PerChannel = pace
	sub := r.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	r.enqueue(t, sub, deposit(10))
	r.drain(t) // the first sender sends and stops
	r.enqueue(t, sub, deposit(11))
	r.drain(t) // a new one, at once
	posts := r.fake.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts", len(posts))
	}
	if gap := posts[1].At.Sub(posts[0].At); gap < pace {
		t.Fatalf("the new sender posted %s after the old one, want at least %s", gap, pace)
	}
}

// TestRetryAfterHoldsAcrossSenderRestart: a 429's Retry-After outlives
// the sender that got it: a new sender calls the channel no earlier, even
// for another subscription's message to the same channel (the channel's
// messages go in order, and its pacing records the wait).
func TestRetryAfterHoldsAcrossSenderRestart(t *testing.T) {
	r := newRig(t)
	a := r.subscribe(t, events.Subscription{ID: "a", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	b := r.subscribe(t, events.Subscription{ID: "b", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}, On: []string{events.TopicMilestones}})
	r.enqueue(t, a, deposit(10))
	r.fake.Fail(slackfake.Fault{Status: 429, RetryAfter: 1, PostAnyway: true, Times: 1})
	s, err := notifiers.NewSender(r.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	for r.outcome("rate_limited") == 0 { // the sentinel: the 429 was recorded
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	r.enqueue(t, b, deposit(11)) // another subscription, the same channel
	r.drain(t)
	reqs := r.fake.Requests()
	if len(reqs) < 2 {
		t.Fatalf("requests %+v", reqs)
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Fatalf("the new sender called Slack %s after the 429, want at least Retry-After 1s", gap)
	}
	if by := r.fake.PostsByDelivery(); by["1"] != 1 || by["2"] != 1 {
		t.Fatalf("posts by delivery %v, want one each", by)
	}
}

// TestRandomSlackFaultsNeverPostTwice mixes every fault over many
// deliveries and channels — on posts and on confirmations — and checks
// the invariant: every delivery was posted exactly once and marked sent
// with that post's ts, or dead-lettered with a reason (and then posted at
// most once, only when it died while its outcome was unknown); never
// twice; and no delivery was posted again without Slack having been asked
// first whether its previous attempt arrived.
func TestRandomSlackFaultsNeverPostTwice(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			randomFaultRun(t, seed)
		})
	}
}

func randomFaultRun(t *testing.T, seed uint64) {
	const channels, perChannel = 6, 15
	r := newRig(t)
	r.cfg.MaxAttempts = 40
	var ids []int64
	for c := range channels {
		sub := r.subscribe(t, events.Subscription{ID: fmt.Sprintf("s%d", c), Sink: events.SinkSlack, Channel: fmt.Sprintf("C%d", c), Treaties: []string{"XVIII-16"}})
		var ns []notifiers.Notice
		for i := range perChannel {
			ns = append(ns, deposit(int64(100+i)))
		}
		r.enqueue(t, sub, ns...)
	}
	for id := int64(1); id <= channels*perChannel; id++ {
		ids = append(ids, id)
	}
	transient := []slackfake.Fault{
		{Status: 429}, {Status: 429, PostAnyway: true},
		{Status: 503}, {Status: 500, PostAnyway: true},
		{Hang: true}, {Hang: true, PostAnyway: true},
		{Reset: true}, {Reset: true, PostAnyway: true},
		{SlackError: "internal_error", PostAnyway: true},
	}
	permanent := []string{"invalid_auth", "channel_not_found", "not_in_channel", "is_archived"}
	// A post's fault depends only on its delivery and attempt, whatever
	// the order in which the channels' calls interleave; every 17th
	// delivery is refused for good.
	postFault := func(id, attempt int) *slackfake.Fault {
		if id%17 == 0 && attempt == 0 {
			return &slackfake.Fault{SlackError: permanent[id/17%len(permanent)]}
		}
		rng := rand.New(rand.NewPCG(seed, uint64(id*10+attempt)))
		if attempt < 3 && rng.Float64() < 0.4 {
			f := transient[rng.IntN(len(transient))]
			return &f
		}
		return nil
	}
	var (
		mu        sync.Mutex
		rng       = rand.New(rand.NewPCG(seed, 2026))
		uncertain int
	)
	r.fake.Script(func(req slackfake.Request) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if req.Method == slackfake.PostMessage {
			id, _ := strconv.Atoi(req.DeliveryID)
			f := postFault(id, req.Attempt)
			if f != nil && f.SlackError != "" && isPermanentCode(f.SlackError) {
				return f
			}
			if f != nil {
				uncertain++
			}
			return f
		}
		// A confirmation.
		switch x := rng.Float64(); {
		case x < 0.15:
			return &slackfake.Fault{Status: 503}
		case x < 0.2:
			return &slackfake.Fault{Status: 429}
		case x < 0.23:
			return &slackfake.Fault{Hang: true}
		}
		return nil
	})
	r.drain(t)

	reqs := r.fake.Requests()
	by := r.fake.PostsByDelivery()
	sent, dead := 0, 0
	for _, id := range ids {
		d := r.delivery(t, id)
		key := strconv.FormatInt(id, 10)
		switch n := by[key]; {
		case n > 1:
			t.Errorf("delivery %d posted %d times", id, n)
		case d.Status == notifiers.StatusSent:
			sent++
			if n != 1 || postOf(r.fake, key).TS != d.TS {
				t.Errorf("delivery %d sent with ts %q but posted %d times", id, d.TS, n)
			}
		case d.Status == notifiers.StatusDead:
			dead++
			if d.LastError == "" || n == 1 && !strings.Contains(d.LastError, "outcome unknown") {
				t.Errorf("delivery %d dead with reason %q and %d posts", id, d.LastError, n)
			}
		default:
			t.Errorf("delivery %d left %s (%s)", id, d.Status, d.LastError)
		}
		assertConfirmedBeforeReposting(t, callsFor(reqs, key, ""))
	}
	confirms := r.fake.Calls(slackfake.History) + r.fake.Calls(slackfake.Replies)
	if confirms < uncertain {
		t.Errorf("%d confirmations for %d posts answered with an uncertain fault", confirms, uncertain)
	}
	if uncertain == 0 || dead == 0 {
		t.Errorf("the run injected %d uncertain faults and dead-lettered %d deliveries: not a test of both", uncertain, dead)
	}
	t.Logf("seed %d: %d deliveries, %d sent, %d dead; %d uncertain faults, %d confirmations, %d calls", seed, len(ids), sent, dead, uncertain, confirms, len(reqs))
}

// assertWaitedAfter429 checks that the call after the first 429 came at
// least wait later.
func assertWaitedAfter429(tb testing.TB, reqs []slackfake.Request, wait time.Duration) {
	tb.Helper()
	for i, r := range reqs {
		if strings.HasPrefix(r.Fault, "429") {
			if i+1 == len(reqs) {
				tb.Fatalf("no call after the 429")
			}
			if gap := reqs[i+1].At.Sub(r.At); gap < wait {
				tb.Errorf("the call after %q came %s later, want at least %s (Retry-After)", r.Fault, gap, wait)
			}
			return
		}
	}
	tb.Fatalf("no 429 among %+v", reqs)
}

// callsFor returns the calls about one delivery: its posts, and the
// confirmation calls (of method, or of either when "") to its channel
// after its first post and before its last call.
func callsFor(reqs []slackfake.Request, deliveryID, method string) []slackfake.Request {
	first, last, channel := -1, -1, ""
	for i, r := range reqs {
		if r.Method == slackfake.PostMessage && r.DeliveryID == deliveryID {
			if first < 0 {
				first, channel = i, r.Channel
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	// The delivery's confirmations come after its last post, before the
	// channel's next delivery is posted.
	end := len(reqs)
	for i := last + 1; i < len(reqs); i++ {
		if reqs[i].Method == slackfake.PostMessage && reqs[i].Channel == channel {
			end = i
			break
		}
	}
	var out []slackfake.Request
	for i := first; i < end; i++ {
		r := reqs[i]
		isConfirm := (r.Method == slackfake.History || r.Method == slackfake.Replies) && (method == "" || r.Method == method)
		if r.Method == slackfake.PostMessage && r.DeliveryID == deliveryID || isConfirm && r.Channel == channel {
			out = append(out, r)
		}
	}
	return out
}

func count(reqs []slackfake.Request, method string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == method {
			n++
		}
	}
	return n
}

// assertConfirmedBeforeReposting checks one delivery's calls: after a
// post whose outcome was unknown (answered with a fault other than a
// refusal), the next post came only after a confirmation that got a
// normal answer.
func assertConfirmedBeforeReposting(tb testing.TB, reqs []slackfake.Request) {
	tb.Helper()
	askFirst, asked := false, false
	for _, r := range reqs {
		switch {
		case r.Method != slackfake.PostMessage:
			asked = asked || r.Fault == ""
		case askFirst && !asked:
			tb.Errorf("delivery %s posted again (attempt %d) without Slack being asked whether the previous attempt arrived", r.DeliveryID, r.Attempt)
		default:
			askFirst, asked = r.Fault != "" && r.Fault != "ratelimited" && !isPermanentCode(r.Fault), false
		}
	}
}

func isPermanentCode(fault string) bool {
	switch fault {
	case "invalid_auth", "channel_not_found", "not_in_channel", "is_archived":
		return true
	}
	return false
}

// postOf returns the recorded post of a delivery.
func postOf(fake *slackfake.Server, deliveryID string) slackfake.Post {
	for _, p := range fake.Posts() {
		if p.DeliveryID() == deliveryID {
			return p
		}
	}
	return slackfake.Post{}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
