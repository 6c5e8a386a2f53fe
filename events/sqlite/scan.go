package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// rowScanner scans rows of envelopeColumns into envelopes without
// reflection: integers arrive as the driver's int64 through *any, strings
// go straight into the envelope's fields, and payloads and hashes are
// copied from the driver's bytes into a shared arena. The zero value is
// ready to use; it is not safe for concurrent use.
type rowScanner struct {
	pos, version, schema, date, recorded any
	payload, hash                        sql.RawBytes
	dest                                 [14]any
	arena                                arena
	dates                                dateCache
}

// scan reads the current row into e. With own, e's Payload and Hash are
// copies that outlive the row; without, they alias the driver's buffers
// and are valid until the next call to rows.Next.
func (sc *rowScanner) scan(rows *sql.Rows, e *events.Envelope, own bool) error {
	d := &sc.dest
	d[0], d[1], d[2], d[3], d[4] = &sc.pos, &e.Stream, &sc.version, &e.Type, &sc.schema
	d[5], d[6] = &sc.date, &sc.recorded
	d[7], d[8], d[9], d[10], d[11] = &e.Meta.Actor, &e.Meta.Reference, &e.Meta.Source, &e.Meta.CorrelationID, &e.Meta.CausationID
	d[12], d[13] = &sc.payload, &sc.hash
	if err := rows.Scan(d[:]...); err != nil {
		return err
	}
	var ok1, ok2, ok3, ok4 bool
	e.Position, ok1 = sc.pos.(int64)
	e.Version, ok2 = sc.version.(int64)
	schema, ok3 := sc.schema.(int64)
	recorded, ok4 := sc.recorded.(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("event at position %v: position, version, schema version and recorded time must be integers, not %T, %T, %T, %T", sc.pos, sc.pos, sc.version, sc.schema, sc.recorded)
	}
	e.SchemaVersion = int(schema)
	e.RecordedAt = time.Unix(0, recorded).UTC()
	switch v := sc.date.(type) {
	case nil:
		e.ValidDate = events.Date{} // the envelope may hold the previous row's
	case string:
		date, err := sc.dates.parse(v)
		if err != nil {
			return fmt.Errorf("event at position %d: valid date: %w", e.Position, err)
		}
		e.ValidDate = date
	default:
		return fmt.Errorf("event at position %d: valid date is a %T, want text", e.Position, v)
	}
	if own {
		e.Payload = sc.arena.copy(sc.payload)
		e.Hash = sc.arena.copy(sc.hash)
	} else {
		e.Payload = json.RawMessage(sc.payload)
		e.Hash = sc.hash
	}
	return nil
}

// arenaChunk is the size of an arena's allocations: large enough that a
// page of events costs few of them, small enough that an envelope kept
// from a dropped page keeps little alive.
const arenaChunk = 64 << 10

// arena hands out copies of byte slices carved from larger allocations.
type arena struct{ buf []byte }

// copy returns a copy of b whose capacity is its length, so that appending
// to it never writes over a neighbour. It returns nil for nil.
func (a *arena) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(a.buf)-len(a.buf) {
		if len(b) > arenaChunk/4 {
			return append(make([]byte, 0, len(b)), b...)
		}
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// dateCache parses valid dates, remembering the last one: consecutive
// events often carry the same date.
type dateCache struct {
	s string
	d events.Date
}

func (c *dateCache) parse(s string) (events.Date, error) {
	if s == c.s && !c.d.IsZero() {
		return c.d, nil
	}
	d, err := parseDate(s)
	if err != nil {
		return events.Date{}, err
	}
	c.s, c.d = s, d
	return d, nil
}

// parseDate parses YYYY-MM-DD. Dates whose day is at most 28 take a fast
// path; the rest, and anything malformed, go through events.ParseDate,
// which checks the calendar and explains refusals.
func parseDate(s string) (events.Date, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := digits(s[0:4])
		m, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		if ok1 && ok2 && ok3 && y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= 28 {
			return events.NewDate(y, time.Month(m), d), nil
		}
	}
	return events.ParseDate(s)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

// appendDate appends d as YYYY-MM-DD, the form events.Date.String gives.
func appendDate(dst []byte, d events.Date) []byte {
	y, m, day := d.YMD()
	if y < 0 || y > 9999 {
		return append(dst, d.String()...)
	}
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-',
		byte('0'+day/10), byte('0'+day%10))
}

// validJSON reports whether b is one JSON value.
func validJSON(b []byte) bool { return len(b) > 0 && json.Valid(b) }

// compactJSON returns b, valid JSON, in its compact form: b itself when
// it is compact already (encoding/json's output always is). The store
// writes only compact payloads, so that Verify can tell an added space
// from what Append wrote.
func compactJSON(b json.RawMessage) json.RawMessage {
	if events.IsCompactJSON(b) {
		return b
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}
