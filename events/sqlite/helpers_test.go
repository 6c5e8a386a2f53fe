package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// MustOpen opens the store at path with the default configuration and
// closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	return MustOpenConfig(tb, path, sqlite.Config{})
}

// MustOpenConfig is MustOpen with a configuration.
func MustOpenConfig(tb testing.TB, path string, cfg sqlite.Config) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path, cfg, nil)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// TempPath returns the path of a database file in a new temporary
// directory.
func TempPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "treatywatch.db")
}

// MustOpenRaw opens path with database/sql directly, bypassing the store,
// and closes it when the test ends.
func MustOpenRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatalf("sql.Open(%s): %v", path, err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// MustAppend appends and fails the test on error.
func MustAppend(tb testing.TB, s events.Store, appends ...events.StreamAppend) []events.Envelope {
	tb.Helper()
	out, err := s.Append(tb.Context(), appends...)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return out
}

// Acts returns n ratification records for the BBNJ Agreement, as the
// ledger writes them.
func Acts(tb testing.TB, n int) []events.Record {
	tb.Helper()
	reg := events.NewRegistry()
	rs := make([]events.Record, n)
	date := events.MustDate("2024-01-22")
	for i := range rs {
		r, err := reg.NewRecord(
			events.Act{Action: events.Ratification, Participant: "Palau", ISO3: "PLW", Date: date, Note: string(rune('a' + i%26))},
			date,
			events.Metadata{Actor: "test", Reference: "C.N.27.2024.TREATIES-XXI.10"},
		)
		if err != nil {
			tb.Fatalf("NewRecord: %v", err)
		}
		rs[i] = r
	}
	return rs
}
