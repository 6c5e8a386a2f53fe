package notifiers

import (
	"context"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// The notifier's storage ports. The notifier keeps its state (the outbox
// of deliveries, its dead letters, its schedules' last runs, its settings
// and the ledger's sender lease) behind these interfaces, which speak in
// the plain records of package events; events/sqlite's Store implements
// them all, in the ledger's own file, and notifiers/outboxtest is their
// contract suite, which every implementation passes. Each method is one
// unit of work (one transaction): no port hands out a transaction.
// Implementations must be safe for concurrent use, and by several
// processes on one ledger.

// OutboxStore keeps the deliveries, the first message of each thread and
// each channel's pacing.
type OutboxStore interface {
	// EnqueueDeliveries inserts deliveries as pending and due at their
	// CreatedAt, skipping those whose (Subscription, DedupKey) is already
	// kept, in one transaction; it returns how many were new. IDs grow in
	// insertion order. Only Subscription, DedupKey, Position, ChannelKey,
	// ThreadKey, Notice and CreatedAt are read.
	EnqueueDeliveries(ctx context.Context, ds []events.Delivery) (int, error)
	// DeliveryHeads returns, for each channel, its oldest waiting
	// (pending or sending) delivery, due or not, by ID.
	DeliveryHeads(ctx context.Context) ([]events.Delivery, error)
	// Delivery returns one delivery; an error wrapping events.ErrNotFound
	// if there is none.
	Delivery(ctx context.Context, id int64) (events.Delivery, error)
	// Deliveries returns the deliveries with a status ("" for all), newest
	// first, at most limit (all when limit < 1).
	Deliveries(ctx context.Context, status string, limit int) ([]events.Delivery, error)
	// DeliveryCounts returns how many deliveries are in each status.
	DeliveryCounts(ctx context.Context) (map[string]int, error)

	// The writes of the sender, each guarded by a Fence (see
	// events.Fence).

	// MarkSending sets a delivery "sending" with lastError (what stays
	// true if the caller dies during its call); when paceKey is not "", it
	// also records at as that channel's last send (as SetPace), in the
	// same transaction.
	MarkSending(ctx context.Context, f events.Fence, id int64, lastError, paceKey string, at time.Time) error
	// MarkSent sets a delivery "sent" at at, with the sink's ts ("" for
	// none) and no last error; when ts is not "" and the delivery has a
	// ThreadKey, it records ts as the first message of that thread in
	// that channel unless one is recorded.
	MarkSent(ctx context.Context, f events.Fence, id int64, ts string, at time.Time) error
	// MarkRetry sets a delivery "pending", due at next, with its failed
	// attempts and the reason.
	MarkRetry(ctx context.Context, f events.Fence, id int64, attempts int, reason string, next time.Time) error
	// MarkUncertain keeps a delivery "sending", due at next, with its
	// failed attempts and what happened.
	MarkUncertain(ctx context.Context, f events.Fence, id int64, attempts int, reason string, next time.Time) error
	// MarkDead sets a delivery "dead" with the reason; confirmOnRedrive
	// makes RedriveDelivery put it back "sending" rather than "pending".
	MarkDead(ctx context.Context, f events.Fence, id int64, reason string, confirmOnRedrive bool) error
	// SetPace records a call to a channel at lastSend and, when notBefore
	// is not zero, that the channel must wait until then. Neither time
	// ever moves back.
	SetPace(ctx context.Context, f events.Fence, channelKey string, lastSend, notBefore time.Time) error

	// Paces returns the pacing of every channel that has one.
	Paces(ctx context.Context) (map[string]events.Pace, error)
	// Thread returns the ts of the first message of a thread in a
	// channel; "" if none.
	Thread(ctx context.Context, channelKey, threadKey string) (string, error)
	// RedriveDelivery puts a dead delivery back to wait, due at at, with
	// no failed attempts: "sending" with lastError confirmNote if it was
	// marked dead with confirmOnRedrive, else "pending" with no last
	// error. It returns false, changing nothing, if no dead delivery has
	// that id.
	RedriveDelivery(ctx context.Context, id int64, at time.Time, confirmNote string) (bool, error)
}

// DeadLetterStore keeps the ledger events the router could not process.
type DeadLetterStore interface {
	// AddDeadMessages keeps messages (their ID is ignored), in one
	// transaction.
	AddDeadMessages(ctx context.Context, ms []events.DeadMessage) error
	// DeadMessages returns the messages kept and not redriven, oldest
	// first.
	DeadMessages(ctx context.Context) ([]events.DeadMessage, error)
	// RedriveDeadMessage marks a message redriven and returns its
	// position; false if no message with that id waits.
	RedriveDeadMessage(ctx context.Context, id int64) (position int64, ok bool, err error)
}

// ScheduleStore keeps each schedule's last run.
type ScheduleStore interface {
	// LastRun returns a schedule's last run; zero if it never ran.
	LastRun(ctx context.Context, name string) (time.Time, error)
	// RecordRun enqueues a run's deliveries (as EnqueueDeliveries) and
	// sets the schedule's last run to at, in one transaction, so that a
	// run is either wholly recorded or not at all. It returns how many
	// deliveries were new.
	RecordRun(ctx context.Context, name string, at time.Time, ds []events.Delivery) (int, error)
	// RecordFencedRun is RecordRun guarded by f (see events.Fence): the
	// lease is read in the run's own transaction, and nothing is written
	// when f.Check fails (its error is returned as is). The scheduler of
	// several instances records its runs so.
	RecordFencedRun(ctx context.Context, f events.Fence, name string, at time.Time, ds []events.Delivery) (int, error)
}

// SettingStore keeps the notifier's small settings.
type SettingStore interface {
	// NotifierSetting returns a setting; "" if unset.
	NotifierSetting(ctx context.Context, key string) (string, error)
	// SetNotifierSettingOnce sets a setting unless it is set, and returns
	// the value in force, in one transaction.
	SetNotifierSettingOnce(ctx context.Context, key, value string) (string, error)
}

// LeaseStore keeps named leases (the ledger's sender lease). A lease
// never taken reads as free at version 0.
type LeaseStore interface {
	// Lease returns a lease as kept.
	Lease(ctx context.Context, name string) (events.Lease, error)
	// TakeLease makes l's Holder, Host, PID and Process the lease's
	// holder, for l.TTL until l.ExpiresAt, and moves its version on, if
	// its version is still version; it reports whether it did.
	TakeLease(ctx context.Context, name string, version int64, l events.Lease) (bool, error)
	// RenewLease sets the lease's TTL and ExpiresAt and moves its version
	// on if holder holds it; it reports whether it did.
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration, expires time.Time) (bool, error)
	// ReleaseLease frees the lease and moves its version on if holder
	// holds it; it reports whether it did.
	ReleaseLease(ctx context.Context, name, holder string) (bool, error)
}

// Store is every port of the notifier: what a Router, a Sender, a
// Scheduler and an Outbox are given. *sqlite.Store implements it.
type Store interface {
	OutboxStore
	DeadLetterStore
	ScheduleStore
	SettingStore
	LeaseStore
}
