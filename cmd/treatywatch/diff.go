package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// stringsFlag is a flag that may be given several times.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// DefaultDiffDays is how far before --to (or to) a diff starts when no
// earlier date is given and it does not compare two known-at moments:
// "what changed in the last week".
const DefaultDiffDays = 7

// runDiff prints what changed in a treaty's status between two points:
// --from and --to (two as-of dates, as known now or at one --known-at), or
// two --known-at moments at one --as-of date (what corrections and
// retractions changed in what the ledger said), or both. With neither,
// the last week up to today.
func runDiff(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	from := fs.String("from", "", "the earlier as-of date, YYYY-MM-DD (default: 7 days before --to; with two --known-at, --as-of)")
	to := fs.String("to", "", "the later as-of date, YYYY-MM-DD (default: --as-of)")
	asOf := fs.String("as-of", "", "the as-of date of both sides when comparing two --known-at, YYYY-MM-DD (default today)")
	var known stringsFlag
	fs.Var(&known, "known-at", "what the ledger knew at this moment, RFC 3339 or a date (once: both sides; twice: the earlier side, then the later)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("diff: want exactly one treaty ID (or name)")
	}
	switch {
	case len(known) > 2:
		return usagef("diff: --known-at given %d times; give it once (both sides) or twice (the earlier side, then the later)", len(known))
	case *asOf != "" && (*from != "" || *to != ""):
		return usagef("diff: --as-of is the date of both sides; with --from and --to, leave it out")
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	base, _, err := m.timeAxes(l, *asOf, "")
	if err != nil {
		return err
	}
	toDate, err := diffDate("--to", *to, base)
	if err != nil {
		return err
	}
	fromDefault := toDate.AddDays(-DefaultDiffDays) // the last week
	if len(known) == 2 && *to == "" {
		fromDefault = toDate // two moments at one date
	}
	fromDate, err := diffDate("--from", *from, fromDefault)
	if err != nil {
		return err
	}
	var kFrom, kTo time.Time
	if len(known) > 0 {
		if _, kFrom, err = m.timeAxes(l, "", known[0]); err != nil {
			return err
		}
		kTo = kFrom
	}
	if len(known) == 2 {
		if _, kTo, err = m.timeAxes(l, "", known[1]); err != nil {
			return err
		}
	}
	if err := projections.CheckSpan(fromDate, toDate, kFrom, kTo); err != nil {
		return err
	}
	before, err := m.diffSideStatus(ctx, l, id, fromDate, kFrom)
	if err != nil {
		return err
	}
	after, err := m.diffSideStatus(ctx, l, id, toDate, kTo)
	if err != nil {
		return err
	}
	d := projections.DiffStatuses(before, after)
	if *asJSON {
		enc := json.NewEncoder(m.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	h, err := l.History(ctx, id, time.Time{})
	if err != nil {
		return err
	}
	return writeDiffText(m.stdout, h.Definition.Name(), d)
}

// diffSideStatus is one side's status; a side known at a moment before
// the treaty was registered is the status of a treaty nobody had acted
// on: what the ledger knew then is nothing.
func (m *Main) diffSideStatus(ctx context.Context, l *events.Ledger, id string, asOf events.Date, knownAt time.Time) (projections.Status, error) {
	st, err := m.statusAt(ctx, l, id, asOf, knownAt)
	if _, ok := errors.AsType[*events.NotYetRegisteredError](err); ok {
		k := knownAt.UTC()
		return projections.Status{Treaty: id, AsOf: asOf, KnownAt: &k, Participants: []projections.Participation{}}, nil
	}
	return st, err
}

// diffDate parses one side's as-of date, def when empty.
func diffDate(flagName, v string, def events.Date) (events.Date, error) {
	if v == "" {
		return def, nil
	}
	d, err := events.ParseDate(v)
	if err != nil {
		return d, fmt.Errorf("%s: %w", flagName, err)
	}
	return d, nil
}

// diffSide says what one side of a diff is: "2016-10-01" or "2016-10-01
// as known at 2026-03-01T12:00:00Z".
func diffSide(p projections.DiffPoint) string {
	if p.KnownAt == nil {
		return p.AsOf.String()
	}
	return p.AsOf.String() + " as known at " + p.KnownAt.UTC().Format(time.RFC3339)
}

// writeDiffText prints a diff for people: one line per dated change, the
// participants the treaty entered into force for on one day on one line,
// then the numbers that changed.
func writeDiffText(w io.Writer, name string, d projections.Diff) error {
	p := &printer{w: w}
	p.printf("%s (%s): what changed from %s to %s\n", name, d.Treaty, diffSide(d.From), diffSide(d.To))
	if len(d.Changes) == 0 {
		p.printf("Nothing changed.\n")
		return p.err
	}
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	var counts []projections.Change
	for i := 0; i < len(d.Changes); i++ {
		c := d.Changes[i]
		if c.Kind == projections.ChangeCount || c.Kind == projections.ChangeCondition {
			counts = append(counts, c)
			continue
		}
		if c.Kind == projections.ChangeParticipantInForce && c.Op == projections.Added {
			names := []string{c.Participant}
			for i+1 < len(d.Changes) && d.Changes[i+1].Kind == c.Kind && d.Changes[i+1].Op == c.Op && sameDay(d.Changes[i+1].Date, c.Date) {
				i++
				names = append(names, d.Changes[i].Participant)
			}
			fmt.Fprintf(tw, "%s\tin force for\t%s\n", dateOrDash(c.Date), inForceFor(names))
			continue
		}
		label, text := changeText(c)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", dateOrDash(c.Date), label, text)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(counts) > 0 {
		p.printf("\n")
		tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		for _, c := range counts {
			if c.Kind != projections.ChangeCondition {
				fmt.Fprintf(tw, "%s:\t%g → %g\n", countLabel(c.Field), *c.From, *c.To)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, c := range counts {
			if c.Kind == projections.ChangeCondition {
				met := ""
				if c.ToDate != nil {
					met = " (met on " + c.ToDate.String() + ")"
				}
				p.printf("Condition, %s: %g → %g%s\n", c.Field, *c.From, *c.To, met)
			}
		}
	}
	return p.err
}

func sameDay(a, b *events.Date) bool { return a != nil && b != nil && *a == *b }

// inForceFor lists the participants the treaty entered into force for
// on one day: all of them when few, else how many and the first ones.
func inForceFor(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%d participants: %s, …", len(names), strings.Join(names[:5], ", "))
}

func countLabel(field string) string {
	switch field {
	case "in_force_for":
		return "In force for"
	case "counted":
		return "Counted instruments"
	}
	return strings.ToUpper(field[:1]) + field[1:]
}

// changeText is one change's label and text.
func changeText(c projections.Change) (string, string) {
	fromTo := func() string { return fmt.Sprintf("%s → %s", dateOrDash(c.FromDate), dateOrDash(c.ToDate)) }
	who := c.Participant
	switch c.Kind {
	case projections.ChangeSignature:
		return opLabel("signature", c.Op), who + dateChange(c, fromTo)
	case projections.ChangeDeposit:
		kind := c.Action.Label()
		if c.FromAction != "" {
			kind = c.FromAction.Label() + " → " + kind
		}
		return opLabel("deposit", c.Op), who + ": " + kind + dateChange(c, fromTo)
	case projections.ChangeProvisionalApplication:
		return opLabel("provisional application", c.Op), who + dateChange(c, fromTo)
	case projections.ChangeWithdrawalNotified:
		switch c.Op {
		case projections.Added:
			return "withdrawal notified", fmt.Sprintf("%s: takes effect on %s", who, dateOrDash(c.ToDate))
		case projections.Removed:
			return "withdrawal removed", who + ": no longer recorded (correction or retraction)"
		default:
			return "withdrawal corrected", who + ": notified " + fromTo()
		}
	case projections.ChangeWithdrawalEffective:
		switch c.Op {
		case projections.Added:
			return "withdrawal effective", who + ": no longer a party"
		case projections.Removed:
			return "withdrawal undone", who + ": a party again (correction or retraction)"
		default:
			return "withdrawal corrected", who + ": takes effect " + fromTo()
		}
	case projections.ChangeParticipantInForce:
		if c.Op == projections.Removed {
			return "not in force for", who + " (correction or retraction)"
		}
		return "in force for", who + dateChange(c, fromTo)
	case projections.ChangeThresholdMet:
		switch c.Op {
		case projections.Added:
			return "threshold met", "every condition of the clause holds"
		case projections.Removed:
			return "threshold no longer met", "after a correction or retraction"
		default:
			return "threshold moved", fromTo()
		}
	case projections.ChangeEntryIntoForceDate:
		switch c.Op {
		case projections.Added:
			return "entry into force", "date computed: " + dateOrDash(c.ToDate)
		case projections.Removed:
			return "entry into force", "date no longer known (was " + dateOrDash(c.FromDate) + ")"
		default:
			return "entry into force", "date changed: " + fromTo()
		}
	case projections.ChangeInForce:
		if c.Op == projections.Removed {
			return "not in force", "after a correction or retraction"
		}
		return "entered into force", "the treaty is in force from this day"
	default: // counts and conditions are written by their own lines
		return string(c.Kind), string(c.Op)
	}
}

// opLabel is a participant change's label: "signature", "signature
// removed", "signature corrected".
func opLabel(what string, op projections.ChangeOp) string {
	switch op {
	case projections.Removed:
		return what + " removed"
	case projections.Changed:
		return what + " corrected"
	default:
		return what
	}
}

// dateChange is ", dated FROM → TO" for a corrected date, else nothing.
func dateChange(c projections.Change, fromTo func() string) string {
	if c.Op == projections.Changed && c.FromDate != nil && c.ToDate != nil && *c.FromDate != *c.ToDate {
		return ", dated " + fromTo()
	}
	return ""
}
