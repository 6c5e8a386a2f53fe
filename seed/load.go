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

// Actor is the actor of every event Load records; a treaty whose
// treaty.registered event has it was registered by the seed.
const Actor = "seed"

// Load loads the shipped seed into the ledger and returns how many events
// it recorded. It registers each shipped definition the ledger does not
// hold — it never amends one the ledger holds, which may be the user's own
// — and then imports, into every shipped treaty the seed registered (now
// or in an earlier run, by an earlier version: its treaty.registered event
// has the actor "seed"), the rows of its history files (Histories) that
// the ledger has never recorded. A row counts as recorded when the
// treaty's stream has ever held an act of the same participant, action,
// date and subject — even one since corrected or retracted — so loading
// again records nothing, a ledger seeded by an earlier version that had
// the definitions but no history gets the history, and an act a user
// corrected or retracted is not brought back. A row dated after the
// ledger's today is left for a later Load. A treaty the user registered
// gets no seeded act. Everything goes through the ledger's own
// validation, as user input does (Ledger.Import: all of a file's missing
// rows or none); the events are recorded with the actor "seed" and each
// row's source as their metadata's Source.
//
// Load is not atomic across treaties: if a step fails it returns the
// events recorded so far with the error, and a second Load completes the
// rest.
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
	seeded := map[string]bool{}
	for _, def := range defs {
		h, err := l.History(ctx, def.ID, time.Time{})
		if err != nil {
			return n, err
		}
		if h.Registered {
			seeded[def.ID] = h.Registration.Actor == Actor
			continue
		}
		e, err := l.AddTreaty(ctx, def, events.Metadata{Actor: Actor, Source: "seed/" + TreatiesDir})
		if err != nil {
			return n, fmt.Errorf("seed %s: %w", def.ID, err)
		}
		if e != nil {
			n++
			seeded[def.ID] = true
		}
	}
	for _, hf := range Histories() {
		if !seeded[hf.Treaty] {
			continue
		}
		k, err := importMissing(ctx, l, hf)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// importMissing imports the rows of one history file that the treaty's
// stream has never recorded and that are not dated after today.
func importMissing(ctx context.Context, l *events.Ledger, hf HistoryFile) (int, error) {
	f, err := files.Open(hf.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rows, err := events.ParseImportCSV(f)
	if err != nil {
		return 0, fmt.Errorf("seed %s: %w", hf.Path, err)
	}
	h, err := l.History(ctx, hf.Treaty, time.Time{})
	if err != nil {
		return 0, err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return 0, err
	}
	recorded := map[actKey]bool{}
	h.EachRecorded(func(a events.Act) {
		recorded[actKey{a.Participant, a.Action, a.Date, a.Subject}] = true
	})
	today := l.Today()
	missing := rows[:0:0]
	for _, r := range rows {
		d, derr := events.ParseDate(r.Date)
		if derr == nil && d.After(today) {
			continue // not yet: a later Load imports it
		}
		// A row that does not resolve or parse stays, so that Import
		// refuses it with its line and reason.
		if p, perr := dir.Resolve(r.Participant); perr == nil && derr == nil {
			subject := r.Subject
			if s, serr := dir.Resolve(subject); serr == nil && subject != "" {
				subject = s.Name
			}
			if recorded[actKey{p.Name, events.Action(r.Action), d, subject}] {
				continue
			}
		}
		missing = append(missing, r)
	}
	if len(missing) == 0 {
		return 0, nil
	}
	res, err := l.Import(ctx, hf.Treaty, missing, events.ImportOptions{Meta: events.Metadata{Actor: Actor}})
	if err != nil {
		if _, ok := errors.AsType[*events.ImportError](err); ok {
			return 0, fmt.Errorf("seed %s: %w", hf.Path, err)
		}
		return 0, err
	}
	return len(res.Acts), nil
}

// actKey identifies an act for the seed: who did what on which date,
// about whom.
type actKey struct {
	participant string
	action      events.Action
	date        events.Date
	subject     string
}
