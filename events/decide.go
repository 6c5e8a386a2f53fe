package events

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// RecordAct is the command to record a participant's act. The participant
// is already resolved to its canonical identity.
type RecordAct struct {
	Treaty      string
	Participant Participant
	Action      Action
	Date        Date
	Subject     string
	Note        string
	Meta        Metadata
}

// CorrectAct is the command to supersede the act at Position with a
// corrected one (a wrong date, participant or kind). The log keeps both.
type CorrectAct struct {
	Treaty   string
	Position int64
	Reason   string
	// Participant, Action and Date are the corrected values.
	Participant Participant
	Action      Action
	Date        Date
	Subject     string
	Note        string
	Meta        Metadata
}

// RetractAct is the command to withdraw the act at Position, recorded in
// error. The log keeps both.
type RetractAct struct {
	Treaty   string
	Position int64
	Reason   string
	Meta     Metadata
}

// DecideRecord decides whether the act c may be recorded in a treaty
// whose stream folds to h, given the parent treaty's history (nil when the
// treaty has no parent or the parent is not in the ledger) and today's
// date. It returns the act to append, or the typed refusal. It does no I/O.
func DecideRecord(h *History, parent *History, c RecordAct, today Date) (Act, error) {
	if h == nil || !h.Registered {
		return Act{}, &UnknownTreatyError{Treaty: c.Treaty}
	}
	if !c.Action.Valid() {
		return Act{}, &UnknownActionError{Action: string(c.Action)}
	}
	act := Act{Action: c.Action, Participant: c.Participant.Name, ISO3: c.Participant.ISO3, Date: c.Date, Subject: strings.TrimSpace(c.Subject), Note: strings.TrimSpace(c.Note)}
	if err := checkDates(h.Definition, c.Date, today); err != nil {
		return Act{}, err
	}
	if act.Participant == "" {
		if c.Action != ProtocolAdopted {
			return Act{}, &InvalidError{Field: "participant", Reason: "is required"}
		}
		return act, nil
	}
	if err := checkDuplicate(h, act, c.Meta.Reference, 0); err != nil {
		return Act{}, err
	}
	return act, checkStanding(h, parent, act, 0)
}

// DecideCorrect decides a correction: the superseded act must be a live
// act of this treaty, a reason is required, and the corrected act must be
// acceptable in the history without the act it replaces.
func DecideCorrect(h *History, parent *History, c CorrectAct, today Date) (ActCorrected, error) {
	if h == nil || !h.Registered {
		return ActCorrected{}, &UnknownTreatyError{Treaty: c.Treaty}
	}
	old, ok := h.Fact(c.Position)
	if !ok {
		return ActCorrected{}, &EventNotFoundError{Position: c.Position, Treaty: c.Treaty, Reason: "nothing to correct (it may be retracted, or in another treaty)"}
	}
	if strings.TrimSpace(c.Reason) == "" {
		return ActCorrected{}, &InvalidError{Field: "reason", Reason: "a correction needs a reason"}
	}
	act := old.Act
	if c.Participant.Name != "" {
		act.Participant, act.ISO3 = c.Participant.Name, c.Participant.ISO3
	}
	if c.Action != "" {
		if !c.Action.Valid() {
			return ActCorrected{}, &UnknownActionError{Action: string(c.Action)}
		}
		act.Action = c.Action
	}
	if !c.Date.IsZero() {
		act.Date = c.Date
	}
	if c.Subject != "" {
		act.Subject = c.Subject
	}
	if c.Note != "" {
		act.Note = c.Note
	}
	if act == old.Act && (c.Meta.Reference == "" || c.Meta.Reference == old.Reference) {
		return ActCorrected{}, &InvalidError{Field: "correction", Reason: fmt.Sprintf("changes nothing in the act at position %d", c.Position)}
	}
	if err := checkDates(h.Definition, act.Date, today); err != nil {
		return ActCorrected{}, err
	}
	if err := checkDuplicate(h, act, c.Meta.Reference, old.Position); err != nil {
		return ActCorrected{}, err
	}
	if err := checkStanding(h, parent, act, old.Position); err != nil {
		return ActCorrected{}, err
	}
	if err := checkDependants(h, old, &act); err != nil {
		return ActCorrected{}, err
	}
	return ActCorrected{Supersedes: old.Position, Reason: strings.TrimSpace(c.Reason), Act: act, Reference: c.Meta.Reference}, nil
}

