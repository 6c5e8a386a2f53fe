package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// Each benchmark of the store has a raw baseline beside it that writes or
// reads the same rows with plain pgx (pgxpool, the same driver settings)
// on another database of the same server, with the same schema
// (migrations/0001_events.sql, applied by Open). They run on the test
// binary's server: the throwaway cluster (fsync off) unless
// $TREATYWATCH_TEST_POSTGRES names one, so compare the two sides of a
// pair, not the figures of two servers.

// The row every benchmark writes: a ratification as the ledger records it.
const (
	benchPayload = `{"action":"ratification","participant":"Viet Nam","iso3":"VNM","date":"2026-01-02"}`
	benchType    = "act.ratification"
	benchDate    = "2026-01-02"
	benchActor   = "seed"
	benchRef     = "C.N.12.2026.TREATIES-XXVII.7.d"
	benchStream  = "treaty-bbnj"

	rawInsert = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
)

var rawColumns = []string{"position", "stream", "version", "type", "schema_version", "valid_date", "recorded_at",
	"actor", "reference", "source", "correlation_id", "causation_id", "payload", "hash"}

// benchLogSize is the size of the log the read benchmark reads:
// 1,000,000 events, or 100,000 with -short.
func benchLogSize() int {
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
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

// openRaw returns a plain pgx pool on a new database with the store's
// schema (created by opening a store on it once).
func openRaw(b *testing.B) *pgxpool.Pool {
	b.Helper()
	url := pgtest.NewMigratedDatabase(b)
	s, err := postgres.Open(context.Background(), url, postgres.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = s.Close()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// rawRow is the benchmark row at a position and version.
func rawRow(pos, version, recorded int64, stream string, hash []byte) []any {
	return []any{pos, stream, version, benchType, int32(1), benchDate, recorded, benchActor, benchRef, nil, nil, nil, benchPayload, hash}
}

// Each benchmark below is a pair of sub-benchmarks over the same rows:
// "raw", the fastest plain pgx loop we know for them, then "store", the
// same work through the Store. Both report events/s (wall) and
// events/cpu-s (this process's user+sys time), and the store's side its
// share of the raw rate; when the test binary ends, a line per pair gives
// the ratios (ratio_test.go).

// BenchmarkAppendOne commits one event per transaction: a raw autocommit
// INSERT of the row (one round trip), against Store.Append of one record
// (its one-statement path: the append lock, the head and version guard,
// the hash chain, the insert; one round trip too).
func BenchmarkAppendOne(b *testing.B) {
	ctx := context.Background()
	rec := benchRecords(1)
	hash := make([]byte, 32)
	b.Run("raw", func(b *testing.B) {
		pool := openRaw(b)
		var pos int64
		measure(b, "AppendOne (single-row commit)", "raw", 1, 0, func() {
			pos++
			if _, err := pool.Exec(ctx, rawInsert, rawRow(pos, pos, time.Now().UnixNano(), benchStream, hash)...); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("store", func(b *testing.B) {
		s, _ := MustOpen(b)
		var version int64
		measure(b, "AppendOne (single-row commit)", "store", 1, 0, func() {
			if _, err := s.Append(ctx, events.StreamAppend{Stream: benchStream, ExpectedVersion: version, Records: rec}); err != nil {
				b.Fatal(err)
			}
			version++
		})
	})
}

// BenchmarkAppendOneParallel is BenchmarkAppendOne from 8 goroutines at
// once, each on its own stream: what serialising appends (the append
// lock, needed for the hash chain and for readers that never skip) costs
// against raw INSERTs that take no lock (positions from an atomic
// counter, as no real log could: they commit out of order).
func BenchmarkAppendOneParallel(b *testing.B) {
	const writers = 8
	ctx := context.Background()
	rec := benchRecords(1)
	hash := make([]byte, 32)
	const pair = "AppendOneParallel (8 writers, single-row commits)"
	b.Run("raw", func(b *testing.B) {
		pool := openRaw(b)
		var pos atomic.Int64
		measure(b, pair, "raw", writers, 0, func() {
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					p := pos.Add(1)
					if _, err := pool.Exec(ctx, rawInsert, rawRow(p, p, time.Now().UnixNano(), fmt.Sprintf("treaty-%d", w), hash)...); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		})
	})
	b.Run("store", func(b *testing.B) {
		s, _ := MustOpen(b)
		var versions [writers]int64
		measure(b, pair, "store", writers, 0, func() {
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					if _, err := s.Append(ctx, events.StreamAppend{Stream: fmt.Sprintf("treaty-%d", w), ExpectedVersion: versions[w], Records: rec}); err != nil {
						b.Error(err)
					}
					versions[w]++
				})
			}
			wg.Wait()
		})
	})
}

// BenchmarkAppend1k commits 1,000 events per transaction to a new stream:
// raw BEGIN, COPY of the 1,000 rows and COMMIT, against one Store.Append
// of 1,000 records (the append lock, head and versions in one round trip,
// the hash chain, COPY, COMMIT).
func BenchmarkAppend1k(b *testing.B) {
	const batch = 1000
	const pair = "Append1k (1,000-event commits)"
	ctx := context.Background()
	hash := make([]byte, 32)
	b.Run("raw", func(b *testing.B) {
		pool := openRaw(b)
		var pos int64
		i := 0
		measure(b, pair, "raw", batch, 0, func() {
			i++
			stream := fmt.Sprintf("treaty-%d", i)
			recorded := time.Now().UnixNano()
			rows := make([][]any, batch)
			for v := range rows {
				pos++
				rows[v] = rawRow(pos, int64(v+1), recorded, stream, hash)
			}
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, rawColumns, pgx.CopyFromRows(rows))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("store", func(b *testing.B) {
		s, _ := MustOpen(b)
		recs := benchRecords(batch)
		i := 0
		measure(b, pair, "store", batch, 0, func() {
			i++
			if _, err := s.Append(ctx, events.StreamAppend{Stream: fmt.Sprintf("treaty-%d", i), Records: recs}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkReadAll1M reads a log of 1,000,000 events (100,000 with
// -short), written by the store (so its hashes are real), in order, and
// decodes each payload into an events.Act: one plain pgx query of every
// column scanned into int64s and byte slices ("raw"), against
// Store.ReadAll in pages of 10,000 (envelopes that own their bytes).
func BenchmarkReadAll1M(b *testing.B) {
	const pair = "ReadAll1M (replay and decode)"
	ctx := context.Background()
	rows := benchLogSize()
	s, url := MustOpen(b)
	loadStart := time.Now()
	const perAppend = 10_000
	recs := benchRecords(perAppend)
	for i := 0; i < rows/perAppend; i++ {
		stream := fmt.Sprintf("treaty-%03d", i%100) // 100 streams: a treaty's stream takes several appends
		if _, err := s.Append(ctx, events.StreamAppend{Stream: stream, ExpectedVersion: int64(i/100) * perAppend, Records: recs}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, `VACUUM ANALYZE events`); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "loaded %d events through Append in %v\n", rows, time.Since(loadStart).Round(time.Millisecond))

	b.Run("raw", func(b *testing.B) {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		var (
			pos, version, recorded                  int64
			schema                                  int32
			stream, typ, date, actor, ref           []byte
			source, corr, caus, payload, hashColumn []byte
		)
		measure(b, pair, "raw", rows, 0, func() {
			r, err := pool.Query(ctx, `SELECT position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash FROM events ORDER BY position`)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for r.Next() {
				if err := r.Scan(&pos, &stream, &version, &typ, &schema, &date, &recorded,
					&actor, &ref, &source, &corr, &caus, &payload, &hashColumn); err != nil {
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
			if n != rows {
				b.Fatalf("read %d events, want %d", n, rows)
			}
		})
	})
	b.Run("store", func(b *testing.B) {
		const page = 10_000
		measure(b, pair, "store", rows, 0, func() {
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
