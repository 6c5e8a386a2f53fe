package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
)

// CanonicalBytes appends the canonical encoding of e to dst and returns
// it: every stored field except the hash, in a fixed order, each
// length-prefixed, with the payload compacted, so the same event always
// gives the same bytes whatever JSON whitespace it was stored with.
//
// Order: position, stream, version, type, schema version, valid date,
// recorded time (Unix nanoseconds, UTC), actor, reference, source,
// correlation id, causation id, payload.
func CanonicalBytes(dst []byte, e Envelope) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Position))
	dst = appendField(dst, e.Stream)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Version))
	dst = appendField(dst, e.Type)
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.SchemaVersion))
	if e.ValidDate.IsZero() {
		dst = binary.BigEndian.AppendUint32(dst, 0)
	} else {
		dst = binary.BigEndian.AppendUint32(dst, 10) // YYYY-MM-DD
		dst = e.ValidDate.appendISO(dst)
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.RecordedAt.UnixNano()))
	dst = appendField(dst, e.Meta.Actor)
	dst = appendField(dst, e.Meta.Reference)
	dst = appendField(dst, e.Meta.Source)
	dst = appendField(dst, e.Meta.CorrelationID)
	dst = appendField(dst, e.Meta.CausationID)
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	var buf bytes.Buffer
	if IsCompactJSON(e.Payload) {
		dst = append(dst, e.Payload...)
	} else if err := json.Compact(&buf, e.Payload); err == nil {
		dst = append(dst, buf.Bytes()...)
	} else {
		dst = append(dst, e.Payload...) // not JSON: hash it as stored
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func appendField(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// IsCompactJSON reports whether b has no whitespace outside strings, the form
// encoding/json produces, so compacting it would change nothing.
func IsCompactJSON(b []byte) bool {
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			return false
		}
	}
	return true
}

// Chain computes the hash chain over the log: each event's hash is
// SHA-256(previous hash ‖ CanonicalBytes(event)). The zero Chain starts
// a new log (the previous hash of position 1 is empty). A Chain is not
// safe for concurrent use.
type Chain struct {
	prev []byte
	h    hash.Hash
	buf  []byte
}

// NewChain returns a chain that continues after an event whose hash is prev
// (nil for an empty log).
func NewChain(prev []byte) *Chain {
	return &Chain{prev: append([]byte(nil), prev...), h: sha256.New()}
}

// Next returns the hash of e as the next event of the chain and advances.
func (c *Chain) Next(e Envelope) []byte {
	c.buf = CanonicalBytes(c.buf[:0], e)
	c.h.Reset()
	c.h.Write(c.prev)
	c.h.Write(c.buf)
	sum := c.h.Sum(nil)
	c.prev = sum
	return sum
}

// Verify checks that e's stored hash is the next link of the chain and
// advances. It returns a *TamperError naming e's position when it is not.
func (c *Chain) Verify(e Envelope) error {
	want := c.Next(e)
	if !bytes.Equal(want, e.Hash) {
		c.prev = append(c.prev[:0], e.Hash...) // keep walking from what is stored
		return &TamperError{Position: e.Position, Reason: "stored hash does not match the event's contents and the previous hash"}
	}
	return nil
}
