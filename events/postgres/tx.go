package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The storage ports other than events.Store (the notifier's outbox,
// leases, consumer offsets, answers, seen requests, sink secrets) write
// in READ COMMITTED transactions. Where SQLite relied on its single
// writer, each write here is either one statement that PostgreSQL makes
// atomic on its row (INSERT … ON CONFLICT, a conditional UPDATE, which
// re-checks its WHERE on the row's latest version after waiting for a
// concurrent writer's lock), or reads the row it depends on FOR SHARE or
// FOR UPDATE first (the fences). A transaction that PostgreSQL aborts as a
// deadlock or a serialization failure is run again, up to portRetries
// times: no caller sees those.

// portRetries is how many times a port's transaction is tried when
// PostgreSQL aborts it as a deadlock or a serialization failure.
const portRetries = 5

// retryable reports whether err is PostgreSQL aborting a transaction that
// may succeed when run again: a deadlock (40P01) or a serialization
// failure (40001).
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// portTx runs fn in a READ COMMITTED transaction and commits it, running
// it again when PostgreSQL aborts it as retryable; fn must therefore have
// no effect outside the transaction but what it may repeat. An error of fn
// is returned as is.
func (s *Store) portTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for try := 1; ; try++ {
		err = s.portTxOnce(ctx, fn)
		if err == nil || !retryable(err) || try == portRetries || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try) * 5 * time.Millisecond):
		}
	}
}

func (s *Store) portTxOnce(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// execOne runs one statement in its own transaction and reports whether
// it changed a row.
func (s *Store) execOne(ctx context.Context, q string, args ...any) (bool, error) {
	changed := false
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, args...)
		changed = tag.RowsAffected() > 0
		return err
	})
	return changed, err
}

// nullString is s, or NULL when s is "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nanos is t in Unix nanoseconds, or 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the time of Unix nanoseconds n, the zero time for 0.
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// millisOf is the time of Unix milliseconds n, the zero time for 0.
func millisOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
