package notifiers

import (
	"context"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/internal/process"
)

// HeldLease is one of the notifier's leases and how it is held.
type HeldLease struct {
	// Name is the lease's name: "sender" or "scheduler".
	Name string
	// Role is what holding it does, for people: "sends the deliveries",
	// "runs the digests and timed notices".
	Role string
	events.Lease
}

// LiveLeases returns the notifier's leases of a ledger (the sender's and
// the scheduler's) that a process may still hold at now: a holder is
// recorded, its hold has not ended (ExpiresAt, by the holder's wall
// clock, is after now), and its process is not provably gone (a process
// of this machine that the kernel no longer knows). A tool that must not
// run beside a notifier (migrate-db, which copies the outbox) refuses
// while one is returned. It reads the leases only.
func LiveLeases(ctx context.Context, store LeaseStore, now time.Time) ([]HeldLease, error) {
	self := process.Identity()
	var out []HeldLease
	for _, l := range []struct{ name, role string }{
		{senderLeaseName, "sends the deliveries"},
		{schedulerLeaseName, "runs the digests and timed notices"},
	} {
		r, err := store.Lease(ctx, l.name)
		if err != nil {
			return nil, fmt.Errorf("read the %s lease: %w", l.name, err)
		}
		if r.Holder == "" || (!r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)) || process.Gone(self, r.Process, r.PID) {
			continue
		}
		out = append(out, HeldLease{Name: l.name, Role: l.role, Lease: r})
	}
	return out, nil
}