// DecideRetract decides a retraction: the act must be live and a reason given.
func DecideRetract(h *History, c RetractAct) (ActRetracted, error) {
	if h == nil || !h.Registered {
		return ActRetracted{}, &UnknownTreatyError{Treaty: c.Treaty}
	}
	old, ok := h.Fact(c.Position)
	if !ok {
		return ActRetracted{}, &EventNotFoundError{Position: c.Position, Treaty: c.Treaty, Reason: "nothing to retract (it may already be retracted, or in another treaty)"}
	}
	if strings.TrimSpace(c.Reason) == "" {
		return ActRetracted{}, &InvalidError{Field: "reason", Reason: "a retraction needs a reason"}
	}
	if err := checkDependants(h, old, nil); err != nil {
		return ActRetracted{}, err
	}
	return ActRetracted{Supersedes: old.Position, Reason: strings.TrimSpace(c.Reason)}, nil
}

// DecideDefinition decides `treaty add`: a new treaty is registered; a
// changed definition of a registered one is an amendment; an unchanged one
// gives (nil, nil): nothing to record. known holds the latest definition
// of every registered treaty (def's own included or not), today is today's
// date (zero: not checked).
//
// Besides Definition.Validate, it refuses (each wrapping ErrInvalid): an
// adoption date after today; a parent that is not a registered treaty
// (*UnknownParentError) or whose chain of parents leads back to def; and
// a new treaty whose id differs only in case from a registered one. An
// amendment that the recorded acts contradict (an adoption after one of
// them, a signature window leaving out a signature) is a *RefusedError,
// wrapping ErrRefused.
func DecideDefinition(h *History, def Definition, known []Definition, today Date) (Payload, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	if !today.IsZero() && def.Adopted.After(today) {
		return nil, &InvalidError{Field: "adopted", Reason: fmt.Sprintf("%s is after today (%s)", def.Adopted, today)}
	}
	byID := make(map[string]Definition, len(known))
	for _, k := range known {
		byID[k.ID] = k
		if (h == nil || !h.Registered) && k.ID != def.ID && strings.EqualFold(k.ID, def.ID) {
			return nil, &InvalidError{Field: "id", Reason: fmt.Sprintf("%q differs only in case from the registered treaty %s; use its id to amend it", def.ID, k.ID)}
		}
	}
	if def.Parent != "" {
		if _, ok := byID[def.Parent]; !ok {
			e := &UnknownParentError{Treaty: def.ID, Parent: def.Parent}
			for _, k := range known {
				if k.ID != def.ID {
					e.Known = append(e.Known, k.ID)
				}
			}
			slices.Sort(e.Known)
			return nil, e
		}
		chain := []string{def.ID}
		for id := def.Parent; id != ""; id = byID[id].Parent {
			chain = append(chain, id)
			if id == def.ID || len(chain) > len(known)+1 {
				return nil, &InvalidError{Field: "parent", Reason: fmt.Sprintf("the parents form a cycle: %s", strings.Join(chain, " → "))}
			}
		}
	}
	if h == nil || !h.Registered {
		return &TreatyRegistered{Definition: def}, nil
	}
	changes := definitionChanges(h.Definition, def)
	if len(changes) == 0 {
		return nil, nil
	}
	if err := checkAmendment(h, def); err != nil {
		return nil, err
	}
	return &TreatyAmended{Definition: def, Changes: changes}, nil
}

// checkAmendment refuses an amended definition that the acts already
// recorded contradict: an adoption after a recorded act, or a signature
// window that leaves out a recorded signature.
func checkAmendment(h *History, def Definition) error {
	for _, f := range h.Facts() {
		switch {
		case !def.Adopted.IsZero() && f.Date.Before(def.Adopted):
			return &RefusedError{Participant: def.ID, Reason: fmt.Sprintf("cannot be amended to adopted %s: the %s by %s of %s (position %d) is earlier; correct or retract that act first",
				def.Adopted, f.Action, orNobody(f.Participant), f.Date, f.Position)}
		case f.Action == Signature && !def.Signature.Contains(f.Date):
			return &RefusedError{Participant: def.ID, Reason: fmt.Sprintf("cannot be amended to a signature window from %s to %s: it leaves out the signature by %s of %s (position %d); correct or retract that act first",
				orOpen(def.Signature.Opens), orOpen(def.Signature.Closes), f.Participant, f.Date, f.Position)}
		}
	}
	return nil
}

func orNobody(participant string) string {
	if participant == "" {
		return "nobody in particular"
	}
	return participant
}

func orOpen(d Date) string {
	if d.IsZero() {
		return "(open)"
	}
	return d.String()
}

// UnknownParentError is a definition whose parent is not a registered
// treaty: a protocol or amendment is added after the treaty it belongs
// to. It wraps ErrInvalid: the definition is what is wrong.
type UnknownParentError struct {
	Treaty string
	Parent string
	Known  []string
}

