package events

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Fact is an act as it stands after the corrections and retractions
// recorded so far: the act, plus where it came from.
type Fact struct {
	Act
	// Position is the global position of the original act; corrections
	// keep it, so "the act at position N" stays one thing.
	Position int64 `json:"position"`
	// Reference and Source come from the act's metadata (or its latest
	// correction's, when that names a reference).
	Reference string `json:"reference,omitempty"`
	Source    string `json:"source,omitempty"`
	// RecordedAt is when the original act was recorded.
	RecordedAt time.Time `json:"recorded_at"`
	// CorrectedBy is the position of the latest correction applied, 0 if none.
	CorrectedBy int64 `json:"corrected_by,omitempty"`
}

// History is one treaty stream folded as known at some moment: the latest
// definition and the effective acts. Decisions read it; projections fold
// it further. The zero History is an unregistered treaty. Build it with
// Apply (in log order) or Fold.
type History struct {
	// Registered is true once treaty.registered has been applied.
	Registered bool
	// Definition is the latest known definition.
	Definition Definition
	// Version is the stream version of the last applied event.
	Version int64
	// LastPosition is the global position of the last applied event.
	LastPosition int64
	// Registration is the metadata of the treaty.registered event: who
	// registered the treaty ("seed" for the shipped seed) and from where.
	Registration Metadata
	// RegisteredAt is the recorded time of the treaty.registered event.
	RegisteredAt time.Time

	facts   []Fact        // in log order; retracted ones have Position < 0
	index   map[int64]int // act or correction position → index in facts
	parties map[string]*Standing
	byP     map[string][]int // participant → indices in facts
	// originals keeps, for a corrected act, the act as first recorded.
	originals map[int64]Act
}

// Standing is one participant's effective standing in a treaty: its
// signature, its consent to be bound, its denunciation. Positions point
// into History.Facts.
type Standing struct {
	Signature    *Fact
	Consent      *Fact
	Denunciation *Fact
}

