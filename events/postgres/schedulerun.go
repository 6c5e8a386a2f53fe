package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// RecordFencedRun implements notifiers.ScheduleStore: RecordRun under a
// fence. The lease is read FOR SHARE in the run's transaction, so a
// scheduler of another instance that takes the lease over waits until
// the run committed or rolled back: a run is recorded only by the
// scheduler that holds the lease when it commits.
func (s *Store) RecordFencedRun(ctx context.Context, f events.Fence, name string, at time.Time, ds []events.Delivery) (int, error) {
	n := 0
	err := s.fencedTx(ctx, f, func(tx pgx.Tx) error {
		var err error
		if n, err = enqueueTx(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlSetLastRun, name, at.UnixNano()); err != nil {
			return fmt.Errorf("record the run of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
