// Package notifiers tells people when a treaty's standing changes: it
// turns ledger events and status differences into Notices, renders them
// (pure functions), and delivers them to sinks (Slack, Slack incoming
// webhooks, signed JSON webhooks, the console) exactly once per event and
// subscription, on a schedule for digests.
//
// It owns side effects only: it never decides whether an act is valid
// (package events) nor computes a treaty's status (package projections).
package notifiers
