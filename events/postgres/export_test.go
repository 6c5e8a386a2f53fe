package postgres

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events"
)

// LockAppend is the append lock's key, for tests that hold it.
const LockAppend = lockAppend

// ScanFirst reads the first limit events of the log with ReadAll's
// query and the store's scanner: through its own decoding of the binary
// form, or, when slow, through rows.Scan. It reports whether the scanner
// found every row in binary form.
func ScanFirst(ctx context.Context, s *Store, limit int64, slow bool) ([]events.Envelope, bool, error) {
	rows, err := s.pool.Query(ctx, sqlReadAll, int64(0), limit)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var sc scanner
	if slow {
		sc.binary = -1
	}
	var got []events.Envelope
	for rows.Next() {
		var e events.Envelope
		if err := sc.scan(rows, &e); err != nil {
			return nil, false, err
		}
		got = append(got, e)
	}
	return got, sc.binary == 1, rows.Err()
}

// MigrateBefore applies the migrations numbered below n, in order.
func MigrateBefore(ctx context.Context, pool *pgxpool.Pool, n int) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.number >= n {
			break
		}
		if _, err := applyMigration(ctx, pool, "test", m, n-1); err != nil {
			return err
		}
	}
	return nil
}

// MigrateAll applies every pending migration, as Open does.
func MigrateAll(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate(ctx, pool, "test", slog.New(slog.DiscardHandler))
	return err
}
