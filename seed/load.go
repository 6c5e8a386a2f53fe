package seed

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// HanoiID is the UNTC number of the UN Convention against Cybercrime
// ("Hanoi Convention"), whose signatures ship in HanoiCSV.
const HanoiID = "XVIII-16"

// Definitions parses every shipped treaty definition against dir (which
// resolves the participants their groups and shares name) and returns them
// in the order they can be registered: treaties before the protocols and
// amendments whose parent they are, otherwise by file name. A definition
// that does not parse is an error naming its file.
func Definitions(dir *events.Directory) ([]events.Definition, error) {
	names, err := Treaties()
	if err != nil {
		return nil, err
	}
	defs := make([]events.Definition, 0, len(names))
	for _, name := range names {
		def, err := treatyfile.ParseFS(files, name, dir)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", name, err)
		}
		defs = append(defs, def)
	}
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Parent == "" && defs[j].Parent != "" })
	return defs, nil
}

// Definition returns the shipped definition of the treaty id, parsed
// against dir; an id the seed does not ship is an error wrapping
// events.ErrNotFound.
func Definition(dir *events.Directory, id string) (events.Definition, error) {
	defs, err := Definitions(dir)
	if err != nil {
		return events.Definition{}, err
	}
	for _, d := range defs {
		if d.ID == id {
			return d, nil
		}
	}
	return events.Definition{}, fmt.Errorf("treaty %s is not shipped in the seed: %w", id, events.ErrNotFound)
}

// Load loads the shipped seed into the ledger and returns how many events
// it recorded. It registers each shipped definition the ledger does not
// hold — it never amends one the ledger holds, which may be the user's own
// — and imports the Hanoi Convention's signatures (HanoiCSV) only when it
// registered that treaty now, so loading again records nothing. Everything
// goes through the ledger's own validation, as user input does; the
// events are recorded with the actor "seed".
//
// Load is not atomic across treaties: if a step fails it returns the
// events recorded so far with the error, and a second Load completes the
// rest (the Hanoi signatures only if the Hanoi Convention was not yet
// registered).
func Load(ctx context.Context, l *events.Ledger) (int, error) {
	dir, err := l.Directory(ctx)
	if err != nil {
		return 0, err
	}
	defs, err := Definitions(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	hanoiNew := false
	for _, def := range defs {
		h, err := l.History(ctx, def.ID, time.Time{})
		if err != nil {
			return n, err
		}
		if h.Registered {
			continue
		}
		e, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "seed", Source: "seed/" + TreatiesDir})
		if err != nil {
			return n, fmt.Errorf("seed %s: %w", def.ID, err)
		}
		if e != nil {
			n++
			hanoiNew = hanoiNew || def.ID == HanoiID
		}
	}
	if !hanoiNew {
		return n, nil
	}
	f, err := files.Open(HanoiCSV)
	if err != nil {
		return n, err
	}
	defer f.Close()
	rows, err := events.ParseImportCSV(f)
	if err != nil {
		return n, fmt.Errorf("seed %s: %w", HanoiCSV, err)
	}
	res, err := l.Import(ctx, HanoiID, rows, events.ImportOptions{Meta: events.Metadata{Actor: "seed"}})
	if err != nil {
		if _, ok := errors.AsType[*events.ImportError](err); ok {
			return n, fmt.Errorf("seed %s: %w", HanoiCSV, err)
		}
		return n, err
	}
	return n + len(res.Acts), nil
}
