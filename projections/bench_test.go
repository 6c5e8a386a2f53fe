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
// all, built once per test binary run in a temporary directory.
const (
	benchTreaties  = 1000
	benchPerTreaty = 1000
)

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
	hanoi.Withdrawal = events.Withdrawal{TakesEffect: events.Period{N: 1, Unit: events.Years}} // hypothetical, as in hanoiDefinition
	for t := 0; t < benchTreaties; t++ {
		def := hanoi
		def.ID = fmt.Sprintf("BENCH-%04d", t)
		def.Adopted = start
		def.Signature = nil
		def.EntryIntoForce.Instruments = 60 + rng.IntN(60)
		recs := make([]events.Record, 0, benchPerTreaty)
		r, _ := reg.NewRecord(&events.TreatyRegistered{Definition: def}, events.Date{}, events.Metadata{Actor: "bench"})
		recs = append(recs, r)
		day := 0
		for i := 1; i < benchPerTreaty; i++ {
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

// BenchmarkRebuild compares a full rebuild of every read model from the
// 1,000,000-event ledger (treatywatch replay) with the raw baseline of the
// ledger benchmarks: a plain SELECT of the log plus json.Unmarshal of each
// payload. Target: the rebuild at least 50 % of the raw rate.
func BenchmarkRebuild(b *testing.B) {
	path := benchLedgerPath(b)
	ctx := context.Background()
	var raw, rebuild float64
	b.Run("raw-scan-and-decode", func(b *testing.B) {
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_journal_mode=WAL")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ResetTimer()
		n := 0
		for b.Loop() {
			rows, err := db.QueryContext(ctx, `SELECT position, stream, version, type, schema_version, valid_date, recorded_at, actor, reference, source, correlation_id, causation_id, payload FROM events ORDER BY position`)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var (
					pos, ver, rec                  int64
					stream, typ                    string
					sv                             int
					valid, actor, ref, src, co, ca sql.NullString
					payload                        []byte
					act                            events.Act
				)
				if err := rows.Scan(&pos, &stream, &ver, &typ, &sv, &valid, &rec, &actor, &ref, &src, &co, &ca, &payload); err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(payload, &act); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := rows.Err(); err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
		raw = float64(n) / b.Elapsed().Seconds()
		b.ReportMetric(raw, "events/s")
	})
	b.Run("replay", func(b *testing.B) {
		st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.ResetTimer()
		n := 0
		for b.Loop() {
			_, folded, err := projections.Rebuild(ctx, st, 0)
			if err != nil {
				b.Fatal(err)
			}
			n += folded
		}
		rebuild = float64(n) / b.Elapsed().Seconds()
		b.ReportMetric(rebuild, "events/s")
		if raw > 0 {
			b.ReportMetric(100*rebuild/raw, "%-of-raw")
		}
	})
}

// BenchmarkStatusAsOf measures the status of one treaty as of an
// arbitrary date on the 1,000,000-event ledger, through a caught-up
// Runner (as the service answers it). Target: p99 under 5 ms.
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
