package notifiers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Delivery statuses.
const (
	StatusPending = events.DeliveryPending // never tried, or every earlier attempt is known not to have arrived
	// StatusSending: a call to the sink started and its outcome is not
	// known — it is in flight, the process died during it, or the sink
	// answered in a way that leaves open whether the message arrived (a
	// timeout, a 5xx, a 429). The next attempt confirms before it sends.
	StatusSending = events.DeliverySending
	StatusSent    = events.DeliverySent
	StatusDead    = events.DeliveryDead
)

// interruptedCall is the last error of a delivery whose call to the sink
// has started: it stays so when the process dies during the call.
const interruptedCall = "the notifier stopped during the call to the sink"

// Delivery is one notice for one subscription: a row of the outbox.
type Delivery struct {
	ID            int64
	Subscription  string
	DedupKey      string
	Position      int64
	ChannelKey    string
	ThreadKey     string
	Notice        Notice
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
	TS            string
}

// record is d as a store keeps it.
func (d Delivery) record() (events.Delivery, error) {
	b, err := json.Marshal(d.Notice)
	if err != nil {
		return events.Delivery{}, fmt.Errorf("encode the notice of %s/%s: %w", d.Subscription, d.DedupKey, err)
	}
	return events.Delivery{ID: d.ID, Subscription: d.Subscription, DedupKey: d.DedupKey, Position: d.Position, ChannelKey: d.ChannelKey,
		ThreadKey: d.ThreadKey, Notice: b, Status: d.Status, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastError: d.LastError,
		CreatedAt: d.CreatedAt, SentAt: d.SentAt, TS: d.TS}, nil
}

// deliveryOf is the Delivery a store's record holds.
func deliveryOf(r events.Delivery) (Delivery, error) {
	d := Delivery{ID: r.ID, Subscription: r.Subscription, DedupKey: r.DedupKey, Position: r.Position, ChannelKey: r.ChannelKey,
		ThreadKey: r.ThreadKey, Status: r.Status, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt, LastError: r.LastError,
		CreatedAt: r.CreatedAt, SentAt: r.SentAt, TS: r.TS}
	if err := json.Unmarshal(r.Notice, &d.Notice); err != nil {
		return d, fmt.Errorf("delivery %d: decode notice: %w", r.ID, err)
	}
	return d, nil
}

