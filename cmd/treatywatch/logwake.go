package main

import (
	"context"
	"time"
)

// appendAnnouncer is a store whose instances tell each other of their
// appends (events/postgres: LISTEN/NOTIFY on one database).
type appendAnnouncer interface {
	AnnounceAppend(ctx context.Context) error
	ListenAppends(ctx context.Context, wake func(), retry time.Duration) error
}

// logWake returns serve's wake-up for its own appends and, on a store
// whose instances announce their appends to each other, the stage that
// does it: it announces this process's appends (after they commit, a
// burst as one announcement) and calls follow when another instance
// announces one. The read side polls the log as well (every 250 ms), so
// an announcement lost changes only how soon an event is seen. On SQLite
// the stage is nil and the wake-up is follow itself.
func (m *Main) logWake(follow func()) (func(), *stage) {
	st, ok := m.store.(appendAnnouncer)
	if !ok {
		return follow, nil
	}
	wake, run := m.announcing(follow, st.AnnounceAppend, st.ListenAppends,
		"cannot announce an append to the other instances; they find it by polling")
	return wake, &stage{"log announcements", run}
}

// announcing returns local wrapped so that each call also asks for an
// announcement to the other instances, and the run that makes them: it
// listens for the others' announcements (calling local for each) and
// announces this process's, a burst as one, logging once (warning) when
// announcing starts failing. A lost announcement only delays: every
// reader polls as well.
func (m *Main) announcing(local func(), announce func(context.Context) error,
	listen func(ctx context.Context, wake func(), retry time.Duration) error, failure string,
) (func(), func(context.Context) error) {
	due := make(chan struct{}, 1)
	wrapped := func() {
		local()
		select {
		case due <- struct{}{}:
		default: // an announcement is already due
		}
	}
	run := func(ctx context.Context) error {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = listen(ctx, local, time.Second) // returns nil when ctx ends
		}()
		failing := false
		for {
			select {
			case <-ctx.Done():
				<-done
				return nil
			case <-due:
				if err := announce(ctx); err != nil && ctx.Err() == nil && !failing {
					m.logger.Warn(failure, "err", err)
					failing = true
				} else if err == nil {
					failing = false
				}
			}
		}
	}
	return wrapped, run
}
