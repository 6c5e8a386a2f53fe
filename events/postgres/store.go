package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sealing"
)

// Config holds the options of a Store. The zero Config is valid: Open
// fills in the defaults.
type Config struct {
	// Now returns the time recorded on appended events (RecordedAt), read
	// once per Append. Default: time.Now.
	Now func() time.Time
	// MaxConns is the size of the connection pool. Default: pgxpool's
	// (the larger of 4 and the number of CPUs), or pool_max_conns in the
	// URL.
	MaxConns int32
	// SecretsKey is the AES-256 key (32 bytes) that seals sink secrets
	// at rest (secrets.go). Every instance on one database must be given
	// the same key; it is never stored in the database. Default: read
	// from SecretsKeyFile.
	SecretsKey []byte
	// SecretsKeyFile holds the key as 64 hexadecimal digits; when it does
	// not exist, the first secret stored creates it (mode 0600), and then
	// it must be copied to the other instances. No default: with neither
	// SecretsKey nor SecretsKeyFile, storing or reading a sink secret
	// fails saying so.
	SecretsKeyFile string
	// ReadAhead is the smallest ReadAll page after which, when the page
	// is full, the store reads the next page in the background, so that
	// a reader paging through the log (a replay, a catch-up) decodes one
	// page while the server reads the next. Default: 1,000; -1: never.
	ReadAhead int
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReadAhead == 0 {
		c.ReadAhead = 1000
	}
}

// Validate reports the first invalid option as an *events.InvalidError.
// Zero values are valid: they mean "the default".
func (c Config) Validate() error {
	if c.MaxConns < 0 {
		return &events.InvalidError{Field: "MaxConns", Reason: "must not be negative"}
	}
	if err := sealing.CheckKey(c.SecretsKey); err != nil {
		return err
	}
	if c.ReadAhead < -1 {
		return &events.InvalidError{Field: "ReadAhead", Reason: "want a page size, 0 for the default or -1 for never"}
	}
	return nil
}

// Store is the event log in a PostgreSQL database. It implements
// events.Store.
//
// A Store is safe for concurrent use by multiple goroutines, and several
// processes (several treatywatch instances) may open the same database:
// appends are serialised by a transaction-scoped advisory lock (locks.go)
// taken before the head of the log is read, so positions are assigned and
// committed in order and a catch-up reader (ReadAll after its last
// position) never skips an event that commits late. The appends of one
// Store also wait their turn in the process, so that most take the
// one-statement path. Reads take no lock.
type Store struct {
	pool  *pgxpool.Pool
	where string // host:port/database, for messages; never the password
	now   func() time.Time
	log   *slog.Logger
	// sealer seals and opens sink secrets (secrets.go); keyChecked is set
	// once its key's check matched the database's.
	sealer     *sealing.Sealer
	keyChecked atomic.Bool

	// appending holds a token while an Append or an Import of this Store
	// runs: the database's append lock serialises appends anyway, and
	// queueing this process's in Go keeps lastPos current, so that the
	// one-statement path, which holds the database's lock for no round
	// trip, is the one taken; the waiting appenders do not each hold a
	// connection meanwhile.
	appending chan struct{}

	// The last event this Store wrote or saw committed, for Append's
	// fast path. It may be stale when other processes write: the fast
	// path's guard then fails and Append takes the full path.
	mu       sync.Mutex
	lastPos  int64
	lastHash []byte

	// ReadAll's read-ahead (readahead.go).
	readAhead int
	ra        readAheadState
}

// Compile-time check that Store implements events.Store.
var _ events.Store = (*Store)(nil)

