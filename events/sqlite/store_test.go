package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/storetest"
)

const bbnj = "treaty-bbnj"

func TestStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) events.Store { return MustOpen(t, TempPath(t)) })
}

func TestOpen_CreatesParentDirectories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "events.db")
	s := MustOpen(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database file was not created: %v", err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
}

func TestOpen_RefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		cfg  sqlite.Config
	}{
		{"empty path", "", sqlite.Config{}},
		{"memory", ":memory:", sqlite.Config{}},
		{"uri", "file:x.db?mode=memory", sqlite.Config{}},
		{"negative busy timeout", TempPath(t), sqlite.Config{BusyTimeout: -time.Second}},
		{"negative pool", TempPath(t), sqlite.Config{ReadConns: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path, tc.cfg, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !errors.Is(err, events.ErrInvalid) {
				t.Errorf("error %v does not wrap events.ErrInvalid", err)
			}
		})
	}
}

func TestOpen_PathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?#% name", "events.db")
	s := MustOpen(t, path)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 1)})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where asked: %v", err)
	}
}

func TestAppend_RecordedAtFromConfiguredClock(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.FixedZone("CET", 3600))
	s := MustOpenConfig(t, TempPath(t), sqlite.Config{Now: func() time.Time { return now }})
	got := MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 2)})
	read, err := s.ReadAll(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range append(got, read...) {
		if !e.RecordedAt.Equal(now) || e.RecordedAt.Location() != time.UTC {
			t.Errorf("event %d recorded at %v, want %v in UTC", i, e.RecordedAt, now.UTC())
		}
	}
}

func TestAppend_RefusesInvalidRecords(t *testing.T) {
	good := Acts(t, 1)[0]
	for _, tc := range []struct {
		name string
		sa   events.StreamAppend
	}{
		{"no stream", events.StreamAppend{Records: []events.Record{good}}},
		{"negative expected version", events.StreamAppend{Stream: bbnj, ExpectedVersion: -1, Records: []events.Record{good}}},
		{"no type", events.StreamAppend{Stream: bbnj, Records: []events.Record{{SchemaVersion: 1, Payload: []byte(`{}`)}}}},
		{"schema version 0", events.StreamAppend{Stream: bbnj, Records: []events.Record{{Type: "act.signature", Payload: []byte(`{}`)}}}},
		{"empty payload", events.StreamAppend{Stream: bbnj, Records: []events.Record{{Type: "act.signature", SchemaVersion: 1}}}},
		{"payload not JSON", events.StreamAppend{Stream: bbnj, Records: []events.Record{{Type: "act.signature", SchemaVersion: 1, Payload: []byte(`{"a":`)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustOpen(t, TempPath(t))
			_, err := s.Append(t.Context(), events.StreamAppend{Stream: "participants", Records: []events.Record{good}}, tc.sa)
			if !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("Append: %v, want an error wrapping events.ErrInvalid", err)
			}
			if head, _ := s.Head(t.Context()); head != 0 {
				t.Errorf("head is %d after a refused append, want 0", head)
			}
		})
	}
}

func TestAppend_SameStreamTwiceInOneBatch(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	got := MustAppend(t, s,
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 0, Records: Acts(t, 2)},
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: Acts(t, 1)})
	if len(got) != 3 || got[2].Version != 3 {
		t.Fatalf("got %d envelopes, last version %d; want 3 and 3", len(got), got[len(got)-1].Version)
	}
	_, err := s.Append(t.Context(),
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: Acts(t, 1)},
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: Acts(t, 1)})
	var ce *events.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 4 {
		t.Fatalf("Append: %v, want a conflict at actual version 4", err)
	}
}

func TestHead(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	if head, err := s.Head(t.Context()); err != nil || head != 0 {
		t.Fatalf("Head of an empty log = %d, %v; want 0", head, err)
	}
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 3)})
	if head, err := s.Head(t.Context()); err != nil || head != 3 {
		t.Fatalf("Head = %d, %v; want 3", head, err)
	}
}

func TestReadAll_RefusesLimitBelowOne(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	if _, err := s.ReadAll(t.Context(), 0, 0); !errors.Is(err, events.ErrInvalid) {
		t.Fatalf("ReadAll(0, 0): %v, want events.ErrInvalid", err)
	}
}

