package notifiers

import (
	"context"
	"errors"
	"sync"

	"github.com/treatywatch/treatywatch/events"
)

// schedulerLeaseName is the lease (LeaseStore) that the schedulers of one
// ledger share: only its holder runs digests and timed notices.
const schedulerLeaseName = "scheduler"

// errSchedulerNotHolder is what a run of a scheduler gets when the
// scheduler does not hold the ledger's scheduler lease (or too little of
// it is left): another scheduler took it over, or will.
var errSchedulerNotHolder = errors.New("this scheduler does not hold the ledger's scheduler lease (another scheduler runs the schedules)")

// errSchedulerLeaseLapsed is why a scheduler stops running schedules when
// its renewals of the lease failed until its hold ended.
var errSchedulerLeaseLapsed = errors.New("the scheduler lease lapsed: it could not be renewed")

// schedulerFence guards the record of a run: the run commits only if l's
// holder still holds the scheduler lease and enough of its hold is left.
func schedulerFence(l *lease) events.Fence {
	f := l.fence(true)
	check := f.Check
	f.Check = func(holder string) error {
		if err := check(holder); err != nil {
			return errors.Join(errSchedulerNotHolder, err)
		}
		return nil
	}
	return f
}

// Run runs the schedules while this scheduler holds the ledger's
// scheduler lease: it waits for the lease, then runs cron (see runHeld)
// renewing the lease, and waits again if it loses it. When ctx ends it
// stops, lets a run in progress finish, and releases the lease, so that
// another scheduler takes over at once. It returns nil when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		if err := s.lease.acquire(ctx); err != nil {
			return nil //nolint:nilerr // ctx ended while waiting: a stop
		}
		s.logger.InfoContext(ctx, "this scheduler runs the ledger's digests and timed notices", "holder", s.lease.self.Holder)
		err := s.whileHeld(ctx)
		if ctx.Err() != nil {
			s.lease.release(context.WithoutCancel(ctx))
			return nil
		}
		s.logger.WarnContext(ctx, "scheduler stopped running schedules; waiting for the lease again", "err", err)
	}
}

// whileHeld runs runHeld with a context that ends with ctx or when the
// lease is lost, renewing the lease meanwhile, and returns once both
// have stopped: nil when ctx ended, else why the lease was lost.
func (s *Scheduler) whileHeld(ctx context.Context) error {
	heldCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	keepCtx, stopKeep := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.lease.keep(keepCtx); err != nil {
			cancel(err)
		}
	})
	err := s.runHeld(heldCtx)
	stopKeep()
	wg.Wait()
	if cause := context.Cause(heldCtx); ctx.Err() == nil && cause != nil {
		switch {
		case errors.Is(cause, errNotHolder):
			return errSchedulerNotHolder
		case errors.Is(cause, errLeaseLapsed):
			return errSchedulerLeaseLapsed
		}
		return cause
	}
	return err
}

// keepWhile renews the lease in the background until the returned
// function is called, which waits for the renewals to stop: RunDue's hold
// outlasts a long run like Run's does.
func (s *Scheduler) keepWhile(ctx context.Context) func() {
	keepCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.lease.keep(keepCtx) }) // a lost lease shows in canStart and the fence
	return func() { stop(); wg.Wait() }
}

// Holding reports whether this scheduler holds the ledger's scheduler
// lease (as far as it knows: its hold has not ended).
func (s *Scheduler) Holding() bool { return s.lease.held() }
