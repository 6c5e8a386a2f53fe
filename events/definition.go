package events

import (
	"fmt"
	"slices"
)

// Definition is a treaty as treatywatch knows it: identity, dates, and the
// rules that decide signatures, consents and entry into force. It is the
// parsed form of a treaty definition file (see README for the YAML) and
// the payload of treaty.registered.
type Definition struct {
	ID                string     `json:"id"`
	Title             string     `json:"title"`
	ShortTitle        string     `json:"short_title,omitempty"`
	Depositary        string     `json:"depositary,omitempty"`
	Adopted           Date       `json:"adopted,omitzero"`
	Signature         *Window    `json:"signature,omitempty"`
	RequiresSignature bool       `json:"requires_signature"`
	EntryIntoForce    Rule       `json:"entry_into_force"`
	Withdrawal        Withdrawal `json:"withdrawal,omitzero"`
	// Parent is the id of the treaty a protocol or amendment belongs to.
	Parent string `json:"parent,omitempty"`
	// Clause quotes the entry-into-force clause; Sources say where the
	// definition's facts were read.
	Clause  string   `json:"clause,omitempty"`
	Sources []string `json:"sources,omitempty"`
}

// Window is a signature window; a zero Closes means open-ended.
type Window struct {
	Opens  Date `json:"opens,omitzero"`
	Closes Date `json:"closes,omitzero"`
}

// Contains reports whether d is inside the window (both ends included).
func (w *Window) Contains(d Date) bool {
	if w == nil {
		return true
	}
	if !w.Opens.IsZero() && d.Before(w.Opens) {
		return false
	}
	if !w.Closes.IsZero() && d.After(w.Closes) {
		return false
	}
	return true
}

// Withdrawal says when a denunciation takes effect.
type Withdrawal struct {
	TakesEffect Period `json:"takes_effect,omitzero"`
}

// Rule is an entry-into-force clause.
type Rule struct {
	// Instruments is how many qualifying instruments are needed. When
	// Fraction is set, it is computed from the parent's parties instead.
	Instruments int `json:"instruments,omitempty"`
	// Fraction, for amendments: "3/4 of parent parties" on the adoption date.
	Fraction *Fraction `json:"fraction,omitempty"`
	// Counts lists the kinds of instrument that count; empty means every
	// consent kind.
	Counts []Action `json:"counts,omitempty"`
	// RegionalOrganizationsAdditional: whether a regional economic
	// integration organization's instrument counts in addition to its
	// member States'.
	RegionalOrganizationsAdditional bool `json:"regional_organizations_additional"`
	// Group is an extra condition: at least K instruments from a group.
	Group *Group `json:"group,omitempty"`
	// Share is an extra condition: a weighted share (emissions, tonnage).
	Share *Share `json:"share,omitempty"`
	// Delay runs from the threshold date to general entry into force.
	Delay Period `json:"delay"`
	// NotBefore is the earliest possible date of entry into force.
	NotBefore Date `json:"not_before,omitzero"`
	// LaterParties runs from a later instrument's deposit to its entry
	// into force for that participant; nil means the same as Delay.
	LaterParties *Period `json:"later_parties,omitempty"`
}

// Fraction is "Num/Den of parent parties".
type Fraction struct {
	Num int `json:"num"`
	Den int `json:"den"`
}

// Of returns ceil(n * Num / Den): how many of n parties make the fraction.
func (f Fraction) Of(n int) int {
	if f.Den == 0 {
		return 0
	}
	return (n*f.Num + f.Den - 1) / f.Den
}

// String formats f as the YAML writes it.
func (f Fraction) String() string { return fmt.Sprintf("%d/%d of parent parties", f.Num, f.Den) }

// Group is "at least AtLeast instruments from Members".
type Group struct {
	Name    string   `json:"name"`
	AtLeast int      `json:"at_least"`
	Members []string `json:"members"` // canonical names
}

// Share is "instruments whose weights add up to at least AtLeast".
type Share struct {
	Name    string             `json:"name"`
	AtLeast float64            `json:"at_least"`
	Weights map[string]float64 `json:"weights"` // canonical name → weight
}

// Counts reports whether an instrument of kind a counts toward the rule.
func (r Rule) CountsKind(a Action) bool {
	if !a.IsConsent() {
		return false
	}
	if len(r.Counts) == 0 {
		return true
	}
	return slices.Contains(r.Counts, a)
}

// LaterPeriod returns the period for participants bound after the
// threshold date: LaterParties, or Delay when unset.
func (r Rule) LaterPeriod() Period {
	if r.LaterParties != nil {
		return *r.LaterParties
	}
	return r.Delay
}

// Validate checks what a definition must hold whatever its source. The
// YAML parser reports the same problems with line numbers first.
func (d Definition) Validate() error {
	if d.ID == "" {
		return &InvalidError{Field: "id", Reason: "is required"}
	}
	if d.Title == "" {
		return &InvalidError{Field: "title", Reason: "is required"}
	}
	r := d.EntryIntoForce
	if r.Instruments <= 0 && r.Fraction == nil {
		return &InvalidError{Field: "entry_into_force.instruments", Reason: "must be a positive number or \"N/M of parent parties\""}
	}
	if r.Fraction != nil && d.Parent == "" {
		return &InvalidError{Field: "entry_into_force.instruments", Reason: "a fraction of parent parties needs a parent"}
	}
	if r.Delay.IsZero() && r.Delay.Unit == "" {
		return &InvalidError{Field: "entry_into_force.delay", Reason: "is required"}
	}
	for _, k := range r.Counts {
		if !k.IsConsent() {
			return &InvalidError{Field: "entry_into_force.counts", Reason: fmt.Sprintf("%q is not a kind of consent to be bound", k)}
		}
	}
	if w := d.Signature; w != nil && !w.Opens.IsZero() && !w.Closes.IsZero() && w.Closes.Before(w.Opens) {
		return &InvalidError{Field: "signature", Reason: fmt.Sprintf("closes %s before it opens %s", w.Closes, w.Opens)}
	}
	if g := r.Group; g != nil && (g.AtLeast <= 0 || g.AtLeast > len(g.Members)) {
		return &InvalidError{Field: "entry_into_force.group.at_least", Reason: fmt.Sprintf("must be between 1 and the %d members", len(g.Members))}
	}
	if s := r.Share; s != nil && (s.AtLeast <= 0 || len(s.Weights) == 0) {
		return &InvalidError{Field: "entry_into_force.share", Reason: "needs a positive at_least and weights"}
	}
	if d.Parent == d.ID {
		return &InvalidError{Field: "parent", Reason: "a treaty cannot be its own parent"}
	}
	return nil
}

// Name returns the short title, or the title when there is none.
func (d Definition) Name() string {
	if d.ShortTitle != "" {
		return d.ShortTitle
	}
	return d.Title
}
