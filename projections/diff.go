package projections

import (
	"fmt"
	"sort"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// ChangeKind says what a Change is about.
type ChangeKind string

// Change kinds, in the order Diff reports changes of the same date.
const (
	// ChangeSignature: a participant's signature.
	ChangeSignature ChangeKind = "signature"
	// ChangeDeposit: a consent to be bound (Action says which kind).
	ChangeDeposit ChangeKind = "deposit"
	// ChangeProvisionalApplication: a declaration of provisional
	// application.
	ChangeProvisionalApplication ChangeKind = "provisional-application"
	// ChangeWithdrawalNotified: a denunciation or withdrawal was notified;
	// ToDate is the date it takes effect.
	ChangeWithdrawalNotified ChangeKind = "withdrawal-notified"
	// ChangeWithdrawalEffective: a notified withdrawal took effect.
	ChangeWithdrawalEffective ChangeKind = "withdrawal-effective"
	// ChangeParticipantInForce: the treaty entered into force for a
	// participant (Date), or that date changed.
	ChangeParticipantInForce ChangeKind = "participant-in-force"
	// ChangeThresholdMet: every condition of the clause holds from Date.
	ChangeThresholdMet ChangeKind = "threshold-met"
	// ChangeEntryIntoForceDate: the general date of entry into force was
	// computed (ToDate), changed (FromDate → ToDate) or is no longer known.
	ChangeEntryIntoForceDate ChangeKind = "entry-into-force-date"
	// ChangeInForce: the treaty entered into force (on Date), or, after a
	// correction, is no longer said to be in force.
	ChangeInForce ChangeKind = "in-force"
	// ChangeCondition: the progress of a weighted or group condition
	// (Field names it; From → To; FromDate and ToDate the dates it was
	// first met on each side, if it was). Undated, like counts.
	ChangeCondition ChangeKind = "condition"
	// ChangeCount: a number of the status (Field: required, counted,
	// signatories, parties, in_force_for; From → To).
	ChangeCount ChangeKind = "count"
)

// kindOrder orders changes of the same date.
var kindOrder = map[ChangeKind]int{
	ChangeSignature: 0, ChangeDeposit: 1, ChangeProvisionalApplication: 2, ChangeWithdrawalNotified: 3,
	ChangeWithdrawalEffective: 4, ChangeThresholdMet: 5, ChangeEntryIntoForceDate: 6, ChangeInForce: 7,
	ChangeParticipantInForce: 8, ChangeCondition: 9, ChangeCount: 10,
}

// ChangeOp says how a value changed between the two statuses.
type ChangeOp string

// Change operations.
const (
	// Added: the value is new (a signature, a deposit, a date computed).
	Added ChangeOp = "added"
	// Removed: the value is gone — a correction or a retraction (or, for
	// a count, never: counts are Changed).
	Removed ChangeOp = "removed"
	// Changed: the value is there on both sides and differs.
	Changed ChangeOp = "changed"
)

// Change is one difference between two statuses of a treaty.
type Change struct {
	Kind ChangeKind `json:"kind"`
	Op   ChangeOp   `json:"op"`
	// Participant is the canonical name, for a participant's change.
	Participant string `json:"participant,omitempty"`
	// Action is the kind of a deposit (on the later side; FromAction the
	// kind on the earlier side when a correction changed it).
	Action     events.Action `json:"action,omitempty"`
	FromAction events.Action `json:"from_action,omitempty"`
	// Date is when the change happened in the world: the date of the act,
	// of the threshold, of entry into force; for a removed value, its date
	// on the earlier side. Nil only for counts.
	Date *events.Date `json:"date"`
	// FromDate and ToDate are the earlier and later values of a date that
	// changed or was computed (for ChangeWithdrawalNotified, ToDate is the
	// date the withdrawal takes effect).
	FromDate *events.Date `json:"from_date,omitempty"`
	ToDate   *events.Date `json:"to_date,omitempty"`
	// Field names the number or condition of a ChangeCount or
	// ChangeCondition; From and To are its earlier and later values.
	Field string   `json:"field,omitempty"`
	From  *float64 `json:"from,omitempty"`
	To    *float64 `json:"to,omitempty"`
}

// DiffPoint is one side of a Diff: the as-of date and, when the history
// was folded as the ledger knew it at a moment, that moment.
type DiffPoint struct {
	AsOf    events.Date `json:"as_of"`
	KnownAt *time.Time  `json:"known_at"`
}

// Diff is what changed in a treaty's status between two points: two
// as-of dates (what happened in the world in between), two known-at
// moments (what corrections and retractions changed in what the ledger
// said), or both.
type Diff struct {
	Treaty string    `json:"treaty"`
	From   DiffPoint `json:"from"`
	To     DiffPoint `json:"to"`
	// Changes are sorted by Date, then kind (ChangeKind's order) and
	// participant; undated ones (counts, a condition not met) come last. Empty, never nil, when nothing changed.
	Changes []Change `json:"changes"`
}

// SpanError is a diff asked backwards: from after to, on either axis. It
// wraps events.ErrInvalid.
type SpanError struct {
	// Axis is "as_of" or "known_at".
	Axis     string
	From, To string
}

func (e *SpanError) Error() string {
	return fmt.Sprintf("%s: the earlier side, %s, is after the later side, %s: give the earlier one first", e.Axis, e.From, e.To)
}

// Unwrap returns events.ErrInvalid.
func (e *SpanError) Unwrap() error { return events.ErrInvalid }

// CheckSpan returns a *SpanError when from lies after to on either axis
// (a zero known-at time means "now", the latest): the check a caller makes
// before computing the two statuses of a Diff.
func CheckSpan(fromAsOf, toAsOf events.Date, fromKnown, toKnown time.Time) error {
	if fromAsOf.After(toAsOf) {
		return &SpanError{Axis: "as_of", From: fromAsOf.String(), To: toAsOf.String()}
	}
	switch {
	case toKnown.IsZero(): // now: the latest
	case fromKnown.IsZero():
		return &SpanError{Axis: "known_at", From: "now", To: toKnown.UTC().Format(time.RFC3339)}
	case fromKnown.After(toKnown):
		return &SpanError{Axis: "known_at", From: fromKnown.UTC().Format(time.RFC3339), To: toKnown.UTC().Format(time.RFC3339)}
	}
	return nil
}

// DiffStatuses returns what changed from before to after, two statuses of
// the same treaty (Compute, StatusFromLog): for each participant its
// signature, deposits (a new consent, a kind or date corrected), provisional
// application, withdrawals notified and taking effect, and entry into force
// for it within the span; for the treaty its threshold, its date of entry
// into force, entering into force, its weighted or group conditions and its
// numbers (required, counted, signatories, parties, in force for). It is a
// pure function of its arguments.
//
// A participant's entry into force is reported when it falls between the
// two as-of dates (in force for it on after.AsOf, not on before.AsOf), or
// when a correction moved its date; a date still in the future is part of
// the general date, reported once.
func DiffStatuses(before, after Status) Diff {
	d := Diff{
		Treaty:  after.Treaty,
		From:    DiffPoint{AsOf: before.AsOf, KnownAt: before.KnownAt},
		To:      DiffPoint{AsOf: after.AsOf, KnownAt: after.KnownAt},
		Changes: []Change{},
	}
	add := func(c Change) { d.Changes = append(d.Changes, c) }

	rowsB := map[string]*Participation{}
	for i := range before.Participants {
		rowsB[before.Participants[i].Participant] = &before.Participants[i]
	}
	seen := map[string]bool{}
	var names []string
	for _, p := range after.Participants {
		names = append(names, p.Participant)
		seen[p.Participant] = true
	}
	for _, p := range before.Participants {
		if !seen[p.Participant] {
			names = append(names, p.Participant)
		}
	}
	rowsA := map[string]*Participation{}
	for i := range after.Participants {
		rowsA[after.Participants[i].Participant] = &after.Participants[i]
	}
	for _, name := range names {
		b, a := rowsB[name], rowsA[name]
		if b == nil {
			b = &Participation{Participant: name}
		}
		if a == nil {
			a = &Participation{Participant: name}
		}
		diffParticipant(before.AsOf, after.AsOf, *b, *a, add)
	}

	diffDate(ChangeThresholdMet, "", before.ThresholdMetOn, after.ThresholdMetOn, add)
	if !sameDate(before.EntryIntoForce, after.EntryIntoForce) {
		c := Change{Kind: ChangeEntryIntoForceDate, FromDate: before.EntryIntoForce, ToDate: after.EntryIntoForce}
		switch {
		case before.EntryIntoForce == nil:
			c.Op, c.Date = Added, after.ThresholdMetOn
		case after.EntryIntoForce == nil:
			c.Op, c.Date = Removed, before.EntryIntoForce
		default:
			c.Op, c.Date = Changed, after.ThresholdMetOn
		}
		if c.Date == nil {
			c.Date = c.ToDate
		}
		add(c)
	}
	switch {
	case !before.InForce && after.InForce:
		add(Change{Kind: ChangeInForce, Op: Added, Date: after.EntryIntoForce})
	case before.InForce && !after.InForce:
		add(Change{Kind: ChangeInForce, Op: Removed, Date: before.EntryIntoForce})
	}

	condsB := map[string]Condition{}
	for _, c := range before.Conditions {
		condsB[c.Kind+"|"+c.Name] = c
	}
	for _, c := range after.Conditions {
		if c.Kind == ConditionCount {
			continue // the count is reported with the numbers
		}
		old := condsB[c.Kind+"|"+c.Name]
		if old.Have != c.Have || old.Need != c.Need {
			add(Change{Kind: ChangeCondition, Op: Changed, Field: c.Name, From: num(old.Have), To: num(c.Have), FromDate: old.MetOn, ToDate: c.MetOn})
		}
	}

	for _, n := range []struct {
		field    string
		from, to int
	}{
		{"required", before.Required, after.Required},
		{"counted", before.Counted, after.Counted},
		{"signatories", before.Signatories, after.Signatories},
		{"parties", before.Parties, after.Parties},
		{"in_force_for", before.InForceFor, after.InForceFor},
	} {
		if n.from != n.to {
			add(Change{Kind: ChangeCount, Op: Changed, Field: n.field, From: num(float64(n.from)), To: num(float64(n.to))})
		}
	}

	sort.SliceStable(d.Changes, func(i, j int) bool {
		a, b := d.Changes[i], d.Changes[j]
		if (a.Date == nil) != (b.Date == nil) {
			return b.Date == nil
		}
		if a.Date != nil && *a.Date != *b.Date {
			return a.Date.Before(*b.Date)
		}
		if kindOrder[a.Kind] != kindOrder[b.Kind] {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		return events.Normalize(a.Participant) < events.Normalize(b.Participant)
	})
	return d
}

// tenureOf is one consent of a participant with what followed from it.
type tenureOf struct {
	consent             Consent
	eif                 *events.Date
	notified, effective *events.Date
}

// tenures lists a participant's consents, earlier (withdrawn) ones first.
func tenures(p Participation) []tenureOf {
	var out []tenureOf
	for _, t := range p.Earlier {
		n, e := t.WithdrawalNotified, t.WithdrawalEffective
		out = append(out, tenureOf{consent: t.Consent, eif: t.EntryIntoForce, notified: &n, effective: &e})
	}
	if p.Consent != nil {
		out = append(out, tenureOf{consent: *p.Consent, eif: p.EntryIntoForce, notified: p.WithdrawalNotified, effective: p.WithdrawalEffective})
	}
	return out
}

func diffParticipant(fromAsOf, toAsOf events.Date, b, a Participation, add func(Change)) {
	name := a.Participant
	diffDate(ChangeSignature, name, b.Signature, a.Signature, add)
	var pb, pa *events.Date
	if b.ProvisionalApplication != nil {
		pb = &b.ProvisionalApplication.Date
	}
	if a.ProvisionalApplication != nil {
		pa = &a.ProvisionalApplication.Date
	}
	diffDate(ChangeProvisionalApplication, name, pb, pa, add)

	tb, ta := tenures(b), tenures(a)
	for i := 0; i < max(len(tb), len(ta)); i++ {
		var ob, oa *tenureOf
		if i < len(tb) {
			ob = &tb[i]
		}
		if i < len(ta) {
			oa = &ta[i]
		}
		switch {
		case ob == nil:
			add(Change{Kind: ChangeDeposit, Op: Added, Participant: name, Action: oa.consent.Kind, Date: ptr(oa.consent.Date)})
			ob = &tenureOf{}
		case oa == nil:
			add(Change{Kind: ChangeDeposit, Op: Removed, Participant: name, Action: ob.consent.Kind, Date: ptr(ob.consent.Date)})
			continue
		case ob.consent.Kind != oa.consent.Kind || ob.consent.Date != oa.consent.Date:
			c := Change{Kind: ChangeDeposit, Op: Changed, Participant: name, Action: oa.consent.Kind, Date: ptr(oa.consent.Date), FromDate: ptr(ob.consent.Date), ToDate: ptr(oa.consent.Date)}
			if ob.consent.Kind != oa.consent.Kind {
				c.FromAction = ob.consent.Kind
			}
			add(c)
		}
		// Withdrawal notified (or its date corrected, or retracted).
		switch {
		case ob.notified == nil && oa.notified != nil:
			add(Change{Kind: ChangeWithdrawalNotified, Op: Added, Participant: name, Action: events.Denunciation, Date: oa.notified, ToDate: oa.effective})
		case ob.notified != nil && oa.notified == nil:
			add(Change{Kind: ChangeWithdrawalNotified, Op: Removed, Participant: name, Action: events.Denunciation, Date: ob.notified, FromDate: ob.effective})
		case ob.notified != nil && *ob.notified != *oa.notified:
			add(Change{Kind: ChangeWithdrawalNotified, Op: Changed, Participant: name, Action: events.Denunciation, Date: oa.notified, FromDate: ob.notified, ToDate: oa.notified})
		}
		// Withdrawal taking effect within the span.
		wasOut := ob.effective != nil && !ob.effective.After(fromAsOf)
		isOut := oa.effective != nil && !oa.effective.After(toAsOf)
		switch {
		case !wasOut && isOut:
			add(Change{Kind: ChangeWithdrawalEffective, Op: Added, Participant: name, Date: oa.effective})
		case wasOut && !isOut && oa.notified != nil:
			// The effective date moved past the later as-of date (a correction).
			add(Change{Kind: ChangeWithdrawalEffective, Op: Changed, Participant: name, Date: oa.effective, FromDate: ob.effective, ToDate: oa.effective})
		case wasOut && !isOut:
			add(Change{Kind: ChangeWithdrawalEffective, Op: Removed, Participant: name, Date: ob.effective})
		}
		// Entry into force for the participant.
		wasIn := ob.eif != nil && !ob.eif.After(fromAsOf)
		isIn := oa.eif != nil && !oa.eif.After(toAsOf)
		switch {
		case !wasIn && isIn:
			add(Change{Kind: ChangeParticipantInForce, Op: Added, Participant: name, Date: oa.eif})
		case wasIn && isIn && *ob.eif != *oa.eif:
			add(Change{Kind: ChangeParticipantInForce, Op: Changed, Participant: name, Date: oa.eif, FromDate: ob.eif, ToDate: oa.eif})
		case wasIn && !isIn:
			c := Change{Kind: ChangeParticipantInForce, Op: Removed, Participant: name, Date: ob.eif, FromDate: ob.eif, ToDate: oa.eif}
			if oa.eif != nil {
				c.Op = Changed
			}
			add(c)
		}
	}
}

// diffDate reports a date that appeared, disappeared or moved.
func diffDate(kind ChangeKind, participant string, b, a *events.Date, add func(Change)) {
	switch {
	case sameDate(b, a):
	case b == nil:
		add(Change{Kind: kind, Op: Added, Participant: participant, Date: a})
	case a == nil:
		add(Change{Kind: kind, Op: Removed, Participant: participant, Date: b})
	default:
		add(Change{Kind: kind, Op: Changed, Participant: participant, Date: a, FromDate: b, ToDate: a})
	}
}

func sameDate(a, b *events.Date) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func ptr(d events.Date) *events.Date { return &d }

func num(f float64) *float64 { return &f }
