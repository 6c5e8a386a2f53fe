package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events"
)

// The columns Append writes, in the order of rowArgs.
var insertColumns = []string{"position", "stream", "version", "type", "schema_version", "valid_date", "recorded_at",
	"actor", "reference", "source", "correlation_id", "causation_id", "payload", "hash"}

const (
	sqlInsert = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	// sqlInsertOne is sqlInsert in one autocommit statement that takes
	// the append lock and inserts nothing unless the stream is at version
	// $16 (it has version $16 and, by the unique constraint, no later
	// one). Position $1 is the one after the last event this Store knows
	// of; if another appender took it, the primary key refuses the row
	// (ON CONFLICT DO NOTHING: no row, no error) and Append takes the full
	// path. The statement's snapshot may predate the lock, so its version
	// check may miss a late commit: but any event committed since the one
	// at $1-1 holds position $1, so the primary key refuses the row then
	// too.
	sqlInsertOne = `WITH append_lock AS (SELECT pg_advisory_xact_lock($15))
INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM append_lock
WHERE $16::bigint = 0 OR EXISTS (SELECT FROM events WHERE stream = $2 AND version = $16)
ON CONFLICT DO NOTHING`
	sqlLastEvent     = `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`
	sqlVersions      = `SELECT stream, max(version) FROM events WHERE stream = ANY($1) GROUP BY stream`
	sqlStreamVersion = `SELECT coalesce(max(version), 0) FROM events WHERE stream = $1`
)

// idleAppendTimeout bounds how long a full-path append may sit idle in
// its transaction, holding the append lock.
const idleAppendTimeout = "'30s'"

// copyThreshold is the number of events above which Append sends them
// with COPY rather than one pipelined INSERT each.
const copyThreshold = 64

// Append implements events.Store. It checks each stream's version against
// ExpectedVersion, in order (a stream named twice is checked the second
// time against the version its first part gave it), and inserts the
// records with consecutive positions and versions, the recorded time read
// once from Config.Now, and the hash chained from the last stored event,
// all in one transaction that holds the append lock (locks.go) from before
// it reads the head of the log to its commit. If a stream has moved it
// returns a *events.ConflictError and writes nothing. A record without a
// type, with a schema version below 1 or whose payload is not one JSON
// value is refused with an *events.InvalidError before anything is
// written; so is text PostgreSQL cannot store (a NUL byte, invalid UTF-8).
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
	done, err := s.takeTurn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
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
	out, err := s.appendTx(ctx, appends, recorded, n, nil)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		last := &out[len(out)-1]
		s.remember(last.Position, last.Hash)
	}
	return out, nil
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
// stream: a single autocommit statement (one round trip), chained to the
// last event this Store knows of, that inserts nothing unless that event
// is still the last and the stream is at the expected version. It reports
// false when it wrote nothing (a conflict, another writer, or no known
// last event): the caller then takes the full path, which finds out which.
func (s *Store) appendOne(ctx context.Context, sa *events.StreamAppend, recorded time.Time) (events.Envelope, bool, error) {
	s.mu.Lock()
	last, prev := s.lastPos, events.NewChain(s.lastHash)
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
	args := rowArgs(&e)
	tag, err := s.pool.Exec(ctx, sqlInsertOne, append(args, lockAppend, sa.ExpectedVersion)...)
	if err != nil {
		return events.Envelope{}, false, translate(err, fmt.Sprintf("append to %s at version %d", sa.Stream, e.Version))
	}
	if tag.RowsAffected() != 1 {
		return events.Envelope{}, false, nil
	}
	s.remember(e.Position, e.Hash)
	return e, true, nil
}

// appendTx is Append's full path, in one transaction on one connection, in
// two round trips for up to copyThreshold events: BEGIN, the append lock,
// the head and the streams' versions; then the inserts and COMMIT. When
// also is not nil, the statement it returns for the stored envelopes runs
// after the inserts, before COMMIT (AppendAnswer's answer); an error of
// also is returned as is, and nothing is written.
func (s *Store) appendTx(ctx context.Context, appends []events.StreamAppend, recorded time.Time, n int, also func([]events.Envelope) (string, []any, error)) (out []events.Envelope, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("append: %w", err)
	}
	defer conn.Release()
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, conn)
		}
	}()

	streams := make([]string, 0, len(appends))
	seen := make(map[string]bool, len(appends))
	for _, sa := range appends {
		if !seen[sa.Stream] {
			seen[sa.Stream] = true
			streams = append(streams, sa.Stream)
		}
	}
	var (
		last     int64
		prev     []byte
		versions = make(map[string]int64, len(streams))
	)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// An appender that stops between its two round trips (a frozen or
	// partitioned instance) holds the append lock, and every other
	// appender waits: the server ends its transaction after this long.
	b.Queue("SET LOCAL idle_in_transaction_session_timeout = " + idleAppendTimeout)
	b.Queue("SELECT pg_advisory_xact_lock($1)", lockAppend)
	b.Queue(sqlLastEvent).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&last, &prev); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	b.Queue(sqlVersions, streams).Query(func(rows pgx.Rows) error {
		var (
			stream  string
			version int64
		)
		_, err := pgx.ForEachRow(rows, []any{&stream, &version}, func() error {
			versions[stream] = version
			return nil
		})
		return err
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, translate(err, "append: read the head of the log")
	}
	s.remember(last, prev) // committed: nothing is written yet

	starts, err := checkVersions(appends, versions)
	if err != nil {
		return nil, err
	}
	out = make([]events.Envelope, n)
	bld := builder{appends: appends, starts: starts, chain: events.NewChain(prev), pos: last, recorded: recorded}
	if err := bld.build(out); err != nil {
		return nil, err
	}
	var alsoSQL string
	var alsoArgs []any
	if also != nil {
		if alsoSQL, alsoArgs, err = also(out); err != nil {
			return nil, err
		}
	}

	if n <= copyThreshold {
		b := &pgx.Batch{}
		for k := range out {
			b.Queue(sqlInsert, rowArgs(&out[k])...)
		}
		if alsoSQL != "" {
			b.Queue(alsoSQL, alsoArgs...)
		}
		b.Queue("COMMIT")
		err = conn.SendBatch(ctx, b).Close()
	} else {
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"events"}, insertColumns, pgx.CopyFromSlice(n, func(k int) ([]any, error) {
			return rowArgs(&out[k]), nil
		}))
		if err == nil && alsoSQL != "" {
			_, err = conn.Exec(ctx, alsoSQL, alsoArgs...)
		}
		if err == nil {
			_, err = conn.Exec(ctx, "COMMIT")
		}
	}
	if err != nil {
		if isUniqueViolation(err) {
			// Another writer got in. The version check under the
			// append lock makes this unreachable while every writer
			// uses Append; the constraints are the guard that does
			// not depend on it.
			rollback(ctx, conn)
			committed = true // rolled back: nothing left to undo
			return nil, s.conflictAfter(ctx, appends)
		}
		return nil, translate(err, "append")
	}
	committed = true
	return out, nil
}

