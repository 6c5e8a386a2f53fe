// Package postgres is the event store on PostgreSQL: it implements
// events.Store on one database through github.com/jackc/pgx/v5 (its
// native interface and pgxpool, not database/sql: pipelined batches, COPY
// and binary transfer keep an append to two round trips and a replay
// cheap), and it is, with events/sqlite for SQLite, the only kind of
// package of treatywatch that imports a database driver.
//
// It owns the database's treatywatch tables: the events table and its
// append-only triggers (UPDATE, DELETE and TRUNCATE raise), the schema
// version (table treatywatch_schema), the schema migrations embedded from
// migrations/*.sql, and the advisory lock keys (locks.go). Append checks
// each stream's expected version, assigns positions, versions, the
// recorded time and the hash chain inside one transaction that holds the
// append lock from before it reads the head of the log to its commit, so
// that positions are committed in order: a catch-up reader paging with
// ReadAll after its last position never skips an event that commits late.
// It translates PostgreSQL's SQLSTATEs (never their text) into
// *events.ConflictError and *events.InvalidError, and stores payloads in
// compact form, byte for byte as given. VerifyReport walks the log in one
// snapshot and reports each position where it is not what Append wrote.
//
// # The other ports
//
// Store implements every other storage port too, each passing the
// contract suite the SQLite store passes: notifiers.Store (the outbox,
// dead letters, schedules, settings: outbox.go; leases and their fences:
// lease.go), pubsub.OffsetStore (offsets.go), events.AnswerStore
// (answers.go, in the append's transaction), events.SeenRequestStore
// (replays.go) and events.SecretStore (secrets.go, sealed by events/sealing under a key
// every instance is given), in the tables of migrations 0010-0015, named
// and laid out as SQLite's. Where SQLite relied on its single writer, a
// write is one statement PostgreSQL makes atomic on its row (INSERT … ON
// CONFLICT, a conditional UPDATE), reads the row it depends on FOR SHARE
// (the fences), or takes an advisory lock (the outbox); a transaction
// aborted as a deadlock or a serialization failure is run again (tx.go).
// watermill.go builds watermill-sql's PostgreSQL Publisher and Subscriber,
// with consumer groups, on the store's pool; watermill_log.go a
// watermill-sql Subscriber whose topic is the events table itself, with
// its groups' offsets in log_offsets (migration 0016): the notifier's
// routers, on every instance, share the log through it. listen.go and
// deliverywake.go are the instances' wake-ups (LISTEN/NOTIFY) for
// appends and for deliveries.
//
// # Roles
//
// The triggers refuse UPDATE, DELETE and TRUNCATE of events to every role,
// but the table's owner (and a superuser) could drop them. So run two
// roles: an owner that migrates (the first Open of a new release) and a
// service role that the instances connect as, which may read and insert
// events but not change them, and owns nothing (GrantService gives it
// its rights).
//
// # Migrations
//
// Each file migrations/NNNN_name.sql is one migration; NNNN is its number.
// 0001-0009 are the event log's; 0010 and up the other ports'. Open
// applies, in order, every migration whose number is above the database's
// schema version, each in its own transaction, under an advisory lock,
// with the update of the schema version: a migration is applied whole or
// not at all, and two instances opening the database at once apply it
// once. A migration is never edited or renumbered once released. A
// database whose schema version is above the highest number this binary
// knows is refused with a *SchemaTooNewError (ErrSchemaTooNew).
//
// Package postgres must not decide anything about treaties, decode
// payloads or know the payload types: it stores and returns envelopes as
// given.
package postgres
