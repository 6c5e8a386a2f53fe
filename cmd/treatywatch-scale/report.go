package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// print writes the report: one markdown table per kind of figure, each
// cell the median with the minimum and maximum, and, beside every ledger
// but the Hanoi-only one, the ratio of its median to the Hanoi-only
// ledger's.
func (r *results) print(w io.Writer, c config) {
	fmt.Fprintf(w, "\nwhole-process figures of %s on %s; %d counted runs after %d warm-up; median (min–max), ×ratio to the Hanoi-only ledger\n\n",
		r.Binary, r.Machine, c.runs, c.warmup)
	fmt.Fprintln(w, "| ledger | events | file | load average at start → end |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, l := range r.Ledgers {
		name := l.Name
		if name == "hanoi" {
			name = "hanoi-only"
		}
		fmt.Fprintf(w, "| %s | %s | %.1f MB | %s → %s |\n", name, thousands(l.Events), float64(l.Bytes)/1e6, l.LoadStart, l.LoadEnd)
	}
	var one, whole []command
	for _, cmd := range commands() {
		if !c.wants(cmd.name) {
			continue
		}
		if cmd.perLog {
			whole = append(whole, cmd)
		} else {
			one = append(one, cmd)
		}
	}
	if len(one) > 0 {
		fmt.Fprintln(w, "\none treaty's commands (target at 1 M events: within 2× of the Hanoi-only ledger)")
		fmt.Fprintln(w)
		r.commandTable(w, one)
	}
	if len(whole) > 0 {
		fmt.Fprintln(w, "\nwhole-log commands (their cost grows with the log by their nature)")
		fmt.Fprintln(w)
		r.commandTable(w, whole)
	}
	if c.wants("serve") {
		fmt.Fprintln(w, "\nserve --no-seed: start to the first 200 from /readyz (target at 1 M events: restart under 1 s or within 2× of 10 k; resident memory under 100 MB)")
		fmt.Fprintln(w)
		r.serveTable(w, c)
	}
}

func (r *results) header(w io.Writer, first string) {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |", first)
	sep := "|---|"
	for _, l := range r.Ledgers {
		name := l.Name
		if name == "hanoi" {
			name = "hanoi-only"
		}
		fmt.Fprintf(&b, " %s |", name)
		sep += "---:|"
	}
	fmt.Fprintln(w, b.String())
	fmt.Fprintln(w, sep)
}

func (r *results) commandTable(w io.Writer, cmds []command) {
	r.header(w, "command")
	for _, cmd := range cmds {
		r.row(w, commandLine(cmd)+" — wall", func(l *ledgerResult) []float64 {
			return durations(l.Commands[cmd.name], func(s sample) time.Duration { return s.Wall })
		}, fmtSeconds)
		r.row(w, commandLine(cmd)+" — CPU (user+sys)", func(l *ledgerResult) []float64 {
			return durations(l.Commands[cmd.name], func(s sample) time.Duration { return s.User + s.Sys })
		}, fmtSeconds)
		r.row(w, commandLine(cmd)+" — max RSS", func(l *ledgerResult) []float64 {
			var xs []float64
			for _, s := range l.Commands[cmd.name] {
				xs = append(xs, float64(s.MaxRSS))
			}
			return xs
		}, fmtBytes)
	}
}

