// Package events is treatywatch's vocabulary and write side.
//
// It owns the event envelope, the payload types and their stable type names
// (see Registry), treaty definitions and their entry-into-force rules, the
// reference list of participants, the commands treaty officers issue, and
// the pure decisions that accept a command given a treaty's history or
// refuse it with a typed error (DecideRecord, DecideCorrection,
// DecideDefinition, ...). Ledger wires those decisions to a Store.
//
// Secrets never enter the log: a token is kept as its hash, and the
// secrets of a subscription's sink (a webhook URL, an HMAC secret) go to a
// SecretStore the Ledger is given, while the subscription event keeps the
// endpoint's scheme and host and a fingerprint. Redact is how every reader
// that shows payloads sees events written by earlier versions, whose
// subscription events held such secrets.
//
// Every input is checked where it enters, by one set of functions that the
// command line and the HTTP API both reach through the Ledger: CheckText
// for every text field (valid UTF-8, bounded, no control, bidirectional or
// invisible format character), CheckTreatyID for treaty ids, ParseDate
// for exactly YYYY-MM-DD, ParsePeriod for bounded periods, and
// Definition.Validate for a definition's numbers and fields.
//
// Package events imports only the standard library. It does no I/O of its
// own except through the Store and SecretStore interfaces it declares,
// and it never reads a clock: "today" is always an argument, or comes from
// the Now function the Ledger is configured with.
//
// It is also the vocabulary the storage ports speak: AnswerStore and
// SeenRequestStore (declared here because their consumer, the HTTP layer,
// is internal to cmd and their contract suites, events/answertest and
// events/replaytest, must be importable by every backend), and the plain
// records (storage.go: Delivery, Pace, DeadMessage, Lease, Fence, Claim)
// in which notifiers and notifiers/pubsub declare theirs. Those records
// are data only; what they mean is their consumer's, how they are kept is
// the adapter's (events/sqlite, events/postgres). Store.Import takes a
// whole exported log into an empty store, every event checked by the one
// ImportCheck every backend uses; LedgerCopy and NotifierState
// (notifierstate.go) are what a copy of a ledger into another backend
// carries beside the log, row for row (treatywatch migrate-db).
package events
