package projections

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Status is what a ratification tracker shows for one treaty as of a date:
// how many instruments count, how many are missing, when the treaty enters
// (or entered) into force, and each participant's standing. Dates that are
// not known or not reached marshal as JSON null.
type Status struct {
	// Treaty is the treaty's id ("XXVI-9").
	Treaty string `json:"treaty"`
	// Title is the treaty's title; ShortTitle its short title, if any.
	Title      string `json:"title"`
	ShortTitle string `json:"short_title,omitempty"`
	// Parent is the id of the treaty a protocol or amendment belongs to.
	Parent string `json:"parent,omitempty"`
	// AsOf is the date the status describes: only acts dated on or
	// before it are taken into account.
	AsOf events.Date `json:"as_of"`
	// KnownAt is the transaction time the history was folded at, when the
	// caller folded it as the ledger knew it at some moment; Compute
	// leaves it nil and the caller sets it.
	KnownAt *time.Time `json:"known_at,omitempty"`
	// Rule summarizes the entry-into-force clause.
	Rule string `json:"rule"`
	// Required is the number of instruments the clause needs; 0 when it
	// is a fraction of a parent's parties and the parent is unknown.
	Required int `json:"required"`
	// Counted is the number of counted instruments as of AsOf, less the
	// participants whose withdrawal has taken effect.
	Counted int `json:"counted"`
	// Remaining is Required − Counted, and never negative.
	Remaining int `json:"remaining"`
	// Percent is Counted as a percentage of Required, one decimal, at most 100.
	Percent float64 `json:"percent"`
	// Signatories is the number of participants that have signed.
	Signatories int `json:"signatories"`
	// Parties counts parties the way the UN Treaty Collection does: the
	// participants that have consented to be bound (by any kind of
	// instrument, counted toward the threshold or not), less those whose
	// withdrawal has taken effect by AsOf — before entry into force as
	// after it.
	Parties int `json:"parties"`
	// InForceFor is the number of participants for which the treaty is in
	// force on AsOf.
	InForceFor int `json:"in_force_for"`
	// WithdrawalRule says when a denunciation takes effect: the treaty's
	// clause, or events.ViennaDefaultRule when it has none.
	WithdrawalRule string `json:"withdrawal_rule"`
	// ThresholdMetOn is the date every condition first held.
	ThresholdMetOn *events.Date `json:"threshold_met_on"`
	// EntryIntoForce is the general date of entry into force; it may lie
	// after AsOf.
	EntryIntoForce *events.Date `json:"entry_into_force"`
	// InForce reports whether the treaty is in force on AsOf.
	InForce bool `json:"in_force"`
	// DaysUntilEntryIntoForce counts the days from AsOf to a future entry
	// into force; DaysSinceEntryIntoForce the days since a past one (0 on
	// the day itself). At most one of them is set.
	DaysUntilEntryIntoForce *int `json:"days_until_entry_into_force"`
	DaysSinceEntryIntoForce *int `json:"days_since_entry_into_force"`
	// Conditions is the progress of each condition of the clause.
	Conditions []Condition `json:"conditions"`
	// Milestones are the 25, 50, 75, 90 and 100 % marks of Required, with
	// the date the counted instruments first reached each (null if not
	// yet). Empty when Required is unknown.
	Milestones []Mark `json:"milestones"`
	// Participants lists every participant with an act on or before AsOf,
	// sorted by name the way the UN Treaty Collection sorts them.
	Participants []Participation `json:"participants"`
}

// Mark is a percentage of the required instruments and the date the
// counted instruments first reached it.
type Mark struct {
	Percent int `json:"percent"`
	// Target is ceil(Percent × Required / 100).
	Target int          `json:"target"`
	Date   *events.Date `json:"date"`
}

// Participation is one participant's row in a Status.
type Participation struct {
	// Participant is the canonical name; ISO3 its ISO 3166 alpha-3 code.
	Participant string `json:"participant"`
	ISO3        string `json:"iso3"`
	// Signature is the date of signature.
	Signature *events.Date `json:"signature"`
	// Consent is the standing consent to be bound: the latest one.
	Consent *Consent `json:"consent"`
	// EntryIntoForce is the date the treaty enters (or entered) into
	// force for the participant under Consent.
	EntryIntoForce *events.Date `json:"entry_into_force"`
	// Declarations holds declarations, objections and territorial
	// applications; Reservations holds reservations and their withdrawals.
	Declarations []Statement `json:"declarations"`
	Reservations []Statement `json:"reservations"`
	// WithdrawalNotified and WithdrawalEffective concern Consent: the
	// date the denunciation was notified and the date it takes effect.
	WithdrawalNotified  *events.Date `json:"withdrawal_notified"`
	WithdrawalEffective *events.Date `json:"withdrawal_effective"`
	// Earlier lists earlier consents ended by a withdrawal, oldest first:
	// a participant that withdrew and later joined again.
	Earlier []Tenure `json:"earlier,omitempty"`
	// Unofficial lists domestic steps (intent announced, parliamentary
	// approval), which never count.
	Unofficial []Statement `json:"unofficial,omitempty"`
	// ProvisionalApplication is the participant's declaration of
	// provisional application (ATT art. 23; the UNTC's mark "n"), the
	// first one if several; nil if none. It never counts toward entry
	// into force and makes nobody a party.
	ProvisionalApplication *Statement `json:"provisional_application"`
}