// Fold applies the events of one treaty stream recorded at or before
// knownAt (all of them when knownAt is zero) to an empty History.
func Fold(reg *Registry, stream []Envelope, knownAt time.Time) (*History, error) {
	h := &History{}
	for _, e := range stream {
		if !knownAt.IsZero() && e.RecordedAt.After(knownAt) {
			continue
		}
		p, err := reg.Decode(e)
		if err != nil {
			return nil, err
		}
		if err := h.Apply(e, p); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Apply folds one event, decoded into p, into the history. It accepts the
// events of one stream in version order.
func (h *History) Apply(e Envelope, p Payload) error {
	if h.index == nil {
		h.index = map[int64]int{}
		h.parties = map[string]*Standing{}
		h.byP = map[string][]int{}
	}
	h.Version, h.LastPosition = e.Version, e.Position
	switch v := p.(type) {
	case *TreatyRegistered:
		h.Registered, h.Definition, h.Registration, h.RegisteredAt = true, v.Definition, e.Meta, e.RecordedAt
	case *TreatyAmended:
		h.Definition = v.Definition
	case *Act:
		h.index[e.Position] = len(h.facts)
		h.byP[v.Participant] = append(h.byP[v.Participant], len(h.facts))
		h.facts = append(h.facts, Fact{Act: *v, Position: e.Position, Reference: e.Meta.Reference, Source: e.Meta.Source, RecordedAt: e.RecordedAt})
		h.stand(h.facts[len(h.facts)-1])
	case *ActCorrected:
		i, ok := h.index[v.Supersedes]
		if !ok || h.facts[i].Position < 0 {
			return fmt.Errorf("position %d corrects %d, which is not a live act of this stream", e.Position, v.Supersedes)
		}
		old := h.facts[i].Participant
		f := &h.facts[i]
		if f.CorrectedBy == 0 {
			if h.originals == nil {
				h.originals = map[int64]Act{}
			}
			h.originals[f.Position] = f.Act
		}
		f.Act, f.CorrectedBy = v.Act, e.Position
		if v.Reference != "" {
			f.Reference = v.Reference
		}
		if e.Meta.Source != "" {
			f.Source = e.Meta.Source
		}
		h.index[e.Position] = i
		if old != v.Act.Participant {
			h.byP[old] = removeIndex(h.byP[old], i)
			h.byP[v.Act.Participant] = append(h.byP[v.Act.Participant], i)
		}
		h.restand(old)
		h.restand(v.Act.Participant)
	case *ActRetracted:
		i, ok := h.index[v.Supersedes]
		if !ok || h.facts[i].Position < 0 {
			return fmt.Errorf("position %d retracts %d, which is not a live act of this stream", e.Position, v.Supersedes)
		}
		h.facts[i].Position = -h.facts[i].Position
		h.restand(h.facts[i].Participant)
	}
	return nil
}

// stand updates a participant's standing with one new live fact, the
// incremental form of restand for appends.
func (h *History) stand(f Fact) {
	if f.Action != Signature && !f.Action.IsConsent() && f.Action != Denunciation {
		return
	}
	old := h.parties[f.Participant]
	s := &Standing{}
	if old != nil {
		*s = *old
	}
	c := f
	switch {
	case f.Action == Signature:
		if s.Signature == nil || f.Date.Before(s.Signature.Date) {
			s.Signature = &c
		}
	case f.Action.IsConsent():
		if s.Consent == nil || !f.Date.Before(s.Consent.Date) {
			s.Consent = &c
		}
	default:
		if s.Denunciation == nil || !f.Date.Before(s.Denunciation.Date) {
			s.Denunciation = &c
		}
	}
	if s.Denunciation != nil && s.Consent != nil && s.Denunciation.Date.Before(s.Consent.Date) {
		// An earlier denunciation may matter again if the consent is
		// later corrected away; restand recomputes from all facts then.
		s.Denunciation = nil
	}
	h.parties[f.Participant] = s
}

// restand recomputes a participant's standing from its live facts.
func (h *History) restand(participant string) {
	s := &Standing{}
	for _, i := range h.byP[participant] {
		c := h.facts[i] // a copy: facts may be reallocated later
		f := &c
		if f.Position < 0 {
			continue
		}
		switch {
		case f.Action == Signature:
			if s.Signature == nil || f.Date.Before(s.Signature.Date) {
				s.Signature = f
			}
		case f.Action.IsConsent():
			// The latest consent is the standing one: an earlier one may
			// have been denounced.
			if s.Consent == nil || !f.Date.Before(s.Consent.Date) {
				s.Consent = f
			}
		case f.Action == Denunciation:
			if s.Denunciation == nil || !f.Date.Before(s.Denunciation.Date) {
				s.Denunciation = f
			}
		}
	}
	// A denunciation older than the standing consent was undone by it.
	if s.Denunciation != nil && s.Consent != nil && s.Denunciation.Date.Before(s.Consent.Date) {
		s.Denunciation = nil
	}
	if s.Signature == nil && s.Consent == nil && s.Denunciation == nil {
		delete(h.parties, participant)
		return
	}
	h.parties[participant] = s
}

// Facts returns the live facts (not retracted) in log order.
func (h *History) Facts() []Fact {
	out := make([]Fact, 0, len(h.facts))
	for _, f := range h.facts {
		if f.Position > 0 {
			out = append(out, f)
		}
	}
	return out
}

// EachFact calls fn with each live fact, in log order, without copying
// them; fn must not modify the fact nor keep the pointer beyond the call's
// lifetime of the History.
func (h *History) EachFact(fn func(f *Fact)) {
	for i := range h.facts {
		if h.facts[i].Position > 0 {
			fn(&h.facts[i])
		}
	}
}

// EachParticipant calls fn once for each participant with a live fact,
// in no particular order, with its live facts in log order that keep
// accepts (nil accepts all); a participant none of whose facts is
// accepted is skipped. The slice is fn's to keep.
func (h *History) EachParticipant(keep func(f *Fact) bool, fn func(participant string, facts []*Fact)) {
	for name, idx := range h.byP {
		if !slices.IsSorted(idx) { // a correction moved a fact to this participant
			idx = slices.Sorted(slices.Values(idx))
		}
		var facts []*Fact
		for _, i := range idx {
			if f := &h.facts[i]; f.Position > 0 && (keep == nil || keep(f)) {
				if facts == nil {
					facts = make([]*Fact, 0, len(idx))
				}
				facts = append(facts, f)
			}
		}
		if facts != nil {
			fn(name, facts)
		}
	}
}

// EachRecorded calls fn with every act the stream has ever recorded, in
// log order: each act as it stands now (retracted ones included) and, for
// a corrected act, also as it was first recorded. It tells whether an act
// was ever recorded, whatever became of it since (the seed imports only
// rows the ledger never held).
func (h *History) EachRecorded(fn func(a Act)) {
	for i := range h.facts {
		f := &h.facts[i]
		fn(f.Act)
		pos := f.Position
		if pos < 0 { // retracted
			pos = -pos
		}
		if orig, ok := h.originals[pos]; ok {
			fn(orig)
		}
	}
}

// Fact returns the live fact recorded (or last corrected) at position pos.
func (h *History) Fact(pos int64) (Fact, bool) {
	i, ok := h.index[pos]
	if !ok || h.facts[i].Position < 0 {
		return Fact{}, false
	}
	return h.facts[i], true
}

// Standing returns a participant's standing; nil if it has done nothing
// that counts.
func (h *History) Standing(participant string) *Standing { return h.parties[participant] }

// Participants returns the names of participants with a standing, sorted.
func (h *History) Participants() []string {
	out := make([]string, 0, len(h.parties))
	for p := range h.parties {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// BoundOn reports whether a participant is bound on date d: it consented
// on or before d, and no denunciation has taken effect by d.
func (h *History) BoundOn(participant string, d Date) bool {
	s := h.parties[participant]
	if s == nil || s.Consent == nil || s.Consent.Date.After(d) {
		return false
	}
	if s.Denunciation != nil {
		eff := h.WithdrawalEffective(s.Denunciation.Date)
		if !eff.After(d) {
			return false
		}
	}
	return true
}

// WithdrawalEffective returns the date a denunciation notified on notified
// takes effect under the treaty's withdrawal clause, or under the Vienna
// Convention's default of twelve months when it has none
// (Withdrawal.Period).
func (h *History) WithdrawalEffective(notified Date) Date {
	return h.Definition.Withdrawal.Period().After(notified)
}

func removeIndex(list []int, i int) []int {
	out := list[:0]
	for _, j := range list {
		if j != i {
			out = append(out, j)
		}
	}
	return out
}
