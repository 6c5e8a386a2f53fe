// Package notifiers tells people when a treaty's standing changes: it
// turns ledger events and status differences into Notices, renders them
// (pure functions), and delivers them to sinks (Slack, Slack incoming
// webhooks, signed JSON webhooks, the console) exactly once per event and
// subscription, on a schedule for digests.
//
// It owns side effects only: it never decides whether an act is valid
// (package events) nor computes a treaty's status (package projections).
// Its durable state (the outbox, dead letters, schedules' last runs,
// settings, the sender lease) sits behind the ports it declares in
// store.go (Store), in the plain records of package events; the storage
// adapter (events/sqlite) implements them and notifiers/outboxtest is
// their contract suite. It writes no SQL and does not import
// database/sql.
package notifiers
