package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/treatywatch/treatywatch/events"
)

// driverName is the database/sql driver that mattn/go-sqlite3 registers.
const driverName = "sqlite3"

// Config holds the options of a Store. The zero Config is valid: Open
// fills in the defaults.
type Config struct {
	// Now returns the time recorded on appended events (RecordedAt), read
	// once per Append. Default: time.Now.
	Now func() time.Time
	// BusyTimeout is how long a connection waits for another connection's
	// or process's lock before giving up with SQLITE_BUSY. Default: 5 s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read-only connection pool. Default: the
	// larger of 4 and GOMAXPROCS.
	ReadConns int
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.ReadConns == 0 {
		c.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
}

// Validate reports the first invalid option as an *events.InvalidError.
// Zero values are valid: they mean "the default".
func (c Config) Validate() error {
	if c.BusyTimeout < 0 {
		return &events.InvalidError{Field: "BusyTimeout", Reason: "must not be negative"}
	}
	if c.ReadConns < 0 {
		return &events.InvalidError{Field: "ReadConns", Reason: "must not be negative"}
	}
	return nil
}

// Store is the event log in one SQLite file. It implements events.Store.
//
// A Store is safe for concurrent use by multiple goroutines, and several
// processes may open the same file: writes are serialised by SQLite's
// write lock (each Append is one BEGIN IMMEDIATE transaction on the
// Store's single write connection), reads use a pool of read-only
// connections and never wait for writers (WAL).
type Store struct {
	path  string
	write *sql.DB // one connection; transactions begin IMMEDIATE
	read  *sql.DB // read-only pool
	now   func() time.Time
	log   *slog.Logger

	// On the write connection.
	appendHead *sql.Stmt // version of a stream, last position and hash
	version    *sql.Stmt // version of a stream
	insert     *sql.Stmt

	// On the read pool.
	readAll    *sql.Stmt
	readStream *sql.Stmt
	streams    *sql.Stmt
	head       *sql.Stmt
}

// Compile-time check that Store implements events.Store.
var _ events.Store = (*Store)(nil)

// Columns of an envelope, in the order rowScanner scans them. Empty
// metadata is stored as NULL and read back as "". The payload is read as
// a BLOB so that the driver hands over bytes, not a string to convert.
const envelopeColumns = `position, stream, version, type, schema_version, valid_date, recorded_at,
	ifnull(actor, ''), ifnull(reference, ''), ifnull(source, ''),
	ifnull(correlation_id, ''), ifnull(causation_id, ''),
	CAST(payload AS BLOB), hash`

const (
	sqlAppendHead = `SELECT
	ifnull((SELECT max(version) FROM events WHERE stream = ?), 0),
	ifnull((SELECT max(position) FROM events), 0),
	(SELECT hash FROM events ORDER BY position DESC LIMIT 1)`
	sqlVersion = `SELECT ifnull(max(version), 0) FROM events WHERE stream = ?`
	sqlInsert  = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)`
	sqlReadAll    = `SELECT ` + envelopeColumns + ` FROM events WHERE position > ? ORDER BY position LIMIT ?`
	sqlReadStream = `SELECT ` + envelopeColumns + ` FROM events WHERE stream = ? ORDER BY version`
	sqlVerify     = `SELECT ` + envelopeColumns + ` FROM events ORDER BY position`
	sqlHead       = `SELECT ifnull(max(position), 0) FROM events`
	// Distinct streams from the first one >= ?, one index seek each
	// rather than one index entry per event.
	sqlStreams = `WITH RECURSIVE s(stream) AS (
	SELECT min(stream) FROM events WHERE stream >= ?
	UNION ALL
	SELECT (SELECT min(stream) FROM events WHERE stream > s.stream) FROM s WHERE s.stream IS NOT NULL
)
SELECT stream FROM s WHERE stream IS NOT NULL`
)

// Open opens (creating it, and its parent directory, if missing) the
// event store in the SQLite file at path, and applies the pending
// migrations. It refuses a database written by a newer treatywatch with a
// *SchemaTooNewError. A nil logger means no logging.
//
// The file is in WAL mode with synchronous=NORMAL: a committed append
// survives a crash of the process; a power loss may lose the last
// transactions but never corrupts the file.
func Open(ctx context.Context, path string, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, &events.InvalidError{Field: "path", Reason: fmt.Sprintf("%q: want the path of a database file", path)}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}

	s := &Store{path: abs, now: cfg.Now, log: logger}
	if err := s.open(ctx, cfg); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg Config) error {
	busy := "_busy_timeout=" + strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)
	var err error
	s.write, err = sql.Open(driverName, fileURI(s.path)+"?"+busy+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)

	version, err := migrate(ctx, s.write, s.path, s.log)
	if err != nil {
		return fmt.Errorf("open event store: %w", err)
	}

	// The read pool opens after the writer has made the file and turned
	// WAL on, so that mode=ro connections find it in WAL mode.
	s.read, err = sql.Open(driverName, fileURI(s.path)+"?mode=ro&"+busy+"&_synchronous=NORMAL")
	if err != nil {
		return fmt.Errorf("open event store %s: %w", s.path, err)
	}
	s.read.SetMaxOpenConns(cfg.ReadConns)
	s.read.SetMaxIdleConns(cfg.ReadConns)
	s.read.SetConnMaxLifetime(0)
	s.read.SetConnMaxIdleTime(0)

	for _, p := range []struct {
		db   *sql.DB
		stmt **sql.Stmt
		sql  string
	}{
		{s.write, &s.appendHead, sqlAppendHead},
		{s.write, &s.version, sqlVersion},
		{s.write, &s.insert, sqlInsert},
		{s.read, &s.readAll, sqlReadAll},
		{s.read, &s.readStream, sqlReadStream},
		{s.read, &s.streams, sqlStreams},
		{s.read, &s.head, sqlHead},
	} {
		if *p.stmt, err = p.db.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("open event store %s: prepare: %w", s.path, err)
		}
	}
	s.log.Debug("opened event store", slog.String("path", s.path), slog.Int("schema_version", version))
	return nil
}

// fileURI returns an SQLite URI for an absolute path, escaping the
// characters that URIs reserve.
func fileURI(path string) string {
	var b strings.Builder
	b.WriteString("file:")
	for _, c := range []byte(filepath.ToSlash(path)) {
		switch c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Close closes the store's connections. Close it once, after every other
// call has returned.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.appendHead, s.version, s.insert, s.readAll, s.readStream, s.streams, s.head} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close event store %s: %w", s.path, err)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// WriteTx runs fn in an immediate transaction on the store's write
// connection and commits it if fn returns nil; it rolls it back if fn
// returns an error (which WriteTx returns as is) or panics. It is for the
// packages that keep their own tables in the same file (projection
// checkpoints, notifier deliveries), so that their writes are serialised
// with Append.
//
// fn must not call Append or WriteTx (the write connection is the one fn
// holds: that would deadlock), and must not INSERT into the events table
// (that would break the hash chain; UPDATE and DELETE are refused).
// fn may read with ReadDB, which sees only committed data.
func (s *Store) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, fn)
}

// ReadDB returns the store's pool of read-only connections, for queries of
// other packages' tables in the same file. It is safe for concurrent use;
// do not close it: Close does.
func (s *Store) ReadDB() *sql.DB { return s.read }

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock=immediate
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Append implements events.Store. Within one immediate transaction it
// checks each stream's version against ExpectedVersion, in order (a
// stream named twice is checked the second time against the version its
// first part gave it), and inserts the records with consecutive positions
// and versions, the recorded time read once from Config.Now, and the hash
// chained from the last stored event. If a stream has moved it returns a
// *events.ConflictError and writes nothing. A record without a type, with
// a schema version below 1 or whose payload is not JSON is refused with an
// *events.InvalidError before anything is written.
//
// The returned envelopes share their Payload bytes with the records.
func (s *Store) Append(ctx context.Context, appends ...events.StreamAppend) ([]events.Envelope, error) {
	n, err := checkAppends(appends)
	if err != nil {
		return nil, err
	}
	if len(appends) == 0 {
		return nil, nil
	}
	recorded := time.Unix(0, s.now().UnixNano()).UTC()
	out := make([]events.Envelope, 0, n)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendTx(ctx, tx, appends, recorded, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkAppends validates the input of Append and returns the number of
// records.
func checkAppends(appends []events.StreamAppend) (int, error) {
	n := 0
	for _, sa := range appends {
		if sa.Stream == "" {
			return 0, &events.InvalidError{Field: "stream", Reason: "empty stream id"}
		}
		if sa.ExpectedVersion < 0 {
			return 0, &events.InvalidError{Field: "expected version", Reason: fmt.Sprintf("stream %s: %d is negative", sa.Stream, sa.ExpectedVersion)}
		}
		for i := range sa.Records {
			r := &sa.Records[i]
			switch {
			case r.Type == "":
				return 0, &events.InvalidError{Field: "type", Reason: fmt.Sprintf("stream %s, record %d: empty type", sa.Stream, i)}
			case r.SchemaVersion < 1:
				return 0, &events.InvalidError{Field: "schema version", Reason: fmt.Sprintf("stream %s, record %d (%s): schema version %d, want 1 or more", sa.Stream, i, r.Type, r.SchemaVersion)}
			case !validJSON(r.Payload):
				return 0, &events.InvalidError{Field: "payload", Reason: fmt.Sprintf("stream %s, record %d (%s): not a JSON value", sa.Stream, i, r.Type)}
			}
		}
		n += len(sa.Records)
	}
	return n, nil
}

func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, appends []events.StreamAppend, recorded time.Time, out []events.Envelope) ([]events.Envelope, error) {
	var (
		version, last int64
		prev          []byte
	)
	if err := tx.StmtContext(ctx, s.appendHead).QueryRowContext(ctx, appends[0].Stream).Scan(&version, &last, &prev); err != nil {
		return nil, fmt.Errorf("append: read the head of the log: %w", err)
	}
	chain := events.NewChain(prev)
	insert := tx.StmtContext(ctx, s.insert)
	var versionStmt *sql.Stmt

	var (
		args        [14]any
		recordedArg any = recorded.UnixNano()
		types       boxedString
		dates       boxedDate
		meta        [5]boxedString
	)
	pos := last
	for i := range appends {
		sa := &appends[i]
		if i > 0 {
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
		streamArg := any(sa.Stream)
		for j := range sa.Records {
			r := &sa.Records[j]
			pos++
			version++
			out = append(out, events.Envelope{
				Position:      pos,
				Stream:        sa.Stream,
				Version:       version,
				Type:          r.Type,
				SchemaVersion: r.SchemaVersion,
				ValidDate:     r.ValidDate,
				RecordedAt:    recorded,
				Meta:          r.Meta,
				Payload:       r.Payload,
			})
			e := &out[len(out)-1]
			e.Hash = chain.Next(*e)

			args[0] = pos
			args[1] = streamArg
			args[2] = version
			args[3] = types.of(r.Type)
			args[4] = int64(r.SchemaVersion)
			args[5] = dates.of(r.ValidDate)
			args[6] = recordedArg
			args[7] = meta[0].of(r.Meta.Actor)
			args[8] = meta[1].of(r.Meta.Reference)
			args[9] = meta[2].of(r.Meta.Source)
			args[10] = meta[3].of(r.Meta.CorrelationID)
			args[11] = meta[4].of(r.Meta.CausationID)
			args[12] = []byte(r.Payload)
			args[13] = e.Hash
			if _, err := insert.ExecContext(ctx, args[:]...); err != nil {
				if !isConflict(err) {
					return nil, fmt.Errorf("append to %s at version %d: %w", sa.Stream, version, err)
				}
				// Another writer got in: the version check makes this
				// unreachable while every writer uses Append, but the
				// constraint is the guard that does not depend on it.
				var actual int64
				if err := tx.StmtContext(ctx, s.version).QueryRowContext(ctx, sa.Stream).Scan(&actual); err != nil {
					actual = -1
				}
				return nil, &events.ConflictError{Stream: sa.Stream, Expected: sa.ExpectedVersion, Actual: actual}
			}
		}
	}
	return out, nil
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

// boxedString converts strings to the driver's argument, reusing the
// boxed value while the string repeats (the type, the actor and the
// source of an import rarely change), and giving NULL for "".
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

// ReadStream implements events.Store: every event of one stream in
// version order; an empty slice for a stream that does not exist.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]events.Envelope, error) {
	rows, err := s.readStream.QueryContext(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	out, err := scanEnvelopes(rows, make([]events.Envelope, 0, 16))
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return out, nil
}

// ReadAll implements events.Store: up to limit events with position >
// after, in position order. A limit below 1 is an *events.InvalidError.
//
// The Payload and Hash of the returned envelopes share a few large
// allocations per page rather than one each: an envelope kept after its
// page is dropped keeps some of the page's bytes alive.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error) {
	if limit < 1 {
		return nil, &events.InvalidError{Field: "limit", Reason: fmt.Sprintf("%d: want 1 or more", limit)}
	}
	rows, err := s.readAll.QueryContext(ctx, after, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	out, err := scanEnvelopes(rows, make([]events.Envelope, 0, min(limit, 4096)))
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return out, nil
}

// scanEnvelopes appends the envelopes of rows to out and closes rows.
func scanEnvelopes(rows *sql.Rows, out []events.Envelope) ([]events.Envelope, error) {
	defer rows.Close()
	var sc rowScanner
	for rows.Next() {
		out = append(out, events.Envelope{})
		if err := sc.scan(rows, &out[len(out)-1], true); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// Streams implements events.Store: the ids of the streams whose id starts
// with prefix, sorted (bytewise).
func (s *Store) Streams(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.streams.QueryContext(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list streams %q: %w", prefix, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list streams %q: %w", prefix, err)
		}
		if !strings.HasPrefix(id, prefix) {
			break // sorted: no later id has the prefix
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list streams %q: %w", prefix, err)
	}
	return out, nil
}

// Head returns the position of the last event of the log, 0 if it is
// empty.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.head.QueryRowContext(ctx).Scan(&head); err != nil {
		return 0, fmt.Errorf("read the head of the log: %w", err)
	}
	return head, nil
}
