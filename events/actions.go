package events

import (
	"sort"
	"strings"
	"unicode"
)

// Action is what a participant did, in the depositary's vocabulary. The
// string values are the CLI's ACTION names and part of stored type names;
// never rename one.
type Action string

// Signature and consent to be bound.
const (
	Signature           Action = "signature"
	DefinitiveSignature Action = "definitive-signature"
	Ratification        Action = "ratification"
	Acceptance          Action = "acceptance"
	Approval            Action = "approval"
	Accession           Action = "accession"
	Succession          Action = "succession"
)

// Statements attached to a participation.
const (
	Declaration            Action = "declaration"
	Reservation            Action = "reservation"
	ReservationWithdrawn   Action = "reservation-withdrawn"
	Objection              Action = "objection"
	TerritorialApplication Action = "territorial-application"
	// ProvisionalApplication is a declaration that the participant will
	// apply the treaty, or some of its articles, provisionally pending its
	// entry into force for it (ATT art. 23; the UNTC's mark "n"). It binds
	// nobody to the treaty and never counts toward entry into force.
	ProvisionalApplication Action = "provisional-application"
)

// Withdrawal and protocols.
const (
	// Denunciation is the notification of withdrawal; it takes effect the
	// treaty's withdrawal period later.
	Denunciation     Action = "denunciation"
	ProtocolProposed Action = "protocol-proposed"
	ProtocolAdopted  Action = "protocol-adopted"
)

// Domestic steps: recorded for information, never official, never counted.
const (
	IntentAnnounced       Action = "intent-announced"
	ParliamentaryApproval Action = "parliamentary-approval"
)

type actionMeta struct {
	needsSign  bool // needs a prior signature unless requires_signature is false
	needsBound bool // only a bound participant may do it
	unofficial bool
	label      string
}

var actionInfo = map[Action]actionMeta{
	Signature:              {label: "Signature"},
	DefinitiveSignature:    {label: "Definitive signature"},
	Ratification:           {needsSign: true, label: "Ratification"},
	Acceptance:             {needsSign: true, label: "Acceptance"},
	Approval:               {needsSign: true, label: "Approval"},
	Accession:              {label: "Accession"},
	Succession:             {label: "Succession"},
	Declaration:            {label: "Declaration"},
	Reservation:            {label: "Reservation"},
	ReservationWithdrawn:   {label: "Withdrawal of reservation"},
	Objection:              {label: "Objection"},
	TerritorialApplication: {label: "Territorial application"},
	ProvisionalApplication: {label: "Provisional application"},
	Denunciation:           {needsBound: true, label: "Denunciation"},
	ProtocolProposed:       {label: "Protocol proposed"},
	ProtocolAdopted:        {label: "Protocol adopted"},
	IntentAnnounced:        {unofficial: true, label: "Intent announced (unofficial)"},
	ParliamentaryApproval:  {unofficial: true, label: "Parliamentary approval (unofficial)"},
}

// ParseAction returns the Action named s, exactly as the vocabulary
// writes it (lower case, words joined by '-'), or an *UnknownActionError
// that suggests the action meant ("Ratification", "reservation withdrawn").
func ParseAction(s string) (Action, error) {
	a := Action(s)
	if _, ok := actionInfo[a]; !ok {
		return "", &UnknownActionError{Action: clip(s)}
	}
	return a, nil
}

// suggestAction returns the action s probably means: the same name in
// another case or with spaces or underscores for '-', or the one within
// two edits; "" when none is close.
func suggestAction(s string) string {
	folded := strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' || r == '-' || unicode.IsSpace(r) }), "-"))
	if _, ok := actionInfo[Action(folded)]; ok {
		return folded
	}
	best, bestDist := "", 3
	for _, a := range AllActions() {
		if d := EditDistance(folded, string(a)); d < bestDist {
			best, bestDist = string(a), d
		}
	}
	return best
}

// AllActions returns every action, sorted by name.
func AllActions() []Action {
	out := make([]Action, 0, len(actionInfo))
	for a := range actionInfo {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ConsentKinds returns the actions that express consent to be bound, the
// default set an entry-into-force rule counts.
func ConsentKinds() []Action {
	return []Action{Ratification, Acceptance, Approval, Accession, Succession, DefinitiveSignature}
}

// Valid reports whether a is in the vocabulary.
func (a Action) Valid() bool { _, ok := actionInfo[a]; return ok }

// IsConsent reports whether a expresses consent to be bound.
// (A switch, not the vocabulary's map: a status asks it of every fact.)
func (a Action) IsConsent() bool {
	return a == Ratification || a == Acceptance || a == Approval || a == Accession || a == Succession || a == DefinitiveSignature
}

// NeedsSignature reports whether a needs a prior signature (ratification,
// acceptance, approval) when the treaty requires one.
func (a Action) NeedsSignature() bool { return actionInfo[a].needsSign }

// IsUnofficial reports whether a is a domestic step that never counts.
func (a Action) IsUnofficial() bool { return actionInfo[a].unofficial }

// Label is a human name for a ("Ratification").
func (a Action) Label() string {
	if m, ok := actionInfo[a]; ok {
		return m.label
	}
	return string(a)
}

// EventType is the stable type name of events recording a: "act." + a.
func (a Action) EventType() string { return actPrefix + string(a) }
