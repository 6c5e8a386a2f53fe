package main

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
)

func runLog(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "only this treaty's stream")
	since := fs.Int64("since", 0, "only events after this position")
	asJSON := fs.Bool("json", false, "JSON Lines: one event per line")
	asCSV := fs.Bool("csv", false, "CSV: one event per row (what the dashboard's event log download gives)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *asJSON && *asCSV {
		return usagef("log: --json and --csv cannot go together")
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	stream := ""
	if *treaty != "" {
		id, err := l.ResolveTreaty(ctx, *treaty)
		if err != nil {
			return err
		}
		stream = events.TreatyStream(id)
	}
	var out *export.Log
	switch {
	case *asJSON:
		out = export.NewLog(m.stdout, export.LogJSONLines)
	case *asCSV:
		out = export.NewLog(m.stdout, export.LogCSV)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	if out == nil {
		fmt.Fprintln(tw, "POS\tRECORDED\tSTREAM\tEVENT")
	}
	after := *since
	for {
		var (
			page []events.Envelope
			err  error
		)
		if stream != "" {
			page, err = m.store.ReadStream(ctx, stream) // one treaty: read its stream, not the log
		} else {
			page, err = m.store.ReadAll(ctx, after, 1000)
		}
		if err != nil {
			return err
		}
		for _, e := range page {
			if e.Position <= after {
				continue
			}
			after = e.Position
			if out != nil {
				if err := out.Write(e); err != nil {
					return err
				}
				continue
			}
			e = events.Redact(e)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Position, e.RecordedAt.Format("2006-01-02 15:04:05"), e.Stream, describe(e))
		}
		if stream != "" || len(page) < 1000 {
			break
		}
	}
	if out != nil {
		return out.Flush()
	}
	return tw.Flush()
}

func runVerify(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	headFile := fs.String("head", "", "a file that keeps the verified head (position and hash): checked when present, then updated, so a later truncation of the log is found")
	expect := fs.String("expect", "", "a head kept elsewhere, POSITION:HASH as printed by an earlier verify: the log must still hold it")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	var kept *events.KeptHead
	if *expect != "" {
		k, err := parseKeptHead(*expect)
		if err != nil {
			return usagef("--expect: %v", err)
		}
		kept = &k
	}
	if *headFile != "" && kept == nil {
		b, err := os.ReadFile(*headFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return fmt.Errorf("verify: read the kept head: %w", err)
		default:
			k, err := parseKeptHead(strings.TrimSpace(string(b)))
			if err != nil {
				return usagef("--head %s: %v", *headFile, err)
			}
			kept = &k
		}
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	rep, err := m.verifyReport(ctx, kept)
	if err != nil {
		return err
	}
	if len(rep.Breaks) > 0 {
		for _, b := range rep.Breaks {
			fmt.Fprintf(m.stderr, "position %d: %s\n", b.Position, b.Reason)
		}
		if rep.More {
			fmt.Fprintf(m.stderr, "(more breaks not listed)\n")
		}
		first := rep.Breaks[0]
		return fmt.Errorf("verify: %d events read, %d breaks: %w", rep.Events, len(rep.Breaks), &first)
	}
	head := fmt.Sprintf("%d:%x", rep.Head, rep.Hash)
	if *headFile != "" {
		if err := writeFileAtomic(*headFile, []byte(head+"\n")); err != nil {
			return fmt.Errorf("verify: keep the head: %w", err)
		}
	}
	fmt.Fprintf(m.stdout, "hash chain intact: %d events verified\nhead %s\n", rep.Events, head)
	return nil
}

// parseKeptHead parses POSITION:HASH (hexadecimal), the head verify prints.
func parseKeptHead(s string) (events.KeptHead, error) {
	pos, hexHash, ok := strings.Cut(s, ":")
	p, err := strconv.ParseInt(pos, 10, 64)
	if !ok || err != nil || p < 0 {
		return events.KeptHead{}, fmt.Errorf("%q: want POSITION:HASH, as verify prints it", s)
	}
	h, err := hex.DecodeString(hexHash)
	if err != nil || (p > 0 && len(h) != 32) {
		return events.KeptHead{}, fmt.Errorf("%q: the hash must be 64 hexadecimal digits", s)
	}
	return events.KeptHead{Position: p, Hash: h}, nil
}

// writeFileAtomic writes b to path through a temporary file in the same
// folder, readable by the owner only.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".verify-head-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
