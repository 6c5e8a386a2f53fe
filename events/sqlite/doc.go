// Package sqlite is the event store on SQLite: it implements events.Store
// on one database file through mattn/go-sqlite3, and it is the only
// package of treatywatch that imports the driver.
//
// It owns the database file: its connections (one write connection whose
// transactions begin IMMEDIATE, and a read-only pool), its pragmas (WAL,
// synchronous=NORMAL, a busy timeout), the events table and its
// append-only triggers, and the schema migrations embedded from
// migrations/*.sql. Append checks each stream's expected version, assigns
// positions, versions, the recorded time and the hash chain inside one
// transaction, and translates SQLite's constraint error codes (never their
// text) into *events.ConflictError. Append stores payloads in compact
// form. VerifyReport walks the log reading every column as stored and
// reports each position where it is not what Append wrote (a changed,
// NULLed or retyped value, a missing row, a broken chain, or a tail cut
// below a head kept from an earlier verification). Backup copies the file
// with SQLite's online backup API and verifies the copy.
//
// The database file and its -wal and -shm are its owner's only (0600).
// The store implements events.SecretStore: sink secrets are sealed with
// AES-256-GCM under a key kept beside the database (Config.SecretsKeyFile)
// or given (Config.SecretsKey), never stored in plain text (events/sealing
// does the sealing; this package stores the sealed bytes).
//
// The Store is also the storage adapter of every other package: it
// implements, next to their migrations, the ports those packages declare
// in terms of events' plain records (events/storage.go) — the notifier's
// notifiers.Store (outbox.go, lease.go: deliveries, threads, pacing,
// schedules, settings, dead letters and the sender lease, each outcome
// write fenced by the lease in its own transaction), notifiers/pubsub's
// OffsetStore (offsets.go), events.AnswerStore (answers.go: a keyed
// write's answer in the transaction that appends its events) and
// events.SeenRequestStore (replays.go). Each port is one method per unit
// of work; none hands out a transaction. Their contract suites
// (events/storetest, events/answertest, events/replaytest,
// notifiers/outboxtest, notifiers/pubsub/offsettest) run against a real
// file in this package's tests, and a second backend runs them unchanged.
// No other package writes SQL or imports database/sql; WriteTx and ReadDB
// remain for the projections runner's tables until its port lands, and
// for tests.
//
// Package sqlite must not decide anything about treaties, decode payloads
// or know the payload types: it stores and returns envelopes as given. It
// keeps the other packages' records as given too (a notice as its
// encoded bytes), and must not import the packages whose ports it
// implements: it satisfies them through events' types alone.
//
// # Migrations
//
// Each file migrations/NNNN_name.sql is one migration; NNNN is its number,
// from 0001 without gaps. Open applies, in order, every migration whose
// number is above the database's schema version (PRAGMA user_version),
// each in its own immediate transaction that also sets the schema version
// to its number, so two processes opening the same file apply each
// migration once. A migration is never edited or renumbered once released:
// change the schema with a new file. A file must not contain BEGIN or
// COMMIT. A database whose schema version is above the highest number this
// binary knows is refused with a *SchemaTooNewError (ErrSchemaTooNew).
package sqlite
