package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/treatywatch/treatywatch/cmd/internal/untc"
	"github.com/treatywatch/treatywatch/events"
)

// runImportUntc is `import-untc --treaty ID FILE.xml | --url URL`.
func runImportUntc(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("import-untc", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	rawURL := fs.String("url", "", "fetch the status file over HTTP(S) instead of reading FILE.xml")
	dry := fs.Bool("dry-run", false, "show the differences with the ledger only; write nothing")
	source := fs.String("source", "", "the recorded acts' source (default: the URL, or the file's name)")
	actor := fs.String("actor", "", "who records")
	timeout := fs.Duration("timeout", time.Minute, "with --url: how long the request may take")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := need(fs, "treaty"); err != nil {
		return err
	}
	var data []byte
	name := ""
	switch {
	case *rawURL != "" && len(pos) > 0:
		return usagef("import-untc: give FILE.xml or --url, not both")
	case *rawURL != "":
		if *timeout <= 0 {
			return usagef("import-untc: --timeout must be positive")
		}
		u, err := untc.CheckURL(*rawURL)
		if err != nil {
			return err
		}
		name = u.Redacted()
		got, err := untc.NewFetcher(untc.FetcherConfig{Timeout: *timeout}).Fetch(ctx, *rawURL, untc.Validators{})
		if err != nil {
			return fmt.Errorf("import-untc: %w", err)
		}
		data = got.Body
	case len(pos) != 1:
		return usagef("import-untc: want exactly one FILE.xml (or - for standard input), or --url URL")
	case pos[0] == "-":
		name = "standard input"
		if data, err = io.ReadAll(io.LimitReader(m.stdin, untc.MaxFileBytes+1)); err != nil {
			return fmt.Errorf("import-untc: %w", err)
		}
	default:
		name = pos[0]
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import-untc: %w", err)
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, untc.MaxFileBytes+1)); err != nil {
			return fmt.Errorf("import-untc: %w", err)
		}
	}
	file, err := untc.Parse(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	src := *source
	switch {
	case src != "":
	case *rawURL != "":
		u, _ := untc.CheckURL(*rawURL)
		src = untc.SourceOf(u)
	case pos[0] == "-":
		return usagef("import-untc: reading standard input, give --source (the file's URL or name)")
	default:
		src = filepath.Base(pos[0])
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	res, err := untc.Import(ctx, l, id, file, untc.Options{Source: src, DryRun: *dry, Meta: events.Metadata{Actor: m.actor(*actor)}})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(res)
	}
	printUntcResult(m.stdout, res)
	return nil
}

// printUntcResult prints what an import from the UNTC recorded, or would
// record, and what it did not.
func printUntcResult(w io.Writer, res *untc.Result) {
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	for _, c := range res.Missing {
		where := ""
		if c.Position > 0 {
			where = fmt.Sprintf(" → position %d", c.Position)
		}
		fmt.Fprintf(w, "line %d: %s by %s on %s%s\n", c.Line, c.Action, c.Participant, c.Date, where)
	}
	for _, c := range res.Conflicts {
		fmt.Fprintf(w, "conflict, line %d: %s: %s\n", c.Line, c.Participant, c.Reason)
	}
	for _, c := range res.Undone {
		fmt.Fprintf(w, "undone, line %d: %s by %s on %s is bracketed in the file (later undone): not recorded\n", c.Line, c.Action, c.Participant, c.Date)
	}
	verb := fmt.Sprintf("recorded %d acts", res.Recorded)
	if res.DryRun {
		verb = fmt.Sprintf("would record %d acts", len(res.Missing))
	}
	fmt.Fprintf(w, "%s into %s from %s; %d already recorded, %d conflicts (not recorded), %d undone\n",
		verb, res.Treaty, res.Source, res.Unchanged, len(res.Conflicts), len(res.Undone))
}

