package events

import "time"

// The records below are what the storage ports of the other packages
// speak in: plain data that a consumer (package notifiers and
// notifiers/pubsub) declares its port with and that a storage adapter
// (events/sqlite, a PostgreSQL store later) keeps, without either
// importing the other. They carry no behaviour: what a record means is
// its consumer's business; how it is kept is its adapter's.
//
// Times are kept to the microsecond at least (events/sqlite keeps
// nanoseconds), and read back in UTC.

// Delivery statuses, as a store keeps them: the state machine of
// package notifiers' outbox. A store's Mark* methods set them.
const (
	DeliveryPending = "pending" // waiting: never tried, or known not to have arrived
	DeliverySending = "sending" // waiting: a call started and its outcome is unknown
	DeliverySent    = "sent"
	DeliveryDead    = "dead"
)

// Delivery is one notice for one subscription, as a store keeps it in
// the outbox (see notifiers.OutboxStore).
type Delivery struct {
	// ID is assigned by the store, in insertion order.
	ID int64
	// Subscription and DedupKey identify the delivery: a store keeps at
	// most one delivery per pair.
	Subscription string
	DedupKey     string
	// Position is the ledger position it comes from; 0 if time-driven.
	Position int64
	// ChannelKey is where it goes (the unit of ordering and pacing);
	// ThreadKey, if not "", the thread it follows up in that channel.
	ChannelKey string
	ThreadKey  string
	// Notice is the message's content as its consumer encoded it
	// (notifiers: a Notice as JSON), kept and returned as given.
	Notice []byte
	// Status is one of DeliveryPending, DeliverySending, DeliverySent,
	// DeliveryDead.
	Status string
	// Attempts counts the failed calls so far.
	Attempts int
	// NextAttemptAt is when a waiting delivery is due.
	NextAttemptAt time.Time
	// LastError is what happened at the last attempt; "" if nothing.
	LastError string
	// CreatedAt is when it was written; SentAt when the sink accepted it
	// (zero until then).
	CreatedAt time.Time
	SentAt    time.Time
	// TS is the sink's id of the message it posted (Slack's ts); "" if
	// none.
	TS string
}

// Pace is what a store remembers of a channel for pacing its messages
// across restarts.
type Pace struct {
	// LastSend is the later of the last call's start and end.
	LastSend time.Time
	// NotBefore is when a rate limit's wait ends (a 429's Retry-After);
	// zero if none.
	NotBefore time.Time
}

// DeadMessage is a message that its consumer could not process and put
// aside with the reason (package notifiers: a ledger event the router
// could not turn into deliveries, put there by watermill's PoisonQueue).
type DeadMessage struct {
	// ID is assigned by the store, in insertion order.
	ID int64
	// UUID is the message's id; Topic the topic it came from.
	UUID  string
	Topic string
	// Position is the ledger position it carries; 0 if none.
	Position int64
	Payload  []byte
	Metadata map[string]string
	Reason   string
	// At is when it was put aside.
	At time.Time
}

// Lease is a named lease as a store keeps it: at most one holder at a
// time (package notifiers: the ledger's sender lease). Every take,
// renewal and release moves Version on, so that a holder that stops
// renewing can be told from one that renews.
type Lease struct {
	// Holder names the holder; "" when the lease is free.
	Holder string
	// Host, PID and Process describe the holder's process, for people and
	// for telling whether it still runs ("" and 0 when free).
	Host    string
	PID     int
	Process string
	// Version counts the lease's takes, renewals and releases: 0 for a
	// lease never taken.
	Version int64
	// TTL is how long the holder's hold lasts after a take or a renewal,
	// kept to the millisecond.
	TTL time.Duration
	// ExpiresAt is when the hold ends by the holder's wall clock (for
	// people and logs); zero when free.
	ExpiresAt time.Time
}

// Fence guards a write made for the holder of a lease: the store reads,
// in the write's own transaction, the lease named Lease, calls Check with
// its holder ("" when it is free), and writes nothing and returns Check's
// error as is when Check fails. A holder that lost its lease to another
// while it was away therefore changes nothing. The zero Fence guards
// nothing.
type Fence struct {
	Lease string
	// Check decides whether the write may go ahead. It runs inside the
	// store's transaction: it must be quick and must not call the store.
	Check func(holder string) error
}

// Claim is a consumer group's hold on its offset of a topic (package
// notifiers/pubsub): only its Holder delivers the group's messages of the
// topic and moves the offset, until Until unless renewed.
type Claim struct {
	Topic, Group string
	// Holder names the subscription that holds it; "" for none.
	Holder string
	// Until is when the claim lapses unless renewed, kept to the
	// millisecond; zero when nobody holds it.
	Until time.Time
}
