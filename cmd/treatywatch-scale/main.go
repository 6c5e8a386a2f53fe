package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is what to measure.
type config struct {
	bin      string
	cache    string
	scales   []ledgerSpec
	runs     int
	warmup   int
	commands []string
	jsonOut  string
	keep     bool
	settle   time.Duration
	prepare  bool
}

// command is one measured CLI command; args gets the run's number (the
// warm-up runs first), so that a writing command writes a new act each
// time.
type command struct {
	name   string
	perLog bool // costs what the whole log costs by its nature: no target
	args   func(run int, participants []string) []string
}

func commands() []command {
	return []command{
		{name: "status", args: func(int, []string) []string { return []string{"status", hanoi} }},
		{name: "status-json", args: func(int, []string) []string { return []string{"status", hanoi, "--json"} }},
		{name: "log", args: func(int, []string) []string { return []string{"log", "--treaty", hanoi} }},
		{name: "record", args: func(run int, ps []string) []string {
			return []string{"record", "declaration", "--treaty", hanoi, "--participant", ps[run%len(ps)], "--date", "2026-07-01",
				"--note", fmt.Sprintf("treatywatch-scale run %d", run), "--actor", "treatywatch-scale"}
		}},
		{name: "verify", perLog: true, args: func(int, []string) []string { return []string{"verify"} }},
		{name: "replay", perLog: true, args: func(int, []string) []string { return []string{"replay"} }},
	}
}

// commandLine is how the report names a command.
func commandLine(c command) string {
	switch c.name {
	case "record":
		return "record declaration --treaty " + hanoi + " …"
	case "status-json":
		return "status " + hanoi + " --json"
	}
	return strings.Join(c.args(0, []string{"P"}), " ")
}

// allCommands names what can be measured: the CLI commands and serve.
func allCommands() []string {
	return []string{"status", "status-json", "log", "record", "verify", "replay", "serve"}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("treatywatch-scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	cacheDefault := filepath.Join(os.TempDir(), "treatywatch-scale")
	fs.StringVar(&c.bin, "bin", "bin/treatywatch", "the treatywatch binary to measure")
	fs.StringVar(&c.cache, "cache", cacheDefault, "folder of the generated ledgers, kept between runs")
	scale := fs.String("scale", "10k,100k,1m", "comma-separated sizes of the synthetic part of the ledgers (10k, 100k, 1m, 250000)")
	treaties := fs.Int("treaties", 1000, "synthetic treaties the events are split into")
	fs.IntVar(&c.runs, "runs", 3, "counted runs of each command (the median is reported)")
	fs.IntVar(&c.warmup, "warmup", 1, "runs of each command before the counted ones")
	only := fs.String("commands", strings.Join(allCommands(), ","), "the commands to measure, comma-separated, of "+strings.Join(allCommands(), ","))
	fs.StringVar(&c.jsonOut, "json", "", "also write every sample to this file as JSON")
	fs.BoolVar(&c.keep, "keep", false, "keep the working copies of the ledgers")
	fs.BoolVar(&c.prepare, "prepare", false, "build and verify the ledgers missing from the cache, and measure nothing")
	fs.DurationVar(&c.settle, "settle", 30*time.Second, "after serve is ready, wait up to this long for its notifier to reach the head of the log (0: do not wait)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *treaties < 1 || c.runs < 1 || c.warmup < 0 {
		fmt.Fprintln(stderr, "treatywatch-scale: --treaties and --runs must be 1 or more, --warmup 0 or more")
		return 2
	}
	c.scales = []ledgerSpec{{name: "hanoi"}}
	for s := range strings.SplitSeq(*scale, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		spec, err := parseScale(s, *treaties)
		if err != nil {
			fmt.Fprintln(stderr, "treatywatch-scale:", err)
			return 2
		}
		c.scales = append(c.scales, spec)
	}
	for s := range strings.SplitSeq(*only, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allCommands(), s) {
			fmt.Fprintf(stderr, "treatywatch-scale: --commands: unknown command %q (known: %s)\n", s, strings.Join(allCommands(), ","))
			return 2
		}
		c.commands = append(c.commands, s)
	}
	bin, err := filepath.Abs(c.bin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		fmt.Fprintf(stderr, "treatywatch-scale: --bin %s: %v (build it with make build)\n", c.bin, err)
		return 2
	}
	c.bin = bin
	if c.prepare {
		for _, spec := range c.scales {
			if _, err := ensureLedger(ctx, c.cache, c.bin, spec, stderr); err != nil {
				fmt.Fprintln(stderr, "treatywatch-scale:", err)
				return 1
			}
		}
		return 0
	}
	res, err := measure(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "treatywatch-scale:", err)
		return 1
	}
	res.print(stdout, c)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o600); err != nil {
			fmt.Fprintln(stderr, "treatywatch-scale:", err)
			return 1
		}
	}
	return 0
}

