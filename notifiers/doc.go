// Package notifiers tells people when a treaty's standing changes: it
// turns ledger events and status differences into Notices, says what each
// one means in a Card (pure functions), and delivers it to sinks (Slack,
// Slack incoming webhooks, signed JSON webhooks, the console) exactly once
// per event and subscription, on a schedule for digests.
//
// Rendering has two steps. CardOf says what a notice means — a title, a
// lead, labelled facts, sources and progress figures — in no sink's
// syntax (card.go, digestcard.go). Each sink then lays the card out in its
// own format: the Slack adapter (SlackMessage and the slack*.go files) is
// the only code that builds Block Kit, escapes Slack mrkdwn and fits
// messages and digests within Slack's limits; the console prints
// PlainText, which is also the webhook payload's text field. The Slack
// slash command (cmd/internal/web) answers through the same adapter.
//
// It owns side effects only: it never decides whether an act is valid
// (package events) nor computes a treaty's status (package projections).
// Its durable state (the outbox, dead letters, schedules' last runs,
// settings, the sender's and the scheduler's leases) sits behind the ports
// it declares in store.go (Store), in the plain records of package events;
// the storage adapters (events/sqlite, events/postgres) implement them and
// notifiers/outboxtest is their contract suite. One sender and one
// scheduler run at a time among all the processes on one ledger: each
// holds its lease, and its writes carry the lease's fence. It writes no SQL and does not import
// database/sql.
package notifiers
