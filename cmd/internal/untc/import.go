package untc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Change is one act of the file, as compared with the ledger.
type Change struct {
	// Line is the line of the file where the participant's row starts.
	Line int `json:"line"`
	// Participant is the canonical name; Name the file's spelling, when
	// it differs.
	Participant string        `json:"participant"`
	Name        string        `json:"name_in_file,omitempty"`
	Footnotes   []string      `json:"footnotes,omitempty"`
	Action      events.Action `json:"action"`
	Date        events.Date   `json:"date"`
	// Position is where the act was recorded (0 in a dry run or when it
	// was not).
	Position int64 `json:"position,omitempty"`
}

// Conflict is an act the file and the ledger disagree about: the ledger
// has the participant's act of that kind with another date or kind, or
// holds what the file shows as undone, or retracted it. It is reported,
// never written: a correction is an officer's decision.
type Conflict struct {
	Change
	// Ledger is the ledger's act (zero when the ledger retracted the act).
	Ledger         events.Action `json:"ledger_action,omitempty"`
	LedgerDate     events.Date   `json:"ledger_date,omitzero"`
	LedgerPosition int64         `json:"ledger_position,omitempty"`
	Reason         string        `json:"reason"`
}

// Diff is what a status file shows that the ledger does not, and where
// they disagree.
type Diff struct {
	Treaty string `json:"treaty"`
	// Missing are the acts the ledger lacks: what an import records.
	Missing   []Change   `json:"missing"`
	Conflicts []Conflict `json:"conflicts"`
	// Undone are the file's bracketed acts the ledger does not hold: not
	// recorded.
	Undone []Change `json:"undone"`
	// Unchanged counts the file's acts the ledger already holds.
	Unchanged int      `json:"unchanged"`
	Warnings  []string `json:"warnings,omitempty"`
}

// category groups the acts one participant has at most one of in a
// column: its signature, its consent to be bound, its provisional
// application.
func category(a events.Action) string {
	switch {
	case a == events.Signature:
		return "signature"
	case a.IsConsent():
		return "consent"
	case a == events.ProvisionalApplication:
		return "provisional application"
	}
	return string(a)
}

// Compare sorts every act of f against h, the treaty's history as the
// ledger knows it now, resolving the file's names through dir. For each
// act of the file and its participant's live acts of the same category
// (signature, consent to be bound, provisional application): the same
// kind and date is unchanged; another kind or date is a conflict; none is
// missing — unless the ledger ever recorded that very act and retracted
// it, a conflict too (an import never undoes an officer's retraction). A
// bracketed act is undone, or a conflict when the ledger holds it.
//
// Names that resolve to nobody are refused together, as an
// *events.ImportError (wrapping ErrInvalid) with the row's line.
func Compare(f *File, dir *events.Directory, h *events.History) (*Diff, error) {
	d := &Diff{Treaty: h.Definition.ID, Missing: []Change{}, Conflicts: []Conflict{}, Undone: []Change{}, Warnings: f.Warnings}
	live := map[string][]*events.Fact{}
	h.EachFact(func(fc *events.Fact) {
		c := *fc
		live[c.Participant] = append(live[c.Participant], &c)
	})
	type key struct {
		p    string
		a    events.Action
		date events.Date
	}
	ever := map[key]bool{}
	h.EachRecorded(func(a events.Act) { ever[key{a.Participant, a.Action, a.Date}] = true })
	var bad []events.RowError
	seen := map[string]int{}
	for _, r := range f.Rows {
		p, err := dir.Resolve(r.Name)
		if err != nil {
			bad = append(bad, events.RowError{Line: r.Line, Err: err, Msg: err.Error()})
			continue
		}
		if line, dup := seen[p.Name]; dup {
			err := &events.InvalidError{Field: "row", Reason: fmt.Sprintf("%s is listed twice (also on line %d)", p.Name, line)}
			bad = append(bad, events.RowError{Line: r.Line, Err: err, Msg: err.Error()})
			continue
		}
		seen[p.Name] = r.Line
		name := r.Name
		if name == p.Name {
			name = ""
		}
		for _, a := range r.Acts {
			ch := Change{Line: r.Line, Participant: p.Name, Name: name, Footnotes: r.Footnotes, Action: a.Action, Date: a.Date}
			var same, other *events.Fact
			for _, fc := range live[p.Name] {
				if category(fc.Action) != category(a.Action) {
					continue
				}
				if fc.Action == a.Action && fc.Date == a.Date {
					same = fc
				} else if other == nil {
					other = fc
				}
			}
			switch {
			case a.Undone && same != nil:
				d.Conflicts = append(d.Conflicts, Conflict{Change: ch, Ledger: same.Action, LedgerDate: same.Date, LedgerPosition: same.Position,
					Reason: fmt.Sprintf("the file shows the %s of %s as undone (%s); the ledger holds it at position %d", a.Action, a.Date, a.Cell, same.Position)})
			case a.Undone:
				d.Undone = append(d.Undone, ch)
			case same != nil:
				d.Unchanged++
			case other != nil:
				d.Conflicts = append(d.Conflicts, Conflict{Change: ch, Ledger: other.Action, LedgerDate: other.Date, LedgerPosition: other.Position,
					Reason: fmt.Sprintf("the file shows %s of %s; the ledger holds %s of %s at position %d (correct it with `treatywatch correct %d` if the file is right)",
						a.Action, a.Date, other.Action, other.Date, other.Position, other.Position)})
			case ever[key{p.Name, a.Action, a.Date}]:
				d.Conflicts = append(d.Conflicts, Conflict{Change: ch,
					Reason: fmt.Sprintf("the file shows %s of %s, which the ledger recorded and then retracted or corrected; not recorded again", a.Action, a.Date)})
			default:
				d.Missing = append(d.Missing, ch)
			}
		}
	}
	if len(bad) > 0 {
		return nil, &events.ImportError{Rows: bad}
	}
	return d, nil
}