// ledgerResult is what was measured on one ledger.
type ledgerResult struct {
	Name      string              `json:"name"`
	Events    int64               `json:"events"` // the whole log, the Hanoi Convention included
	Bytes     int64               `json:"bytes"`
	LoadStart string              `json:"load_start"`
	LoadEnd   string              `json:"load_end"`
	Commands  map[string][]sample `json:"commands"`
	First     []serveSample       `json:"serve_first_start,omitempty"`
	Restart   []serveSample       `json:"serve_restart,omitempty"`
}

type results struct {
	Machine string          `json:"machine"`
	Binary  string          `json:"binary"`
	Started time.Time       `json:"started"`
	Ledgers []*ledgerResult `json:"ledgers"`
}

func (c config) wants(name string) bool { return slices.Contains(c.commands, name) }

func measure(ctx context.Context, c config, progress io.Writer) (*results, error) {
	res := &results{Machine: cpuModel(), Binary: c.bin, Started: time.Now().UTC()}
	work, err := os.MkdirTemp(c.cache, "work-")
	if os.IsNotExist(err) {
		if err = os.MkdirAll(c.cache, 0o700); err == nil {
			work, err = os.MkdirTemp(c.cache, "work-")
		}
	}
	if err != nil {
		return nil, err
	}
	if !c.keep {
		defer os.RemoveAll(work)
	}
	dir, err := events.NewDirectory()
	if err != nil {
		return nil, err
	}
	var participants []string
	for _, p := range dir.All() {
		participants = append(participants, p.Name)
	}
	env := []string{"TREATYWATCH_NOW=" + todayRFC3339, "TREATYWATCH_ACTOR=treatywatch-scale"}
	for _, spec := range c.scales {
		cached, err := ensureLedger(ctx, c.cache, c.bin, spec, progress)
		if err != nil {
			return nil, err
		}
		lr := &ledgerResult{Name: spec.name, Commands: map[string][]sample{}, LoadStart: loadAvg()}
		if fi, err := os.Stat(cached); err == nil {
			lr.Bytes = fi.Size()
		}
		if lr.Events, err = headOf(ctx, cached); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "== %s: %d events, %.0f MB, load %s\n", spec.name, lr.Events, float64(lr.Bytes)/1e6, lr.LoadStart)
		if c.wants("serve") {
			db := filepath.Join(work, spec.name+"-serve.db")
			for i := range c.warmup + c.runs {
				if err := copyFile(cached, db); err != nil {
					return nil, err
				}
				first, err := serveOnce(ctx, c.bin, env, db, c.settle)
				if err != nil {
					return nil, err
				}
				again, err := serveOnce(ctx, c.bin, env, db, c.settle)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(progress, "   serve: first start ready in %s (RSS %.0f MiB)%s, restart ready in %s (RSS %.0f MiB)%s%s%s\n",
					first.Ready.Round(time.Millisecond), mb(first.RSS), settleNote(first), again.Ready.Round(time.Millisecond), mb(again.RSS), settleNote(again),
					warm(i, c.warmup), stopNote(first, again))
				if i >= c.warmup {
					lr.First = append(lr.First, first)
					lr.Restart = append(lr.Restart, again)
				}
			}
		}
		db := filepath.Join(work, spec.name+".db")
		if err := copyFile(cached, db); err != nil {
			return nil, err
		}
		for _, cmd := range commands() {
			if !c.wants(cmd.name) {
				continue
			}
			for i := range c.warmup + c.runs {
				s, err := runOnce(ctx, c.bin, env, append([]string{"--db", db}, cmd.args(i, participants)...)...)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(progress, "   %-12s %8s  %6.0f MiB%s\n", cmd.name, s.Wall.Round(time.Millisecond), mb(s.MaxRSS), warm(i, c.warmup))
				if i >= c.warmup {
					lr.Commands[cmd.name] = append(lr.Commands[cmd.name], s)
				}
			}
		}
		lr.LoadEnd = loadAvg()
		res.Ledgers = append(res.Ledgers, lr)
		_ = os.Remove(db)
		_ = os.Remove(filepath.Join(work, spec.name+"-serve.db"))
	}
	return res, nil
}

func settleNote(s serveSample) string {
	switch {
	case s.Settled > 0:
		return fmt.Sprintf(", notifier at the head in %s (RSS %.0f MiB, peak %.0f MiB)", s.Settled.Round(time.Millisecond), mb(s.SettledRSS), mb(s.SettledHWM))
	case s.SettledHead > 0:
		return fmt.Sprintf(", notifier at %d of %d when the wait ended (RSS %.0f MiB, peak %.0f MiB)", s.SettledOffset, s.SettledHead, mb(s.SettledRSS), mb(s.SettledHWM))
	}
	return ""
}

func stopNote(ss ...serveSample) string {
	var b strings.Builder
	for _, s := range ss {
		if s.StopError != "" {
			b.WriteString("; stopped with " + s.StopError)
		}
	}
	return b.String()
}

func warm(i, warmup int) string {
	if i < warmup {
		return "  (warm-up)"
	}
	return ""
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// headOf returns the last position of a ledger's log.
func headOf(ctx context.Context, path string) (int64, error) {
	st, err := openStore(ctx, path)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.Head(ctx)
}
