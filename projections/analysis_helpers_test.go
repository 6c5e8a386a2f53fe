package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// seededToday is "today" for the seeded ledger of the diff and forecast
// tests: after every shipped act (the last ones date from 2026).
var seededToday = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// seededFile is a real SQLite ledger holding the shipped seed, loaded once
// per test binary (loading it under the race detector takes seconds) and
// copied for each test that asks for it.
var seededFile struct {
	once sync.Once
	data []byte
	err  error
}

// seededLedger is a real SQLite ledger in tb's temporary directory
// holding the shipped seed (seed.Load): the real histories of the Paris
// Agreement, the ATT, the TPNW, UNCAC, the BBNJ Agreement and the Hanoi
// Convention's signatures.
type seededLedger struct {
	store  *sqlite.Store
	ledger *events.Ledger
	dir    *events.Directory
}

func openLedger(tb testing.TB, file string, clock time.Time) (*sqlite.Store, *events.Ledger) {
	tb.Helper()
	tick := clock
	var mu sync.Mutex
	st, err := sqlite.Open(context.Background(), file, sqlite.Config{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Second)
		return tick
	}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return clock }})
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return st, l
}

func mustSeededLedger(tb testing.TB) *seededLedger {
	tb.Helper()
	seededFile.once.Do(func() {
		tmp, err := os.MkdirTemp("", "treatywatch-projections-seed-")
		if err != nil {
			seededFile.err = err
			return
		}
		defer os.RemoveAll(tmp)
		file := filepath.Join(tmp, "seed.db")
		st, l := openLedger(tb, file, seededToday)
		_, err = seed.Load(context.Background(), l)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			seededFile.data, err = os.ReadFile(file)
		}
		seededFile.err = err
	})
	if seededFile.err != nil {
		tb.Fatalf("seed: %v", seededFile.err)
	}
	file := filepath.Join(tb.TempDir(), "treatywatch.db")
	if err := os.WriteFile(file, seededFile.data, 0o600); err != nil {
		tb.Fatal(err)
	}
	st, l := openLedger(tb, file, seededToday.Add(24*time.Hour)) // what a test records comes after the seed
	tb.Cleanup(func() { st.Close() })
	dir, err := l.Directory(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return &seededLedger{store: st, ledger: l, dir: dir}
}

// status is the treaty's status as of asOf ("" = the ledger's today), as
// the ledger knows it at knownAt (zero: now).
func (s *seededLedger) status(tb testing.TB, treaty, asOf string, knownAt time.Time) projections.Status {
	tb.Helper()
	d := s.ledger.Today()
	if asOf != "" {
		d = events.MustDate(asOf)
	}
	st, err := projections.StatusFromLog(context.Background(), s.store, s.ledger.Registry(), s.dir, treaty, d, knownAt)
	if err != nil {
		tb.Fatalf("status %s as of %s: %v", treaty, d, err)
	}
	return st
}

// curves returns every seeded treaty's curve as of the ledger's today.
func (s *seededLedger) curves(tb testing.TB) []projections.Progress {
	tb.Helper()
	defs, err := s.ledger.Treaties(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var out []projections.Progress
	for _, def := range defs {
		out = append(out, projections.NewProgress(def, s.status(tb, def.ID, "", time.Time{})))
	}
	return out
}

// curve returns one treaty's curve as of asOf.
func (s *seededLedger) curve(tb testing.TB, treaty, asOf string) projections.Progress {
	tb.Helper()
	h, err := s.ledger.History(context.Background(), treaty, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	return projections.NewProgress(h.Definition, s.status(tb, treaty, asOf, time.Time{}))
}