// rollback ends the connection's transaction, if any; a connection that
// cannot is closed, so that the pool does not hand it out again.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	if conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	if _, err := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
	}
}

// conflictAfter reads, after a refused insert, the first stream of appends
// whose version is not the one expected, for the ConflictError.
func (s *Store) conflictAfter(ctx context.Context, appends []events.StreamAppend) error {
	for _, sa := range appends {
		var actual int64
		if err := s.pool.QueryRow(ctx, sqlStreamVersion, sa.Stream).Scan(&actual); err != nil {
			actual = -1
		}
		if actual != sa.ExpectedVersion {
			return &events.ConflictError{Stream: sa.Stream, Expected: sa.ExpectedVersion, Actual: actual}
		}
	}
	sa := appends[0]
	return &events.ConflictError{Stream: sa.Stream, Expected: sa.ExpectedVersion, Actual: -1}
}

// checkVersions checks, in order, that each stream of appends is at its
// expected version (versions holds the stored version of each stream that
// has events), and returns each part's starting version. A stream named
// twice is checked the second time against the version its first part
// gives it.
func checkVersions(appends []events.StreamAppend, versions map[string]int64) ([]int64, error) {
	starts := make([]int64, len(appends))
	for i := range appends {
		sa := &appends[i]
		version := versions[sa.Stream]
		if version != sa.ExpectedVersion {
			return nil, &events.ConflictError{Stream: sa.Stream, Expected: sa.ExpectedVersion, Actual: version}
		}
		starts[i] = version
		versions[sa.Stream] = version + int64(len(sa.Records))
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

// build fills out, which has one element per record.
func (b *builder) build(out []events.Envelope) error {
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
		}
	}
	return nil
}

func invalidPayload(stream string, record int, typ string) error {
	return &events.InvalidError{Field: "payload", Reason: fmt.Sprintf("stream %s, record %d (%s): not one JSON value", stream, record, typ)}
}

// rowArgs returns the arguments of sqlInsert for e. Empty strings and the
// zero date become NULL.
func rowArgs(e *events.Envelope) []any {
	args := make([]any, 14, 16)
	args[0] = e.Position
	args[1] = e.Stream
	args[2] = e.Version
	args[3] = e.Type
	args[4] = int32(e.SchemaVersion)
	args[5] = nullable(dateText(e.ValidDate))
	args[6] = e.RecordedAt.UnixNano()
	args[7] = nullable(e.Meta.Actor)
	args[8] = nullable(e.Meta.Reference)
	args[9] = nullable(e.Meta.Source)
	args[10] = nullable(e.Meta.CorrelationID)
	args[11] = nullable(e.Meta.CausationID)
	args[12] = string(e.Payload)
	args[13] = e.Hash
	return args
}

func dateText(d events.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// nullable gives NULL for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// isUniqueViolation reports whether err is PostgreSQL refusing a row
// because its position or its (stream, version) is taken. It reads the
// SQLSTATE, never the message.
func isUniqueViolation(err error) bool {
	pe, ok := errorsAs[*pgconn.PgError](err)
	return ok && pe.Code == "23505"
}

// translate turns PostgreSQL's refusal of text it cannot store into an
// *events.InvalidError, and wraps any other error with what failed.
func translate(err error, what string) error {
	if pe, ok := errorsAs[*pgconn.PgError](err); ok {
		switch pe.Code {
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			return &events.InvalidError{Field: "text", Reason: "PostgreSQL cannot store it (a NUL byte or invalid UTF-8): " + pe.Message}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// validJSON reports whether b is one JSON value.
func validJSON(b []byte) bool { return len(b) > 0 && json.Valid(b) }

// compactJSON returns b, valid JSON, in its compact form: b itself when
// it is compact already. The store writes only compact payloads, as
// events/sqlite does, so that Verify can tell an added space from what
// Append wrote.
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
