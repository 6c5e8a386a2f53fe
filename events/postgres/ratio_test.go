package postgres_test

// This file is events/sqlite/ratio_test.go, package name and the summary's
// heading aside: test files cannot be shared between packages. CPU time is
// this process's only: the server's processes are not counted, so
// events/cpu-s is the client's cost.

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchResult is one sub-benchmark's figures.
type benchResult struct {
	name    string  // the sub-benchmark
	rate    float64 // events per second of wall time
	cpuRate float64 // events per second of process CPU time (user+sys)
}

// round is one run of a pair: its raw baselines, then the sides measured
// against them. With -count N a pair has N rounds.
type round struct {
	raws, sides []benchResult
}

// fastest returns the raw baseline with the highest rate by f.
func (r round) fastest(f func(benchResult) float64) (benchResult, bool) {
	var best benchResult
	for _, x := range r.raws {
		if f(x) > f(best) {
			best = x
		}
	}
	return best, f(best) > 0
}

// ratioBook collects the pairs of a test binary's run, for the summary
// printed when it ends.
type ratioBook struct {
	mu      sync.Mutex
	order   []string
	rounds  map[string][]round
	targets map[string]float64
}

// ratios is the book of this test binary: benchmarks run one at a time,
// and TestMain prints it once they are done.
var ratios = &ratioBook{rounds: map[string][]round{}, targets: map[string]float64{}}

// add records a result of a pair: side "raw" is a baseline (the fastest
// of a round's baselines is the one compared with), any other a measured
// side. It returns the round's fastest raw rate so far (0 if none).
func (bk *ratioBook) add(pair, side string, res benchResult, target float64) float64 {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	rs, seen := bk.rounds[pair]
	if !seen {
		bk.order = append(bk.order, pair)
	}
	if target > 0 {
		bk.targets[pair] = target
	}
	if len(rs) == 0 || (side == "raw" && len(rs[len(rs)-1].sides) > 0) {
		rs = append(rs, round{})
	}
	last := &rs[len(rs)-1]
	if side == "raw" {
		last.raws = append(last.raws, res)
	} else {
		res.name = side
		last.sides = append(last.sides, res)
	}
	bk.rounds[pair] = rs
	best, _ := last.fastest(func(x benchResult) float64 { return x.rate })
	return best.rate
}

// cpuTime returns the process's CPU time so far, every thread (pgx's
// included), user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op in b.Loop, each op handling perOp events, and reports
// events/s, events/cpu-s and the CPUs busy on average; for a measured
// side also its share of the raw rate in this round (%-of-raw). The
// result joins the pair in ratios; target (a fraction, 0 for none) is the
// pair's goal, printed in the summary.
func measure(b *testing.B, pair, side string, perOp int, target float64, op func()) benchResult {
	b.Helper()
	runtime.GC() // the garbage of the setup is not the loop's
	cpu0 := cpuTime(b)
	for b.Loop() {
		op()
	}
	cpu := cpuTime(b) - cpu0
	n := float64(b.N * perOp)
	res := benchResult{name: b.Name(), rate: n / b.Elapsed().Seconds(), cpuRate: n / cpu.Seconds()}
	b.ReportMetric(res.rate, "events/s")
	b.ReportMetric(res.cpuRate, "events/cpu-s")
	b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cpus")
	if raw := ratios.add(pair, side, res, target); side != "raw" && raw > 0 {
		b.ReportMetric(100*res.rate/raw, "%-of-raw")
	}
	return res
}

// printRatios writes a line per measured side of each pair: its rate as a
// share of the fastest raw baseline of the same round, by wall time and by
// CPU time, the median over rounds when there are several, and the
// pair's target.
func printRatios(w io.Writer) {
	bk := ratios
	bk.mu.Lock()
	defer bk.mu.Unlock()
	if len(bk.order) == 0 {
		return
	}
	fmt.Fprintln(w, "ratios against the fastest plain pgx loop for the same rows, on the same server, in this run:")
	for _, pair := range bk.order {
		rs := bk.rounds[pair]
		sides := map[string]bool{}
		var names []string
		for _, r := range rs {
			for _, s := range r.sides {
				if !sides[s.name] {
					sides[s.name] = true
					names = append(names, s.name)
				}
			}
		}
		for _, side := range names {
			var wall, cpu []float64
			var last string
			for _, r := range rs {
				raw, okWall := r.fastest(func(x benchResult) float64 { return x.rate })
				rawCPU, okCPU := r.fastest(func(x benchResult) float64 { return x.cpuRate })
				for _, s := range r.sides {
					if s.name != side || !okWall || !okCPU {
						continue
					}
					wall = append(wall, s.rate/raw.rate)
					cpu = append(cpu, s.cpuRate/rawCPU.cpuRate)
					last = fmt.Sprintf("%s %s events/s vs %s %s; per CPU-second %s vs %s %s",
						side, thousands(s.rate), shortName(raw.name), thousands(raw.rate),
						thousands(s.cpuRate), shortName(rawCPU.name), thousands(rawCPU.cpuRate))
				}
			}
			if len(wall) == 0 {
				continue
			}
			line := fmt.Sprintf("  %-46s %s: wall %5.1f %%, CPU %5.1f %%", pair, side, 100*median(wall), 100*median(cpu))
			if len(wall) > 1 {
				line += fmt.Sprintf(" (median of %d rounds: wall %s)", len(wall), percents(wall))
			}
			if t := bk.targets[pair]; t > 0 {
				line += fmt.Sprintf("; target ≥ %.0f %%", 100*t)
			}
			fmt.Fprintln(w, line)
			fmt.Fprintln(w, "      last round: "+last)
		}
	}
}

func shortName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndex(name, "-"); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		name = name[:i] // the GOMAXPROCS suffix
	}
	return name
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percents(xs []float64) string {
	var ps []string
	for _, x := range xs {
		ps = append(ps, fmt.Sprintf("%.1f %%", 100*x))
	}
	return strings.Join(ps, ", ")
}

func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
