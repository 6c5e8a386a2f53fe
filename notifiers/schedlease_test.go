package notifiers_test

import (
	"context"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/projections"
)

// TestSchedulersOnOneFileRunEachDigestOnce runs two schedulers on one
// SQLite file, as two processes would: one holds the scheduler lease and
// runs the due digest, once; when it stops it releases the lease, and the
// other takes over at once and runs the next due digest, once.
func TestSchedulersOnOneFileRunEachDigestOnce(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-06-01")
	c := &clock{t: time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)}
	e.subscribe(t, events.Subscription{ID: "hourly", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, Digest: "@hourly"})
	if _, err := e.outbox.RecordRun(ctx, "digest:hourly", c.Now().Add(-2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	stores := []*sqlite.Store{e.store, openStore(t, e)}
	type running struct {
		s      *notifiers.Scheduler
		cancel context.CancelFunc
		done   chan struct{}
	}
	start := func(i int) *running {
		runner, err := projections.NewRunner(projections.RunnerConfig{Log: stores[i], PollInterval: 20 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := notifiers.NewScheduler(notifiers.SchedulerConfig{Log: stores[i], Store: stores[i], Read: runner, Now: c.Now,
			LeaseTTL: time.Second, LeaseRenew: 200 * time.Millisecond, LeasePoll: 10 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		r := &running{s: s, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			if err := s.Run(rctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		return r
	}
	rs := []*running{start(0), start(1)}
	defer func() {
		for _, r := range rs {
			r.cancel()
			<-r.done
		}
	}()
	waitUntil(t, 10*time.Second, "the due digest enqueued", func() bool { return len(e.deliveries(t, notifiers.KindDigest)) >= 1 })
	holder := -1
	waitUntil(t, 5*time.Second, "a scheduler holding the lease", func() bool {
		for i, r := range rs {
			if r.s.Holding() {
				holder = i
			}
		}
		return holder >= 0
	})
	if rs[1-holder].s.Holding() {
		t.Fatal("both schedulers hold the scheduler lease")
	}
	if n := len(e.deliveries(t, notifiers.KindDigest)); n != 1 {
		t.Fatalf("%d digests enqueued by two schedulers, want 1", n)
	}
	c.Set(c.Now().Add(time.Hour)) // the next digest is due
	rs[holder].cancel()           // a stop releases the lease
	<-rs[holder].done
	waitUntil(t, 5*time.Second, "the other scheduler taking the released lease", rs[1-holder].s.Holding)
	waitUntil(t, 10*time.Second, "the next digest enqueued by the other scheduler", func() bool { return len(e.deliveries(t, notifiers.KindDigest)) >= 2 })
	rs[holder] = start(holder) // waits: the lease is held
	ds := e.deliveries(t, notifiers.KindDigest)
	if len(ds) != 2 || ds[0].DedupKey == ds[1].DedupKey {
		t.Errorf("digests %+v, want two distinct", ds)
	}
}