// Consent is a consent to be bound: its kind and date of deposit.
type Consent struct {
	Kind events.Action `json:"kind"`
	Date events.Date   `json:"date"`
	// Counts reports whether it counts toward the threshold.
	Counts bool `json:"counts"`
}

// Tenure is one earlier, withdrawn consent of a participant.
type Tenure struct {
	Consent             Consent      `json:"consent"`
	EntryIntoForce      *events.Date `json:"entry_into_force"`
	WithdrawalNotified  events.Date  `json:"withdrawal_notified"`
	WithdrawalEffective events.Date  `json:"withdrawal_effective"`
}

// Statement is a declaration, reservation, objection or other statement.
type Statement struct {
	Kind      events.Action `json:"kind"`
	Date      events.Date   `json:"date"`
	Subject   string        `json:"subject,omitempty"`
	Note      string        `json:"note,omitempty"`
	Reference string        `json:"reference,omitempty"`
}

// milestonePercents are the marks Status.Milestones reports.
var milestonePercents = [...]int{25, 50, 75, 90, 100}

// Compute returns the status of the treaty whose stream folds to h, as of
// asOf: only acts dated on or before asOf are visible, and a withdrawal
// counts from the date it takes effect under the treaty's withdrawal
// clause. dir tells regional organizations apart and supplies ISO codes
// (nil: none are known). Compute is pure; it never reads a clock.
//
// parent is the status of the parent treaty as of the same date, for a
// protocol or amendment; nil when the treaty has none or the parent is not
// in the ledger. With a parent, the treaty never enters into force before
// it (nor, for a participant, before the parent binds that participant),
// and does not enter into force at all while the parent has no date of
// entry into force; a rule expressed as a fraction of the parent's parties
// counts the participants for which the parent was in force on the
// treaty's adoption date (Status.PartiesOn). Without a parent such a
// fraction is unknown: Required is 0 and the threshold is never met.
func Compute(h *events.History, dir *events.Directory, asOf events.Date, parent *Status) Status {
	s, _ := ComputeWithTimeline(h, dir, asOf, parent)
	return s
}

// ComputeWithTimeline is Compute that also returns the Timeline, from the
// same evaluation of the rule.
func ComputeWithTimeline(h *events.History, dir *events.Directory, asOf events.Date, parent *Status) (Status, []Point) {
	return compute(h, dir, asOf, parent, true)
}

// ComputeHeadline is Headline(Compute(...)) without building the
// participants' statements at all: what a Transition keeps, at a fraction
// of the cost for a treaty with thousands of declarations.
func ComputeHeadline(h *events.History, dir *events.Directory, asOf events.Date, parent *Status) Status {
	s, _ := compute(h, dir, asOf, parent, false)
	return Headline(s)
}

