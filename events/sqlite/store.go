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
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sealing"
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
	// SecretsKey is the AES-256 key (32 bytes) that seals sink secrets
	// at rest. Default: read from SecretsKeyFile.
	SecretsKey []byte
	// SecretsKeyFile holds the key as 64 hexadecimal digits, created
	// (mode 0600) the first time a secret is stored. Default: the
	// database path with ".secrets-key" appended. Back it up with the
	// database, apart from it.
	SecretsKeyFile string
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
	if err := sealing.CheckKey(c.SecretsKey); err != nil {
		return err
	}
	return nil
}

// Store is the event log in one SQLite file. It implements events.Store.
//
// A Store is safe for concurrent use by multiple goroutines, and several
// processes may open the same file: writes are serialised by SQLite's
// write lock (each Append is one transaction on the Store's single write
// connection that takes the lock before it reads: BEGIN IMMEDIATE, or a
// single guarded INSERT for one record), reads use a pool of read-only
// connections and never wait for writers (WAL).
type Store struct {
	path  string
	write *sql.DB // one connection; transactions begin IMMEDIATE
	read  *sql.DB // read-only pool
	now   func() time.Time
	log   *slog.Logger

	// The last event this Store wrote or saw committed, for Append's
	// fast path. It may be stale when other processes write: the fast
	// path's guard then fails and Append takes the full path.
	mu       sync.Mutex
	lastPos  int64
	lastHash []byte
	// versions holds, for the streams this Store appended to, a version
	// each stream had when it committed: never more than its version now,
	// since versions only grow. When it equals an append's expected
	// version the fast path needs no version guard (see appendOne).
	versions map[string]int64

	// The key that seals sink secrets (secrets.go).
	sealer *sealing.Sealer

	// On the write connection.
	appendHead *sql.Stmt // version of a stream, last position and hash
	version    *sql.Stmt // version of a stream
	insert     *sql.Stmt
	insertOne  *sql.Stmt // insert guarded by the head and the version

	// On the read pool.
	readAll         *sql.Stmt
	readStream      *sql.Stmt
	readStreamAfter *sql.Stmt
	streams         *sql.Stmt
	head            *sql.Stmt
	readDefinitions *sql.Stmt
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

// The statements. A parameter compared in a WHERE clause or given to LIMIT
// is wrapped in a CAST: SQLite marks a bare parameter there as one whose
// value may change the query plan, and the driver's clearing of the
// bindings after each execution then makes SQLite compile the statement
// again on every execution.
const (
	sqlAppendHead = `SELECT
	ifnull((SELECT max(version) FROM events WHERE stream = CAST(? AS TEXT)), 0),
	ifnull((SELECT max(position) FROM events), 0),
	(SELECT hash FROM events ORDER BY position DESC LIMIT 1)`
	sqlVersion = `SELECT ifnull(max(version), 0) FROM events WHERE stream = CAST(? AS TEXT)`
	sqlInsert  = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?)`
	// sqlInsertOne is sqlInsert that inserts nothing unless the log's
	// last position is ?15 and the stream's version is ?16. As one
	// autocommit statement it takes the write lock before it reads.
	sqlInsertOne = `INSERT INTO events (position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, CAST(?13 AS TEXT), ?14
WHERE (SELECT ifnull(max(position), 0) FROM events) = CAST(?15 AS INTEGER)
	AND (SELECT ifnull(max(version), 0) FROM events WHERE stream = CAST(?2 AS TEXT)) = CAST(?16 AS INTEGER)`
	sqlReadAll = `SELECT ` + envelopeColumns + ` FROM events
WHERE position > CAST(? AS INTEGER) ORDER BY position LIMIT CAST(? AS INTEGER)`
	sqlReadStream      = `SELECT ` + envelopeColumns + ` FROM events WHERE stream = CAST(? AS TEXT) ORDER BY version`
	sqlReadStreamAfter = `SELECT ` + envelopeColumns + ` FROM events WHERE stream = CAST(? AS TEXT) AND version > CAST(? AS INTEGER) ORDER BY version`
	// sqlVerify reads every column as stored, so that Verify sees NULLs
	// and storage types.
	sqlVerify = `SELECT position, stream, version, type, schema_version, valid_date, recorded_at,
	actor, reference, source, correlation_id, causation_id, payload, hash FROM events ORDER BY position`
	sqlHead = `SELECT ifnull(max(position), 0) FROM events`
	// The literal types let SQLite use the partial index events_definitions
	// (a bound parameter would not prove the index's WHERE).
	sqlReadDefinitions = `SELECT ` + envelopeColumns + ` FROM events
WHERE type IN ('treaty.registered', 'treaty.definition-amended') ORDER BY position`
	// Distinct streams from the first one >= ?, one index seek each
	// rather than one index entry per event.
	sqlStreams = `WITH RECURSIVE s(stream) AS (
	SELECT min(stream) FROM events WHERE stream >= CAST(? AS TEXT)
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
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	if err := ownerOnly(abs); err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}

	keyFile := cfg.SecretsKeyFile
	if keyFile == "" {
		keyFile = abs + ".secrets-key"
	}
	s := &Store{path: abs, now: cfg.Now, log: logger,
		sealer: sealing.New(cfg.SecretsKey, keyFile, "restore it from the backup made with the database, or subscribe those sinks again")}
	if err := s.open(ctx, cfg); err != nil {
		if cerr := s.Close(); cerr != nil {
			return nil, errors.Join(err, cerr)
		}
		return nil, err
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

	version, err := migrateRetrying(ctx, s.write, s.path, s.log, cfg.BusyTimeout)
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
		{s.write, &s.insertOne, sqlInsertOne},
		{s.read, &s.readAll, sqlReadAll},
		{s.read, &s.readStream, sqlReadStream},
		{s.read, &s.readStreamAfter, sqlReadStreamAfter},
		{s.read, &s.streams, sqlStreams},
		{s.read, &s.head, sqlHead},
		{s.read, &s.readDefinitions, sqlReadDefinitions},
	} {
		if *p.stmt, err = p.db.PrepareContext(ctx, p.sql); err != nil { //nolint:sqlclosecheck // kept for the store's life; Close closes them
			return fmt.Errorf("open event store %s: prepare: %w", s.path, err)
		}
	}
	s.log.Debug("opened event store", slog.String("path", s.path), slog.Int("schema_version", version))
	return nil
}

// ownerOnly makes the database file, creating it empty if missing, and
// its -wal and -shm companions readable and writable by their owner only:
// the ledger holds token hashes, sealed secrets and the notifier's state,
// and anyone who can write the file can write to the ledger. SQLite
// creates the companions with the database file's mode. Files made by
// earlier versions (0644) are tightened.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
		}
	}
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
	for _, st := range []*sql.Stmt{s.appendHead, s.version, s.insert, s.insertOne, s.readAll, s.readStream, s.readStreamAfter, s.streams, s.head, s.readDefinitions} {
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
// projections runner's tables (until its port lands) and for tests; the
// other packages keep their tables through the ports this Store
// implements.
//
// fn must not call Append or WriteTx (the write connection is the one fn
// holds: that would deadlock), and must not INSERT into the events table
// (that would break the hash chain; UPDATE and DELETE are refused).
// fn may read with ReadDB, which sees only committed data.
func (s *Store) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, fn)
}

