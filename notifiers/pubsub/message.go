package pubsub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
)

// LogTopic is the topic of the ledger's log: subscribing to it delivers
// every event of every stream in position order. Its messages have the
// UUID "pos-N" for the event at position N (the same at every delivery),
// the event's envelope as JSON for payload (see Envelope), and the
// Metadata* keys. Publishing to it is refused with ErrReadOnlyTopic.
const LogTopic = "treatywatch.log"

// Metadata keys of the messages of LogTopic. MetadataCorrelationID is the
// key that watermill's middleware.CorrelationID reads; it and
// MetadataCausationID are set only when the event has them.
const (
	MetadataPosition      = "position"
	MetadataStream        = "stream"
	MetadataType          = "type"
	MetadataVersion       = "version"
	MetadataSchemaVersion = "schema_version"
	MetadataRecordedAt    = "recorded_at" // RFC 3339 with nanoseconds, UTC
	MetadataCorrelationID = "correlation_id"
	MetadataCausationID   = "causation_id"
)

// MessageType is the event type under which Publish stores a watermill
// message, in the stream TopicStream(topic). Its payload is a JSON object
// {"uuid", "metadata", and "payload" (the message's payload when it is
// compact JSON, stored as is) or "payload_base64"}.
const MessageType = "watermill.message"

// topicStreamPrefix starts the ids of the streams of published topics.
const topicStreamPrefix = "topic-"

// TopicStream returns the id of the stream that holds the messages
// published to topic.
func TopicStream(topic string) string { return topicStreamPrefix + topic }

// logMessageUUID is the UUID of the LogTopic message of the event at pos.
func logMessageUUID(pos int64) string { return "pos-" + strconv.FormatInt(pos, 10) }

// Envelope decodes the ledger event that a LogTopic message carries. It
// returns an error wrapping ErrNotLogMessage for any other message.
func Envelope(msg *message.Message) (events.Envelope, error) {
	var e events.Envelope
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return events.Envelope{}, fmt.Errorf("message %s: %w: %w", msg.UUID, ErrNotLogMessage, err)
	}
	if e.Position < 1 || e.Stream == "" || e.Type == "" {
		return events.Envelope{}, fmt.Errorf("message %s: %w: no position, stream or type", msg.UUID, ErrNotLogMessage)
	}
	return e, nil
}

// Position returns the log position of the event that a LogTopic message
// carries, from its metadata. It returns an error wrapping
// ErrNotLogMessage for any other message.
func Position(msg *message.Message) (int64, error) {
	s := msg.Metadata.Get(MetadataPosition)
	pos, err := strconv.ParseInt(s, 10, 64)
	if err != nil || pos < 1 {
		return 0, fmt.Errorf("message %s: %w: metadata %s is %q", msg.UUID, ErrNotLogMessage, MetadataPosition, s)
	}
	return pos, nil
}

// LogMessage returns the LogTopic message of e: UUID "pos-N", the
// envelope as JSON for payload and the Metadata* keys. It is the one
// translation of an event into a message, for Subscriber and for any other
// subscriber of the log (events/postgres.NewLogSubscriber).
func LogMessage(e *events.Envelope) (*message.Message, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode the event at position %d: %w", e.Position, err)
	}
	msg := message.NewMessage(logMessageUUID(e.Position), payload)
	md := msg.Metadata
	md.Set(MetadataPosition, strconv.FormatInt(e.Position, 10))
	md.Set(MetadataStream, e.Stream)
	md.Set(MetadataType, e.Type)
	md.Set(MetadataVersion, strconv.FormatInt(e.Version, 10))
	md.Set(MetadataSchemaVersion, strconv.Itoa(e.SchemaVersion))
	md.Set(MetadataRecordedAt, e.RecordedAt.UTC().Format(time.RFC3339Nano))
	if e.Meta.CorrelationID != "" {
		md.Set(MetadataCorrelationID, e.Meta.CorrelationID)
	}
	if e.Meta.CausationID != "" {
		md.Set(MetadataCausationID, e.Meta.CausationID)
	}
	return msg, nil
}

// wireMessage is the stored form of a published watermill message.
type wireMessage struct {
	UUID     string            `json:"uuid"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Payload is the message's payload when encoding/json keeps it byte
	// for byte (compact JSON without the characters it escapes).
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadBase64 is the message's payload otherwise.
	PayloadBase64 []byte `json:"payload_base64,omitempty"`
}

// messageRecord returns the event that stores msg.
func messageRecord(msg *message.Message) (events.Record, error) {
	w := wireMessage{UUID: msg.UUID, Metadata: msg.Metadata}
	if keptAsIs(msg.Payload) {
		w.Payload = json.RawMessage(msg.Payload)
	} else {
		w.PayloadBase64 = msg.Payload
	}
	b, err := json.Marshal(w)
	if err != nil {
		return events.Record{}, fmt.Errorf("encode message %s: %w", msg.UUID, err)
	}
	return events.Record{
		Type:          MessageType,
		SchemaVersion: 1,
		Meta: events.Metadata{
			CorrelationID: msg.Metadata.Get(MetadataCorrelationID),
			CausationID:   msg.Metadata.Get(MetadataCausationID),
		},
		Payload: b,
	}, nil
}

// keptAsIs reports whether p survives a round trip through a
// json.RawMessage field byte for byte: valid UTF-8, valid and compact
// JSON, without the characters that encoding/json escapes (<, >, &,
// U+2028, U+2029).
func keptAsIs(p []byte) bool {
	if len(p) == 0 || !utf8.Valid(p) || !json.Valid(p) {
		return false
	}
	if bytes.ContainsAny(p, "<>&\u2028\u2029") {
		return false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), p)
}

// topicMessage returns the message that e delivers to a subscriber of a
// published topic: the published message for a MessageType event,
// otherwise (an event that another writer put in the stream) the event as
// on LogTopic.
func topicMessage(e *events.Envelope) (*message.Message, error) {
	if e.Type != MessageType || !strings.HasPrefix(e.Stream, topicStreamPrefix) {
		return LogMessage(e)
	}
	var w wireMessage
	if err := json.Unmarshal(e.Payload, &w); err != nil {
		return nil, fmt.Errorf("decode the message at position %d: %w", e.Position, err)
	}
	payload := []byte(w.Payload)
	if len(w.Payload) == 0 {
		payload = w.PayloadBase64
	}
	msg := message.NewMessage(w.UUID, payload)
	for k, v := range w.Metadata {
		msg.Metadata.Set(k, v)
	}
	return msg, nil
}