func records(ds []Delivery) ([]events.Delivery, error) {
	out := make([]events.Delivery, 0, len(ds))
	for _, d := range ds {
		r, err := d.record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func deliveriesOf(rs []events.Delivery) ([]Delivery, error) {
	out := make([]Delivery, 0, len(rs))
	for _, r := range rs {
		d, err := deliveryOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Outbox is the notifier's durable state as its components use it — the
// deliveries, threads, pacing, schedules, settings and dead letters —
// kept in a Store. It is safe for concurrent use.
type Outbox struct {
	store Store
	// fence, if set, guards each write of a delivery's outcome and of the
	// pacing: the sender's outbox checks there, in each write's
	// transaction, that the sender holds the ledger's sender lease.
	// starting is true in MarkSending, whose commit lets a call to a sink
	// start.
	fence func(starting bool) events.Fence
}

// NewOutbox returns the outbox kept in store.
func NewOutbox(store Store) *Outbox { return &Outbox{store: store} }

// guard is the fence of a write; the zero Fence without one.
func (o *Outbox) guard(starting bool) events.Fence {
	if o.fence == nil {
		return events.Fence{}
	}
	return o.fence(starting)
}

// Enqueue inserts deliveries, ignoring those already there (same
// subscription and dedup key), in one transaction. It returns how many
// were new.
func (o *Outbox) Enqueue(ctx context.Context, ds []Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	rs, err := records(ds)
	if err != nil {
		return 0, err
	}
	return o.store.EnqueueDeliveries(ctx, rs)
}

// Heads returns, for each channel, its oldest waiting delivery, due or
// not: a channel's messages go out in order, so a later one waits while
// an earlier one backs off or is being confirmed.
func (o *Outbox) Heads(ctx context.Context) ([]Delivery, error) {
	rs, err := o.store.DeliveryHeads(ctx)
	if err != nil {
		return nil, err
	}
	return deliveriesOf(rs)
}

// Get returns one delivery by id.
func (o *Outbox) Get(ctx context.Context, id int64) (Delivery, error) {
	r, err := o.store.Delivery(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	return deliveryOf(r)
}

// List returns deliveries with a status ("" for all), newest first, at
// most limit (all when limit < 1).
func (o *Outbox) List(ctx context.Context, status string, limit int) ([]Delivery, error) {
	rs, err := o.store.Deliveries(ctx, status, limit)
	if err != nil {
		return nil, err
	}
	return deliveriesOf(rs)
}

// MarkSending records that a call to the sink is about to start: if the
// process dies during it, the delivery is known to be uncertain. When
// paceKey is not "" (a paced channel), at is also recorded as the
// channel's last send, in the same transaction.
func (o *Outbox) MarkSending(ctx context.Context, id int64, paceKey string, at time.Time) error {
	return o.store.MarkSending(ctx, o.guard(true), id, interruptedCall, paceKey, at)
}

// MarkSent records a delivery the sink accepted, and the thread's first
// message when this one starts a thread.
func (o *Outbox) MarkSent(ctx context.Context, d Delivery, ts string, now time.Time) error {
	return o.store.MarkSent(ctx, o.guard(false), d.ID, ts, now)
}

// MarkRetry puts a delivery known not to have arrived back to wait until
// next ("pending"), with its failed attempts so far and the error.
func (o *Outbox) MarkRetry(ctx context.Context, id int64, attempts int, reason string, next time.Time) error {
	return o.store.MarkRetry(ctx, o.guard(false), id, attempts, reason, next)
}

// MarkUncertain leaves a delivery that may have arrived "sending" until
// next, with its failed attempts so far and what happened: the next
// attempt asks the sink whether it arrived before sending it again.
func (o *Outbox) MarkUncertain(ctx context.Context, id int64, attempts int, reason string, next time.Time) error {
	return o.store.MarkUncertain(ctx, o.guard(false), id, attempts, reason, next)
}

// MarkDead moves a delivery to the dead letters with the reason.
// confirmOnRedrive says that it may have arrived and that the sink can be
// asked: a redrive then confirms before sending.
func (o *Outbox) MarkDead(ctx context.Context, id int64, reason string, confirmOnRedrive bool) error {
	return o.store.MarkDead(ctx, o.guard(false), id, reason, confirmOnRedrive)
}

// SetPace records a send to a channel at lastSend and, when notBefore is
// not zero, that the channel must wait until then. Times never move back.
func (o *Outbox) SetPace(ctx context.Context, channelKey string, lastSend, notBefore time.Time) error {
	return o.store.SetPace(ctx, o.guard(false), channelKey, lastSend, notBefore)
}

// Paces returns the pacing state of every channel that has one.
func (o *Outbox) Paces(ctx context.Context) (map[string]events.Pace, error) {
	paces, err := o.store.Paces(ctx)
	if err != nil {
		return nil, fmt.Errorf("read channel pacing: %w", err)
	}
	return paces, nil
}

// Thread returns the ts of the first message about a treaty in a channel.
func (o *Outbox) Thread(ctx context.Context, channelKey, threadKey string) (string, error) {
	return o.store.Thread(ctx, channelKey, threadKey)
}

// DeadLetter is a dead delivery or a ledger event the router could not
// process.
type DeadLetter struct {
	// ID is "D<n>" for a delivery, "E<n>" for an event.
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // "delivery" or "event"
	Position int64     `json:"position,omitempty"`
	Target   string    `json:"target"` // subscription, or the topic
	What     string    `json:"what"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// DeadLetters lists what is dead and not redriven, oldest first.
func (o *Outbox) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	ds, err := o.List(ctx, StatusDead, 0)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for i := len(ds) - 1; i >= 0; i-- { // List is newest first
		d := ds[i]
		out = append(out, DeadLetter{ID: fmt.Sprintf("D%d", d.ID), Kind: "delivery", Position: d.Position, Target: d.Subscription,
			What: d.Notice.Kind + " " + d.Notice.Treaty + " " + d.Notice.Participant, Reason: d.LastError, At: d.CreatedAt})
	}
	ms, err := o.store.DeadMessages(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out = append(out, DeadLetter{ID: fmt.Sprintf("E%d", m.ID), Kind: "event", Position: m.Position, Target: m.Topic,
			What: fmt.Sprintf("ledger event at position %d", m.Position), Reason: m.Reason, At: m.At})
	}
	return out, nil
}

// redrivenUncertain is the last error of a redriven delivery that may
// have arrived.
const redrivenUncertain = "redriven; an earlier attempt may have arrived, so the sink is asked first"

// Redrive puts a dead delivery ("D<n>" or "<n>") back in the queue, now
// (as "sending" when it may have arrived, so that it is confirmed first);
// for an event ("E<n>") it returns its position for the router to
// process again, and marks it redriven.
func (o *Outbox) Redrive(ctx context.Context, id string, now time.Time) (eventPosition int64, err error) {
	var n int64
	switch {
	case len(id) > 1 && (id[0] == 'E' || id[0] == 'e'):
		if _, err := fmt.Sscan(id[1:], &n); err != nil {
			return 0, &events.InvalidError{Field: "dead letter", Reason: fmt.Sprintf("%q: want D<n> for a delivery or E<n> for an event", id)}
		}
		pos, ok, err := o.store.RedriveDeadMessage(ctx, n)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("no dead letter %s: %w", id, events.ErrNotFound)
		}
		return pos, nil
	case len(id) > 1 && (id[0] == 'D' || id[0] == 'd'):
		id = id[1:]
	}
	if _, err := fmt.Sscan(id, &n); err != nil {
		return 0, &events.InvalidError{Field: "dead letter", Reason: fmt.Sprintf("%q: want D<n> for a delivery or E<n> for an event", id)}
	}
	// A delivery that may have arrived goes back as "sending": the sender
	// asks the sink before posting it again.
	ok, err := o.store.RedriveDelivery(ctx, n, now, redrivenUncertain)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("no dead delivery D%d: %w", n, events.ErrNotFound)
	}
	return 0, nil
}

// RedriveAll puts every dead delivery back in the queue and returns the
// positions of the dead events to process again.
func (o *Outbox) RedriveAll(ctx context.Context, now time.Time) (deliveries int, positions []int64, err error) {
	dls, err := o.DeadLetters(ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, dl := range dls {
		pos, err := o.Redrive(ctx, dl.ID, now)
		if err != nil {
			return deliveries, positions, err
		}
		if dl.Kind == "event" {
			positions = append(positions, pos)
		} else {
			deliveries++
		}
	}
	return deliveries, positions, nil
}

// LastRun returns a schedule's last run; zero if it never ran.
func (o *Outbox) LastRun(ctx context.Context, name string) (time.Time, error) {
	return o.store.LastRun(ctx, name)
}

// RecordRun enqueues a schedule run's deliveries and persists the run's
// time, in one transaction. It returns how many deliveries were new. With
// a fence (the scheduler's outbox), the run is recorded only if the
// fence's lease holder still holds it when the transaction commits.
func (o *Outbox) RecordRun(ctx context.Context, name string, at time.Time, ds []Delivery) (int, error) {
	rs, err := records(ds)
	if err != nil {
		return 0, err
	}
	if o.fence != nil {
		return o.store.RecordFencedRun(ctx, o.guard(true), name, at, rs)
	}
	return o.store.RecordRun(ctx, name, at, rs)
}

// State returns a notifier setting, "" if unset.
func (o *Outbox) State(ctx context.Context, key string) (string, error) {
	return o.store.NotifierSetting(ctx, key)
}

// SetStateOnce sets a notifier setting unless it is set, and returns the
// value in force.
func (o *Outbox) SetStateOnce(ctx context.Context, key, value string) (string, error) {
	return o.store.SetNotifierSettingOnce(ctx, key, value)
}

// Counts returns how many deliveries are in each status.
func (o *Outbox) Counts(ctx context.Context) (map[string]int, error) {
	return o.store.DeliveryCounts(ctx)
}
