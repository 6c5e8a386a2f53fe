package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
	"github.com/treatywatch/treatywatch/seed"
)

// runningSender is a Sender's Run in a goroutine.
type runningSender struct {
	s      *notifiers.Sender
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *runningSender) stop() { r.cancel(); <-r.done }

// TestTwoInstancesSendEachDeliveryOnceAtThePace runs the notifier's
// sender on two instances of one PostgreSQL database, stopping the one
// that holds the sender lease again and again while they drain many
// deliveries over several Slack channels: every delivery is posted exactly
// once, no channel gets two posts at once, and the per-channel pace holds
// across the handovers (the pacing row is the database's).
func TestTwoInstancesSendEachDeliveryOnceAtThePace(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewMigratedDatabase(t)
	stores := []*postgres.Store{mustOpenPorts(t, url), mustOpenPorts(t, url)}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	l, err := events.NewLedger(stores[0], events.LedgerConfig{Now: func() time.Time { return now }, Secrets: stores[0]})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := events.NewDirectory()
	if err != nil {
		t.Fatal(err)
	}
	def, err := seed.Definition(dir, seed.HanoiID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}

	const channels, perChannel, pace = 4, 15, 30 * time.Millisecond
	outbox := notifiers.NewOutbox(stores[0])
	for c := range channels {
		sub := events.Subscription{ID: fmt.Sprintf("s%d", c), Sink: events.SinkSlack, Channel: fmt.Sprintf("C0HANOI%d", c), Treaties: []string{seed.HanoiID}}
		if _, err := l.Subscribe(ctx, sub, events.SinkSecret{}, events.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		var ds []notifiers.Delivery
		for i := range perChannel {
			n := notifiers.Notice{Kind: notifiers.KindDeposit, Treaty: seed.HanoiID, TreatyName: "Hanoi Convention", Position: int64(100 + i), Participant: "Viet Nam",
				Action: events.Ratification, Date: events.MustDate("2026-06-01"), Reference: "C.N.100.2026.TREATIES-XVIII.16", Counted: 1, Required: 40}
			ds = append(ds, notifiers.Delivery{Subscription: sub.ID, DedupKey: notifiers.DedupKey(n), Position: n.Position, ChannelKey: notifiers.ChannelKey(sub),
				ThreadKey: n.Treaty, Notice: n, CreatedAt: time.Now()})
		}
		if _, err := outbox.Enqueue(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}

	fake := slackfake.New()
	defer fake.Close()
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		overlaps atomic.Int64
	)
	fake.Script(func(req slackfake.Request) *slackfake.Fault {
		if req.Method != slackfake.PostMessage {
			return nil
		}
		mu.Lock()
		if inFlight[req.Channel]++; inFlight[req.Channel] > 1 {
			overlaps.Add(1)
		}
		mu.Unlock()
		time.Sleep(3 * time.Millisecond) // a post that takes a while
		mu.Lock()
		inFlight[req.Channel]--
		mu.Unlock()
		return nil
	})

	var sentBy [2]atomic.Int64
	start := func(i int) *runningSender {
		s, err := notifiers.NewSender(notifiers.SenderConfig{Store: stores[i], Log: stores[i], Now: time.Now, PerChannel: pace,
			Backoff: 5 * time.Millisecond, Poll: 5 * time.Millisecond, LeaseTTL: time.Second, LeaseRenew: 200 * time.Millisecond, LeasePoll: 10 * time.Millisecond,
			Sinks: map[string]notifiers.Sink{events.SinkSlack: notifiers.NewSlack(notifiers.NewSlackClient("xoxb-test", fake.APIURL(), 2*time.Second))},
			Observe: func(o string) {
				if o == "sent" {
					sentBy[i].Add(1)
				}
			}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		r := &runningSender{s: s, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			if err := s.Run(rctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		return r
	}
	rs := []*runningSender{start(0), start(1)}
	defer func() {
		for _, r := range rs {
			r.stop()
		}
	}()
	waitFor := func(within time.Duration, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s", within, what)
			}
		}
	}
	handovers := 0
	waitFor(60*time.Second, "every delivery sent", func() bool {
		if len(fake.Posts()) >= (handovers+1)*15 {
			for i, r := range rs {
				if r.s.Holding() {
					r.stop()
					waitFor(10*time.Second, "the other instance taking the sender lease over", rs[1-i].s.Holding)
					rs[i] = start(i)
					handovers++
					break
				}
			}
		}
		counts, err := outbox.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return counts[notifiers.StatusSent] == channels*perChannel
	})

	byID := fake.PostsByDelivery()
	for id, k := range byID {
		if k != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, k)
		}
	}
	posts := fake.Posts()
	if len(byID) != channels*perChannel || len(posts) != channels*perChannel {
		t.Errorf("%d posts of %d deliveries, want %d of %d", len(posts), len(byID), channels*perChannel, channels*perChannel)
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d posts reached a channel while another post to it was in flight", n)
	}
	arrivals := map[string][]time.Time{}
	for _, p := range posts {
		arrivals[p.Channel] = append(arrivals[p.Channel], p.At)
	}
	for ch, at := range arrivals {
		sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
		for k := 1; k < len(at); k++ {
			if gap := at[k].Sub(at[k-1]); gap < pace {
				t.Errorf("channel %s: posts %d and %d arrived %v apart, under the pace of %v", ch, k, k+1, gap, pace)
			}
		}
	}
	if handovers < 2 || sentBy[0].Load() == 0 || sentBy[1].Load() == 0 {
		t.Errorf("%d handovers, %d and %d sent by each instance: not a test of two instances", handovers, sentBy[0].Load(), sentBy[1].Load())
	}
	t.Logf("%d posts, %d handovers, sent %d + %d", len(posts), handovers, sentBy[0].Load(), sentBy[1].Load())
}
