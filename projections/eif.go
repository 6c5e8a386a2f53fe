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
	ev := Evaluation{Required: required}

	// Sweep the days on which a counting instrument starts or stops
	// counting; conditions are judged at the end of each such day, so the
	// order within a day never matters.
	var changes []change
	ev.Instruments, changes = countingChanges(rule, instruments, asOf)

	cl := newChecklist(rule, required)
	ev.Conditions = cl.conds
	last := 0
	for i := 0; i < len(changes); {
		d := changes[i].date
		for ; i < len(changes) && changes[i].date == d; i++ {
			cl.update(changes[i].key, changes[i].delta)
		}
		all := cl.check(d)
		if all && ev.Threshold.IsZero() {
			ev.Threshold = d
		}
		if n := cl.count; n != last {
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

// countingChanges judges each instrument under rule as of asOf (an
// Effect per instrument, in input order, without dates of entry into
// force) and returns the days on which a participant starts or stops
// counting, in date order.
func countingChanges(rule events.Rule, instruments []Instrument, asOf events.Date) ([]Effect, []change) {
	effects := make([]Effect, len(instruments))
	var changes []change
	for i, in := range instruments {
		if !in.Notified.IsZero() && in.Notified.After(asOf) {
			in.Notified, in.Withdrawn = events.Date{}, events.Date{}
		}
		counts := rule.CountsKind(in.Kind) && (!in.REIO || rule.RegionalOrganizationsAdditional)
		effects[i] = Effect{Instrument: in, Counts: counts}
		if !counts || !visible(in, asOf) {
			continue
		}
		if !in.Withdrawn.IsZero() && !in.Withdrawn.After(in.Date) {
			continue // withdrawn before it counted
		}
		changes = append(changes, change{date: in.Date, key: in.Participant, delta: +1})
		if !in.Withdrawn.IsZero() && !in.Withdrawn.After(asOf) {
			changes = append(changes, change{date: in.Withdrawn, key: in.Participant, delta: -1})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].date.Before(changes[j].date) })
	return effects, changes
}

// visible reports whether an instrument exists in the world as of asOf.
func visible(in Instrument, asOf events.Date) bool {
	return !in.Date.IsZero() && !in.Date.After(asOf)
}

// change is a day on which a participant starts (+1) or stops (-1)
// counting.
type change struct {
	date  events.Date
	key   string // canonical participant name
	delta int
}

// checklist keeps a rule's conditions current as participants start and
// stop counting. Weights are summed in millionths, as integers, so the
// share never depends on the order of additions.
type checklist struct {
	rule     events.Rule
	required int
	members  map[string]bool
	weights  map[string]int64
	conds    []Condition

	active map[string]int // participant → counting instruments
	count  int
	group  int
	share  int64
}

const shareUnit = 1e6

func newChecklist(rule events.Rule, required int) *checklist {
	cl := &checklist{rule: rule, required: required, active: map[string]int{}}
	cl.conds = append(cl.conds, Condition{Kind: ConditionCount, Name: "instruments", Need: float64(max(required, 0))})
	if g := rule.Group; g != nil {
		cl.members = map[string]bool{}
		for _, m := range g.Members {
			cl.members[m] = true
		}
		cl.conds = append(cl.conds, Condition{Kind: ConditionGroup, Name: g.Name, Need: float64(g.AtLeast)})
	}
	if s := rule.Share; s != nil {
		cl.weights = make(map[string]int64, len(s.Weights))
		for k, w := range s.Weights {
			cl.weights[k] = int64(math.Round(w * shareUnit))
		}
		cl.conds = append(cl.conds, Condition{Kind: ConditionShare, Name: s.Name, Need: s.AtLeast})
	}
	return cl
}

// update records that a participant starts (delta +1) or stops (-1)
// counting through one instrument.
func (cl *checklist) update(key string, delta int) {
	before := cl.active[key]
	after := before + delta
	cl.active[key] = after
	sign := 0
	switch {
	case before <= 0 && after > 0:
		sign = 1
	case before > 0 && after <= 0:
		sign = -1
	}
	if sign == 0 {
		return
	}
	cl.count += sign
	if cl.members[key] {
		cl.group += sign
	}
	cl.share += int64(sign) * cl.weights[key]
}

// check judges the conditions at the end of day d and reports whether all
// of them hold.
func (cl *checklist) check(d events.Date) bool {
	all := true
	for i := range cl.conds {
		c := &cl.conds[i]
		switch c.Kind {
		case ConditionCount:
			c.Have = float64(cl.count)
			c.Met = cl.required > 0 && cl.count >= cl.required
		case ConditionGroup:
			c.Have = float64(cl.group)
			c.Met = cl.rule.Group.AtLeast > 0 && cl.group >= cl.rule.Group.AtLeast
		case ConditionShare:
			c.Have = float64(cl.share) / shareUnit
			c.Met = cl.share >= int64(math.Round(cl.rule.Share.AtLeast*shareUnit))
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