func TestEvents_AppendOnly(t *testing.T) {
	path := TempPath(t)
	s := MustOpen(t, path)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 3)})

	statements := []string{
		`UPDATE events SET payload = '{}' WHERE position = 2`,
		`UPDATE events SET actor = 'mallory'`,
		`DELETE FROM events WHERE position = 3`,
		`DELETE FROM events`,
	}
	check := func(t *testing.T, stmt string, err error) {
		t.Helper()
		var se sqlite3.Error
		if !errors.As(err, &se) || se.ExtendedCode != sqlite3.ErrConstraintTrigger {
			t.Fatalf("%s: %v, want the trigger's constraint error", stmt, err)
		}
		if !strings.Contains(err.Error(), "events are append-only") {
			t.Errorf("%s: %v, want the message to say events are append-only", stmt, err)
		}
	}
	t.Run("plain SQL", func(t *testing.T) {
		db := MustOpenRaw(t, path)
		for _, stmt := range statements {
			_, err := db.ExecContext(t.Context(), stmt)
			check(t, stmt, err)
		}
	})
	t.Run("WriteTx", func(t *testing.T) {
		for _, stmt := range statements {
			err := s.WriteTx(t.Context(), func(tx *sql.Tx) error {
				_, err := tx.ExecContext(t.Context(), stmt)
				return err
			})
			check(t, stmt, err)
		}
	})
	if err := s.Verify(t.Context()); err != nil {
		t.Fatalf("Verify after refused changes: %v", err)
	}
}

