package events

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Stable type names. They are stored with every event: never change one.
// Acts have the type "act.<action>", e.g. "act.ratification".
const (
	TypeTreatyRegistered      = "treaty.registered"
	TypeTreatyAmended         = "treaty.definition-amended"
	TypeActCorrected          = "act.corrected"
	TypeActRetracted          = "act.retracted"
	TypeParticipantRegistered = "participant.registered"

	actPrefix = "act."
)

// Payload is the body of an event. EventType returns its stable type name.
type Payload interface {
	EventType() string
}

// TreatyRegistered records a treaty's definition, parsed and validated.
type TreatyRegistered struct {
	Definition Definition `json:"definition"`
}

// EventType returns TypeTreatyRegistered.
func (TreatyRegistered) EventType() string { return TypeTreatyRegistered }

// TreatyAmended records a changed definition of a registered treaty; it
// replaces the previous one from the moment it is known.
type TreatyAmended struct {
	Definition Definition `json:"definition"`
	// Changes lists the top-level fields that differ, for people.
	Changes []string `json:"changes,omitempty"`
}

// EventType returns TypeTreatyAmended.
func (TreatyAmended) EventType() string { return TypeTreatyAmended }

// Act is a participant's act concerning a treaty: a signature, a deposit,
// a declaration, a denunciation, a domestic step.
type Act struct {
	Action      Action `json:"action"`
	Participant string `json:"participant"` // canonical name
	ISO3        string `json:"iso3,omitempty"`
	Date        Date   `json:"date"`
	// Subject is what the act concerns, when it concerns something beyond
	// the treaty: the objected-to participant, the territory, the protocol.
	Subject string `json:"subject,omitempty"`
	Note    string `json:"note,omitempty"`
}

// EventType returns "act." followed by the action.
func (a Act) EventType() string { return a.Action.EventType() }

// ActCorrected supersedes an earlier act (by global position) with a
// corrected version of it. The log keeps both; folds apply the latest.
type ActCorrected struct {
	Supersedes int64  `json:"supersedes"`
	Reason     string `json:"reason"`
	Act        Act    `json:"act"`
	// Reference is the corrected act's depositary reference, if it changed.
	Reference string `json:"reference,omitempty"`
}

// EventType returns TypeActCorrected.
func (ActCorrected) EventType() string { return TypeActCorrected }

// ActRetracted withdraws an earlier act (by global position) recorded in
// error. The log keeps both; folds ignore the retracted act.
type ActRetracted struct {
	Supersedes int64  `json:"supersedes"`
	Reason     string `json:"reason"`
}

// EventType returns TypeActRetracted.
func (ActRetracted) EventType() string { return TypeActRetracted }

// ParticipantRegistered adds a participant beyond the reference list.
type ParticipantRegistered struct {
	Participant Participant `json:"participant"`
}

// EventType returns TypeParticipantRegistered.
func (ParticipantRegistered) EventType() string { return TypeParticipantRegistered }

// Upcaster turns a payload stored at an older schema version into the
// current one's JSON.
type Upcaster func(from int, payload json.RawMessage) (json.RawMessage, error)

type registration struct {
	version int
	newFn   func() Payload
	upcast  Upcaster
}

// Registry maps stable type names to payload types and their current
// schema versions, and decodes stored payloads, upcasting older versions.
// A Registry is safe for concurrent use once built; build it with
// NewRegistry and Register before sharing it.
type Registry struct {
	types map[string]registration
}

