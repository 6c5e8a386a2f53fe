package events

import (
	"encoding/json"
	"time"
)

// Metadata is what the ledger knows about an act besides its payload.
type Metadata struct {
	// Actor is who recorded the event: a person, a token's name, "seed".
	Actor string `json:"actor,omitempty"`
	// Reference is the depositary notification, e.g.
	// "C.N.196.2025.TREATIES-XVIII.16".
	Reference string `json:"reference,omitempty"`
	// Source is where the fact was read: a URL or a citation.
	Source string `json:"source,omitempty"`
	// CorrelationID groups the events of one request or import.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the message or event that caused this one.
	CausationID string `json:"causation_id,omitempty"`
}

// Record is an event about to be appended: everything but what the store
// assigns (position, version, recorded time and hash).
type Record struct {
	// Type is the payload's stable type name (see Registry).
	Type string
	// SchemaVersion is the payload's schema version, 1 or more.
	SchemaVersion int
	// ValidDate is the date of the act in the world; zero when the event
	// is not an act (a subscription, a definition).
	ValidDate Date
	// Meta is the metadata stored beside the payload.
	Meta Metadata
	// Payload is the canonical JSON encoding of the payload.
	Payload json.RawMessage
}

// Envelope is a stored event: a Record plus what the store assigned.
type Envelope struct {
	// Position is the event's place in the global log, from 1, without gaps.
	Position int64 `json:"position"`
	// Stream is the stream the event belongs to (see TreatyStream).
	Stream string `json:"stream"`
	// Version is the event's place in its stream, from 1, without gaps.
	Version int64 `json:"version"`
	// Type is the payload's stable type name.
	Type string `json:"type"`
	// SchemaVersion is the payload's schema version.
	SchemaVersion int `json:"schema_version"`
	// ValidDate is the date of the act; zero when the event is not an act.
	ValidDate Date `json:"valid_date,omitzero"`
	// RecordedAt is when the ledger stored the event, in UTC.
	RecordedAt time.Time `json:"recorded_at"`
	// Meta is the event's metadata.
	Meta Metadata `json:"metadata"`
	// Payload is the stored JSON payload.
	Payload json.RawMessage `json:"payload"`
	// Hash is SHA-256(previous event's hash ‖ CanonicalBytes(this event)).
	Hash []byte `json:"-"`
}

// StreamAppend is one stream's part of an atomic append: records to add
// after the stream's current version, which must equal ExpectedVersion
// (0 for a stream that does not exist yet).
type StreamAppend struct {
	Stream          string
	ExpectedVersion int64
	Records         []Record
}

// Stream ids. Each treaty has its own stream; the participants that
// officers add beyond the reference list have one; subscriptions and
// tokens have theirs.
const (
	treatyStreamPrefix = "treaty-"
	// ParticipantsStream holds participant.registered events.
	ParticipantsStream = "participants"
)

// TreatyStream returns the stream id of the treaty with the given id.
func TreatyStream(treatyID string) string { return treatyStreamPrefix + treatyID }

// TreatyOfStream returns the treaty id of a treaty stream and true, or
// "" and false for any other stream.
func TreatyOfStream(stream string) (string, bool) {
	if len(stream) > len(treatyStreamPrefix) && stream[:len(treatyStreamPrefix)] == treatyStreamPrefix {
		return stream[len(treatyStreamPrefix):], true
	}
	return "", false
}
