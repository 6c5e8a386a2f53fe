package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Import implements events.Store: it writes a whole exported log into
// this empty store, in one transaction that holds the append lock from
// its check that the log is empty to its commit, so a concurrent Append
// waits for it and nothing is written unless every event is. Each event
// goes through an events.ImportCheck and is stored with the position,
// version, recorded time and hash it comes with, as Append would have
// stored it: Verify passes on the copy. The events are streamed to the
// server with COPY as log yields them, so memory does not grow with the
// log's length.
func (s *Store) Import(ctx context.Context, log iter.Seq2[events.Envelope, error]) (int64, error) {
	return s.importLog(ctx, log, nil)
}

// importLog is Import, with then run in the import's transaction after
// the log is written (nil: nothing more).
func (s *Store) importLog(ctx context.Context, log iter.Seq2[events.Envelope, error], then func(pgx.Tx) error) (int64, error) {
	var (
		n    int64
		last events.Envelope
	)
	done, err := s.takeTurn(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	err = s.WriteTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockAppend); err != nil {
			return fmt.Errorf("import: take the append lock: %w", err)
		}
		var head int64
		if err := tx.QueryRow(ctx, sqlHead).Scan(&head); err != nil {
			return fmt.Errorf("import: read the head of the log: %w", err)
		}
		if head != 0 {
			return &events.LedgerNotEmptyError{Head: head}
		}
		next, stop := iter.Pull2(log)
		defer stop()
		src := &importSource{next: next, check: events.NewImportCheck()}
		written, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, insertColumns, src)
		if src.err != nil {
			return src.err // the log's or the check's, not COPY's report of it
		}
		if err != nil {
			return translate(err, fmt.Sprintf("import: after position %d", src.check.Head()))
		}
		n, last = written, src.last
		if then != nil {
			if err := then(tx); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.remember(last.Position, last.Hash)
	}
	return n, nil
}

// importSource feeds COPY the events of an import, checked one by one.
type importSource struct {
	next  func() (events.Envelope, error, bool)
	check *events.ImportCheck
	row   []any
	last  events.Envelope
	err   error
}

// Next implements pgx.CopyFromSource.
func (s *importSource) Next() bool {
	e, err, ok := s.next()
	if !ok {
		return false
	}
	if err != nil {
		s.err = fmt.Errorf("import: after position %d: %w", s.check.Head(), err)
		return false
	}
	e, err = s.check.Next(e)
	if err != nil {
		s.err = err
		return false
	}
	s.last = e
	s.row = rowArgs(&s.last)
	return true
}

// Values implements pgx.CopyFromSource.
func (s *importSource) Values() ([]any, error) { return s.row, nil }

// Err implements pgx.CopyFromSource: COPY is aborted, and the transaction
// rolled back, when the log or the check failed.
func (s *importSource) Err() error {
	if s.err != nil {
		return errImportStopped
	}
	return nil
}

var errImportStopped = errors.New("import stopped")