// IsURL reports whether db names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than an SQLite file.
func IsURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open connects to the PostgreSQL database at url (postgres://user@host:
// port/db?options, as libpq and pgx read it; a password is best given in
// ~/.pgpass or $PGPASSWORD rather than the URL) and applies the pending
// migrations. It refuses a database written by a newer treatywatch with a
// *SchemaTooNewError. A nil logger means no logging.
//
// Migrating needs a role that may create tables in the database's schema;
// a database already at this binary's schema version opens with a role
// that may only read and insert events (see GrantService).
//
// Errors never include the password of the URL.
func Open(ctx context.Context, url string, cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !IsURL(url) {
		return nil, &events.InvalidError{Field: "url", Reason: "want a postgres:// or postgresql:// URL"}
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, password included: say
		// only that it does not parse.
		return nil, &events.InvalidError{Field: "url", Reason: "not a PostgreSQL connection URL pgx can read"}
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	where := describe(pc.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", where, err)
	}
	s := &Store{pool: pool, where: where, now: cfg.Now, log: logger, appending: make(chan struct{}, 1), readAhead: cfg.ReadAhead,
		sealer: sealing.New(cfg.SecretsKey, cfg.SecretsKeyFile, "copy it from another instance or the backup, or subscribe those sinks again")}
	s.ra.init()
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open event store %s: %w", where, err)
	}
	version, err := migrate(ctx, pool, where, logger)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open event store %s: %w", where, err)
	}
	logger.Debug("opened event store", slog.String("database", where), slog.Int("schema_version", version))
	return s, nil
}

// describe names a database by host, port and name.
func describe(c *pgx.ConnConfig) string {
	return "postgres://" + net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// Close closes the store's connections. Close it once, after every other
// call has returned.
func (s *Store) Close() error {
	s.ra.stop()
	s.pool.Close()
	return nil
}

// Where names the database (host, port, name), without credentials.
func (s *Store) Where() string { return s.where }

// Pool returns the store's connection pool, for this package's other
// ports and for tests. Do not close it: Close does.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// WriteTx runs fn in a transaction and commits it if fn returns nil; it
// rolls it back if fn returns an error (which WriteTx returns as is) or
// panics. fn must not INSERT into the events table (that would break the
// hash chain; UPDATE and DELETE are refused).
func (s *Store) WriteTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("commit: %w", context.Cause(ctx))
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Columns of an envelope, in the order scanEnvelope scans them. Empty
// metadata and the absent date are stored as NULL and read back as "".
const envelopeColumns = `position, stream, version, type, schema_version, coalesce(valid_date, ''), recorded_at,
	coalesce(actor, ''), coalesce(reference, ''), coalesce(source, ''),
	coalesce(correlation_id, ''), coalesce(causation_id, ''), payload, hash`

const (
	sqlReadAll         = `SELECT ` + envelopeColumns + ` FROM events WHERE position > $1 ORDER BY position LIMIT $2`
	sqlReadStream      = `SELECT ` + envelopeColumns + ` FROM events WHERE stream = $1 ORDER BY version`
	sqlReadStreamAfter = `SELECT ` + envelopeColumns + ` FROM events WHERE stream = $1 AND version > $2 ORDER BY version`
	sqlHead            = `SELECT coalesce(max(position), 0) FROM events`
	// The literal types let the planner use the partial index
	// events_definitions.
	sqlReadDefinitions = `SELECT ` + envelopeColumns + ` FROM events
WHERE type IN ('treaty.registered', 'treaty.definition-amended') ORDER BY position`
	// Distinct streams from the first one >= the prefix, one index seek
	// each (a skip scan) rather than one index entry per event, stopping
	// at the first one without the prefix.
	sqlStreams = `WITH RECURSIVE s(stream) AS (
	SELECT min(stream) FROM events WHERE stream >= $1
	UNION ALL
	SELECT (SELECT min(stream) FROM events WHERE stream > s.stream) FROM s
	WHERE s.stream IS NOT NULL AND starts_with(s.stream, $1)
)
SELECT stream FROM s WHERE stream IS NOT NULL AND starts_with(stream, $1)`
)

// ReadStream implements events.Store: every event of one stream in
// version order; an empty slice for a stream that does not exist.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]events.Envelope, error) {
	out, err := s.query(ctx, make([]events.Envelope, 0, 16), sqlReadStream, stream)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return out, nil
}

// ReadStreamAfter returns the events of one stream with a version above
// after, in version order.
func (s *Store) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]events.Envelope, error) {
	out, err := s.query(ctx, nil, sqlReadStreamAfter, stream, after)
	if err != nil {
		return nil, fmt.Errorf("read stream %s after version %d: %w", stream, after, err)
	}
	return out, nil
}

