// Package pubsub carries the ledger's events to the notifiers through
// watermill: it is a durable watermill message.Publisher and
// message.Subscriber on the event store's SQLite file, whose outbox is
// the event log itself.
//
// Subscribing to LogTopic delivers every event of the log, all streams,
// in position order, one watermill message per event (see Envelope and
// the Metadata* keys). Any other topic T is a stream of the log,
// "topic-"+T, that Publish appends to (with the hash chain, through the
// store's Append) and Subscribe reads back. A subscriber in a consumer
// group resumes after the group's offset, kept in the watermill_offsets
// table of the same file (migration 0003) and moved, in one transaction,
// only after the message is acknowledged: an event recorded in the log
// reaches every group at least once, whenever the process dies.
//
// It owns the translation between events and watermill messages, the
// offsets table and the claims that let one subscriber of a group deliver
// at a time. It must not decide anything about treaties, interpret
// payloads beyond the envelope, write the events table other than through
// the store's Append, nor write to LogTopic: the ledger writes the log.
package pubsub
