package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// timeAxes parses --as-of (valid time, default today) and --known-at
// (transaction time, default now).
func (m *Main) timeAxes(l *events.Ledger, asOf, knownAt string) (events.Date, time.Time, error) {
	d := l.Today()
	if asOf != "" {
		var err error
		if d, err = events.ParseDate(asOf); err != nil {
			return d, time.Time{}, fmt.Errorf("--as-of: %w", err)
		}
	}
	var k time.Time
	if knownAt != "" {
		var err error
		if k, err = time.Parse(time.RFC3339, knownAt); err != nil {
			kd, derr := events.ParseDate(knownAt)
			if derr != nil {
				return d, k, usagef("--known-at %q: want an RFC 3339 timestamp (2026-03-01T12:00:00Z) or a date", knownAt)
			}
			k = kd.Time().Add(24*time.Hour - time.Nanosecond) // the end of that day
		}
	}
	return d, k, nil
}

// timeFlags declares --as-of and --known-at on a command.
func timeFlags(fs *flag.FlagSet) (asOf, knownAt *string) {
	return fs.String("as-of", "", "the world on this date, YYYY-MM-DD (default today)"),
		fs.String("known-at", "", "what the ledger knew at this moment, RFC 3339 (default now)")
}

// statusAt folds a treaty as known at knownAt and computes its status as of asOf.
func (m *Main) statusAt(ctx context.Context, l *events.Ledger, id string, asOf events.Date, knownAt time.Time) (projections.Status, error) {
	dir, err := l.Directory(ctx)
	if err != nil {
		return projections.Status{}, err
	}
	return projections.StatusFromLog(ctx, m.store, l.Registry(), dir, id, asOf, knownAt)
}

func runStatus(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asOf, knownAt := timeFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print the participant table as CSV")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("status: want exactly one treaty ID (or name)")
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	d, k, err := m.timeAxes(l, *asOf, *knownAt)
	if err != nil {
		return err
	}
	st, err := m.statusAt(ctx, l, id, d, k)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		if st.Participants == nil {
			st.Participants = []projections.Participation{} // [] as the API answers, never null
		}
		enc := json.NewEncoder(m.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case *asCSV:
		return writeParticipantsCSV(m.stdout, st)
	}
	return writeStatusText(m.stdout, st)
}

func runTimeline(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	asOf, knownAt := timeFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("timeline: want exactly one treaty ID (or name)")
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	d, k, err := m.timeAxes(l, *asOf, *knownAt)
	if err != nil {
		return err
	}
	h, err := l.History(ctx, id, k)
	if err != nil {
		return err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return err
	}
	points := projections.Timeline(h, dir, d)
	if *asJSON {
		if points == nil {
			points = []projections.Point{}
		}
		return json.NewEncoder(m.stdout).Encode(points)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "DATE\tCOUNTED (of %d)\n", h.Definition.EntryIntoForce.Instruments)
	for _, p := range points {
		fmt.Fprintf(tw, "%s\t%d\n", p.Date, p.Counted)
	}
	return tw.Flush()
}

func runReplay(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	until := fs.Int64("until", 0, "fold up to and including this position (default: the whole log)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *until < 0 {
		return usagef("replay: --until must be a position (≥ 0)")
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	start := time.Now()
	sums, n, err := projections.Rebuild(ctx, m.store, *until)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TREATY\tCOUNTED")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%d/%d\n", s.Treaty, s.Counted, s.Required)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "folded %d events of %d treaties from position 0 in %s\n", n, len(sums), time.Since(start).Round(time.Millisecond))
	return nil
}
