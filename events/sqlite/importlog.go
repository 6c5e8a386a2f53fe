package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"

	"github.com/treatywatch/treatywatch/events"
)

// Import implements events.Store: it writes a whole exported log into
// this empty store, in one immediate transaction that holds SQLite's
// write lock from its check that the log is empty to its commit, so a
// concurrent Append waits for it and nothing is written unless every
// event is. Each event goes through an events.ImportCheck, and is stored
// with the position, version, recorded time and hash it comes with, as
// Append would have stored it: Verify passes on the copy. It reads log
// one event at a time, so its memory does not grow with the log's length
// (SQLite keeps the uncommitted pages in its WAL file).
func (s *Store) Import(ctx context.Context, log iter.Seq2[events.Envelope, error]) (int64, error) {
	var (
		n    int64
		last events.Envelope
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var head int64
		if err := tx.QueryRowContext(ctx, sqlHead).Scan(&head); err != nil {
			return fmt.Errorf("import: read the head of the log: %w", err)
		}
		if head != 0 {
			return &events.LedgerNotEmptyError{Head: head}
		}
		check := events.NewImportCheck()
		insert := tx.StmtContext(ctx, s.insert) //nolint:sqlclosecheck // closes with the transaction
		var ra rowArgs
		for e, err := range log {
			if err != nil {
				return fmt.Errorf("import: after position %d: %w", check.Head(), err)
			}
			e, err := check.Next(e)
			if err != nil {
				return err
			}
			if _, err := insert.ExecContext(ctx, ra.set(&e, e.Stream, e.RecordedAt.UnixNano())...); err != nil {
				return fmt.Errorf("import: insert position %d: %w", e.Position, err)
			}
			n++
			last = e
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
