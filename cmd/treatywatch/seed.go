package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

// hanoiID is the Hanoi Convention's UNTC number; its signatures ship in
// seed/hanoi-convention.csv.
const hanoiID = "XVIII-16"

func runSeed(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "print nothing when there is nothing to do")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	n, err := loadSeed(ctx, l)
	if err != nil {
		return err
	}
	if n > 0 || !*quiet {
		if n == 0 {
			fmt.Fprintln(m.stdout, "seed: nothing to do (every shipped treaty is registered; the seed never changes a registered one)")
		} else {
			fmt.Fprintf(m.stdout, "seed: %d events recorded\n", n)
		}
	}
	return nil
}

// loadSeed registers the shipped treaty definitions that the ledger does
// not have — it never amends a definition the ledger holds, which may be
// the user's own — and imports the Hanoi Convention's signatures when that
// treaty was registered by the seed now. The seed goes through the same
// validation as user input. It returns how many events it recorded.
func loadSeed(ctx context.Context, l *events.Ledger) (int, error) {
	files := seed.Files()
	dir, err := l.Directory(ctx)
	if err != nil {
		return 0, err
	}
	names, err := fs.Glob(files, "treaties/*.yaml")
	if err != nil {
		return 0, err
	}
	sort.Strings(names)
	// Parents first, so that a protocol's rules find its parent.
	var defs []events.Definition
	for _, name := range names {
		def, err := treatyfile.ParseFS(files, name, dir)
		if err != nil {
			return 0, fmt.Errorf("seed %s: %w", name, err)
		}
		defs = append(defs, def)
	}
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Parent == "" && defs[j].Parent != "" })
	have, err := l.Treaties(ctx)
	if err != nil {
		return 0, err
	}
	registered := map[string]bool{}
	for _, d := range have {
		registered[d.ID] = true
	}
	n := 0
	hanoiNew := false
	for _, def := range defs {
		if registered[def.ID] {
			continue
		}
		hanoiNew = hanoiNew || def.ID == hanoiID
		e, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed", Source: "seed/treaties"})
		if err != nil {
			return n, fmt.Errorf("seed %s: %w", def.ID, err)
		}
		if e != nil {
			n++
		}
	}
	if !hanoiNew {
		return n, nil
	}
	f, err := files.Open(path.Join("hanoi-convention.csv"))
	if err != nil {
		return n, err
	}
	defer f.Close()
	rows, err := events.ParseImportCSV(f)
	if err != nil {
		return n, fmt.Errorf("seed hanoi-convention.csv: %w", err)
	}
	res, err := l.Import(ctx, hanoiID, rows, events.ImportOptions{Meta: events.Metadata{Actor: "seed"}})
	if err != nil {
		var ie *events.ImportError
		if errors.As(err, &ie) {
			return n, fmt.Errorf("seed hanoi-convention.csv: %w", err)
		}
		return n, err
	}
	return n + len(res.Acts), nil
}