func (e *UnknownParentError) Error() string {
	msg := fmt.Sprintf("parent: %s names the parent %q, which is not a registered treaty; add the parent's definition first", e.Treaty, e.Parent)
	if len(e.Known) > 0 {
		msg += "; known treaties: " + strings.Join(e.Known, ", ")
	}
	return msg
}

// Unwrap returns ErrInvalid.
func (e *UnknownParentError) Unwrap() error { return ErrInvalid }

func definitionChanges(a, b Definition) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

func checkDates(def Definition, d, today Date) error {
	if d.IsZero() {
		return &InvalidError{Field: "date", Reason: "is required (YYYY-MM-DD)"}
	}
	if !today.IsZero() && d.After(today) {
		return &DateError{Date: d, Limit: today, Reason: "after today"}
	}
	if !def.Adopted.IsZero() && d.Before(def.Adopted) {
		return &DateError{Date: d, Limit: def.Adopted, Reason: "before the treaty's adoption"}
	}
	return nil
}

// checkDuplicate refuses an act already in h: same participant, action,
// date (and subject), or the same depositary reference for the participant.
// The fact at position skip (the one being corrected) is ignored.
func checkDuplicate(h *History, act Act, ref string, skip int64) error {
	for _, i := range h.byP[act.Participant] {
		f := h.facts[i]
		if f.Position < 0 || f.Position == skip {
			continue
		}
		same := f.Action == act.Action && f.Date == act.Date && f.Subject == act.Subject
		sameRef := ref != "" && f.Reference == ref
		if same || sameRef {
			return &DuplicateError{Position: f.Position, Participant: f.Participant, Action: f.Action, Date: f.Date, Reference: f.Reference}
		}
	}
	return nil
}

// checkStanding applies the rules that depend on the participant's
// standing. skip is the position of an act being corrected, which does
// not count.
func checkStanding(h *History, parent *History, act Act, skip int64) error {
	def := h.Definition
	s := h.Standing(act.Participant)
	if skip != 0 && s != nil {
		s = standingWithout(h, act.Participant, skip)
	}
	if s == nil {
		s = &Standing{}
	}
	bound := s.Consent != nil && (s.Denunciation == nil || h.WithdrawalEffective(s.Denunciation.Date).After(act.Date))
	switch {
	case act.Action == Signature:
		if !def.Signature.Contains(act.Date) {
			return &SignatureWindowError{Participant: act.Participant, Date: act.Date, Opens: def.Signature.Opens, Closes: def.Signature.Closes}
		}
		if s.Signature != nil {
			return &RefusedError{Participant: act.Participant, Reason: fmt.Sprintf("already signed on %s (position %d)", s.Signature.Date, s.Signature.Position)}
		}
		if bound {
			return &AlreadyBoundError{Participant: act.Participant, Action: s.Consent.Action, Date: s.Consent.Date, Position: s.Consent.Position}
		}
	case act.Action.IsConsent():
		if act.Action == DefinitiveSignature && !def.Signature.Contains(act.Date) {
			return &SignatureWindowError{Participant: act.Participant, Date: act.Date, Opens: def.Signature.Opens, Closes: def.Signature.Closes}
		}
		if bound {
			return &AlreadyBoundError{Participant: act.Participant, Action: s.Consent.Action, Date: s.Consent.Date, Position: s.Consent.Position}
		}
		if act.Action.NeedsSignature() && def.RequiresSignature && (s.Signature == nil || s.Signature.Date.After(act.Date)) {
			return &NotSignedError{Participant: act.Participant, Action: act.Action, Treaty: def.ID}
		}
		if def.Parent != "" && parent != nil && parent.Registered && !parent.BoundOn(act.Participant, act.Date) {
			return &NotPartyToParentError{Participant: act.Participant, Treaty: def.ID, Parent: def.Parent}
		}
	case act.Action == Objection:
		switch {
		case act.Subject == "":
			return &InvalidError{Field: "subject", Reason: "an objection needs a subject: the participant whose reservation, declaration or other act it objects to"}
		case act.Subject == act.Participant:
			return &InvalidError{Field: "subject", Reason: fmt.Sprintf("%s cannot object to itself", act.Participant)}
		case !hasActBy(h, act.Subject, act.Date, skip, nil, objectable):
			return &RefusedError{Participant: act.Participant, Reason: fmt.Sprintf("cannot object to %s: %s has no act recorded in %s on or before %s (a reservation, a declaration, an accession, ...) to object to", act.Subject, act.Subject, def.ID, act.Date)}
		}
	case act.Action == ProvisionalApplication:
		// ATT art. 23: declared at signature or at the deposit of an
		// instrument of consent, so one of them must come first.
		if !hasActBy(h, act.Participant, act.Date, skip, nil, signedOrConsented) {
			return &RefusedError{Participant: act.Participant, Reason: fmt.Sprintf("has neither signed %s nor consented to be bound by it on or before %s, so it cannot declare provisional application; record its signature or its instrument first", def.ID, act.Date)}
		}
	case act.Action == ReservationWithdrawn:
		if !hasActBy(h, act.Participant, act.Date, skip, nil, isReservation) {
			return &RefusedError{Participant: act.Participant, Reason: fmt.Sprintf("has no reservation to %s recorded on or before %s, so there is none to withdraw", def.ID, act.Date)}
		}
	case act.Action == Denunciation:
		if s.Consent == nil || s.Consent.Date.After(act.Date) {
			return &NotBoundError{Participant: act.Participant, Action: act.Action}
		}
		if s.Denunciation != nil {
			return &RefusedError{Participant: act.Participant, Reason: fmt.Sprintf("already notified its withdrawal on %s (position %d), effective %s", s.Denunciation.Date, s.Denunciation.Position, h.WithdrawalEffective(s.Denunciation.Date))}
		}
	}
	return nil
}

