package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/events"
)

func runToken(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return usagef("token: want a subcommand: create --role officer|viewer|admin --name NAME | list [--json] | revoke ID")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("token create", flag.ContinueOnError)
		role := fs.String("role", "", "officer (write), viewer (read a private instance) or admin (manage tokens)")
		name := fs.String("name", "", "who uses it: recorded as the actor of what it writes")
		if _, err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		if err := need(fs, "role", "name"); err != nil {
			return err
		}
		l, err := m.open(ctx)
		if err != nil {
			return err
		}
		secret, t, err := l.CreateToken(ctx, *name, *role, events.Metadata{Actor: m.actor("")})
		if err != nil {
			return err
		}
		fmt.Fprintf(m.stdout, "token %s created for %s (role %s); it is shown once, keep it secret:\n%s\n", t.ID, t.Name, t.Role, secret)
		return nil
	case "list":
		fs := flag.NewFlagSet("token list", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print JSON")
		if _, err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		l, err := m.open(ctx)
		if err != nil {
			return err
		}
		toks, err := l.Tokens(ctx)
		if err != nil {
			return err
		}
		for i := range toks {
			toks[i].Hash = ""
		}
		if *asJSON {
			if toks == nil {
				toks = []events.Token{}
			}
			return json.NewEncoder(m.stdout).Encode(toks)
		}
		tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
		for _, t := range toks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", t.ID, t.Name, t.Role, t.CreatedAt.Format("2006-01-02 15:04"), t.Revoked)
		}
		return tw.Flush()
	case "revoke":
		fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
		pos, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("token revoke: want exactly one token ID")
		}
		l, err := m.open(ctx)
		if err != nil {
			return err
		}
		if err := l.RevokeToken(ctx, pos[0], events.Metadata{Actor: m.actor("")}); err != nil {
			return err
		}
		fmt.Fprintf(m.stdout, "token %s revoked\n", pos[0])
		return nil
	}
	return subcommandHelp(ctx, m, "token", runToken, args[0])
}
