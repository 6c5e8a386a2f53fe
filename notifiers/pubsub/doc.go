// Package pubsub carries the ledger's events to the notifiers through
// watermill: it is a durable watermill message.Publisher and
// message.Subscriber on the event store, whose outbox is the event log
// itself.
//
// Subscribing to LogTopic delivers every event of the log, all streams,
// in position order, one watermill message per event (see Envelope and
// the Metadata* keys). Any other topic T is a stream of the log,
// "topic-"+T, that Publish appends to (with the hash chain, through the
// store's Append) and Subscribe reads back. A subscriber in a consumer
// group resumes after the group's offset, kept beside the log by the
// store's OffsetStore (events/sqlite: the watermill_offsets table of the
// same file) and moved, in one transaction, only after the message is
// acknowledged: an event recorded in the log reaches every group at least
// once, whenever the process dies.
//
// It owns the translation between events and watermill messages, and the
// claims that let one subscriber of a group deliver at a time; it declares
// the OffsetStore port they are kept through (contract suite:
// notifiers/pubsub/offsettest) and writes no SQL. It must not decide
// anything about treaties, interpret payloads beyond the envelope, write
// the events table other than through the store's Append, nor write to
// LogTopic: the ledger writes the log.
package pubsub