func (r *results) serveTable(w io.Writer, c config) {
	r.header(w, "figure")
	pick := func(first bool, f func(serveSample) float64) func(*ledgerResult) []float64 {
		return func(l *ledgerResult) []float64 {
			ss := l.Restart
			if first {
				ss = l.First
			}
			var xs []float64
			for _, s := range ss {
				if v := f(s); v >= 0 {
					xs = append(xs, v)
				}
			}
			return xs
		}
	}
	secs := func(d time.Duration) float64 { return d.Seconds() }
	r.row(w, "first start (never served) → ready", pick(true, func(s serveSample) float64 { return secs(s.Ready) }), fmtSeconds)
	r.row(w, "restart (served before) → ready", pick(false, func(s serveSample) float64 { return secs(s.Ready) }), fmtSeconds)
	r.row(w, "RSS once ready, first start", pick(true, func(s serveSample) float64 { return float64(s.RSS) }), fmtBytes)
	r.row(w, "RSS once ready, restart", pick(false, func(s serveSample) float64 { return float64(s.RSS) }), fmtBytes)
	r.row(w, "peak RSS to ready, restart", pick(false, func(s serveSample) float64 { return float64(s.HWM) }), fmtBytes)
	r.row(w, "Go heap in use once ready, restart", pick(false, func(s serveSample) float64 { return float64(s.HeapInuse) }), fmtBytes)
	r.row(w, "CPU (user+sys) of a restart, start to exit", pick(false, func(s serveSample) float64 { return secs(s.Process.User + s.Process.Sys) }), fmtSeconds)
	if c.settle > 0 {
		settled := func(first bool) func(*ledgerResult) []float64 {
			return pick(first, func(s serveSample) float64 {
				if s.Settled == 0 {
					return -1
				}
				return secs(s.Settled)
			})
		}
		r.row(w, fmt.Sprintf("first start → notifier at the head of the log (within %s)", c.settle), settled(true), fmtSeconds)
		r.row(w, fmt.Sprintf("restart → notifier at the head of the log (within %s)", c.settle), settled(false), fmtSeconds)
		r.row(w, "RSS when the notifier reached the head (or the wait ended), first start", pick(true, func(s serveSample) float64 { return float64(s.SettledRSS) }), fmtBytes)
		r.row(w, "peak RSS to then, first start", pick(true, func(s serveSample) float64 { return float64(s.SettledHWM) }), fmtBytes)
		r.row(w, "RSS when the notifier reached the head (or the wait ended), restart", pick(false, func(s serveSample) float64 { return float64(s.SettledRSS) }), fmtBytes)
	}
	var notes []string
	for _, l := range r.Ledgers {
		for i, ss := range [][]serveSample{l.First, l.Restart} {
			kind := []string{"first start", "restart"}[i]
			failed, unsettled := 0, 0
			var last, reached string
			for _, s := range ss {
				if s.StopError != "" {
					failed++
					last = s.StopError
				}
				if c.settle > 0 && s.Settled == 0 {
					unsettled++
					reached = fmt.Sprintf("offset %s of %s", thousands(s.SettledOffset), thousands(s.SettledHead))
				}
			}
			if failed > 0 {
				notes = append(notes, fmt.Sprintf("%s, %s: %d of %d stops by SIGTERM exited with %s", l.Name, kind, failed, len(ss), last))
			}
			if unsettled > 0 {
				notes = append(notes, fmt.Sprintf("%s, %s: in %d of %d runs the notifier had not reached the head within %s (last: %s)", l.Name, kind, unsettled, len(ss), c.settle, reached))
			}
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

// row writes one figure across the ledgers, with the ratio of each median
// to the first ledger's (the Hanoi-only one).
func (r *results) row(w io.Writer, label string, get func(*ledgerResult) []float64, format func(float64) string) {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |", label)
	var base float64
	for i, l := range r.Ledgers {
		xs := get(l)
		if len(xs) == 0 {
			b.WriteString(" – |")
			continue
		}
		s := summarize(xs)
		fmt.Fprintf(&b, " %s (%s–%s)", format(s.med), format(s.lo), format(s.hi))
		if i == 0 {
			base = s.med
		} else if base > 0 {
			fmt.Fprintf(&b, " ×%s", fmtRatio(s.med/base))
		}
		b.WriteString(" |")
	}
	fmt.Fprintln(w, b.String())
}

func durations(ss []sample, f func(sample) time.Duration) []float64 {
	var xs []float64
	for _, s := range ss {
		xs = append(xs, f(s).Seconds())
	}
	return xs
}

func fmtSeconds(s float64) string {
	switch {
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 0.01:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.1f ms", s*1000)
}

func fmtBytes(b float64) string {
	m := b / (1 << 20)
	if m >= 10 {
		return fmt.Sprintf("%.0f MiB", m)
	}
	return fmt.Sprintf("%.1f MiB", m)
}

func fmtRatio(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
