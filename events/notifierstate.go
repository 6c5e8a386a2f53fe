package events

import (
	"fmt"
	"time"
)

// NotifierState is the notifier's durable state beside a ledger's log, row
// for row, as one backend exports it and another imports it when a ledger
// moves (treatywatch migrate-db: events/sqlite's ExportNotifierState,
// events/postgres' ImportLedger). Every row keeps its id and its state, so
// that the copy's sender goes on exactly where the source's stopped: a
// delivery left DeliverySending is confirmed with its sink before it is
// posted again (never posted blind), a webhook's delivery id and Slack's
// message metadata still name the same delivery, follow-ups thread under
// the first message of their thread, and a channel's pace and a 429's
// Retry-After still hold.
//
// What it leaves out is the source's processes' own: the leases (the
// copy's instances take them anew) and the consumer groups' claims.
type NotifierState struct {
	// Deliveries is the outbox, every status, in id order.
	Deliveries []DeliveryRow
	// DeadMessages are the ledger events the router put aside, redriven
	// or not, in id order.
	DeadMessages []DeadMessageRow
	// Threads are the first messages of each (channel, thread).
	Threads []Thread
	// Paces is each channel's pacing, by channel key.
	Paces map[string]Pace
	// LastRuns is each schedule's last run, by schedule name.
	LastRuns map[string]time.Time
	// Settings are the notifier's small settings, by key.
	Settings map[string]string
}

// Empty reports whether the state holds no row.
func (s NotifierState) Empty() bool {
	return len(s.Deliveries) == 0 && len(s.DeadMessages) == 0 && len(s.Threads) == 0 &&
		len(s.Paces) == 0 && len(s.LastRuns) == 0 && len(s.Settings) == 0
}

// DeliveryRow is a delivery as its store keeps it, with what only the
// store reads: RedriveConfirms, set on a dead delivery that may have
// arrived, makes a redrive put it back DeliverySending (to be confirmed)
// rather than DeliveryPending.
type DeliveryRow struct {
	Delivery
	RedriveConfirms bool
}

// DeadMessageRow is a dead message as its store keeps it: Redriven is set
// once it was handed back to its consumer.
type DeadMessageRow struct {
	DeadMessage
	Redriven bool
}

// Thread is the first message the notifier posted about a thread (a
// treaty) in a channel, under which its follow-ups go.
type Thread struct {
	ChannelKey, ThreadKey string
	// TS is the sink's id of that message (Slack's ts).
	TS string
}

// KeptAnswer is an Answer as an AnswerStore keeps it, with when it was
// kept.
type KeptAnswer struct {
	Answer
	At time.Time
}

// LedgerCopy is what a copy of a ledger carries beside its log, to be
// written in the same transaction as the log (see NotifierState).
type LedgerCopy struct {
	// SinkSecrets are the subscriptions' sink secrets, open, by
	// subscription id: the target seals them with its own key.
	SinkSecrets map[string]SinkSecret
	// Notifier is the notifier's state; the zero value copies none.
	Notifier NotifierState
	// Answers are the answers kept for Idempotency-Key retries (see
	// AnswerStore), so that a client retrying a write across the move
	// gets its first answer rather than a second write.
	Answers []KeptAnswer
	// SeenRequests are the signed requests seen within their replay
	// window (see SeenRequestStore), by signature hash, with when each
	// may be forgotten, so that a replay is still refused after the move.
	SeenRequests map[string]time.Time
	// LogOffsets are the positions of the log's consumer groups (the
	// notifier's), by group: each group's reader resumes after its
	// position, which must not be past the copied log's head.
	LogOffsets map[string]int64
}

// TableNotEmptyError: a copy of a ledger into a store whose table beside
// the log (the notifier's deliveries, dead letters, threads, paces, runs
// or settings, the kept answers, the seen requests) already holds rows,
// which the copy's would mix with. It wraps ErrRefused; nothing was
// written.
type TableNotEmptyError struct {
	// Table is the first table found not empty; Rows how many it holds.
	Table string
	Rows  int64
}

func (e *TableNotEmptyError) Error() string {
	return fmt.Sprintf("the target already holds %d rows in %s: a ledger is copied only into an empty database, so that its deliveries keep their ids", e.Rows, e.Table)
}

// Unwrap returns ErrRefused.
func (e *TableNotEmptyError) Unwrap() error { return ErrRefused }