// NewRegistry returns a registry holding every payload type of this
// package at schema version 1.
func NewRegistry() *Registry {
	r := &Registry{types: map[string]registration{}}
	r.Register(TypeTreatyRegistered, 1, func() Payload { return &TreatyRegistered{} }, nil)
	r.Register(TypeTreatyAmended, 1, func() Payload { return &TreatyAmended{} }, nil)
	r.Register(TypeActCorrected, 1, func() Payload { return &ActCorrected{} }, nil)
	r.Register(TypeActRetracted, 1, func() Payload { return &ActRetracted{} }, nil)
	r.Register(TypeParticipantRegistered, 1, func() Payload { return &ParticipantRegistered{} }, nil)
	r.Register(TypeSubscriptionCreated, 2, func() Payload { return &SubscriptionCreated{} }, upcastSubscriptionCreated)
	r.Register(TypeSubscriptionRemoved, 1, func() Payload { return &SubscriptionRemoved{} }, nil)
	r.Register(TypeTokenCreated, 1, func() Payload { return &TokenCreated{} }, nil)
	r.Register(TypeTokenRevoked, 1, func() Payload { return &TokenRevoked{} }, nil)
	for a := range actionInfo {
		r.Register(a.EventType(), 1, func() Payload { return &Act{} }, nil)
	}
	return r
}

// Register adds (or replaces) a payload type: its stable name, its current
// schema version, a constructor of an empty value to decode into, and an
// upcaster for older versions (nil if there are none).
func (r *Registry) Register(typeName string, version int, newFn func() Payload, up Upcaster) {
	r.types[typeName] = registration{version: version, newFn: newFn, upcast: up}
}

// Version returns the current schema version of a type, or 0 if unknown.
func (r *Registry) Version(typeName string) int { return r.types[typeName].version }

// Known reports whether typeName is registered.
func (r *Registry) Known(typeName string) bool { _, ok := r.types[typeName]; return ok }

// Decode decodes an envelope's payload into its registered type,
// upcasting it first if it was stored at an older schema version. It
// returns a pointer to the payload type (*Act, *TreatyRegistered, ...),
// whose EventType is the envelope's type: an act whose payload names
// another action than its type is refused.
func (r *Registry) Decode(e Envelope) (Payload, error) {
	reg, ok := r.types[e.Type]
	if !ok {
		return nil, fmt.Errorf("position %d: unknown event type %q", e.Position, e.Type)
	}
	raw := e.Payload
	if e.SchemaVersion > reg.version {
		return nil, fmt.Errorf("position %d: %s schema version %d is newer than this program's %d", e.Position, e.Type, e.SchemaVersion, reg.version)
	}
	if e.SchemaVersion < reg.version {
		if reg.upcast == nil {
			return nil, fmt.Errorf("position %d: no upcaster for %s from schema version %d", e.Position, e.Type, e.SchemaVersion)
		}
		var err error
		if raw, err = reg.upcast(e.SchemaVersion, raw); err != nil {
			return nil, fmt.Errorf("position %d: upcast %s from version %d: %w", e.Position, e.Type, e.SchemaVersion, err)
		}
	}
	p := reg.newFn()
	if act, ok := p.(*Act); ok && decodeAct(raw, act) {
		if t := act.EventType(); t != e.Type {
			return nil, fmt.Errorf("position %d: the payload of a %s event is a %s", e.Position, e.Type, t)
		}
		return act, nil
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("position %d: decode %s: %w", e.Position, e.Type, err)
	}
	if t := p.EventType(); t != e.Type {
		return nil, fmt.Errorf("position %d: the payload of a %s event is a %s", e.Position, e.Type, t)
	}
	return p, nil
}

// NewRecord encodes a payload into a Record at its registered schema
// version, with the given valid date and metadata.
func (r *Registry) NewRecord(p Payload, valid Date, meta Metadata) (Record, error) {
	t := p.EventType()
	reg, ok := r.types[t]
	if !ok {
		return Record{}, fmt.Errorf("unregistered event type %q", t)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Record{}, fmt.Errorf("encode %s: %w", t, err)
	}
	return Record{Type: t, SchemaVersion: reg.version, ValidDate: valid, Meta: meta, Payload: b}, nil
}

// IsAct reports whether a type name is an act ("act.<action>"), excluding
// corrections and retractions.
func IsAct(typeName string) bool {
	return strings.HasPrefix(typeName, actPrefix) && typeName != TypeActCorrected && typeName != TypeActRetracted
}
