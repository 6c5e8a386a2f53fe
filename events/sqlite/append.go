package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/treatywatch/treatywatch/events"
)

// Append implements events.Store. It checks each stream's version against
// ExpectedVersion, in order (a stream named twice is checked the second
// time against the version its first part gave it), and inserts the
// records with consecutive positions and versions, the recorded time read
// once from Config.Now, and the hash chained from the last stored event,
// all in one transaction that holds SQLite's write lock from its first
// read to its commit. If a stream has moved it returns a
// *events.ConflictError and writes nothing. A record without a type, with
// a schema version below 1 or whose payload is not one JSON value is
// refused with an *events.InvalidError before anything is written.
//
// The returned envelopes share their Payload bytes with the records.
func (s *Store) Append(ctx context.Context, appends ...events.StreamAppend) ([]events.Envelope, error) {
	n, err := events.CheckAppends(appends)
	if err != nil {
		return nil, err
	}
	if len(appends) == 0 {
		return nil, nil
	}
	recorded := time.Unix(0, s.now().UnixNano()).UTC()
	if n == 1 && len(appends) == 1 {
		e, ok, err := s.appendOne(ctx, &appends[0], recorded)
		if err != nil {
			return nil, err
		}
		if ok {
			return []events.Envelope{e}, nil
		}
	}
	var out []events.Envelope
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendTx(ctx, tx, appends, recorded, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		last := &out[len(out)-1]
		s.remember(last.Position, last.Hash)
		s.mu.Lock()
		for i := range out {
			s.noteVersion(out[i].Stream, out[i].Version)
		}
		s.mu.Unlock()
	}
	return out, nil
}

// noteVersion records that stream had reached version at a commit. The
// caller holds s.mu.
func (s *Store) noteVersion(stream string, version int64) {
	if s.versions == nil {
		s.versions = make(map[string]int64)
	}
	if version > s.versions[stream] {
		s.versions[stream] = version
	}
}

// remember records the last event known to be committed, for appendOne.
func (s *Store) remember(pos int64, hash []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos > s.lastPos {
		s.lastPos = pos
		s.lastHash = append(s.lastHash[:0], hash...)
	}
}

// appendOne is the fast path of the commonest append, one record to one
// stream: a single autocommit INSERT, chained to the last event this
// Store knows of, that inserts nothing unless that event is still the
// last and the stream is at the expected version. It reports false when
// it wrote nothing (a conflict, another writer, or no known last event):
// the caller then takes the full path, which finds out which.
//
// The INSERT is the plain one when the constraints alone prove both
// conditions: position last+1 is taken (PRIMARY KEY) unless last is
// still the last, since positions have no gaps; and version
// ExpectedVersion+1 is taken (UNIQUE) if the stream is beyond
// ExpectedVersion. That leaves a stream behind ExpectedVersion, which is
// impossible when ExpectedVersion is 0 or is a version the stream is
// known to have reached (s.versions). Otherwise the INSERT carries the
// guard that reads the stream's version.
func (s *Store) appendOne(ctx context.Context, sa *events.StreamAppend, recorded time.Time) (events.Envelope, bool, error) {
	s.mu.Lock()
	last, prev := s.lastPos, events.NewChain(s.lastHash)
	known := sa.ExpectedVersion == 0 || s.versions[sa.Stream] == sa.ExpectedVersion
	s.mu.Unlock()
	if last == 0 {
		return events.Envelope{}, false, nil
	}
	r := &sa.Records[0]
	if !validJSON(r.Payload) {
		return events.Envelope{}, false, invalidPayload(sa.Stream, 0, r.Type)
	}
	e := events.Envelope{
		Position:      last + 1,
		Stream:        sa.Stream,
		Version:       sa.ExpectedVersion + 1,
		Type:          r.Type,
		SchemaVersion: r.SchemaVersion,
		ValidDate:     r.ValidDate,
		RecordedAt:    recorded,
		Meta:          r.Meta,
		Payload:       compactJSON(r.Payload),
	}
	e.Hash = prev.Next(e)
	var ra rowArgs
	args := ra.set(&e, sa.Stream, recorded.UnixNano())
	stmt := s.insert
	if !known {
		stmt, args = s.insertOne, append(args, last, sa.ExpectedVersion)
	}
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		if isConflict(err) {
			return events.Envelope{}, false, nil
		}
		return events.Envelope{}, false, fmt.Errorf("append to %s at version %d: %w", sa.Stream, e.Version, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return events.Envelope{}, false, nil
	}
	s.remember(e.Position, e.Hash)
	s.mu.Lock()
	s.noteVersion(e.Stream, e.Version)
	s.mu.Unlock()
	return e, true, nil
}