// ReadDB returns the store's pool of read-only connections, for the
// projections runner's queries (until its port lands) and for tests. It is
// safe for concurrent use; do not close it: Close does.
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
		if cerr := ctx.Err(); cerr != nil {
			// database/sql rolled the transaction back when ctx ended
			// and reports sql.ErrTxDone: say why.
			return fmt.Errorf("commit: %w", context.Cause(ctx))
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
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

// ReadStreamAfter returns the events of one stream with a version above
// after, in version order: the tail a reader that already folded the
// stream up to that version needs.
func (s *Store) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]events.Envelope, error) {
	rows, err := s.readStreamAfter.QueryContext(ctx, stream, after)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after version %d: %w", stream, after, err)
	}
	out, err := scanEnvelopes(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after version %d: %w", stream, after, err)
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
	size := limit
	if limit > smallPage {
		// Positions have no gaps, so the head says how many events the
		// page will hold: allocate it once, and skip the query when
		// there is nothing after. (Events committed in between make the
		// page grow as usual.)
		head, err := s.Head(ctx)
		if err != nil {
			return nil, fmt.Errorf("read log after %d: %w", after, err)
		}
		if head <= after {
			return []events.Envelope{}, nil
		}
		size = int(min(int64(limit), head-after))
	}
	rows, err := s.readAll.QueryContext(ctx, after, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	out, err := scanEnvelopes(rows, make([]events.Envelope, 0, size))
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	return out, nil
}

// smallPage is the largest ReadAll page that is allocated whole without
// asking for the head first.
const smallPage = 256

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

// ReadDefinitions implements events.Store: the treaty definition events,
// in position order, read through the partial index events_definitions.
func (s *Store) ReadDefinitions(ctx context.Context) ([]events.Envelope, error) {
	rows, err := s.readDefinitions.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("read treaty definitions: %w", err)
	}
	out, err := scanEnvelopes(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("read treaty definitions: %w", err)
	}
	return out, nil
}