// ReadAll implements events.Store: up to limit events with position >
// after, in position order. A limit below 1 is an *events.InvalidError.
//
// Positions are committed in order (see Store), so a reader that pages
// with the last position it read sees every event exactly once.
//
// The Payload and Hash of the returned envelopes share a few large
// allocations per page rather than one each: an envelope kept after its
// page is dropped keeps some of the page's bytes alive.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error) {
	if limit < 1 {
		return nil, &events.InvalidError{Field: "limit", Reason: fmt.Sprintf("%d: want 1 or more", limit)}
	}
	ahead := s.readAhead > 0 && limit >= s.readAhead
	if ahead {
		page, ok, err := s.ra.claim(ctx, after, limit)
		if err != nil {
			return nil, fmt.Errorf("read log after %d: %w", after, err)
		}
		if ok {
			s.readNext(page, limit)
			return page, nil
		}
	}
	out, err := s.readPage(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read log after %d: %w", after, err)
	}
	if ahead {
		s.readNext(out, limit)
	}
	return out, nil
}

// readPage is one page of ReadAll, from the server.
func (s *Store) readPage(ctx context.Context, after int64, limit int) ([]events.Envelope, error) {
	return s.query(ctx, make([]events.Envelope, 0, min(limit, 1024)), sqlReadAll, after, int64(limit))
}

// readNext starts reading the page after page in the background when
// page is full: the log may go on.
func (s *Store) readNext(page []events.Envelope, limit int) {
	if len(page) == limit {
		s.ra.start(page[len(page)-1].Position, limit, s.readPage)
	}
}

