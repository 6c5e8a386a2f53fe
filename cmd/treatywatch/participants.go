package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/events"
)

func runParticipants(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("participants", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return err
	}
	list := dir.All()
	if len(pos) > 0 {
		q := strings.Join(pos, " ")
		if p, ok := dir.Lookup(q); ok {
			list = []events.Participant{p}
		} else {
			list = nil
			for _, name := range dir.Closest(q, 5) {
				p, _ := dir.Lookup(name)
				list = append(list, p)
			}
		}
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tISO3\tM49\tREGION\tKIND\tALIASES")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, orDash(p.ISO3), orDash(p.M49), orDash(p.Region), p.Kind, strings.Join(p.Aliases, "; "))
	}
	return tw.Flush()
}
