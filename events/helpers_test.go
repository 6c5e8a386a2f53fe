package events_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

// testNow is "today" in the ledger tests: 27 Nov 2026, inside the Hanoi
// Convention's signature window.
var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// seedOnce builds one seeded ledger file per test binary; MustLedger copies
// it, so that every case starts from the same real SQLite file.
var seedOnce struct {
	sync.Once
	path string
	err  error
}

// TestMain removes the seeded template ledger when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if seedOnce.path != "" {
		_ = os.RemoveAll(filepath.Dir(seedOnce.path))
	}
	os.Exit(code)
}

// MustLedger returns a Ledger on a real SQLite file in t.TempDir() holding
// the shipped seed: the six treaty definitions and the Hanoi Convention's
// 69 signatures, recorded through the Ledger like any input. Today is
// testNow.
func MustLedger(tb testing.TB) (*events.Ledger, *sqlite.Store) {
	tb.Helper()
	seedOnce.Do(func() { seedOnce.path, seedOnce.err = buildSeed() })
	if seedOnce.err != nil {
		tb.Fatalf("seed: %v", seedOnce.err)
	}
	path := filepath.Join(tb.TempDir(), "treatywatch.db")
	if err := copyFile(seedOnce.path, path); err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.Open(tb.Context(), path, sqlite.Config{}, nil)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return testNow }})
	if err != nil {
		tb.Fatal(err)
	}
	return l, st
}

func buildSeed() (string, error) {
	dir, err := os.MkdirTemp("", "treatywatch-events-test-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "seed.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		return "", err
	}
	defer st.Close()
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return testNow }})
	if err != nil {
		return "", err
	}
	names, err := seed.Treaties()
	if err != nil {
		return "", err
	}
	pd, err := l.Directory(ctx)
	if err != nil {
		return "", err
	}
	var defs []events.Definition
	for _, name := range names {
		def, err := treatyfile.ParseFS(seed.Files(), name, pd)
		if err != nil {
			return "", err
		}
		defs = append(defs, def)
	}
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Parent == "" && defs[j].Parent != "" })
	for _, def := range defs {
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed"}); err != nil {
			return "", err
		}
	}
	f, err := seed.Files().Open(seed.HanoiCSV)
	if err != nil {
		return "", err
	}
	defer f.Close()
	rows, err := events.ParseImportCSV(f)
	if err != nil {
		return "", err
	}
	if _, err := l.Import(ctx, "XVIII-16", rows, events.ImportOptions{Meta: events.Metadata{Actor: "seed"}}); err != nil {
		return "", err
	}
	return path, st.Close()
}

func copyFile(from, to string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		src, err := os.Open(from + suffix)
		if err != nil {
			if suffix != "" && errorsIsNotExist(err) {
				continue
			}
			return err
		}
		dst, err := os.Create(to + suffix)
		if err != nil {
			src.Close()
			return err
		}
		_, err = io.Copy(dst, src)
		src.Close()
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func errorsIsNotExist(err error) bool { return os.IsNotExist(err) || err == fs.ErrNotExist }

// logState is what a refused command must leave exactly as it was: the
// log's head position, its number of rows and the hash of its last event.
type logState struct {
	Head int64
	Rows int64
	Hash string
}

// MustLogState reads the log's state straight from the SQLite file.
func MustLogState(tb testing.TB, st *sqlite.Store) logState {
	tb.Helper()
	var s logState
	head, err := st.Head(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	s.Head = head
	if err := st.ReadDB().QueryRowContext(tb.Context(), "SELECT count(*) FROM events").Scan(&s.Rows); err != nil {
		tb.Fatal(err)
	}
	if err := st.ReadDB().QueryRowContext(tb.Context(), "SELECT coalesce((SELECT hex(hash) FROM events ORDER BY position DESC LIMIT 1), '')").Scan(&s.Hash); err != nil {
		tb.Fatal(err)
	}
	return s
}
