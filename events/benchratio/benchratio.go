package benchratio

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

// Result is one sub-benchmark's figures.
type Result struct {
	Name    string  // the sub-benchmark
	Rate    float64 // events per second of wall time
	CPURate float64 // events per second of process CPU time (user+sys)
}

// round is one run of a pair: its raw baselines, then the sides measured
// against them. With -count N a pair has N rounds.
type round struct {
	raws, sides []Result
}

// fastest returns the raw baseline with the highest rate by f.
func (r round) fastest(f func(Result) float64) (Result, bool) {
	var best Result
	for _, x := range r.raws {
		if f(x) > f(best) {
			best = x
		}
	}
	return best, f(best) > 0
}

// Book collects the pairs of a test binary's run, for the summary
// printed when it ends (Print, from TestMain). It is safe for concurrent
// use.
type Book struct {
	baseline string
	mu       sync.Mutex
	order    []string
	rounds   map[string][]round
	targets  map[string]float64
}

// New returns an empty book whose summary names its baseline, e.g. "the
// fastest plain go-sqlite3 loop for the same rows".
func New(baseline string) *Book {
	return &Book{baseline: baseline, rounds: map[string][]round{}, targets: map[string]float64{}}
}

// Add records a result of a pair: side "raw" is a baseline (the fastest
// of a round's baselines is the one compared with), any other a measured
// side. It returns the round's fastest raw rate so far (0 if none).
func (bk *Book) Add(pair, side string, res Result, target float64) float64 {
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
		res.Name = side
		last.sides = append(last.sides, res)
	}
	bk.rounds[pair] = rs
	best, _ := last.fastest(func(x Result) float64 { return x.Rate })
	return best.Rate
}

// CPUTime returns the process's CPU time so far, every thread (the
// driver's C or network threads included), user and system.
func CPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs op in b.Loop, each op handling perOp events, and reports
// events/s, events/cpu-s and the CPUs busy on average; for a measured
// side also its share of the raw rate in this round (%-of-raw). The
// result joins the pair in the book; target (a fraction, 0 for none) is the
// pair's goal, printed in the summary.
func (bk *Book) Measure(b *testing.B, pair, side string, perOp int, target float64, op func()) Result {
	b.Helper()
	runtime.GC() // the garbage of the setup is not the loop's
	cpu0 := CPUTime(b)
	for b.Loop() {
		op()
	}
	cpu := CPUTime(b) - cpu0
	n := float64(b.N * perOp)
	res := Result{Name: b.Name(), Rate: n / b.Elapsed().Seconds(), CPURate: n / cpu.Seconds()}
	b.ReportMetric(res.Rate, "events/s")
	b.ReportMetric(res.CPURate, "events/cpu-s")
	b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cpus")
	if raw := bk.Add(pair, side, res, target); side != "raw" && raw > 0 {
		b.ReportMetric(100*res.Rate/raw, "%-of-raw")
	}
	return res
}

// Print writes a line per measured side of each pair: its rate as a
// share of the fastest raw baseline of the same round, by wall time and by
// CPU time, the median over rounds when there are several, and the
// pair's target.
func (bk *Book) Print(w io.Writer) {
	bk.mu.Lock()
	defer bk.mu.Unlock()
	if len(bk.order) == 0 {
		return
	}
	fmt.Fprintf(w, "ratios against %s, in this run:\n", bk.baseline)
	for _, pair := range bk.order {
		rs := bk.rounds[pair]
		sides := map[string]bool{}
		var names []string
		for _, r := range rs {
			for _, s := range r.sides {
				if !sides[s.Name] {
					sides[s.Name] = true
					names = append(names, s.Name)
				}
			}
		}
		for _, side := range names {
			var wall, cpu []float64
			var last string
			for _, r := range rs {
				raw, okWall := r.fastest(func(x Result) float64 { return x.Rate })
				rawCPU, okCPU := r.fastest(func(x Result) float64 { return x.CPURate })
				for _, s := range r.sides {
					if s.Name != side || !okWall || !okCPU {
						continue
					}
					wall = append(wall, s.Rate/raw.Rate)
					cpu = append(cpu, s.CPURate/rawCPU.CPURate)
					last = fmt.Sprintf("%s %s events/s vs %s %s; per CPU-second %s vs %s %s",
						side, thousands(s.Rate), shortName(raw.Name), thousands(raw.Rate),
						thousands(s.CPURate), shortName(rawCPU.Name), thousands(rawCPU.CPURate))
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
