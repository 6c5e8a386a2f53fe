package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/treatywatch/treatywatch/events"
)

func runImport(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	add := fs.Bool("add-participants", false, "register names missing from the reference list instead of refusing them")
	dry := fs.Bool("dry-run", false, "validate and report what would be recorded, write nothing")
	actor := fs.String("actor", "", "who records")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import: want exactly one FILE.csv (or - for standard input)")
	}
	if err := need(fs, "treaty"); err != nil {
		return err
	}
	var rows []events.ImportRow
	if pos[0] == "-" {
		rows, err = events.ParseImportCSV(m.stdin)
	} else {
		f, ferr := os.Open(pos[0])
		if ferr != nil {
			return fmt.Errorf("import: %w", ferr)
		}
		defer f.Close()
		rows, err = events.ParseImportCSV(f)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	res, err := l.Import(ctx, id, rows, events.ImportOptions{AddParticipants: *add, DryRun: *dry, Meta: events.Metadata{Actor: m.actor(*actor)}})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(res)
	}
	verb := "imported"
	if res.DryRun {
		verb = "would import"
	}
	for _, p := range res.NewParticipants {
		fmt.Fprintf(m.stdout, "new participant: %s\n", p)
	}
	for _, a := range res.Acts {
		where := ""
		if a.Position > 0 {
			where = fmt.Sprintf(" → position %d", a.Position)
		}
		fmt.Fprintf(m.stdout, "line %d: %s by %s on %s%s\n", a.Line, a.Act.Action, a.Act.Participant, a.Act.Date, where)
	}
	fmt.Fprintf(m.stdout, "%s %d acts into %s\n", verb, len(res.Acts), id)
	return nil
}
