// Package events is treatywatch's vocabulary and write side.
//
// It owns the event envelope, the payload types and their stable type names
// (see Registry), treaty definitions and their entry-into-force rules, the
// reference list of participants, the commands treaty officers issue, and
// the pure decisions that accept a command given a treaty's history or
// refuse it with a typed error (see Decide). Ledger wires those decisions
// to a Store.
//
// Every input is checked where it enters, by one set of functions that the
// command line and the HTTP API both reach through the Ledger: CheckText
// for every text field (valid UTF-8, bounded, no control, bidirectional or
// invisible format character), CheckTreatyID for treaty ids, ParseDate
// for exactly YYYY-MM-DD, ParsePeriod for bounded periods, and
// Definition.Validate for a definition's numbers and fields.
//
// Package events imports only the standard library. It does no I/O of its
// own except through the Store interface it declares, and it never reads a
// clock: "today" is always an argument, or comes from an injected Clock.
package events
