package outboxtest

import (
	"errors"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// testFencedScheduleRun: RecordFencedRun checks its fence against the
// lease's holder in the run's transaction; a refusal records neither the
// run's deliveries nor its time, and returns the fence's error as is.
func testFencedScheduleRun(t *testing.T, s notifiers.Store) {
	ctx := t.Context()
	const name, lease = "digest:" + subSlack, "scheduler"
	if n, err := s.RecordRun(ctx, name, at(1000), nil); err != nil || n != 0 {
		t.Fatal(n, err)
	}
	d := events.Delivery{Subscription: subSlack, DedupKey: "digest:2026-11-30T08:00:00Z", ChannelKey: chanSlack,
		Notice: []byte(`{"kind":"digest"}`), CreatedAt: at(2000)}
	if ok, err := s.TakeLease(ctx, lease, 0, events.Lease{Holder: "host-b:200:bb", Host: "depositary-2", PID: 200, TTL: 15 * time.Second, ExpiresAt: at(17_000)}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	var seen []string
	refuse := events.Fence{Lease: lease, Check: func(holder string) error {
		seen = append(seen, holder)
		if holder != "host-a:100:aa" {
			return errTakenOver
		}
		return nil
	}}
	if n, err := s.RecordFencedRun(ctx, refuse, name, at(2000), []events.Delivery{d}); !errors.Is(err, errTakenOver) || n != 0 {
		t.Errorf("a run under a refusing fence: %d %v, want the fence's error", n, err)
	}
	if len(seen) != 1 || seen[0] != "host-b:200:bb" {
		t.Errorf("the fence saw holders %q, want the lease's holder", seen)
	}
	if l, err := s.LastRun(ctx, name); err != nil || !l.Equal(at(1000)) {
		t.Errorf("last run after a refused run: %v %v, want %v", l, err, at(1000))
	}
	if got := all(t, s); len(got) != 0 {
		t.Errorf("%d deliveries after a refused run, want none", len(got))
	}
	pass := events.Fence{Lease: lease, Check: func(holder string) error { return nil }}
	if n, err := s.RecordFencedRun(ctx, pass, name, at(3000), []events.Delivery{d}); err != nil || n != 1 {
		t.Fatalf("a run under a passing fence: %d %v", n, err)
	}
	if l, err := s.LastRun(ctx, name); err != nil || !l.Equal(at(3000)) {
		t.Errorf("last run %v %v, want %v", l, err, at(3000))
	}
	if got := all(t, s); len(got) != 1 {
		t.Errorf("%d deliveries after the run, want 1", len(got))
	}
}