func compute(h *events.History, dir *events.Directory, asOf events.Date, parent *Status, statements bool) (Status, []Point) {
	def := h.Definition
	rule := def.EntryIntoForce
	s := Status{
		Treaty:     def.ID,
		Title:      def.Title,
		ShortTitle: def.ShortTitle,
		Parent:     def.Parent,
		AsOf:       asOf,
	}

	required := rule.Instruments
	if f := rule.Fraction; f != nil {
		required = 0
		if parent != nil && !def.Adopted.IsZero() {
			required = f.Of(parent.PartiesOn(def.Adopted))
		}
	}
	gated := parent != nil && def.Parent != ""
	if gated && parent.EntryIntoForce != nil {
		rule.NotBefore = events.MaxDate(rule.NotBefore, *parent.EntryIntoForce)
	}

	rows, tenures, instruments := collect(h, dir, asOf, statements)
	ev := Evaluate(rule, required, instruments, asOf)
	if gated {
		gate(&ev, parent)
	}

	for i, t := range tenures {
		e := ev.Instruments[i]
		row := &rows[t.row]
		consent := Consent{Kind: e.Kind, Date: e.Date, Counts: e.Counts}
		if t.current {
			row.Consent = &consent
			row.EntryIntoForce = datePtr(e.EntryIntoForce)
			row.WithdrawalNotified = datePtr(e.Notified)
			row.WithdrawalEffective = datePtr(e.Withdrawn)
			continue
		}
		row.Earlier = append(row.Earlier, Tenure{Consent: consent, EntryIntoForce: datePtr(e.EntryIntoForce), WithdrawalNotified: e.Notified, WithdrawalEffective: e.Withdrawn})
	}
	if rows == nil {
		rows = []Participation{} // none yet: [] in JSON everywhere, never null
	}
	s.Participants = rows

	s.Rule = describeRule(rule, def.EntryIntoForce, required)
	s.Required = required
	s.Counted = ev.Counted
	if required > 0 {
		s.Remaining = max(required-ev.Counted, 0)
		s.Percent = math.Min(100, math.Round(float64(ev.Counted)*1000/float64(required))/10)
	}
	for _, p := range rows {
		if p.Signature != nil {
			s.Signatories++
		}
		if p.Consent != nil && (p.WithdrawalEffective == nil || p.WithdrawalEffective.After(asOf)) {
			s.Parties++
		}
	}
	s.InForceFor = s.PartiesOn(asOf)
	s.WithdrawalRule = def.Withdrawal.Rule()
	s.ThresholdMetOn = datePtr(ev.Threshold)
	s.EntryIntoForce = datePtr(ev.EntryIntoForce)
	if eif := ev.EntryIntoForce; !eif.IsZero() {
		days := asOf.DaysUntil(eif)
		if days > 0 {
			s.DaysUntilEntryIntoForce = &days
		} else {
			since := -days
			s.InForce = true
			s.DaysSinceEntryIntoForce = &since
		}
	}
	s.Conditions = ev.Conditions
	s.Milestones = marks(ev.Series, required)
	series := ev.Series
	if series == nil {
		series = []Point{}
	}
	return s, series
}

// gate applies "never before the parent" to an evaluation whose rule
// already has the parent's date as NotBefore.
func gate(ev *Evaluation, parent *Status) {
	if parent.EntryIntoForce == nil {
		ev.EntryIntoForce = events.Date{}
		for i := range ev.Instruments {
			ev.Instruments[i].EntryIntoForce = events.Date{}
		}
		return
	}
	bound := map[string]events.Date{}
	for _, p := range parent.Participants {
		if p.EntryIntoForce != nil {
			bound[p.Participant] = *p.EntryIntoForce
		}
	}
	for i := range ev.Instruments {
		e := &ev.Instruments[i]
		if e.EntryIntoForce.IsZero() {
			continue
		}
		if d, ok := bound[e.Participant]; ok && d.After(e.EntryIntoForce) {
			e.EntryIntoForce = d
			if !e.Withdrawn.IsZero() && !e.Withdrawn.After(d) {
				e.EntryIntoForce = events.Date{}
			}
		}
	}
}

// PartiesOn returns the number of participants for which the treaty was in
// force on d, as far as s knows: entered into force on or before d under
// a consent whose withdrawal had not taken effect by d. It reads earlier,
// withdrawn consents too, so it answers for any d up to s.AsOf.
func (s *Status) PartiesOn(d events.Date) int {
	n := 0
	for _, p := range s.Participants {
		in := inForceOn(p.EntryIntoForce, deref(p.WithdrawalEffective), d)
		for _, t := range p.Earlier {
			in = in || inForceOn(t.EntryIntoForce, t.WithdrawalEffective, d)
		}
		if in {
			n++
		}
	}
	return n
}

func inForceOn(eif *events.Date, withdrawn, d events.Date) bool {
	return eif != nil && !eif.After(d) && (withdrawn.IsZero() || withdrawn.After(d))
}

// tenure ties an instrument passed to Evaluate to its participant's row.
type tenure struct {
	row     int
	current bool
}

