package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// RecordFencedRun implements notifiers.ScheduleStore: RecordRun under a
// fence, checked in the run's own write transaction (SQLite has one
// writer at a time, so no take of the lease can come in between).
func (s *Store) RecordFencedRun(ctx context.Context, f events.Fence, name string, at time.Time, ds []events.Delivery) (int, error) {
	n := 0
	err := s.fencedTx(ctx, f, func(tx *sql.Tx) error {
		var err error
		if n, err = enqueueTx(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlSetLastRun, name, at.UnixNano()); err != nil {
			return fmt.Errorf("record the run of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
