package notifiers

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// TestSchedulerRunRefusedAfterTakeover: a scheduler that believes it still
// holds the scheduler lease (it paused past its hold, say) while another
// took the lease over records nothing — the run's transaction checks the
// lease — and the schedule's last run stays as it was.
func TestSchedulerRunRefusedAfterTakeover(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "treatywatch.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	l, err := events.NewLedger(st, events.LedgerConfig{Now: clock, Secrets: st, ValidateSchedule: ValidateSchedule})
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
	if _, err := l.Subscribe(ctx, events.Subscription{ID: "hourly", Sink: events.SinkConsole, Treaties: []string{seed.HanoiID}, Digest: "@hourly"},
		events.SinkSecret{}, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(SchedulerConfig{Log: st, Store: st, Read: runner, Now: clock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := now.Add(-2 * time.Hour)
	if _, err := NewOutbox(st).RecordRun(ctx, "digest:hourly", last, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.lease.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// Another scheduler takes the lease over behind this one's back.
	r, err := st.Lease(ctx, schedulerLeaseName)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.TakeLease(ctx, schedulerLeaseName, r.Version, events.Lease{Holder: "other-host:1:00", Host: "other-host", PID: 1, TTL: time.Minute, ExpiresAt: time.Now().Add(time.Minute)}); err != nil || !ok {
		t.Fatalf("TakeLease = %v, %v", ok, err)
	}
	if !s.lease.canStart() {
		t.Fatal("the scheduler should still believe it holds the lease")
	}
	scheds, err := s.schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ran bool
	for _, sc := range scheds {
		if sc.name != "digest:hourly" {
			continue
		}
		ran, err = s.runIfDue(ctx, sc, now)
	}
	if ran || !errors.Is(err, errSchedulerNotHolder) {
		t.Fatalf("runIfDue = %v, %v; want refused with errSchedulerNotHolder", ran, err)
	}
	if got, err := NewOutbox(st).LastRun(ctx, "digest:hourly"); err != nil || !got.Equal(last) {
		t.Errorf("last run = %v, %v; want it unchanged at %v", got, err, last)
	}
	ds, err := NewOutbox(st).List(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("%d deliveries enqueued by a scheduler that lost its lease, want none", len(ds))
	}
}