// runWatchUntc is `watch-untc --treaty ID --url URL --every SPEC`: it
// polls until the process is stopped, printing one line per poll.
func runWatchUntc(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("watch-untc", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	rawURL := fs.String("url", "", "the status file's http(s) URL")
	every := fs.String("every", "", "when to poll: a cron spec in UTC ('0 6 * * *', @hourly, '@every 6h'); also once at start")
	source := fs.String("source", "", "the recorded acts' source (default: the URL)")
	actor := fs.String("actor", "", "who records (default untc-watch)")
	timeout := fs.Duration("timeout", time.Minute, "how long one request may take")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("watch-untc: unexpected argument %q", pos[0])
	}
	if err := need(fs, "treaty", "url", "every"); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("watch-untc: --timeout must be positive")
	}
	sched, err := untc.ParseEvery(*every)
	if err != nil {
		return err
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	w, err := untc.NewWatcher(untc.WatcherConfig{Ledger: l, Treaty: id, URL: *rawURL, Schedule: sched, Source: *source,
		Fetcher: untc.NewFetcher(untc.FetcherConfig{Timeout: *timeout}), Meta: events.Metadata{Actor: *actor},
		AfterPoll: func(p untc.Poll) { printPoll(m.stdout, p) }}, m.logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.stderr, "treatywatch: watching %s for %s (%s); Ctrl-C to stop\n", redactedURL(*rawURL), id, *every)
	return w.Run(ctx)
}

// printPoll prints one line about a poll of watch-untc.
func printPoll(w io.Writer, p untc.Poll) {
	at := time.Now().UTC().Format(time.RFC3339)
	switch p.Outcome {
	case untc.OutcomeRecorded:
		var acts []string
		for _, c := range p.Result.Missing {
			acts = append(acts, fmt.Sprintf("%s by %s on %s (position %d)", c.Action, c.Participant, c.Date, c.Position))
		}
		fmt.Fprintf(w, "%s poll %d: recorded %d acts: %s\n", at, p.N, p.Result.Recorded, strings.Join(acts, "; "))
	case untc.OutcomeUnchanged:
		fmt.Fprintf(w, "%s poll %d: nothing new (%d acts already recorded, %d conflicts)\n", at, p.N, p.Result.Unchanged, len(p.Result.Conflicts))
	case untc.OutcomeNotModified:
		fmt.Fprintf(w, "%s poll %d: not modified since the last poll\n", at, p.N)
	default:
		fmt.Fprintf(w, "%s poll %d: failed, nothing recorded: %v\n", at, p.N, p.Err)
	}
}

func redactedURL(s string) string {
	if u, err := untc.CheckURL(s); err == nil {
		return u.Redacted()
	}
	return "the URL"
}

// untcWatch is one --watch-untc ID=URL@SPEC of serve.
type untcWatch struct {
	treaty, url, spec string
	sched             cron.Schedule
}

// untcWatches is serve's repeatable --watch-untc flag.
type untcWatches []untcWatch

func (w *untcWatches) String() string { return "" }

// Set parses ID=URL@SPEC: the spec follows the last "@" ("…xml@0 6 * * *"),
// or the last "@@" for a descriptor ("…xml@@daily").
func (w *untcWatches) Set(s string) error {
	id, rest, ok := strings.Cut(s, "=")
	i := strings.LastIndex(rest, "@")
	if i > 0 && rest[i-1] == '@' {
		i--
	}
	if !ok || id == "" || i <= 0 {
		return errors.New("want ID=URL@CRON-SPEC, e.g. 'XVIII-16=https://treaties.un.org/doc/Publication/MTDSG/Volume%20II/Chapter%20XVIII/XVIII-16.en.xml@0 6 * * *'")
	}
	u, spec := rest[:i], rest[i+1:]
	if _, err := untc.CheckURL(u); err != nil {
		return err
	}
	sched, err := untc.ParseEvery(spec)
	if err != nil {
		return err
	}
	*w = append(*w, untcWatch{treaty: strings.TrimSpace(id), url: u, spec: spec, sched: sched})
	return nil
}

// untcStages returns a stage for each --watch-untc of serve, each
// watcher recording through l (the ledger whose appends wake the
// notifier).
func (m *Main) untcStages(ctx context.Context, l *events.Ledger, watches untcWatches) ([]stage, error) {
	var stages []stage
	for _, wt := range watches {
		id, err := l.ResolveTreaty(ctx, wt.treaty)
		if err != nil {
			return nil, fmt.Errorf("--watch-untc: %w", err)
		}
		w, err := untc.NewWatcher(untc.WatcherConfig{Ledger: l, Treaty: id, URL: wt.url, Schedule: wt.sched}, m.logger)
		if err != nil {
			return nil, fmt.Errorf("--watch-untc: %w", err)
		}
		stages = append(stages, stage{"untc-watch " + id, w.Run})
	}
	return stages, nil
}
