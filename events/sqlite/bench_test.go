package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// Each benchmark of the store has a raw baseline beside it that writes or
// reads the same rows with plain database/sql on a file with the same
// schema (migrations/0001_events.sql) and the same pragmas.

// The row every benchmark writes: a ratification as the ledger records it.
const (
	benchPayload = `{"action":"ratification","participant":"Viet Nam","iso3":"VNM","date":"2026-01-02"}`
	benchType    = "act.ratification"
	benchDate    = "2026-01-02"
	benchActor   = "seed"
	benchRef     = "C.N.12.2026.TREATIES-XXVII.7.d"
	benchStream  = "treaty-bbnj"

	// rawPragmas are the pragmas the store sets on its write connection
	// (it adds _txlock=immediate, which only changes how BEGIN is
	// spelled). checkSamePragmas verifies that they agree.
	rawPragmas = "?_busy_timeout=5000&_journal_mode=WAL&_synchronous=NORMAL"

	rawInsert = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// benchSizes returns the sizes of the batch and of the log to read: the
// sizes the targets are set for, or a tenth of them with -short.
func benchSizes() (batch, log int) {
	if testing.Short() {
		return 10_000, 100_000
	}
	return 100_000, 1_000_000
}

func benchRecords(n int) []events.Record {
	rs := make([]events.Record, n)
	for i := range rs {
		rs[i] = events.Record{
			Type:          benchType,
			SchemaVersion: 1,
			ValidDate:     events.MustDate(benchDate),
			Meta:          events.Metadata{Actor: benchActor, Reference: benchRef},
			Payload:       json.RawMessage(benchPayload),
		}
	}
	return rs
}

// openRaw opens path with plain database/sql and the store's pragmas,
// creating the store's events table if it is missing.
func openRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+rawPragmas)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	var exists int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'events'`).Scan(&exists); err != nil {
		tb.Fatal(err)
	}
	if exists == 0 {
		schema, err := os.ReadFile("migrations/0001_events.sql")
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := db.Exec(string(schema)); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// checkSamePragmas fails the benchmark if the store's write connection and
// the raw connection differ in the pragmas that matter to speed.
func checkSamePragmas(b *testing.B, s *sqlite.Store, raw *sql.DB) {
	b.Helper()
	const q = `SELECT (SELECT journal_mode FROM pragma_journal_mode), (SELECT synchronous FROM pragma_synchronous),
	(SELECT timeout FROM pragma_busy_timeout), (SELECT cache_size FROM pragma_cache_size), (SELECT page_size FROM pragma_page_size)`
	var ours, theirs string
	scan := func(row *sql.Row, into *string) error {
		var mode string
		var sync, busy, cache, page int
		err := row.Scan(&mode, &sync, &busy, &cache, &page)
		*into = fmt.Sprint(mode, sync, busy, cache, page)
		return err
	}
	err := s.WriteTx(context.Background(), func(tx *sql.Tx) error { return scan(tx.QueryRow(q), &ours) })
	if err != nil {
		b.Fatal(err)
	}
	if err := scan(raw.QueryRow(q), &theirs); err != nil {
		b.Fatal(err)
	}
	if ours != theirs {
		b.Fatalf("pragmas differ: store %s, raw %s", ours, theirs)
	}
}

// Each benchmark below is a pair of sub-benchmarks over the same rows:
// "raw", the fastest plain go-sqlite3 loop we know for them (prepared
// statements, sql.RawBytes scans, one transaction where the store has
// one), then "store", the same work through the Store. Both report
// events/s (wall) and events/cpu-s (user+sys time of the whole process,
// from getrusage), and the store's side its share of the raw rate; when
// the test binary ends, a line per pair gives the ratios (see ratios in
// ratio_test.go).

// BenchmarkAppendOne commits one event per transaction: a raw
// autocommit INSERT of the row, against Store.Append of one record
// (version check, hash chain, insert, commit). Target ≥ 90 %.
func BenchmarkAppendOne(b *testing.B) {
	ctx := context.Background()
	rec := benchRecords(1)
	hash := make([]byte, 32)
	b.Run("raw", func(b *testing.B) {
		db := openRaw(b, filepath.Join(b.TempDir(), "raw.db"))
		stmt, err := db.PrepareContext(ctx, rawInsert)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		var pos int64
		measure(b, "AppendOne (single-row commit)", "raw", 1, 0.90, func() {
			pos++
			if _, err := stmt.ExecContext(ctx, pos, benchStream, pos, benchType, int64(1), benchDate, time.Now().UnixNano(),
				benchActor, benchRef, nil, nil, nil, benchPayload, hash); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("store", func(b *testing.B) {
		dir := b.TempDir()
		s := MustOpen(b, filepath.Join(dir, "events.db"))
		checkSamePragmas(b, s, openRaw(b, filepath.Join(dir, "raw.db")))
		var version int64
		measure(b, "AppendOne (single-row commit)", "store", 1, 0.90, func() {
			if _, err := s.Append(ctx, events.StreamAppend{Stream: benchStream, ExpectedVersion: version, Records: rec}); err != nil {
				b.Fatal(err)
			}
			version++
		})
	})
}

// BenchmarkAppend1k commits 1,000 events per transaction to a new
// stream: 1,000 raw INSERTs through one prepared statement in one
// transaction, against one Store.Append of 1,000 records. Target ≥ 85 %.
func BenchmarkAppend1k(b *testing.B) {
	benchBatch(b, "Append1k (1,000-event commits)", 1000, 0.85)
}

// BenchmarkAppendBatch100k is BenchmarkAppend1k with 100,000 events per
// transaction (10,000 with -short): an import.
func BenchmarkAppendBatch100k(b *testing.B) {
	batch, _ := benchSizes()
	benchBatch(b, "AppendBatch100k (import in one transaction)", batch, 0)
}

func benchBatch(b *testing.B, pair string, batch int, target float64) {
	ctx := context.Background()
	hash := make([]byte, 32)
	b.Run("raw", func(b *testing.B) {
		db := openRaw(b, filepath.Join(b.TempDir(), "raw.db"))
		stmt, err := db.PrepareContext(ctx, rawInsert)
		if err != nil {
			b.Fatal(err)
		}
		defer stmt.Close()
		var pos int64
		i := 0
		measure(b, pair, "raw", batch, target, func() {
			i++
			stream := fmt.Sprintf("treaty-%d", i)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			txStmt := tx.StmtContext(ctx, stmt)
			recorded := time.Now().UnixNano()
			for v := 1; v <= batch; v++ {
				pos++
				if _, err := txStmt.ExecContext(ctx, pos, stream, int64(v), benchType, int64(1), benchDate, recorded,
					benchActor, benchRef, nil, nil, nil, benchPayload, hash); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("store", func(b *testing.B) {
		dir := b.TempDir()
		s := MustOpen(b, filepath.Join(dir, "events.db"))
		checkSamePragmas(b, s, openRaw(b, filepath.Join(dir, "raw.db")))
		recs := benchRecords(batch)
		i := 0
		measure(b, pair, "store", batch, target, func() {
			i++
			if _, err := s.Append(ctx, events.StreamAppend{Stream: fmt.Sprintf("treaty-%d", i), Records: recs}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// readFixture is the log both read benchmarks read, built once per test
// binary by the store (so its hashes are real) and removed by TestMain.
var readFixture struct {
	once sync.Once
	dir  string
	path string
	rows int
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if readFixture.dir != "" {
		_ = os.RemoveAll(readFixture.dir)
	}
	printRatios(os.Stdout)
	os.Exit(code)
}

// readFixturePath returns the path of the fixture log and its size,
// building it on first use.
func readFixturePath(b *testing.B) (string, int) {
	b.Helper()
	f := &readFixture
	f.once.Do(func() {
		_, f.rows = benchSizes()
		if f.dir, f.err = os.MkdirTemp("", "treatywatch-bench-"); f.err != nil {
			return
		}
		f.path = filepath.Join(f.dir, "events.db")
		ctx := context.Background()
		s, err := sqlite.Open(ctx, f.path, sqlite.Config{}, nil)
		if err != nil {
			f.err = err
			return
		}
		defer s.Close()
		const perAppend = 10_000
		recs := benchRecords(perAppend)
		for i := 0; i < f.rows/perAppend; i++ {
			// 100 streams: a treaty's stream takes several appends.
			stream := fmt.Sprintf("treaty-%03d", i%100)
			if _, err := s.Append(ctx, events.StreamAppend{Stream: stream, ExpectedVersion: int64(i/100) * perAppend, Records: recs}); err != nil {
				f.err = err
				return
			}
		}
	})
	if f.err != nil {
		b.Fatalf("build the read fixture: %v", f.err)
	}
	return f.path, f.rows
}

// BenchmarkReadAll1M reads a log of 1,000,000 events (100,000 with
// -short) in order and decodes each payload into an events.Act: one plain
// SELECT of the envelope's columns scanned into sql.RawBytes and int64s
// ("raw": the payload as stored; "raw-blob": read as a BLOB, as the store
// does; the faster is the baseline), against Store.ReadAll in pages of
// 10,000 (envelopes that own their bytes). Target ≥ 95 %.
func BenchmarkReadAll1M(b *testing.B) {
	const pair = "ReadAll1M (replay and decode)"
	ctx := context.Background()
	path, rows := readFixturePath(b)
	for _, v := range []struct{ name, payload string }{{"raw", "payload"}, {"raw-blob", "CAST(payload AS BLOB)"}} {
		b.Run(v.name, func(b *testing.B) {
			db := openRawRead(b, path)
			stmt, err := db.PrepareContext(ctx, `SELECT position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, `+v.payload+`, hash FROM events ORDER BY position`)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			var (
				pos, version, schema, recorded                    int64
				stream, typ, date, actor, ref, source, corr, caus sql.RawBytes
				payload, hash                                     sql.RawBytes
			)
			measure(b, pair, "raw", rows, 0.95, func() {
				r, err := stmt.QueryContext(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for r.Next() {
					if err := r.Scan(&pos, &stream, &version, &typ, &schema, &date, &recorded,
						&actor, &ref, &source, &corr, &caus, &payload, &hash); err != nil {
						b.Fatal(err)
					}
					var act events.Act
					if err := json.Unmarshal(payload, &act); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := r.Err(); err != nil {
					b.Fatal(err)
				}
				r.Close()
				if n != rows {
					b.Fatalf("read %d events, want %d", n, rows)
				}
			})
		})
	}
	b.Run("store", func(b *testing.B) {
		s := MustOpen(b, path)
		const page = 10_000
		measure(b, pair, "store", rows, 0.95, func() {
			n := 0
			var after int64
			for {
				es, err := s.ReadAll(ctx, after, page)
				if err != nil {
					b.Fatal(err)
				}
				if len(es) == 0 {
					break
				}
				for i := range es {
					var act events.Act
					if err := json.Unmarshal(es[i].Payload, &act); err != nil {
						b.Fatal(err)
					}
				}
				n += len(es)
				after = es[len(es)-1].Position
			}
			if n != rows {
				b.Fatalf("read %d events, want %d", n, rows)
			}
		})
	})
}

// openRawRead opens path read-only with plain database/sql, as the
// store's read pool does.
func openRawRead(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000&_synchronous=NORMAL")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}