// collect builds the participant rows from the facts dated on or before
// asOf, and the instruments (consents with their withdrawals) in the same
// order as the tenures that tie them to rows.
func collect(h *events.History, dir *events.Directory, asOf events.Date, statements bool) ([]Participation, []tenure, []Instrument) {
	byP := map[string][]*events.Fact{}
	h.EachParticipant(func(f *events.Fact) bool { return !f.Date.IsZero() && !f.Date.After(asOf) }, func(name string, facts []*events.Fact) {
		if name != "" {
			byP[name] = facts
		}
	})
	type named struct{ name, key string }
	keyed := make([]named, 0, len(byP))
	for n := range byP {
		keyed = append(keyed, named{n, dir.Key(n)})
	}
	sort.Slice(keyed, func(i, j int) bool {
		if keyed[i].key != keyed[j].key {
			return keyed[i].key < keyed[j].key
		}
		return keyed[i].name < keyed[j].name
	})
	names := make([]string, len(keyed))
	for i, k := range keyed {
		names[i] = k.name
	}

	var (
		rows        []Participation
		tenures     []tenure
		instruments []Instrument
	)
	for _, name := range names {
		facts := byP[name]
		sort.SliceStable(facts, func(i, j int) bool {
			if facts[i].Date != facts[j].Date {
				return facts[i].Date.Before(facts[j].Date)
			}
			return facts[i].Position < facts[j].Position
		})
		row := Participation{Participant: name, Declarations: []Statement{}, Reservations: []Statement{}}
		reio := false
		if dir != nil {
			if p, ok := dir.Lookup(name); ok {
				row.ISO3, reio = p.ISO3, p.IsREIO()
			}
		}
		var mine []Instrument
		for _, f := range facts {
			if row.ISO3 == "" {
				row.ISO3 = f.ISO3
			}
			st := Statement{Kind: f.Action, Date: f.Date, Subject: f.Subject, Note: f.Note, Reference: f.Reference}
			switch a := f.Action; {
			case a == events.Signature:
				if row.Signature == nil {
					row.Signature = datePtr(f.Date)
				}
			case a.IsConsent():
				// A consent while a consent stands, not denounced, adds
				// nothing: the participant is already bound.
				if n := len(mine); n > 0 && mine[n-1].Notified.IsZero() {
					continue
				}
				mine = append(mine, Instrument{Participant: name, Kind: a, Date: f.Date, REIO: reio})
			case a == events.Denunciation:
				if n := len(mine); n > 0 && mine[n-1].Notified.IsZero() {
					mine[n-1].Notified = f.Date
					mine[n-1].Withdrawn = h.WithdrawalEffective(f.Date)
				}
			case a == events.Reservation || a == events.ReservationWithdrawn:
				if statements {
					row.Reservations = append(row.Reservations, st)
				}
			case a == events.Declaration || a == events.Objection || a == events.TerritorialApplication:
				if statements {
					row.Declarations = append(row.Declarations, st)
				}
			case a.IsUnofficial():
				if statements {
					row.Unofficial = append(row.Unofficial, st)
				}
			case a == events.ProvisionalApplication:
				if row.ProvisionalApplication == nil {
					pa := st
					row.ProvisionalApplication = &pa
				}
			}
		}
		for i, in := range mine {
			tenures = append(tenures, tenure{row: len(rows), current: i == len(mine)-1})
			instruments = append(instruments, in)
		}
		rows = append(rows, row)
	}
	return rows, tenures, instruments
}

// marks returns the percentage milestones of required reached in series.
func marks(series []Point, required int) []Mark {
	out := []Mark{}
	if required < 1 {
		return out
	}
	for _, p := range milestonePercents {
		m := Mark{Percent: p, Target: (p*required + 99) / 100}
		for _, pt := range series {
			if pt.Counted >= m.Target {
				m.Date = datePtr(pt.Date)
				break
			}
		}
		out = append(out, m)
	}
	return out
}

// describeRule summarizes a clause: rule is the clause as applied (with a
// parent's date folded into NotBefore), orig the clause as written.
func describeRule(rule, orig events.Rule, required int) string {
	var b strings.Builder
	switch {
	case orig.Fraction != nil && required > 0:
		fmt.Fprintf(&b, "%s (%d instruments)", orig.Fraction, required)
	case orig.Fraction != nil:
		fmt.Fprintf(&b, "%s (parent unknown)", orig.Fraction)
	default:
		fmt.Fprintf(&b, "%d instruments", required)
	}
	if len(rule.Counts) > 0 {
		kinds := make([]string, len(rule.Counts))
		for i, k := range rule.Counts {
			kinds[i] = string(k)
		}
		fmt.Fprintf(&b, " of %s", strings.Join(kinds, ", "))
	}
	if !rule.RegionalOrganizationsAdditional {
		b.WriteString(" (regional organizations not additional)")
	}
	if g := rule.Group; g != nil {
		fmt.Fprintf(&b, "; at least %d of the %d States of %s", g.AtLeast, len(g.Members), g.Name)
	}
	if s := rule.Share; s != nil {
		fmt.Fprintf(&b, "; %s at least %g", s.Name, s.AtLeast)
	}
	fmt.Fprintf(&b, "; in force %s after the threshold", rule.Delay)
	if !orig.NotBefore.IsZero() {
		fmt.Fprintf(&b, ", not before %s", orig.NotBefore)
	}
	if rule.NotBefore != orig.NotBefore {
		fmt.Fprintf(&b, ", not before the parent (%s)", rule.NotBefore)
	}
	if later := rule.LaterPeriod(); later != rule.Delay {
		fmt.Fprintf(&b, "; later parties %s after deposit", later)
	}
	return b.String()
}
