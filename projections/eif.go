package projections

import (
	"math"
	"sort"

	"github.com/treatywatch/treatywatch/events"
)

// Instrument is one consent to be bound as the entry-into-force engine
// sees it: who deposited what, when, and when a withdrawal from it takes
// effect. A participant that withdrew and later consented again has two
// instruments.
type Instrument struct {
	// Participant is the canonical name.
	Participant string
	// Kind is the action: ratification, accession, definitive signature...
	Kind events.Action
	// Date is the date of deposit.
	Date events.Date
	// REIO reports whether the participant is a regional economic
	// integration organization (the European Union).
	REIO bool
	// Notified is the date the withdrawal was notified, zero if none or
	// unknown. A withdrawal notified after the as-of date is ignored.
	Notified events.Date
	// Withdrawn is the date the withdrawal takes effect, zero if none.
	// From that date the participant no longer counts as a party.
	Withdrawn events.Date
}

// Condition kinds, as Condition.Kind reports them.
const (
	// ConditionCount is "at least N instruments" (or parties).
	ConditionCount = "count"
	// ConditionGroup is "at least K instruments from a listed group".
	ConditionGroup = "group"
	// ConditionShare is "instruments whose weights add up to at least X".
	ConditionShare = "share"
)

// Condition is one condition of an entry-into-force clause and how far it
// has got as of the evaluation date.
type Condition struct {
	// Kind is ConditionCount, ConditionGroup or ConditionShare.
	Kind string `json:"kind"`
	// Name is "instruments" for the count, or the group's or share's name.
	Name string `json:"name"`
	// Have is the count, group count or weight reached as of the date.
	Have float64 `json:"have"`
	// Need is what the clause requires; 0 when unknown (a fraction of a
	// parent treaty's parties that is not in the ledger).
	Need float64 `json:"need"`
	// Met reports whether the condition holds on the as-of date.
	Met bool `json:"met"`
	// MetOn is the first date the condition held, null if it never has.
	// It stays set when a later withdrawal makes Met false.
	MetOn *events.Date `json:"met_on"`
}

// Effect is an instrument as the engine judged it.
type Effect struct {
	Instrument
	// Counts reports whether the instrument counts toward the threshold:
	// the rule counts its kind, and it is not a regional organization's
	// under a rule where those are not additional.
	Counts bool
	// EntryIntoForce is the date the treaty enters (or entered) into force
	// for the participant under this instrument: zero when the threshold
	// is not met by the as-of date, when the instrument was deposited after
	// it, or when the withdrawal takes effect first.
	EntryIntoForce events.Date
}

// Point is the number of counted instruments from a date on.
type Point struct {
	Date    events.Date `json:"date"`
	Counted int         `json:"counted"`
}

// Evaluation is the entry-into-force engine's answer for one date.
type Evaluation struct {
	// Required is the number of instruments the count condition needs,
	// as passed to Evaluate; 0 means unknown.
	Required int
	// Threshold is the date every condition first held, zero if they have
	// not all held by the as-of date. Once reached it is fixed: later
	// withdrawals do not undo an entry into force.
	Threshold events.Date
	// EntryIntoForce is the general date of entry into force, zero when
	// the threshold is not met. It may lie after the as-of date.
	EntryIntoForce events.Date
	// Counted is the number of participants whose counting instrument was
	// deposited by the as-of date, less those whose withdrawal has taken
	// effect by then.
	Counted int
	// Conditions lists the count condition, then the group and the share
	// conditions when the rule has them.
	Conditions []Condition
	// Instruments holds one Effect per input instrument, in input order.
	Instruments []Effect
	// Series is Counted over time: one point per date on or before the
	// as-of date where it changes, increases and decreases alike.
	Series []Point
}

// shareEpsilon absorbs float rounding when weights add up to exactly the
// required share.
const shareEpsilon = 1e-9