func TestWriteTxAndReadDB(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	ctx := t.Context()
	err := s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO checkpoints VALUES ('status', 7)`)
		return err
	})
	if err != nil {
		t.Fatalf("WriteTx: %v", err)
	}

	boom := errors.New("boom")
	err = s.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET position = 9`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteTx returned %v, want fn's error", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = s.WriteTx(ctx, func(tx *sql.Tx) error {
			_, _ = tx.ExecContext(ctx, `UPDATE checkpoints SET position = 10`)
			panic("boom")
		})
	}()

	var pos int64
	if err := s.ReadDB().QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = 'status'`).Scan(&pos); err != nil {
		t.Fatalf("ReadDB: %v", err)
	}
	if pos != 7 {
		t.Errorf("checkpoint is %d, want 7: failed transactions must roll back", pos)
	}
	if _, err := s.ReadDB().ExecContext(ctx, `UPDATE checkpoints SET position = 8`); err == nil {
		t.Errorf("ReadDB accepted a write, want it read-only")
	}
	// The write connection is free again after a panic.
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 1)})
}

const (
	dropUpdate = `DROP TRIGGER events_no_update`
	dropDelete = `DROP TRIGGER events_no_delete`
)

func TestVerify(t *testing.T) {
	setup := func(t *testing.T) (*sqlite.Store, *sql.DB) {
		path := TempPath(t)
		s := MustOpen(t, path)
		MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 2)})
		MustAppend(t, s,
			events.StreamAppend{Stream: "treaty-paris", Records: Acts(t, 2)},
			events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: Acts(t, 1)})
		return s, MustOpenRaw(t, path)
	}
	exec := func(t *testing.T, db *sql.DB, stmts ...string) {
		t.Helper()
		for _, stmt := range stmts {
			if _, err := db.ExecContext(t.Context(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}

	t.Run("unchanged log", func(t *testing.T) {
		s, _ := setup(t)
		rep, err := s.VerifyReport(t.Context(), nil)
		if err != nil {
			t.Fatalf("VerifyReport: %v", err)
		}
		last, _ := s.ReadAll(t.Context(), 4, 1)
		if rep.Events != 5 || rep.Head != 5 || len(last) != 1 || string(rep.Hash) != string(last[0].Hash) {
			t.Errorf("report %+v, want 5 events, head 5 and the last hash", rep)
		}
		if err := s.Verify(t.Context()); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})
	t.Run("empty log", func(t *testing.T) {
		s := MustOpen(t, TempPath(t))
		if rep, err := s.VerifyReport(t.Context(), nil); err != nil || rep.Events != 0 || rep.Hash != nil {
			t.Fatalf("VerifyReport = %+v, %v; want nothing verified and no error", rep, err)
		}
	})

	for _, tc := range []struct {
		name  string
		stmts []string
		want  int64
	}{
		{"payload changed", []string{dropUpdate, `UPDATE events SET payload = '{"action":"accession"}' WHERE position = 3`}, 3},
		{"whitespace added to the payload", []string{dropUpdate, `UPDATE events SET payload = ' ' || payload || ' ' WHERE position = 3`}, 3},
		{"payload set to another type", []string{dropUpdate, `UPDATE events SET payload = 12 WHERE position = 3`}, 3},
		{"actor changed", []string{dropUpdate, `UPDATE events SET actor = 'mallory' WHERE position = 3`}, 3},
		{"actor set to NULL", []string{dropUpdate, `UPDATE events SET actor = NULL WHERE position = 3`}, 3},
		{"absent source set to empty text", []string{dropUpdate, `UPDATE events SET source = '' WHERE position = 3`}, 3},
		{"valid date changed", []string{dropUpdate, `UPDATE events SET valid_date = '2024-01-21' WHERE position = 3`}, 3},
		{"valid date set to NULL", []string{dropUpdate, `UPDATE events SET valid_date = NULL WHERE position = 4`}, 4},
		{"valid date set to another type", []string{dropUpdate, `UPDATE events SET valid_date = 20240122 WHERE position = 2`}, 2},
		{"valid date in another form", []string{dropUpdate, `UPDATE events SET valid_date = '2024-1-22' WHERE position = 2`}, 2},
		{"recorded time changed", []string{dropUpdate, `UPDATE events SET recorded_at = recorded_at + 1 WHERE position = 5`}, 5},
		{"version changed", []string{dropUpdate, `UPDATE events SET version = 7 WHERE position = 5`}, 5},
		{"stream changed", []string{dropUpdate, `UPDATE events SET stream = 'treaty-x' WHERE position = 1`}, 1},
		{"type changed", []string{dropUpdate, `UPDATE events SET type = 'act.accession' WHERE position = 1`}, 1},
		{"schema version changed", []string{dropUpdate, `UPDATE events SET schema_version = 2 WHERE position = 1`}, 1},
		{"hash changed", []string{dropUpdate, `UPDATE events SET hash = zeroblob(32) WHERE position = 3`}, 3},
		{"hash truncated", []string{dropUpdate, `UPDATE events SET hash = substr(hash, 1, 8) WHERE position = 3`}, 3},
		{"last hash changed", []string{dropUpdate, `UPDATE events SET hash = zeroblob(32) WHERE position = 5`}, 5},
		{"event deleted", []string{dropDelete, `DELETE FROM events WHERE position = 3`}, 3},
		{"first event deleted", []string{dropDelete, `DELETE FROM events WHERE position = 1`}, 1},
		{"two rows swapped", []string{dropUpdate,
			`UPDATE events SET position = 100 WHERE position = 2`,
			`UPDATE events SET position = 2 WHERE position = 3`,
			`UPDATE events SET position = 3 WHERE position = 100`}, 2},
		{"tail removed and rewritten", []string{dropDelete, `DELETE FROM events WHERE position >= 4`,
			`INSERT INTO events SELECT 4, stream, version + 1, type, schema_version, valid_date, recorded_at, actor, reference, source, correlation_id, causation_id, payload, hash FROM events WHERE position = 3`}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, db := setup(t)
			exec(t, db, tc.stmts...)
			err := s.Verify(t.Context())
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("Verify: %v, want no error", err)
				}
				return
			}
			var te *events.TamperError
			if !errors.As(err, &te) || !errors.Is(err, events.ErrTampered) {
				t.Fatalf("Verify: %v, want a *events.TamperError", err)
			}
			if te.Position != tc.want {
				t.Errorf("TamperError at position %d, want %d", te.Position, tc.want)
			}
		})
	}
}

// TestTwoStoresOnOneFile interleaves appends of two Stores on one file, so
// that each one's knowledge of the last event is often stale.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := TempPath(t)
	a, b := MustOpen(t, path), MustOpen(t, path)
	one := Acts(t, 1)

	MustAppend(t, a, events.StreamAppend{Stream: bbnj, Records: one})
	MustAppend(t, b, events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: one})
	_, err := a.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: one})
	var ce *events.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("Append with a stale expected version: %v, want a conflict at actual version 2", err)
	}
	for i, s := range []*sqlite.Store{a, b, b, a, a, b, a, b, b, b, a} {
		stream := fmt.Sprintf("treaty-%d", i)
		MustAppend(t, s, events.StreamAppend{Stream: stream, Records: one})
		MustAppend(t, s, events.StreamAppend{Stream: stream, ExpectedVersion: 1, Records: one})
	}
	for _, s := range []*sqlite.Store{a, b} {
		rep, err := s.VerifyReport(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Events != 24 || rep.Head != 24 {
			t.Fatalf("report %+v, want 24 events", rep)
		}
	}
}

// TestAppend_FastPathWithAnotherWriter walks the single-record fast path
// through what another process's writes make stale: the log's head and a
// stream's version this store saw. Every append lands at the next position
// and version or is refused as a conflict; none leaves a gap.
func TestAppend_FastPathWithAnotherWriter(t *testing.T) {
	path := TempPath(t)
	a, b := MustOpen(t, path), MustOpen(t, path)
	one := Acts(t, 1)
	var ce *events.ConflictError

	MustAppend(t, a, events.StreamAppend{Stream: bbnj, Records: one})
	MustAppend(t, a, events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: one})
	if _, err := a.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: 5, Records: one}); !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("expected version ahead of the stream: %v, want a conflict at actual version 2", err)
	}
	MustAppend(t, b, events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: one})
	if _, err := a.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: one}); !errors.As(err, &ce) || ce.Actual != 3 {
		t.Fatalf("version this store saw, moved by another: %v, want a conflict at actual version 3", err)
	}
	got := MustAppend(t, a, events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: one})
	if got[0].Position != 4 || got[0].Version != 4 {
		t.Fatalf("append after the other writer at position %d version %d, want 4 and 4", got[0].Position, got[0].Version)
	}
	MustAppend(t, b, events.StreamAppend{Stream: "treaty-paris", Records: one})
	got = MustAppend(t, a, events.StreamAppend{Stream: bbnj, ExpectedVersion: 4, Records: one})
	if got[0].Position != 6 || got[0].Version != 5 {
		t.Fatalf("append after another stream moved the head at position %d version %d, want 6 and 5", got[0].Position, got[0].Version)
	}
	for _, s := range []*sqlite.Store{a, b} {
		if rep, err := s.VerifyReport(t.Context(), nil); err != nil || rep.Events != 6 {
			t.Fatalf("report %+v, %v, want 6 chained events", rep, err)
		}
	}
}

// TestAppend_LargeBatch covers batches large enough that Append hashes in a
// second goroutine while it inserts.
func TestAppend_LargeBatch(t *testing.T) {
	const n = 5000
	t.Run("written and chained", func(t *testing.T) {
		s := MustOpen(t, TempPath(t))
		MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 1)})
		got := MustAppend(t, s,
			events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: Acts(t, n)},
			events.StreamAppend{Stream: "treaty-paris", Records: Acts(t, 3)},
			events.StreamAppend{Stream: bbnj, ExpectedVersion: 1 + n, Records: Acts(t, n)})
		if len(got) != 2*n+3 || got[len(got)-1].Position != 2*n+4 || got[len(got)-1].Version != 2*n+1 {
			last := got[len(got)-1]
			t.Fatalf("got %d envelopes, the last at position %d version %d", len(got), last.Position, last.Version)
		}
		rep, err := s.VerifyReport(t.Context(), nil)
		if err != nil || rep.Events != 2*n+4 {
			t.Fatalf("VerifyReport = %+v, %v", rep, err)
		}
		if !bytes.Equal(rep.Hash, got[len(got)-1].Hash) {
			t.Errorf("the stored chain ends with %x, Append returned %x", rep.Hash, got[len(got)-1].Hash)
		}
	})
	t.Run("invalid payload late in the batch", func(t *testing.T) {
		s := MustOpen(t, TempPath(t))
		recs := Acts(t, n)
		recs[n-10].Payload = []byte(`{"action":`)
		_, err := s.Append(t.Context(), events.StreamAppend{Stream: bbnj, Records: recs})
		if !errors.Is(err, events.ErrInvalid) {
			t.Fatalf("Append: %v, want events.ErrInvalid", err)
		}
		if head, _ := s.Head(t.Context()); head != 0 {
			t.Fatalf("head %d after a refused batch, want 0", head)
		}
	})
	t.Run("insert fails late in the batch", func(t *testing.T) {
		s := MustOpen(t, TempPath(t))
		err := s.WriteTx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(t.Context(), `CREATE TEMP TRIGGER fail BEFORE INSERT ON main.events WHEN NEW.version = 4000
BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Append(t.Context(), events.StreamAppend{Stream: bbnj, Records: Acts(t, n)})
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("Append: %v, want the injected failure", err)
		}
		if head, _ := s.Head(t.Context()); head != 0 {
			t.Fatalf("head %d after a failed batch, want 0", head)
		}
		// The write connection and the store still work.
		MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 10)})
	})
}
