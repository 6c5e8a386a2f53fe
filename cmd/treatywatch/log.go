package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/events"
)

func runLog(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "only this treaty's stream")
	since := fs.Int64("since", 0, "only events after this position")
	asJSON := fs.Bool("json", false, "JSON Lines: one event per line")
	if _, err := parseArgs(fs, args); err != nil {
		return err
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
	enc := json.NewEncoder(m.stdout)
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "POS\tRECORDED\tSTREAM\tEVENT")
	}
	after := *since
	for {
		page, err := m.store.ReadAll(ctx, after, 1000)
		if err != nil {
			return err
		}
		for _, e := range page {
			after = e.Position
			if stream != "" && e.Stream != stream {
				continue
			}
			if *asJSON {
				if err := enc.Encode(e); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Position, e.RecordedAt.Format("2006-01-02 15:04:05"), e.Stream, describe(e))
		}
		if len(page) < 1000 {
			break
		}
	}
	if !*asJSON {
		return tw.Flush()
	}
	return nil
}

func runVerify(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	rep, err := m.store.VerifyReport(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "hash chain intact: %d events verified\n", rep.Events)
	return nil
}