// appendTx is Append's full path, inside tx: it checks every stream's
// version, then builds the n envelopes (positions, versions, hashes) and
// inserts them.
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, appends []events.StreamAppend, recorded time.Time, n int) ([]events.Envelope, error) {
	var (
		first, last int64
		prev        []byte
	)
	if err := tx.StmtContext(ctx, s.appendHead).QueryRowContext(ctx, appends[0].Stream).Scan(&first, &last, &prev); err != nil { //nolint:sqlclosecheck // a transaction's copy of a prepared statement closes with the transaction
		return nil, fmt.Errorf("append: read the head of the log: %w", err)
	}
	s.remember(last, prev) // committed: nothing is written yet
	starts, err := s.checkVersions(ctx, tx, appends, first)
	if err != nil {
		return nil, err
	}

	out := make([]events.Envelope, n)
	b := builder{appends: appends, starts: starts, chain: events.NewChain(prev), pos: last, recorded: recorded}
	insert := tx.StmtContext(ctx, s.insert)
	var ra rowArgs
	recordedNanos := recorded.UnixNano()
	put := func(k int) error {
		e := &out[k]
		_, err := insert.ExecContext(ctx, ra.set(e, e.Stream, recordedNanos)...)
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return fmt.Errorf("append to %s at version %d: %w", e.Stream, e.Version, err)
		}
		// Another writer got in. The version check under the write lock
		// makes this unreachable while every writer uses Append; the
		// constraint is the guard that does not depend on it.
		var actual int64
		if err := tx.StmtContext(ctx, s.version).QueryRowContext(ctx, e.Stream).Scan(&actual); err != nil { //nolint:sqlclosecheck // closes with the transaction
			actual = -1
		}
		return &events.ConflictError{Stream: e.Stream, Expected: b.part(k).ExpectedVersion, Actual: actual}
	}

	if n < pipelineMin {
		if err := b.build(out, nil); err != nil {
			return nil, err
		}
		for k := range out {
			if err := put(k); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// A long append builds (validates, compacts and hashes) on another
	// goroutine while this one inserts what is built: the two halves of
	// the work overlap instead of adding up. A failure of either stops
	// the inserts and the caller rolls the transaction back.
	ready := make(chan int, n/pipelineChunk+2)
	built := make(chan error, 1)
	go func() {
		built <- b.build(out, ready)
		close(ready)
	}()
	done := 0
	for upTo := range ready {
		for ; done < upTo; done++ {
			if err := put(done); err != nil {
				for range ready { //nolint:revive // wait for the builder to stop using out
				}
				if berr := <-built; berr != nil {
					s.log.Debug("append: the build stopped too", slog.Any("err", berr))
				}
				return nil, err // the insert's error is the one to report
			}
		}
	}
	if err := <-built; err != nil {
		return nil, err
	}
	return out, nil
}

// An append of pipelineMin records or more is built while it is
// inserted, and the inserter is told of every pipelineChunk built.
const (
	pipelineMin   = 128
	pipelineChunk = 64
)

// checkVersions checks, in order, that each stream of appends is at its
// expected version (first is the version of appends[0].Stream), and returns
// each part's starting version. A stream named twice is checked the second
// time against the version its first part gives it.
func (s *Store) checkVersions(ctx context.Context, tx *sql.Tx, appends []events.StreamAppend, first int64) ([]int64, error) {
	starts := make([]int64, len(appends))
	var (
		after       map[string]int64 // stream version after the parts so far
		versionStmt *sql.Stmt
	)
	if len(appends) > 1 {
		after = make(map[string]int64, len(appends))
	}
	for i := range appends {
		sa := &appends[i]
		version, seen := after[sa.Stream]
		switch {
		case i == 0:
			version = first
		case !seen:
			if versionStmt == nil {
				versionStmt = tx.StmtContext(ctx, s.version)
			}
			if err := versionStmt.QueryRowContext(ctx, sa.Stream).Scan(&version); err != nil {
				return nil, fmt.Errorf("append: read the version of %s: %w", sa.Stream, err)
			}
		}
		if version != sa.ExpectedVersion {
			return nil, &events.ConflictError{Stream: sa.Stream, Expected: sa.ExpectedVersion, Actual: version}
		}
		starts[i] = version
		if after != nil {
			after[sa.Stream] = version + int64(len(sa.Records))
		}
	}
	return starts, nil
}

// builder turns the records of an append into envelopes: consecutive
// positions after pos, each part's versions from its start, the recorded
// time, and the hash chain. It checks that each payload is one JSON value.
type builder struct {
	appends  []events.StreamAppend
	starts   []int64
	chain    *events.Chain
	pos      int64
	recorded time.Time
}

// build fills out, which has one element per record. When ready is not
// nil it is sent the number of envelopes built so far after every
// pipelineChunk of them and at the end; an envelope is not touched again
// once counted.
func (b *builder) build(out []events.Envelope, ready chan<- int) error {
	k := 0
	for i := range b.appends {
		sa := &b.appends[i]
		for j := range sa.Records {
			r := &sa.Records[j]
			if !validJSON(r.Payload) {
				return invalidPayload(sa.Stream, j, r.Type)
			}
			b.pos++
			e := &out[k]
			*e = events.Envelope{
				Position:      b.pos,
				Stream:        sa.Stream,
				Version:       b.starts[i] + int64(j) + 1,
				Type:          r.Type,
				SchemaVersion: r.SchemaVersion,
				ValidDate:     r.ValidDate,
				RecordedAt:    b.recorded,
				Meta:          r.Meta,
				Payload:       compactJSON(r.Payload),
			}
			e.Hash = b.chain.Next(*e)
			k++
			if ready != nil && k%pipelineChunk == 0 {
				ready <- k
			}
		}
	}
	if ready != nil && k%pipelineChunk != 0 {
		ready <- k
	}
	return nil
}

// part returns the StreamAppend of the k-th record.
func (b *builder) part(k int) *events.StreamAppend {
	for i := range b.appends {
		if k < len(b.appends[i].Records) {
			return &b.appends[i]
		}
		k -= len(b.appends[i].Records)
	}
	return &b.appends[len(b.appends)-1]
}

func invalidPayload(stream string, record int, typ string) error {
	return &events.InvalidError{Field: "payload", Reason: fmt.Sprintf("stream %s, record %d (%s): not one JSON value", stream, record, typ)}
}

// isConflict reports whether err is SQLite refusing a row because its
// (stream, version) or its position is taken: another writer appended
// first. It reads the extended error code, never the message.
func isConflict(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
}

// rowArgs builds the arguments of sqlInsert for a run of envelopes,
// reusing the argument slice and the boxed values that repeat from one
// event to the next (the stream, the type, the date, the actor...), so
// that an append of many events allocates little besides the hashes.
// Empty strings and the zero date become NULL.
type rowArgs struct {
	args                   [16]any
	stream, typ            boxedString
	actor, ref, source     boxedString
	correlation, causation boxedString
	date                   boxedDate
	recorded               any
	recordedNanos          int64
}

// set fills the arguments for e and returns them; they are valid until
// the next call.
func (ra *rowArgs) set(e *events.Envelope, stream string, recordedNanos int64) []any {
	if ra.recorded == nil || ra.recordedNanos != recordedNanos {
		ra.recorded, ra.recordedNanos = recordedNanos, recordedNanos
	}
	a := &ra.args
	a[0] = e.Position
	a[1] = ra.stream.of(stream)
	a[2] = e.Version
	a[3] = ra.typ.of(e.Type)
	a[4] = int64(e.SchemaVersion)
	a[5] = ra.date.of(e.ValidDate)
	a[6] = ra.recorded
	a[7] = ra.actor.of(e.Meta.Actor)
	a[8] = ra.ref.of(e.Meta.Reference)
	a[9] = ra.source.of(e.Meta.Source)
	a[10] = ra.correlation.of(e.Meta.CorrelationID)
	a[11] = ra.causation.of(e.Meta.CausationID)
	a[12] = []byte(e.Payload)
	a[13] = e.Hash
	return a[:14]
}

// boxedString converts a string to a driver argument, reusing the boxed
// value while the string repeats; "" gives NULL.
type boxedString struct {
	s string
	v any
}

func (b *boxedString) of(s string) any {
	if s == "" {
		return nil
	}
	if b.v == nil || b.s != s {
		b.s, b.v = s, s
	}
	return b.v
}

// boxedDate is boxedString for valid dates: "YYYY-MM-DD", NULL for the
// zero Date.
type boxedDate struct {
	d events.Date
	v any
}

func (b *boxedDate) of(d events.Date) any {
	if d.IsZero() {
		return nil
	}
	if b.v == nil || b.d != d {
		var buf [10]byte
		b.d, b.v = d, string(appendDate(buf[:0], d))
	}
	return b.v
}
