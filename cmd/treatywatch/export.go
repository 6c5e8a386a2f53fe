package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
)

// runExport is `export log` (the event log as an archive or CSV) and
// `export status` (a treaty's participant table as CSV or JSON).
func runExport(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return usagef("export: want a subcommand: log or status")
	}
	switch args[0] {
	case "log":
		return runExportLog(ctx, m, args[1:])
	case "status":
		return runExportStatus(ctx, m, args[1:])
	}
	return subcommandHelp(ctx, m, "export", runExport, args[0])
}

func runExportLog(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("export log", flag.ContinueOnError)
	format := fs.String("format", "", "jsonl: the archive, every stored field and the hash, which import-log reads; csv: one row per event for spreadsheets, pandas and R (redacted)")
	treaty := fs.String("treaty", "", "only this treaty's stream (an archive of one treaty cannot be imported)")
	until := fs.String("until", "", "the events up to this position, or recorded by this date (YYYY-MM-DD, the end of the day UTC) or RFC 3339 time")
	out := fs.String("out", "", "write to this file (created 0600, complete or not at all) instead of standard output")
	legacy := fs.Bool("include-legacy-secrets", false, "jsonl: export subscriptions recorded before 0.2 with the webhook URL and HMAC secret their events hold (refused without it)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("export log: unexpected argument %q", pos[0])
	}
	var f export.LogFormat
	switch *format {
	case "jsonl":
		f = export.LogArchive
	case "csv":
		f = export.LogCSV
	case "":
		return usagef("export log: missing --format (jsonl or csv)")
	default:
		return usagef("export log: --format %q: want jsonl or csv", *format)
	}
	if *legacy && f != export.LogArchive {
		return usagef("export log: --include-legacy-secrets goes with --format jsonl only (csv is redacted)")
	}
	u, err := export.ParseUntil(*until)
	if err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	filter := export.LogFilter{Until: u}
	if *treaty != "" {
		id, err := l.ResolveTreaty(ctx, *treaty)
		if err != nil {
			return err
		}
		filter.Stream = events.TreatyStream(id)
	}
	if f == export.LogArchive && !*legacy {
		p, err := export.FirstLegacySecret(ctx, m.store, filter)
		if err != nil {
			return err
		}
		if p != 0 {
			return &export.LegacySecretError{Position: p}
		}
	}
	return m.writeOutput(*out, func(w io.Writer) error {
		lw := export.NewLog(w, f)
		if *legacy {
			lw.IncludeLegacySecrets()
		}
		if _, err := export.Copy(ctx, m.store, filter, lw, nil); err != nil {
			return err
		}
		return lw.Flush()
	})
}

func runExportStatus(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("export status", flag.ContinueOnError)
	format := fs.String("format", "", "csv: the participant table, one row per participant; json: the status with its participant table (what status --json prints)")
	asOf, knownAt := timeFlags(fs)
	out := fs.String("out", "", "write to this file (complete or not at all) instead of standard output")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("export status: want exactly one treaty ID (or name)")
	}
	if *format != "csv" && *format != "json" {
		if *format == "" {
			return usagef("export status: missing --format (csv or json)")
		}
		return usagef("export status: --format %q: want csv or json", *format)
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
		return err // a moment before the treaty's registration is not-found here: there is no table to export
	}
	return m.writeOutput(*out, func(w io.Writer) error {
		if *format == "csv" {
			return export.ParticipantsCSV(w, st)
		}
		return export.StatusJSON(w, st)
	})
}

// writeOutput runs write on standard output, or, given a path, on a
// temporary file beside it (mode 0600) renamed to the path once write
// succeeded: the file is complete or absent, never half written.
func (m *Main) writeOutput(path string, write func(io.Writer) error) error {
	buffered := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10) // one write per event would be one system call per event
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	if path == "" {
		return buffered(m.stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	werr := buffered(tmp)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}
