package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// runningScheduler is a Scheduler's Run in a goroutine.
type runningScheduler struct {
	s      *notifiers.Scheduler
	cancel context.CancelFunc
	done   chan struct{}
}

// TestTwoInstancesRunEachDigestOnce runs the scheduler of two instances
// on one PostgreSQL database: of the two, one holds the scheduler lease
// and runs the due digest, which is enqueued once. Then the holder dies
// without releasing the lease (its database connections close under
// it), the next digest comes due, and the other instance takes the lease
// over within its TTL (plus a poll) and runs that one, once.
func TestTwoInstancesRunEachDigestOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewMigratedDatabase(t)
	base := time.Now().UTC()
	var offset atomic.Int64 // the schedules' clock runs offset ahead of the wall clock
	now := func() time.Time { return time.Now().UTC().Add(time.Duration(offset.Load())) }

	setup := mustOpenPorts(t, url)
	l, err := events.NewLedger(setup, events.LedgerConfig{Now: now, Secrets: setup, ValidateSchedule: notifiers.ValidateSchedule})
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
	sub := events.Subscription{ID: "hourly", Sink: events.SinkConsole, Treaties: []string{seed.HanoiID}, Digest: "@hourly"}
	if _, err := l.Subscribe(ctx, sub, events.SinkSecret{}, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// The digest last ran two hours ago: one run is due now.
	if _, err := notifiers.NewOutbox(setup).RecordRun(ctx, "digest:hourly", base.Add(-2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}

	// Each instance's store: the holder's is closed by the test (its
	// death), the other when the test ends.
	var stores [2]*postgres.Store
	var dead [2]bool
	for i := range stores {
		if stores[i], err = postgres.Open(ctx, url, postgres.Config{SecretsKey: testSecretsKey}, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i, st := range stores {
			if !dead[i] {
				_ = st.Close()
			}
		}
	})
	const ttl = 600 * time.Millisecond
	start := func(i int) *runningScheduler {
		runner, err := projections.NewRunner(projections.RunnerConfig{Log: stores[i], PollInterval: 20 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := notifiers.NewScheduler(notifiers.SchedulerConfig{Log: stores[i], Store: stores[i], Read: runner, Now: now,
			LeaseTTL: ttl, LeaseRenew: ttl / 6, LeasePoll: 10 * time.Millisecond}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		r := &runningScheduler{s: s, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			if err := s.Run(rctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		return r
	}
	rs := []*runningScheduler{start(0), start(1)}
	defer func() {
		for _, r := range rs {
			r.cancel()
			<-r.done
		}
	}()
	waitFor := func(within time.Duration, what string, cond func() bool) time.Duration {
		t.Helper()
		began := time.Now()
		for deadline := began.Add(within); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s", within, what)
			}
		}
		return time.Since(began)
	}
	outbox := notifiers.NewOutbox(setup)
	digests := func() []notifiers.Delivery {
		ds, err := outbox.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []notifiers.Delivery
		for _, d := range ds {
			if d.Notice.Kind == notifiers.KindDigest {
				out = append(out, d)
			}
		}
		return out
	}
	waitFor(10*time.Second, "the due digest enqueued", func() bool { return len(digests()) >= 1 })
	holder := -1
	waitFor(5*time.Second, "one scheduler holding the lease", func() bool {
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
	survivor := 1 - holder
	if n := len(digests()); n != 1 {
		t.Fatalf("%d digests enqueued by two schedulers, want 1", n)
	}

	// The holder dies without releasing the lease: its connections close
	// under it, so no renewal, no release and no run of it lands.
	dead[holder] = true
	if err := stores[holder].Close(); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(time.Hour)) // the next hourly digest is due
	took := waitFor(10*time.Second, "the survivor taking the scheduler lease over", rs[survivor].s.Holding)
	// The bound: the holder's TTL since its last renewal, a poll, and a
	// margin for a loaded machine.
	if bound := ttl + 2*time.Second; took > bound {
		t.Errorf("the survivor took the lease over after %s, beyond the bound %s (TTL %s, polling and a margin)", took, bound, ttl)
	}
	waitFor(10*time.Second, "the next digest enqueued by the survivor", func() bool { return len(digests()) >= 2 })

	// A sentinel after the runs: the survivor records a third due digest,
	// so any late duplicate of the first two would be in the outbox by now.
	offset.Store(int64(2 * time.Hour))
	rs[survivor].cancel() // a stop releases the lease; a new scheduler of the survivor's store catches up at once
	<-rs[survivor].done
	rs[survivor] = start(survivor)
	waitFor(10*time.Second, "the third digest enqueued", func() bool { return len(digests()) >= 3 })

	ds := digests()
	seen := map[string]int{}
	for _, d := range ds {
		seen[d.DedupKey]++
	}
	if len(ds) != 3 || len(seen) != 3 {
		t.Errorf("%d digest deliveries with %d distinct keys, want 3 of 3: %v", len(ds), len(seen), seen)
	}
	lease, err := setup.Lease(ctx, "scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if lease.Holder == "" {
		t.Errorf("the scheduler lease is free; want it held by the survivor")
	}
	t.Logf("takeover after %s (TTL %s); digests %v", took, ttl, seen)
}
