package events

import (
	"fmt"
	"math"
	"slices"
	"strings"
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

// Withdrawal says when a denunciation takes effect. A zero Withdrawal is a
// treaty without a withdrawal clause: a denunciation then takes effect
// under the Vienna Convention's default (Period, Rule).
type Withdrawal struct {
	TakesEffect Period `json:"takes_effect,omitzero"`
}

// ViennaDefaultRule labels the period a denunciation takes effect after
// when the treaty has no withdrawal clause: the Vienna Convention on the
// Law of Treaties, art. 56(2), asks for not less than twelve months'
// notice of a denunciation of a treaty that provides for none.
const ViennaDefaultRule = "Vienna Convention art. 56(2) default: 12 months"

// Period returns the period after its notification at which a
// denunciation takes effect: TakesEffect, or twelve months (the Vienna
// Convention's art. 56(2) default) when the treaty sets none.
func (w Withdrawal) Period() Period {
	if w.TakesEffect.IsZero() {
		return Period{N: 12, Unit: Months}
	}
	return w.TakesEffect
}

// Rule says which rule Period applies, for people: "treaty clause: 1 year
// after notification", or ViennaDefaultRule.
func (w Withdrawal) Rule() string {
	if w.TakesEffect.IsZero() {
		return ViennaDefaultRule
	}
	return "treaty clause: " + w.TakesEffect.String() + " after notification"
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

// Bounds of a definition's numbers and lists. No treaty needs more
// instruments than there are States (the reference list has 198
// participants); a share is a percentage.
const (
	MaxInstruments  = 1000
	MaxFractionDen  = 100
	MaxSharePercent = 100.0
	MaxSources      = 100
	MaxGroupMembers = 1000
	MaxShareWeights = 1000
)

// Validate checks what a definition must hold whatever its source: a
// treaty id and a parent id in the grammar of ids (CheckTreatyID), every
// text field acceptable text (CheckText: titles, depositary and sources one
// line each, the clause free text), instruments between 1 and
// MaxInstruments (or a fraction N/M with 1 <= N <= M <= MaxFractionDen),
// periods within their bounds (Period.Validate), a group's at_least
// between 1 and its size, a share's at_least above 0 and at most 100 (a
// percentage) and no more than all its weights together, weights between 0
// and 100, and a signature window that closes after it opens and opens no
// earlier than the adoption. Each refusal wraps ErrInvalid and names the
// field by its path in the YAML ("entry_into_force.delay"). The YAML parser
// reports the same problems with line numbers first. What needs the ledger
// (a known parent, an adoption not after today) is DecideDefinition's.
func (d Definition) Validate() error {
	if d.ID == "" {
		return &InvalidError{Field: "id", Reason: "is required"}
	}
	if err := CheckTreatyID("id", d.ID); err != nil {
		return err
	}
	if d.Title == "" {
		return &InvalidError{Field: "title", Reason: "is required"}
	}
	for _, f := range []struct {
		field, text string
		kind        TextKind
	}{
		{"title", d.Title, LineText},
		{"short_title", d.ShortTitle, LineText},
		{"depositary", d.Depositary, LineText},
		{"clause", d.Clause, FreeText},
	} {
		if err := CheckText(f.field, f.text, f.kind); err != nil {
			return err
		}
		if strings.TrimSpace(f.text) != f.text {
			return &InvalidError{Field: f.field, Reason: "has spaces around it"}
		}
	}
	if d.Parent != "" {
		if err := CheckTreatyID("parent", d.Parent); err != nil {
			return err
		}
		if d.Parent == d.ID {
			return &InvalidError{Field: "parent", Reason: "a treaty cannot be its own parent"}
		}
	}
	if len(d.Sources) > MaxSources {
		return &InvalidError{Field: "sources", Reason: fmt.Sprintf("lists %d sources; at most %d are allowed", len(d.Sources), MaxSources)}
	}
	for i, src := range d.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		if strings.TrimSpace(src) == "" {
			return &InvalidError{Field: field, Reason: "is empty"}
		}
		if err := CheckText(field, src, LineText); err != nil {
			return err
		}
	}
	if w := d.Signature; w != nil {
		if !w.Opens.IsZero() && !w.Closes.IsZero() && w.Closes.Before(w.Opens) {
			return &InvalidError{Field: "signature.closes", Reason: fmt.Sprintf("%s is before the window opens (%s)", w.Closes, w.Opens)}
		}
		if !w.Opens.IsZero() && !d.Adopted.IsZero() && w.Opens.Before(d.Adopted) {
			return &InvalidError{Field: "signature.opens", Reason: fmt.Sprintf("%s is before the treaty's adoption (%s): a treaty opens for signature once adopted", w.Opens, d.Adopted)}
		}
	}
	if err := d.Withdrawal.TakesEffect.Validate(); err != nil {
		return &InvalidError{Field: "withdrawal.takes_effect", Reason: err.Error()}
	}
	return d.EntryIntoForce.validate(d.Parent != "")
}

func (r Rule) validate(hasParent bool) error {
	const base = "entry_into_force."
	switch f := r.Fraction; {
	case f == nil && (r.Instruments <= 0 || r.Instruments > MaxInstruments):
		return &InvalidError{Field: base + "instruments", Reason: fmt.Sprintf("is %d; want a whole number from 1 to %d, or \"N/M of parent parties\"", r.Instruments, MaxInstruments)}
	case f != nil && !hasParent:
		return &InvalidError{Field: base + "instruments", Reason: "a fraction of parent parties needs a parent"}
	case f != nil && (f.Num < 1 || f.Den > MaxFractionDen || f.Num > f.Den):
		return &InvalidError{Field: base + "instruments", Reason: fmt.Sprintf("%d/%d is not a fraction N/M with 1 <= N <= M <= %d", f.Num, f.Den, MaxFractionDen)}
	case f != nil && r.Instruments != 0:
		return &InvalidError{Field: base + "instruments", Reason: "give a number or a fraction of parent parties, not both"}
	}
	if r.Delay.IsZero() && r.Delay.Unit == "" {
		return &InvalidError{Field: base + "delay", Reason: "is required"}
	}
	if err := r.Delay.Validate(); err != nil {
		return &InvalidError{Field: base + "delay", Reason: err.Error()}
	}
	if r.LaterParties != nil {
		if err := r.LaterParties.Validate(); err != nil {
			return &InvalidError{Field: base + "later_parties", Reason: err.Error()}
		}
	}
	for i, k := range r.Counts {
		if !k.IsConsent() {
			return &InvalidError{Field: fmt.Sprintf("%scounts[%d]", base, i), Reason: fmt.Sprintf("%q is not a kind of consent to be bound", clip(string(k)))}
		}
		if slices.Contains(r.Counts[:i], k) {
			return &InvalidError{Field: fmt.Sprintf("%scounts[%d]", base, i), Reason: fmt.Sprintf("%q is listed twice", k)}
		}
	}
	if g := r.Group; g != nil {
		if err := g.validate(base + "group"); err != nil {
			return err
		}
	}
	if s := r.Share; s != nil {
		if err := s.validate(base + "share"); err != nil {
			return err
		}
	}
	return nil
}

func (g *Group) validate(base string) error {
	if err := CheckName(base+".name", g.Name); err != nil {
		return err
	}
	if len(g.Members) > MaxGroupMembers {
		return &InvalidError{Field: base + ".members", Reason: fmt.Sprintf("lists %d members; at most %d are allowed", len(g.Members), MaxGroupMembers)}
	}
	for i, m := range g.Members {
		field := fmt.Sprintf("%s.members[%d]", base, i)
		if err := CheckName(field, m); err != nil {
			return err
		}
		if slices.Contains(g.Members[:i], m) {
			return &InvalidError{Field: field, Reason: fmt.Sprintf("%s is listed twice", m)}
		}
	}
	if g.AtLeast <= 0 || g.AtLeast > len(g.Members) {
		return &InvalidError{Field: base + ".at_least", Reason: fmt.Sprintf("is %d; want between 1 and the %d members listed", g.AtLeast, len(g.Members))}
	}
	return nil
}

func (s *Share) validate(base string) error {
	if err := CheckName(base+".name", s.Name); err != nil {
		return err
	}
	if math.IsNaN(s.AtLeast) || math.IsInf(s.AtLeast, 0) || s.AtLeast <= 0 || s.AtLeast > MaxSharePercent {
		return &InvalidError{Field: base + ".at_least", Reason: fmt.Sprintf("is %v; want a percentage above 0 and at most 100", s.AtLeast)}
	}
	if len(s.Weights) == 0 {
		return &InvalidError{Field: base + ".weights", Reason: "is empty: give each participant's weight"}
	}
	if len(s.Weights) > MaxShareWeights {
		return &InvalidError{Field: base + ".weights", Reason: fmt.Sprintf("lists %d weights; at most %d are allowed", len(s.Weights), MaxShareWeights)}
	}
	names := make([]string, 0, len(s.Weights))
	for name := range s.Weights {
		names = append(names, name)
	}
	slices.Sort(names)
	total := 0.0
	for _, name := range names {
		w := s.Weights[name]
		field := base + ".weights." + name
		if err := CheckName(base+".weights", name); err != nil {
			return err
		}
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 || w > MaxSharePercent {
			return &InvalidError{Field: field, Reason: fmt.Sprintf("weight %v is not a percentage from 0 to 100", w)}
		}
		total += w
	}
	if s.AtLeast > total+1e-9 {
		return &InvalidError{Field: base + ".at_least", Reason: fmt.Sprintf("is %v, more than all the weights together (%v): the condition could never be met", s.AtLeast, math.Round(total*1e6)/1e6)}
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
