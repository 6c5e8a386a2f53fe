package postgres_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	printRatios(os.Stdout)
	os.Exit(code)
}

// MustOpen opens a store on a new database holding the schema and nothing
// else (pgtest.NewMigratedDatabase) and closes it when the test ends. It
// returns the store and the database's URL.
func MustOpen(tb testing.TB) (*postgres.Store, string) {
	tb.Helper()
	url := pgtest.NewMigratedDatabase(tb)
	return MustOpenURL(tb, url, postgres.Config{}), url
}

// MustOpenURL opens the store at url and closes it when the test ends.
func MustOpenURL(tb testing.TB, url string, cfg postgres.Config) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url, cfg, nil)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
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

// MustURL returns the URL of a new, empty database, which the first Open
// migrates.
func MustURL(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb)
}

// Streams of the tests: real treaties of the UN depositary.
var (
	bbnj  = events.TreatyStream("bbnj")  // Agreement on marine biodiversity beyond national jurisdiction, 2023
	paris = events.TreatyStream("paris") // Paris Agreement, 2015
)

// numbered returns n simple records, distinguishable by their payload.
func numbered(n int) []events.Record {
	rs := make([]events.Record, n)
	for i := range rs {
		rs[i] = events.Record{Type: "test.numbered", SchemaVersion: 1, Payload: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	return rs
}