// query runs a query of envelopeColumns and appends its rows to out.
func (s *Store) query(ctx context.Context, out []events.Envelope, sql string, args ...any) ([]events.Envelope, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sc scanner
	for rows.Next() {
		out = append(out, events.Envelope{})
		if err := sc.scan(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if out == nil {
		out = []events.Envelope{}
	}
	return out, nil
}

// Streams implements events.Store: the ids of the streams whose id starts
// with prefix, sorted (bytewise).
func (s *Store) Streams(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.pool.Query(ctx, sqlStreams, prefix)
	if err != nil {
		return nil, fmt.Errorf("list streams %q: %w", prefix, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list streams %q: %w", prefix, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// Head implements events.Store: the position of the last event of the
// log, 0 if it is empty.
func (s *Store) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.pool.QueryRow(ctx, sqlHead).Scan(&head); err != nil {
		return 0, fmt.Errorf("read the head of the log: %w", err)
	}
	return head, nil
}

// ReadDefinitions implements events.Store: the treaty definition events,
// in position order, read through the partial index events_definitions.
func (s *Store) ReadDefinitions(ctx context.Context) ([]events.Envelope, error) {
	out, err := s.query(ctx, nil, sqlReadDefinitions)
	if err != nil {
		return nil, fmt.Errorf("read treaty definitions: %w", err)
	}
	return out, nil
}

// scanner scans rows of envelopeColumns into envelopes. It decodes the
// columns itself (int8, int4 and bytea in binary form, what pgx asks for
// with its cached statements; text, whose two forms are its bytes), copying payloads and hashes into a shared
// arena and reusing a string while it repeats from one row to the next
// (streams, types, actors...), so that a page costs a few allocations
// per event; a row in any other form goes through rows.Scan. The zero
// value is ready to use; not safe for concurrent use.
type scanner struct {
	schema   int32
	date     string
	recorded int64
	dest     [14]any
	dates    dateCache
	arena    arena
	strs     [8]string // the last value of each text column
	binary   int       // 0: not checked yet, 1: every column binary, -1: not
}

// Column indexes of envelopeColumns.
const (
	colPosition = iota
	colStream
	colVersion
	colType
	colSchema
	colDate
	colRecorded
	colActor
	colReference
	colSource
	colCorrelation
	colCausation
	colPayload
	colHash
)

func (sc *scanner) scan(rows pgx.Rows, e *events.Envelope) error {
	if sc.binary == 0 {
		sc.binary = -1
		if fds := rows.FieldDescriptions(); len(fds) == len(sc.dest) {
			sc.binary = 1
			for i, fd := range fds {
				switch i {
				case colPosition, colVersion, colSchema, colRecorded, colHash:
					if fd.Format != pgx.BinaryFormatCode {
						sc.binary = -1
					}
				default: // text: its text and binary forms are the same bytes
					if fd.DataTypeOID != pgtype.TextOID {
						sc.binary = -1
					}
				}
			}
		}
	}
	if sc.binary < 0 {
		return sc.scanSlow(rows, e)
	}
	raw := rows.RawValues()
	if len(raw) != len(sc.dest) {
		return fmt.Errorf("read an event: %d columns, want %d", len(raw), len(sc.dest))
	}
	var ok1, ok2, ok3, ok4 bool
	e.Position, ok1 = int8Of(raw[colPosition])
	e.Version, ok2 = int8Of(raw[colVersion])
	schema, ok3 := int4Of(raw[colSchema])
	recorded, ok4 := int8Of(raw[colRecorded])
	if !ok1 || !ok2 || !ok3 || !ok4 || raw[colPayload] == nil || raw[colHash] == nil {
		return fmt.Errorf("read an event: a column is NULL or not of its type (position %x)", raw[colPosition])
	}
	e.SchemaVersion = int(schema)
	e.RecordedAt = time.Unix(0, recorded).UTC()
	e.Stream = sc.str(0, raw[colStream])
	e.Type = sc.str(1, raw[colType])
	e.Meta.Actor = sc.str(2, raw[colActor])
	e.Meta.Reference = sc.str(3, raw[colReference])
	e.Meta.Source = sc.str(4, raw[colSource])
	e.Meta.CorrelationID = sc.str(5, raw[colCorrelation])
	e.Meta.CausationID = sc.str(6, raw[colCausation])
	e.ValidDate = events.Date{}
	if d := sc.str(7, raw[colDate]); d != "" {
		date, err := sc.dates.parse(d)
		if err != nil {
			return fmt.Errorf("event at position %d: valid date: %w", e.Position, err)
		}
		e.ValidDate = date
	}
	e.Payload = sc.arena.copy(raw[colPayload])
	e.Hash = sc.arena.copy(raw[colHash])
	return nil
}

// str returns b as a string, the previous one of column i if it is the
// same.
func (sc *scanner) str(i int, b []byte) string {
	if string(b) != sc.strs[i] { // compares without allocating
		sc.strs[i] = string(b)
	}
	return sc.strs[i]
}

// scanSlow is scan through rows.Scan, for rows not in binary form.
func (sc *scanner) scanSlow(rows interface{ Scan(...any) error }, e *events.Envelope) error {
	d := &sc.dest
	d[0], d[1], d[2], d[3], d[4] = &e.Position, &e.Stream, &e.Version, &e.Type, &sc.schema
	d[5], d[6] = &sc.date, &sc.recorded
	d[7], d[8], d[9], d[10], d[11] = &e.Meta.Actor, &e.Meta.Reference, &e.Meta.Source, &e.Meta.CorrelationID, &e.Meta.CausationID
	d[12], d[13] = &e.Payload, &e.Hash
	if err := rows.Scan(d[:]...); err != nil {
		return err
	}
	e.SchemaVersion = int(sc.schema)
	e.RecordedAt = time.Unix(0, sc.recorded).UTC()
	e.ValidDate = events.Date{}
	if sc.date != "" {
		date, err := sc.dates.parse(sc.date)
		if err != nil {
			return fmt.Errorf("event at position %d: valid date: %w", e.Position, err)
		}
		e.ValidDate = date
	}
	return nil
}

func int8Of(b []byte) (int64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b)), true
}

func int4Of(b []byte) (int32, bool) {
	if len(b) != 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(b)), true
}

// arenaChunk is the size of an arena's allocations: large enough that a
// page of events costs few of them, small enough that an envelope kept
// from a dropped page keeps little alive.
const arenaChunk = 64 << 10

// arena hands out copies of byte slices carved from larger allocations
// (events/sqlite's).
type arena struct{ buf []byte }

// copy returns a copy of b whose capacity is its length, so that appending
// to it never writes over a neighbour.
func (a *arena) copy(b []byte) []byte {
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
	d, err := events.ParseDate(s)
	if err != nil {
		return events.Date{}, err
	}
	c.s, c.d = s, d
	return d, nil
}

// takeTurn waits for this Store's other appends to end, or for ctx. It
// returns the function that ends this one's turn.
func (s *Store) takeTurn(ctx context.Context) (func(), error) {
	select {
	case s.appending <- struct{}{}:
		return func() { <-s.appending }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("append: %w", context.Cause(ctx))
	}
}

// errorsAs is errors.As, for brevity in the append path.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
