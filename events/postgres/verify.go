package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// VerifyReport is events.VerifyReport: what VerifyReport found.
type VerifyReport = events.VerifyReport

// KeptHead is events.KeptHead: a head of the log an earlier verification
// recorded, which the log must still hold.
type KeptHead = events.KeptHead

// MaxBreaks is events.MaxBreaks, the number of breaks a VerifyReport lists.
const MaxBreaks = events.MaxBreaks

// sqlVerify reads every column as stored, NULLs included.
const sqlVerify = `SELECT position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash FROM events ORDER BY position`

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

// VerifyReport walks the whole log in position order, in one snapshot (a
// read-only REPEATABLE READ transaction, which does not block writers),
// and reports every break it finds (up to MaxBreaks): a missing position;
// a stored value that Append never writes (empty text where Append writes
// NULL, a date or a payload not in its canonical form, a hash that is not
// 32 bytes); a version that does not follow its stream's previous one; or
// a stored hash that is not SHA-256(previous hash ‖ events.CanonicalBytes).
// The column types and NOT NULL constraints rule out the rest. After a
// broken hash it goes on from either the stored or the recomputed hash,
// whichever the next event continues, so that one tampered row is
// reported once whether its contents or its hash were changed.
//
// With a kept head, an earlier verification's Head and Hash, it also
// reports a log that no longer holds that event (a truncated tail, at the
// first missing position) or holds another one there.
//
// The error is for failures to read the log; breaks are in the report.
func (s *Store) VerifyReport(ctx context.Context, kept *KeptHead) (VerifyReport, error) {
	var rep VerifyReport
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rep = VerifyReport{}
		rows, err := tx.Query(ctx, sqlVerify)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			v verifier
			r row
		)
		v.init()
		for rows.Next() {
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			rep.Events++
			breaks := v.check(&r)
			for _, b := range breaks {
				rep.AddBreak(b)
			}
			rep.Head = v.head
			if kept != nil && v.head == kept.Position && !bytes.Equal(v.lastStored, kept.Hash) && len(breaks) == 0 {
				rep.AddBreak(events.TamperError{Position: kept.Position, Reason: fmt.Sprintf("its hash %x is not the kept head's %x: the log was rewritten from here or earlier", v.lastStored, kept.Hash)})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rep.Hash = v.lastStored
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	if kept != nil && kept.Position > rep.Head {
		rep.AddBreak(events.TamperError{Position: rep.Head + 1, Reason: fmt.Sprintf("the log ends at position %d, before the kept head at %d: its tail was removed", rep.Head, kept.Position)})
	}
	return rep, nil
}

// row is one row of sqlVerify, NULLs as nil pointers.
type row struct {
	position, version, recorded int64
	stream, typ                 string
	schema                      int32
	date                        *string
	meta                        [5]*string
	payload                     string
	hash                        []byte
	ptrs                        [14]any
}

func (r *row) dest() []any {
	p := &r.ptrs
	p[0], p[1], p[2], p[3], p[4], p[5], p[6] = &r.position, &r.stream, &r.version, &r.typ, &r.schema, &r.date, &r.recorded
	for i := range r.meta {
		p[7+i] = &r.meta[i]
	}
	p[12], p[13] = &r.payload, &r.hash
	return p[:]
}

var metaColumns = [...]string{"actor", "reference", "source", "correlation_id", "causation_id"}

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

// check checks one row and returns its breaks.
func (v *verifier) check(r *row) []events.TamperError {
	var (
		out    []events.TamperError
		broken bool
	)
	pos := r.position
	bad := func(reason string, args ...any) {
		broken = true
		out = append(out, events.TamperError{Position: pos, Reason: fmt.Sprintf(reason, args...)})
	}
	if want := v.head + 1; pos != want {
		out = append(out, events.TamperError{Position: want, Reason: fmt.Sprintf("the event at position %d is missing (the next stored is at %d)", want, pos)})
		v.prev = nil // the missing event's hash is unknown: take this one's as stored
	}
	v.head = pos
	e := events.Envelope{
		Position: pos, Stream: r.stream, Version: r.version, Type: r.typ,
		SchemaVersion: int(r.schema), RecordedAt: time.Unix(0, r.recorded).UTC(),
		Payload: json.RawMessage(r.payload),
	}
	if r.date != nil {
		date, err := events.ParseDate(*r.date)
		switch {
		case err != nil:
			bad("valid_date %q is not a date: %v", *r.date, err)
		case date.String() != *r.date:
			bad("valid_date %q is not in the form Append writes (%s)", *r.date, date)
		default:
			e.ValidDate = date
		}
	}
	meta := [...]*string{&e.Meta.Actor, &e.Meta.Reference, &e.Meta.Source, &e.Meta.CorrelationID, &e.Meta.CausationID}
	for i, m := range r.meta {
		if m == nil {
			continue
		}
		if *m == "" {
			bad("%s is empty text; Append stores an absent value as NULL", metaColumns[i])
		}
		*meta[i] = *m
	}
	switch {
	case !json.Valid(e.Payload):
		bad("payload is not JSON")
	case !events.IsCompactJSON(e.Payload):
		bad("payload is not in the compact form Append writes")
	}
	stored := append([]byte(nil), r.hash...)
	if len(stored) != 32 {
		bad("hash is %d bytes, want 32", len(stored))
	}

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
	if matched != nil {
		v.prev = [][]byte{stored}
	} else {
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