// Options tune Import.
type Options struct {
	// Source is the source of every recorded act (events.Metadata.Source):
	// the file's URL, or its name. Required.
	Source string
	// DryRun compares and writes nothing.
	DryRun bool
	// Meta is the metadata of every recorded act (the actor); Source is
	// set from the field above.
	Meta events.Metadata
}

// Result is a Diff and what was recorded of it.
type Result struct {
	Diff
	Source string `json:"source"`
	DryRun bool   `json:"dry_run"`
	// Recorded is the number of acts recorded (0 in a dry run).
	Recorded int `json:"recorded"`
}

// Import compares f with the treaty's stream (Compare) and records the
// missing acts through l.Import, the ledger's one import path: every act
// is decided as `treatywatch import` decides a CSV row (signature before
// consent on one day, the signature window, the treaty's adoption, ...),
// and all of them are written in one transaction, or none is (an
// *events.ImportError names every refused act by its line in the file).
// Conflicts and undone acts are reported, never written. A second Import
// of the same file records nothing. If another writer records one of the
// acts meanwhile, Import compares again (three times at most).
func Import(ctx context.Context, l *events.Ledger, treaty string, f *File, opts Options) (*Result, error) {
	if opts.Source == "" {
		return nil, &events.InvalidError{Field: "source", Reason: "an import from the UNTC needs a source (the file's URL or name)"}
	}
	if err := events.CheckText("source", opts.Source, events.LineText); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		res, err := importOnce(ctx, l, treaty, f, opts)
		if err == nil || attempt >= 2 || !raced(err) {
			return res, err
		}
	}
}

// raced reports whether an import failed only because some of its acts
// were recorded meanwhile.
func raced(err error) bool {
	var ie *events.ImportError
	if !errors.As(err, &ie) {
		return false
	}
	for _, r := range ie.Rows {
		var dup *events.DuplicateError
		if !errors.As(r.Err, &dup) {
			return false
		}
	}
	return true
}

func importOnce(ctx context.Context, l *events.Ledger, treaty string, f *File, opts Options) (*Result, error) {
	dir, err := l.Directory(ctx)
	if err != nil {
		return nil, err
	}
	h, err := l.History(ctx, treaty, time.Time{})
	if err != nil {
		return nil, err
	}
	if !h.Registered {
		return nil, fmt.Errorf("treaty %s: %w", treaty, events.ErrNotFound)
	}
	d, err := Compare(f, dir, h)
	if err != nil {
		return nil, err
	}
	res := &Result{Diff: *d, Source: opts.Source, DryRun: opts.DryRun}
	if opts.DryRun || len(d.Missing) == 0 {
		return res, nil
	}
	rows := make([]events.ImportRow, len(d.Missing))
	for i, c := range d.Missing {
		rows[i] = events.ImportRow{Line: c.Line, Participant: c.Participant, Action: string(c.Action), Date: c.Date.String(), Source: opts.Source}
	}
	ir, err := l.Import(ctx, treaty, rows, events.ImportOptions{Meta: opts.Meta})
	if err != nil {
		return nil, err
	}
	type key struct {
		p    string
		a    events.Action
		date events.Date
	}
	pos := map[key]int64{}
	for _, a := range ir.Acts {
		pos[key{a.Act.Participant, a.Act.Action, a.Act.Date}] = a.Position
	}
	for i := range res.Missing {
		c := &res.Missing[i]
		c.Position = pos[key{c.Participant, c.Action, c.Date}]
	}
	sort.SliceStable(res.Missing, func(i, j int) bool { return res.Missing[i].Position < res.Missing[j].Position })
	res.Recorded = len(ir.Acts)
	return res, nil
}