// standingWithout recomputes a participant's standing ignoring one fact.
func standingWithout(h *History, participant string, skip int64) *Standing {
	tmp := &History{Definition: h.Definition, facts: h.facts, byP: map[string][]int{}, parties: map[string]*Standing{}}
	for _, i := range h.byP[participant] {
		if h.facts[i].Position != skip {
			tmp.byP[participant] = append(tmp.byP[participant], i)
		}
	}
	tmp.restand(participant)
	return tmp.parties[participant]
}

// objectable reports whether an act can be objected to: any official act
// (a reservation, a declaration, an accession, ...), not a domestic step.
func objectable(a Action) bool { return !a.IsUnofficial() }

func isReservation(a Action) bool { return a == Reservation }

func signedOrConsented(a Action) bool { return a == Signature || a.IsConsent() }

// hasActBy reports whether participant has a live act matching match
// dated on or before d, ignoring the fact at position skip and counting
// extra (an act about to replace it) when it is not nil.
func hasActBy(h *History, participant string, d Date, skip int64, extra *Act, match func(Action) bool) bool {
	if extra != nil && extra.Participant == participant && !extra.Date.After(d) && match(extra.Action) {
		return true
	}
	for _, i := range h.byP[participant] {
		f := &h.facts[i]
		if f.Position > 0 && f.Position != skip && !f.Date.After(d) && match(f.Action) {
			return true
		}
	}
	return false
}

// checkDependants refuses to retract the fact old (repl nil) or to
// replace it with *repl when a live act that rests on it would be left
// without ground: a withdrawal of reservation by the same participant
// with no reservation before it any more, or another participant's
// objection to it with no act of it left to object to.
func checkDependants(h *History, old Fact, repl *Act) error {
	p := old.Participant
	for i := range h.facts {
		f := &h.facts[i]
		if f.Position <= 0 || f.Position == old.Position {
			continue
		}
		var match func(Action) bool
		switch {
		case f.Action == ReservationWithdrawn && f.Participant == p:
			match = isReservation
		case f.Action == Objection && f.Subject == p:
			match = objectable
		case f.Action == ProvisionalApplication && f.Participant == p:
			match = signedOrConsented
		default:
			continue
		}
		// Refuse only what this change takes away: an act recorded
		// without ground before these rules existed stays as it is.
		if hasActBy(h, p, f.Date, 0, nil, match) && !hasActBy(h, p, f.Date, old.Position, repl, match) {
			return &DependentActError{Position: old.Position, Action: old.Action, Participant: p, Retract: repl == nil, Dependent: *f}
		}
	}
	return nil
}

// DependentActError is a retraction or correction that would leave a
// later act without the act it rests on: a withdrawal of reservation
// without its reservation, an objection without the act objected to. It
// wraps ErrRefused.
type DependentActError struct {
	// Position, Action and Participant are the act to retract or correct.
	Position    int64
	Action      Action
	Participant string
	// Retract is true for a retraction, false for a correction.
	Retract bool
	// Dependent is the act that rests on it.
	Dependent Fact
}

func (e *DependentActError) Error() string {
	verb := "corrected so"
	if e.Retract {
		verb = "retracted"
	}
	d := e.Dependent
	return fmt.Sprintf("the %s by %s at position %d cannot be %s: the %s by %s of %s at position %d rests on it; retract or correct that act first",
		strings.ToLower(e.Action.Label()), e.Participant, e.Position, verb, strings.ToLower(d.Action.Label()), d.Participant, d.Date, d.Position)
}

// Unwrap returns ErrRefused.
func (e *DependentActError) Unwrap() error { return ErrRefused }
