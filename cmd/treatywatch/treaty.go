package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

func runTreaty(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return usagef("treaty: want a subcommand: add FILE.yaml | list [--json] | show ID")
	}
	switch args[0] {
	case "add":
		return runTreatyAdd(ctx, m, args[1:])
	case "list":
		return runTreatyList(ctx, m, args[1:])
	case "show":
		return runTreatyShow(ctx, m, args[1:])
	}
	return subcommandHelp(ctx, m, "treaty", runTreaty, args[0])
}

func runTreatyAdd(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("treaty add", flag.ContinueOnError)
	actor := fs.String("actor", "", "who records")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("treaty add: want exactly one FILE.yaml")
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return err
	}
	def, err := treatyfile.ParseFile(pos[0], dir)
	if err != nil {
		return err
	}
	e, err := l.AddTreaty(ctx, def, events.Metadata{Actor: m.actor(*actor), Source: pos[0]})
	if err != nil {
		return err
	}
	if e == nil {
		fmt.Fprintf(m.stdout, "treaty %s unchanged; nothing recorded\n", def.ID)
		return nil
	}
	fmt.Fprintf(m.stdout, "%s at position %d\n", describe(*e), e.Position)
	return nil
}

func runTreatyList(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("treaty list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	defs, err := l.Treaties(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if defs == nil {
			defs = []events.Definition{}
		}
		return json.NewEncoder(m.stdout).Encode(defs)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tINSTRUMENTS\tDELAY\tPARENT")
	for _, d := range defs {
		n := fmt.Sprint(d.EntryIntoForce.Instruments)
		if f := d.EntryIntoForce.Fraction; f != nil {
			n = f.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name(), n, d.EntryIntoForce.Delay, orDash(d.Parent))
	}
	return tw.Flush()
}

func runTreatyShow(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("treaty show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("treaty show: want exactly one treaty ID")
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	h, err := l.History(ctx, id, time.Time{})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(h.Definition)
	}
	b, err := treatyfile.Marshal(h.Definition)
	if err != nil {
		return err
	}
	_, err = m.stdout.Write(b)
	return err
}
