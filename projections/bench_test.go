package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// The benchmark ledger: 1,000 treaties of 1,000 events each (one
// registration and 999 acts by the 198 reference participants: signatures,
// consents, declarations, reservations, objections), 1,000,000 events in
// all (with -short, 100 events per treaty: 100,000), built once per test
// binary run in a temporary directory.
const benchTreaties = 1000

func benchPerTreaty() int {
	if testing.Short() {
		return 100
	}
	return 1000
}

var benchLedger struct {
	once sync.Once
	path string
	err  error
}

func benchLedgerPath(b *testing.B) string {
	b.Helper()
	benchLedger.once.Do(func() {
		dir, err := os.MkdirTemp("", "treatywatch-bench")
		if err != nil {
			benchLedger.err = err
			return
		}
		benchLedger.path = filepath.Join(dir, "ledger.db")
		benchLedger.err = buildBenchLedger(benchLedger.path)
	})
	if benchLedger.err != nil {
		b.Fatal(benchLedger.err)
	}
	return benchLedger.path
}

func buildBenchLedger(path string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := events.NewRegistry()
	dir, _ := events.NewDirectory()
	parts := dir.All()
	start := events.MustDate("2000-01-01")
	rng := rand.New(rand.NewPCG(1, 2))
	hanoi, err := seed.Definition(dir, seed.HanoiID)
	if err != nil {
		return err
	}
	for t := 0; t < benchTreaties; t++ {
		def := hanoi
		def.ID = fmt.Sprintf("BENCH-%04d", t)
		def.Adopted = start
		def.Signature = nil
		def.EntryIntoForce.Instruments = 60 + rng.IntN(60)
		recs := make([]events.Record, 0, benchPerTreaty())
		r, _ := reg.NewRecord(&events.TreatyRegistered{Definition: def}, events.Date{}, events.Metadata{Actor: "bench"})
		recs = append(recs, r)
		day := 0
		for i := 1; i < benchPerTreaty(); i++ {
			p := parts[i%len(parts)]
			var a events.Action
			switch round := i / len(parts); round {
			case 0:
				a = events.Signature
			case 1:
				a = events.Ratification
			default:
				a = []events.Action{events.Declaration, events.Reservation, events.Objection, events.TerritorialApplication}[rng.IntN(4)]
			}
			day += rng.IntN(3)
			act := events.Act{Action: a, Participant: p.Name, ISO3: p.ISO3, Date: start.AddDays(day)}
			r, err := reg.NewRecord(&act, act.Date, events.Metadata{Actor: "bench", Reference: fmt.Sprintf("C.N.%d.2000.TREATIES-%d", i, t)})
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		if _, err := st.Append(ctx, events.StreamAppend{Stream: events.TreatyStream(def.ID), Records: recs}); err != nil {
			return err
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchLedger.path != "" {
		_ = os.RemoveAll(filepath.Dir(benchLedger.path))
	}
	printRatios(os.Stdout)
	os.Exit(code)
}

// The pairs of BenchmarkRebuild.
const (
	pairRebuild = "Rebuild (replay vs raw read and decode)"
	pairCount   = "Rebuild (replay vs raw read, decode, count)"
)

// BenchmarkRebuild compares the replay command's full rebuild
// (projections.Rebuild: every stream read, every event decoded and folded,
// every treaty's status computed) on the 1,000,000-event ledger with raw
// go-sqlite3 loops for the same rows, without any folding:
//
//   - raw-scan: one SELECT of the whole log scanned into sql.RawBytes,
//     json.Unmarshal of each payload into an events.Act;
//   - raw-scan-per-stream: one prepared SELECT per stream, in stream order,
//     as the rebuild reads (the same rows, the same decoding);
//   - raw-scan-pipelined: the whole-log scan with the scan and the decoding
//     in two goroutines.
//
// The fastest raw loop of a round is the baseline (target ≥ 80 %). A
// second pair compares the replay with raw-count: raw-scan plus the
// plainest fold that gives the same summary (per treaty, the signatories
// and the participants with a consent instrument, in maps), a raw loop
// that does part of the work the rebuild does and no legal rule. Every
// side also reports events per CPU-second: the pipelined loops use more
// than one CPU.
func BenchmarkRebuild(b *testing.B) {
	path := benchLedgerPath(b)
	ctx := context.Background()
	total := benchTreaties * benchPerTreaty()
	for _, v := range []struct {
		name string
		scan func(*testing.B, *sql.DB) int
	}{{"raw-scan", rawScan}, {"raw-scan-per-stream", rawScanPerStream}, {"raw-scan-pipelined", rawScanPipelined}} {
		b.Run(v.name, func(b *testing.B) {
			db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			measure(b, pairRebuild, "raw", total, 0, func() {
				if n := v.scan(b, db); n != total {
					b.Fatalf("read %d events, want %d", n, total)
				}
			})
		})
	}
	b.Run("raw-count", func(b *testing.B) {
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		measure(b, pairCount, "raw", total, 0, func() {
			if n := rawCount(b, db); n != total {
				b.Fatalf("read %d events, want %d", n, total)
			}
		})
	})
	b.Run("replay", func(b *testing.B) {
		st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		res := measure(b, pairRebuild, "replay", total, 0.80, func() {
			// What `treatywatch replay` does.
			sum, n, err := projections.Rebuild(ctx, st, 0)
			if err != nil {
				b.Fatal(err)
			}
			if n != total || len(sum) != benchTreaties {
				b.Fatalf("folded %d events of %d treaties, want %d of %d", n, len(sum), total, benchTreaties)
			}
		})
		ratios.Add(pairCount, "replay", res, 0)
	})
}

// rawCount is rawScan that also counts, per stream, the signatories and
// the participants with a consent instrument.
func rawCount(b *testing.B, db *sql.DB) int {
	r, err := db.QueryContext(context.Background(), `SELECT `+rawColumns+` FROM events ORDER BY position`)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	type tally struct{ signed, bound map[string]bool }
	tallies := map[string]*tally{}
	var (
		pos, ver, schema, rec                     int64
		stream                                    string
		typ, valid, actor, ref, src, co, ca, hash sql.RawBytes
		payload                                   sql.RawBytes
	)
	n := 0
	for r.Next() {
		if err := r.Scan(&pos, &stream, &ver, &typ, &schema, &valid, &rec, &actor, &ref, &src, &co, &ca, &payload, &hash); err != nil {
			b.Fatal(err)
		}
		var act events.Act
		if err := json.Unmarshal(payload, &act); err != nil {
			b.Fatal(err)
		}
		t := tallies[stream]
		if t == nil {
			t = &tally{signed: map[string]bool{}, bound: map[string]bool{}}
			tallies[stream] = t
		}
		if act.Action == events.Signature {
			t.signed[act.Participant] = true
		} else if act.Action.IsConsent() {
			t.bound[act.Participant] = true
		}
		n++
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

const rawColumns = `position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash`

// rawRows scans every row of r into sql.RawBytes and decodes each payload
// into an events.Act. It returns how many rows it read.
func rawRows(b *testing.B, r *sql.Rows) int {
	var (
		pos, ver, schema, rec                             int64
		stream, typ, valid, actor, ref, src, co, ca, hash sql.RawBytes
		payload                                           sql.RawBytes
	)
	n := 0
	for r.Next() {
		if err := r.Scan(&pos, &stream, &ver, &typ, &schema, &valid, &rec, &actor, &ref, &src, &co, &ca, &payload, &hash); err != nil {
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
	return n
}

// rawScan reads the whole log in one SELECT, in one goroutine.
func rawScan(b *testing.B, db *sql.DB) int {
	r, err := db.QueryContext(context.Background(), `SELECT `+rawColumns+` FROM events ORDER BY position`)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	return rawRows(b, r)
}

// rawScanPerStream reads the log stream by stream through one prepared
// statement, as the rebuild does.
func rawScanPerStream(b *testing.B, db *sql.DB) int {
	ctx := context.Background()
	var streams []string
	r, err := db.QueryContext(ctx, `SELECT DISTINCT stream FROM events ORDER BY stream`)
	if err != nil {
		b.Fatal(err)
	}
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			b.Fatal(err)
		}
		streams = append(streams, s)
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	r.Close()
	stmt, err := db.PrepareContext(ctx, `SELECT `+rawColumns+` FROM events WHERE stream = ? ORDER BY version`)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	n := 0
	for _, s := range streams {
		r, err := stmt.QueryContext(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		n += rawRows(b, r)
		r.Close()
	}
	return n
}

// rawScanPipelined is rawScan with the scan in one goroutine and the
// decoding in another: the scan copies each page of 5,000 payloads into
// one buffer and hands it over.
func rawScanPipelined(b *testing.B, db *sql.DB) int {
	type page struct {
		buf  []byte
		ends []int
	}
	pages := make(chan page, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		r, err := db.QueryContext(context.Background(), `SELECT `+rawColumns+` FROM events ORDER BY position`)
		if err != nil {
			errc <- err
			return
		}
		defer r.Close()
		var (
			pos, ver, schema, rec                             int64
			stream, typ, valid, actor, ref, src, co, ca, hash sql.RawBytes
			payload                                           sql.RawBytes
		)
		p := page{buf: make([]byte, 0, 5000*128), ends: make([]int, 0, 5000)}
		for r.Next() {
			if err := r.Scan(&pos, &stream, &ver, &typ, &schema, &valid, &rec, &actor, &ref, &src, &co, &ca, &payload, &hash); err != nil {
				errc <- err
				return
			}
			p.buf = append(p.buf, payload...)
			p.ends = append(p.ends, len(p.buf))
			if len(p.ends) == 5000 {
				pages <- p
				p = page{buf: make([]byte, 0, cap(p.buf)), ends: make([]int, 0, 5000)}
			}
		}
		if len(p.ends) > 0 {
			pages <- p
		}
		errc <- r.Err()
	}()
	n := 0
	var decodeErr error
	for p := range pages {
		start := 0
		for _, end := range p.ends {
			var act events.Act
			if err := json.Unmarshal(p.buf[start:end], &act); err != nil && decodeErr == nil {
				decodeErr = err
			}
			start = end
			n++
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if decodeErr != nil {
		b.Fatal(decodeErr)
	}
	return n
}

// BenchmarkStatusAsOf measures the status of one treaty, chosen at
// random among 1,000, as of an arbitrary date on the 1,000,000-event
// ledger, through a caught-up Runner with its default bounded caches (as
// the service answers it): most asks miss the 50,000 events of histories
// kept, and then cost a read and fold of that treaty's 1,000 events —
// what that treaty costs, never what the log costs.
func BenchmarkStatusAsOf(b *testing.B) {
	path := benchLedgerPath(b)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	r, err := projections.NewRunner(projections.RunnerConfig{Log: st}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	start := events.MustDate("2000-01-01")
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		// 2,000 queries per iteration, so that -benchtime 1x gives
		// meaningful percentiles.
		for range 2000 {
			id := fmt.Sprintf("BENCH-%04d", rng.IntN(benchTreaties))
			asOf := start.AddDays(rng.IntN(1200))
			t0 := time.Now()
			if _, err := r.Status(ctx, id, asOf, time.Time{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
