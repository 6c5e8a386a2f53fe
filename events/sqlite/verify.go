package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// VerifyReport is events.VerifyReport: what VerifyReport found.
type VerifyReport = events.VerifyReport

// KeptHead is events.KeptHead: a head of the log an earlier verification
// recorded, which the log must still hold.
type KeptHead = events.KeptHead

// MaxBreaks is events.MaxBreaks, the number of breaks a VerifyReport lists.
const MaxBreaks = events.MaxBreaks

// Verify walks the whole log and returns a *events.TamperError (wrapping
// events.ErrTampered) naming the first position where it is not what
// Append wrote (see VerifyReport), or nil.
func (s *Store) Verify(ctx context.Context) error {
	rep, err := s.VerifyReport(ctx, nil)
	if err != nil {
		return err
	}
	if len(rep.Breaks) > 0 {
		return &rep.Breaks[0]
	}
	return nil
}

// VerifyReport walks the whole log in position order, in one consistent
// snapshot that does not block writers, and reports every break it finds
// (up to MaxBreaks): a missing position (a deleted row); a stored value
// that Append never writes (a column set to NULL where Append writes a
// value, set to empty text where Append writes NULL, set to another
// type, a date or a payload not in its canonical form); a version that
// does not follow its stream's previous one; or a stored hash that is
// not SHA-256(previous hash ‖ events.CanonicalBytes). After a broken
// hash it goes on from either the stored or the recomputed hash,
// whichever the next event continues, so that one tampered row is
// reported once whether its contents or its hash were changed.
//
// With a kept head, an earlier verification's Head and Hash, it also
// reports a log that no longer holds that event (a truncated tail, at
// the first missing position) or holds another one there.
//
// The error is for failures to read the log; breaks are in the report.
func (s *Store) VerifyReport(ctx context.Context, kept *KeptHead) (VerifyReport, error) {
	rows, err := s.read.QueryContext(ctx, sqlVerify)
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	var (
		rep VerifyReport
		v   verifier
		raw rawRow
	)
	v.init()
	for rows.Next() {
		if err := rows.Scan(raw.dest()...); err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		rep.Events++
		breaks := v.row(&raw)
		for _, b := range breaks {
			rep.AddBreak(b)
		}
		rep.Head = v.head
		if kept != nil && v.head == kept.Position && !bytes.Equal(v.lastStored, kept.Hash) && len(breaks) == 0 {
			rep.AddBreak(events.TamperError{Position: kept.Position, Reason: fmt.Sprintf("its hash %x is not the kept head's %x: the log was rewritten from here or earlier", v.lastStored, kept.Hash)})
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if err := rows.Close(); err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if kept != nil && kept.Position > rep.Head {
		rep.AddBreak(events.TamperError{Position: rep.Head + 1, Reason: fmt.Sprintf("the log ends at position %d, before the kept head at %d: its tail was removed", rep.Head, kept.Position)})
	}
	rep.Hash = v.lastStored
	return rep, nil
}

// rawRow holds one row of sqlVerify as the driver returns it, so that
// the verifier sees each value's storage type.
type rawRow struct {
	cols [14]any
	ptrs [14]any
}

func (r *rawRow) dest() []any {
	for i := range r.cols {
		r.cols[i] = nil
		r.ptrs[i] = &r.cols[i]
	}
	return r.ptrs[:]
}

// verifier checks rows one after another.
type verifier struct {
	head       int64
	prev       [][]byte // the hashes the next event may continue
	lastStored []byte
	versions   map[string]int64
	anyBroken  bool
}

func (v *verifier) init() {
	v.prev = [][]byte{nil}
	v.versions = make(map[string]int64)
}

// Column indexes of sqlVerify.
const (
	colPosition = iota
	colStream
	colVersion
	colType
	colSchema
	colValidDate
	colRecorded
	colActor
	colReference
	colSource
	colCorrelation
	colCausation
	colPayload
	colHash
)

var optionalColumns = [...]struct {
	col  int
	name string
}{
	{colActor, "actor"}, {colReference, "reference"}, {colSource, "source"},
	{colCorrelation, "correlation_id"}, {colCausation, "causation_id"},
}

// row checks one row and returns its breaks.
func (v *verifier) row(r *rawRow) []events.TamperError {
	var (
		out    []events.TamperError
		e      events.Envelope
		broken bool
	)
	c := &r.cols
	pos, ok := c[colPosition].(int64)
	if !ok {
		// The primary key is always an integer in a rowid table; a
		// position that is not one cannot be placed at all.
		return []events.TamperError{{Position: v.head + 1, Reason: fmt.Sprintf("a row's position is %s", describeValue(c[colPosition]))}}
	}
	bad := func(reason string, args ...any) {
		broken = true
		out = append(out, events.TamperError{Position: pos, Reason: fmt.Sprintf(reason, args...)})
	}
	if want := v.head + 1; pos != want {
		out = append(out, events.TamperError{Position: want, Reason: fmt.Sprintf("the event at position %d is missing (the next stored is at %d)", want, pos)})
		v.prev = nil // the missing event's hash is unknown: take this one's as stored
	}
	v.head = pos
	e.Position = pos

	text := func(col int, name string) string {
		s, ok := c[col].(string)
		switch {
		case !ok:
			bad("%s is %s, want text", name, describeValue(c[col]))
		case s == "":
			bad("%s is empty", name)
		}
		return s
	}
	integer := func(col int, name string) int64 {
		n, ok := c[col].(int64)
		if !ok {
			bad("%s is %s, want an integer", name, describeValue(c[col]))
		}
		return n
	}
	e.Stream = text(colStream, "stream")
	e.Version = integer(colVersion, "version")
	e.Type = text(colType, "type")
	e.SchemaVersion = int(integer(colSchema, "schema_version"))
	if e.SchemaVersion < 1 && !broken {
		bad("schema_version is %d, want 1 or more", e.SchemaVersion)
	}
	switch d := c[colValidDate].(type) {
	case nil:
	case string:
		date, err := events.ParseDate(d)
		switch {
		case err != nil:
			bad("valid_date %q is not a date: %v", d, err)
		case date.String() != d:
			bad("valid_date %q is not in the form Append writes (%s)", d, date)
		default:
			e.ValidDate = date
		}
	default:
		bad("valid_date is %s, want text or NULL", describeValue(d))
	}
	e.RecordedAt = timeOfNanos(integer(colRecorded, "recorded_at"))
	meta := [...]*string{&e.Meta.Actor, &e.Meta.Reference, &e.Meta.Source, &e.Meta.CorrelationID, &e.Meta.CausationID}
	for i, oc := range optionalColumns {
		switch s := c[oc.col].(type) {
		case nil:
		case string:
			if s == "" {
				bad("%s is empty text; Append stores an absent value as NULL", oc.name)
			}
			*meta[i] = s
		default:
			bad("%s is %s, want text or NULL", oc.name, describeValue(s))
		}
	}
	switch p := c[colPayload].(type) {
	case string:
		switch {
		case !json.Valid([]byte(p)):
			bad("payload is not JSON")
		case !events.IsCompactJSON([]byte(p)):
			bad("payload is not in the compact form Append writes")
		}
		e.Payload = json.RawMessage(p)
	default:
		bad("payload is %s, want text", describeValue(p))
	}
	stored, ok := c[colHash].([]byte)
	switch {
	case !ok:
		bad("hash is %s, want a blob", describeValue(c[colHash]))
	case len(stored) != 32:
		bad("hash is %d bytes, want 32", len(stored))
	}
	stored = append([]byte(nil), stored...)

	if e.Stream != "" {
		last := v.versions[e.Stream]
		switch {
		case broken:
			// What this row says of its stream cannot be trusted.
		case e.Version == last+1:
			v.versions[e.Stream] = e.Version
		case v.anyBroken && e.Version > last:
			// An earlier broken row may have been this stream's.
			v.versions[e.Stream] = e.Version
		default:
			bad("version %d of stream %s does not follow its version %d", e.Version, e.Stream, last)
			v.versions[e.Stream] = last + 1
		}
	}

	// The chain: this event's hash from each hash it may continue.
	var matched, computed []byte
	if v.prev == nil {
		matched = stored
	}
	for _, prev := range v.prev {
		h := events.NewChain(prev).Next(e)
		if computed == nil {
			computed = h
		}
		if bytes.Equal(h, stored) {
			matched = h
			break
		}
	}
	switch {
	case matched != nil:
		v.prev = [][]byte{stored}
	default:
		if !broken {
			bad("stored hash does not match the event's contents and the previous hash")
		}
		v.prev = [][]byte{stored, computed}
	}
	v.lastStored = stored
	if len(out) > 0 {
		v.anyBroken = true
	}
	return out
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return fmt.Sprintf("the integer %d", v)
	case float64:
		return fmt.Sprintf("the real %g", v)
	case string:
		return fmt.Sprintf("the text %q", v)
	case []byte:
		return fmt.Sprintf("a %d-byte blob", len(v))
	default:
		return fmt.Sprintf("a %T", v)
	}
}

func timeOfNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