// Evaluate applies an entry-into-force rule to the instruments known as of
// asOf. required is the number of instruments the count condition needs —
// rule.Instruments, or the rule's fraction of the parent's parties worked
// out by the caller; a value below 1 means unknown, and the threshold is
// then never met.
//
// Only instruments deposited on or before asOf are considered, and only
// withdrawals notified on or before it. Conditions are evaluated at the end
// of each day, so instruments deposited on the same day count together and
// their order within the day does not matter. General entry into force is
// the later of rule.Delay after the threshold date and rule.NotBefore; a
// participant whose instrument was deposited after the threshold date is
// bound from the later of the general date and rule.LaterPeriod() after its
// deposit. Evaluate is pure.
func Evaluate(rule events.Rule, required int, instruments []Instrument, asOf events.Date) Evaluation {
	ev := Evaluation{Required: required, Instruments: make([]Effect, len(instruments))}

	var spans []span
	var dates []events.Date
	for i, in := range instruments {
		if !in.Notified.IsZero() && in.Notified.After(asOf) {
			in.Notified, in.Withdrawn = events.Date{}, events.Date{}
		}
		counts := rule.CountsKind(in.Kind) && (!in.REIO || rule.RegionalOrganizationsAdditional)
		ev.Instruments[i] = Effect{Instrument: in, Counts: counts}
		if !counts || !visible(in, asOf) {
			continue
		}
		spans = append(spans, span{key: in.Participant, from: in.Date, until: in.Withdrawn})
		dates = append(dates, in.Date)
		if !in.Withdrawn.IsZero() && !in.Withdrawn.After(asOf) {
			dates = append(dates, in.Withdrawn)
		}
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	dates = compactDates(dates)

	cl := newChecklist(rule, required)
	ev.Conditions = cl.conds
	last := 0
	for _, d := range dates {
		all := cl.evaluate(spans, d)
		if all && ev.Threshold.IsZero() {
			ev.Threshold = d
		}
		if n := int(ev.Conditions[0].Have); n != last {
			ev.Series = append(ev.Series, Point{Date: d, Counted: n})
			last = n
		}
	}
	ev.Counted = int(ev.Conditions[0].Have)

	if ev.Threshold.IsZero() {
		return ev
	}
	ev.EntryIntoForce = events.MaxDate(rule.Delay.After(ev.Threshold), rule.NotBefore)
	later := rule.LaterPeriod()
	for i := range ev.Instruments {
		e := &ev.Instruments[i]
		if !visible(e.Instrument, asOf) {
			continue
		}
		eif := ev.EntryIntoForce
		if e.Date.After(ev.Threshold) {
			eif = events.MaxDate(eif, later.After(e.Date))
		}
		if !e.Withdrawn.IsZero() && !e.Withdrawn.After(eif) {
			eif = events.Date{} // withdrawn before it ever bound the participant
		}
		e.EntryIntoForce = eif
	}
	return ev
}

// visible reports whether an instrument exists in the world as of asOf.
func visible(in Instrument, asOf events.Date) bool {
	return !in.Date.IsZero() && !in.Date.After(asOf)
}

// span is the time a counting instrument makes its participant count:
// from the deposit until the withdrawal takes effect (exclusive).
type span struct {
	key         string // canonical participant name
	from, until events.Date
}

func (s span) boundOn(d events.Date) bool {
	return !s.from.After(d) && (s.until.IsZero() || s.until.After(d))
}

func compactDates(ds []events.Date) []events.Date {
	out := ds[:0]
	for i, d := range ds {
		if i == 0 || d != ds[i-1] {
			out = append(out, d)
		}
	}
	return out
}

// checklist evaluates a rule's conditions day by day.
type checklist struct {
	rule     events.Rule
	required int
	members  map[string]bool
	weights  map[string]float64
	conds    []Condition
}

func newChecklist(rule events.Rule, required int) *checklist {
	cl := &checklist{rule: rule, required: required}
	cl.conds = append(cl.conds, Condition{Kind: ConditionCount, Name: "instruments", Need: float64(max(required, 0))})
	if g := rule.Group; g != nil {
		cl.members = map[string]bool{}
		for _, m := range g.Members {
			cl.members[m] = true
		}
		cl.conds = append(cl.conds, Condition{Kind: ConditionGroup, Name: g.Name, Need: float64(g.AtLeast)})
	}
	if s := rule.Share; s != nil {
		cl.weights = s.Weights
		cl.conds = append(cl.conds, Condition{Kind: ConditionShare, Name: s.Name, Need: s.AtLeast})
	}
	return cl
}

// evaluate updates the conditions for the end of day d and reports
// whether all of them hold.
func (cl *checklist) evaluate(spans []span, d events.Date) bool {
	bound := map[string]bool{}
	for _, s := range spans {
		if s.boundOn(d) {
			bound[s.key] = true
		}
	}
	// Sum weights in name order: a float sum must not depend on map order.
	keys := make([]string, 0, len(bound))
	for k := range bound {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	all := true
	for i := range cl.conds {
		c := &cl.conds[i]
		switch c.Kind {
		case ConditionCount:
			c.Have = float64(len(keys))
			c.Met = cl.required > 0 && len(keys) >= cl.required
		case ConditionGroup:
			n := 0
			for _, k := range keys {
				if cl.members[k] {
					n++
				}
			}
			c.Have = float64(n)
			c.Met = cl.rule.Group.AtLeast > 0 && n >= cl.rule.Group.AtLeast
		case ConditionShare:
			sum := 0.0
			for _, k := range keys {
				sum += cl.weights[k]
			}
			c.Have = math.Round(sum*1e6) / 1e6
			c.Met = sum+shareEpsilon >= cl.rule.Share.AtLeast
		}
		if c.Met && c.MetOn == nil {
			c.MetOn = datePtr(d)
		}
		all = all && c.Met
	}
	return all
}

// datePtr returns &d, or nil for the zero Date, so that JSON says null.
func datePtr(d events.Date) *events.Date {
	if d.IsZero() {
		return nil
	}
	return &d
}

// deref returns *d, or the zero Date for nil.
func deref(d *events.Date) events.Date {
	if d == nil {
		return events.Date{}
	}
	return *d
}
