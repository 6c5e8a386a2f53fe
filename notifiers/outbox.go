package notifiers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// DB is the SQLite file the notifier keeps its state in: the ledger's own.
// *sqlite.Store satisfies it.
type DB interface {
	WriteTx(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// Delivery statuses.
const (
	StatusPending = "pending" // never tried, or every earlier attempt is known not to have arrived
	// StatusSending: a call to the sink started and its outcome is not
	// known — it is in flight, the process died during it, or the sink
	// answered in a way that leaves open whether the message arrived (a
	// timeout, a 5xx, a 429). The next attempt confirms before it sends.
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusDead    = "dead"
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

// Outbox is the durable table of deliveries, threads, schedules and dead
// letters. It is safe for concurrent use.
type Outbox struct {
	db DB
	// fence, if set, runs first in each write transaction and aborts it
	// with its error: the sender's outbox checks there that the sender
	// holds the ledger's sender lease. starting is true in MarkSending,
	// whose commit lets a call to a sink start.
	fence func(ctx context.Context, tx *sql.Tx, starting bool) error
}

// NewOutbox returns the outbox kept in db.
func NewOutbox(db DB) *Outbox { return &Outbox{db: db} }

// write runs fn in a write transaction, after the fence.
func (o *Outbox) write(ctx context.Context, starting bool, fn func(*sql.Tx) error) error {
	return o.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if o.fence != nil {
			if err := o.fence(ctx, tx, starting); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// Enqueue inserts deliveries, ignoring those already there (same
// subscription and dedup key), inside tx. It returns how many were new.
func (o *Outbox) Enqueue(ctx context.Context, tx *sql.Tx, ds []Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO notify_deliveries (subscription, dedup_key, position, channel_key, thread_key, notice, status, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (subscription, dedup_key) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("prepare enqueue: %w", err)
	}
	defer stmt.Close()
	n := 0
	for _, d := range ds {
		b, err := json.Marshal(d.Notice)
		if err != nil {
			return n, err
		}
		res, err := stmt.ExecContext(ctx, d.Subscription, d.DedupKey, d.Position, d.ChannelKey, nullString(d.ThreadKey), string(b), d.CreatedAt.UnixNano(), d.CreatedAt.UnixNano())
		if err != nil {
			return n, fmt.Errorf("enqueue %s/%s: %w", d.Subscription, d.DedupKey, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// EnqueueNow is Enqueue in a transaction of its own.
func (o *Outbox) EnqueueNow(ctx context.Context, ds []Delivery) (int, error) {
	n := 0
	err := o.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		n, err = o.Enqueue(ctx, tx, ds)
		return err
	})
	return n, err
}

const deliveryColumns = `id, subscription, dedup_key, position, channel_key, coalesce(thread_key, ''), notice, status, attempts, next_attempt_at, coalesce(last_error, ''), created_at, coalesce(sent_at, 0), coalesce(ts, '')`

func scanDelivery(rows interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var notice string
	var next, created, sent int64
	if err := rows.Scan(&d.ID, &d.Subscription, &d.DedupKey, &d.Position, &d.ChannelKey, &d.ThreadKey, &notice, &d.Status, &d.Attempts, &next, &d.LastError, &created, &sent, &d.TS); err != nil {
		return d, err
	}
	d.NextAttemptAt, d.CreatedAt = time.Unix(0, next).UTC(), time.Unix(0, created).UTC()
	if sent > 0 {
		d.SentAt = time.Unix(0, sent).UTC()
	}
	if err := json.Unmarshal([]byte(notice), &d.Notice); err != nil {
		return d, fmt.Errorf("delivery %d: decode notice: %w", d.ID, err)
	}
	return d, nil
}

func (o *Outbox) query(ctx context.Context, q string, args ...any) ([]Delivery, error) {
	rows, err := o.db.ReadDB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Due returns the deliveries waiting to be sent whose next attempt is at
// or before now, oldest first, at most limit.
func (o *Outbox) Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	return o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE status IN ('pending', 'sending') AND next_attempt_at <= CAST(? AS INTEGER) ORDER BY id LIMIT CAST(? AS INTEGER)`, now.UnixNano(), limit)
}

// Heads returns, for each channel, its oldest waiting delivery, due or
// not: a channel's messages go out in order, so a later one waits while
// an earlier one backs off or is being confirmed.
func (o *Outbox) Heads(ctx context.Context) ([]Delivery, error) {
	return o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE id IN (
		SELECT min(id) FROM notify_deliveries WHERE status IN ('pending', 'sending') GROUP BY channel_key)
		ORDER BY id`)
}

// Get returns one delivery by id.
func (o *Outbox) Get(ctx context.Context, id int64) (Delivery, error) {
	ds, err := o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE id = ?`, id)
	if err != nil {
		return Delivery{}, err
	}
	if len(ds) == 0 {
		return Delivery{}, fmt.Errorf("no delivery %d: %w", id, events.ErrNotFound)
	}
	return ds[0], nil
}

// List returns deliveries with a status ("" for all), newest first.
func (o *Outbox) List(ctx context.Context, status string, limit int) ([]Delivery, error) {
	if status == "" {
		return o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries ORDER BY id DESC LIMIT ?`, limit)
	}
	return o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE status = ? ORDER BY id DESC LIMIT ?`, status, limit)
}

func (o *Outbox) exec(ctx context.Context, q string, args ...any) error {
	return o.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}

// MarkSending records that a call to the sink is about to start: if the
// process dies during it, the delivery is known to be uncertain. When
// paceKey is not "" (a paced channel), at is also recorded as the
// channel's last send, in the same transaction.
func (o *Outbox) MarkSending(ctx context.Context, id int64, paceKey string, at time.Time) error {
	return o.write(ctx, true, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = 'sending', last_error = ? WHERE id = ?`, interruptedCall, id); err != nil {
			return err
		}
		if paceKey == "" {
			return nil
		}
		return setPace(ctx, tx, paceKey, at, time.Time{})
	})
}

// MarkSent records a delivery the sink accepted, and the thread's first
// message when this one starts a thread.
func (o *Outbox) MarkSent(ctx context.Context, d Delivery, ts string, now time.Time) error {
	return o.write(ctx, false, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = 'sent', sent_at = ?, ts = ?, last_error = NULL WHERE id = ?`, now.UnixNano(), nullString(ts), d.ID); err != nil {
			return err
		}
		if ts != "" && d.ThreadKey != "" {
			_, err := tx.ExecContext(ctx, `INSERT INTO notify_threads (channel_key, thread_key, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, d.ChannelKey, d.ThreadKey, ts)
			return err
		}
		return nil
	})
}

// MarkRetry puts a delivery known not to have arrived back to wait until
// next ("pending"), with its failed attempts so far and the error.
func (o *Outbox) MarkRetry(ctx context.Context, id int64, attempts int, reason string, next time.Time) error {
	return o.exec(ctx, `UPDATE notify_deliveries SET status = 'pending', attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`, attempts, reason, next.UnixNano(), id)
}

// MarkUncertain leaves a delivery that may have arrived "sending" until
// next, with its failed attempts so far and what happened: the next
// attempt asks the sink whether it arrived before sending it again.
func (o *Outbox) MarkUncertain(ctx context.Context, id int64, attempts int, reason string, next time.Time) error {
	return o.exec(ctx, `UPDATE notify_deliveries SET status = 'sending', attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`, attempts, reason, next.UnixNano(), id)
}

// MarkDead moves a delivery to the dead letters with the reason.
// confirmOnRedrive says that it may have arrived and that the sink can be
// asked: a redrive then confirms before sending.
func (o *Outbox) MarkDead(ctx context.Context, id int64, reason string, confirmOnRedrive bool) error {
	return o.exec(ctx, `UPDATE notify_deliveries SET status = 'dead', last_error = ?, redrive_confirms = ? WHERE id = ?`, reason, confirmOnRedrive, id)
}

// Pace is what the outbox remembers of a channel for pacing across
// restarts.
type Pace struct {
	// LastSend is the later of the last call's start and end.
	LastSend time.Time
	// NotBefore is when a 429's Retry-After ends; zero if none.
	NotBefore time.Time
}

// SetPace records a send to a channel at lastSend and, when notBefore is
// not zero, that the channel must wait until then. Times never move back.
func (o *Outbox) SetPace(ctx context.Context, channelKey string, lastSend, notBefore time.Time) error {
	return o.write(ctx, false, func(tx *sql.Tx) error { return setPace(ctx, tx, channelKey, lastSend, notBefore) })
}

func setPace(ctx context.Context, tx *sql.Tx, channelKey string, lastSend, notBefore time.Time) error {
	var nb int64
	if !notBefore.IsZero() {
		nb = notBefore.UnixNano()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO notify_channel_pace (channel_key, last_send_at, not_before) VALUES (?, ?, ?)
		ON CONFLICT (channel_key) DO UPDATE SET last_send_at = max(last_send_at, excluded.last_send_at), not_before = max(not_before, excluded.not_before)`,
		channelKey, lastSend.UnixNano(), nb)
	return err
}

// Paces returns the pacing state of every channel that has one.
func (o *Outbox) Paces(ctx context.Context) (map[string]Pace, error) {
	rows, err := o.db.ReadDB().QueryContext(ctx, `SELECT channel_key, last_send_at, not_before FROM notify_channel_pace`)
	if err != nil {
		return nil, fmt.Errorf("read channel pacing: %w", err)
	}
	defer rows.Close()
	out := map[string]Pace{}
	for rows.Next() {
		var key string
		var last, nb int64
		if err := rows.Scan(&key, &last, &nb); err != nil {
			return nil, err
		}
		p := Pace{LastSend: time.Unix(0, last).UTC()}
		if nb > 0 {
			p.NotBefore = time.Unix(0, nb).UTC()
		}
		out[key] = p
	}
	return out, rows.Err()
}

// Thread returns the ts of the first message about a treaty in a channel.
func (o *Outbox) Thread(ctx context.Context, channelKey, threadKey string) (string, error) {
	var ts string
	err := o.db.ReadDB().QueryRowContext(ctx, `SELECT ts FROM notify_threads WHERE channel_key = ? AND thread_key = ?`, channelKey, threadKey).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return ts, err
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
	ds, err := o.query(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE status = 'dead' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for _, d := range ds {
		out = append(out, DeadLetter{ID: fmt.Sprintf("D%d", d.ID), Kind: "delivery", Position: d.Position, Target: d.Subscription,
			What: d.Notice.Kind + " " + d.Notice.Treaty + " " + d.Notice.Participant, Reason: d.LastError, At: d.CreatedAt})
	}
	rows, err := o.db.ReadDB().QueryContext(ctx, `SELECT id, topic, coalesce(position, 0), reason, created_at FROM notify_dead_letters WHERE redriven = 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var dl DeadLetter
		var id, at int64
		if err := rows.Scan(&id, &dl.Target, &dl.Position, &dl.Reason, &at); err != nil {
			return nil, err
		}
		dl.ID, dl.Kind, dl.At, dl.What = fmt.Sprintf("E%d", id), "event", time.Unix(0, at).UTC(), fmt.Sprintf("ledger event at position %d", dl.Position)
		out = append(out, dl)
	}
	return out, rows.Err()
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
		var pos int64
		err = o.write(ctx, false, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(position, 0) FROM notify_dead_letters WHERE id = ? AND redriven = 0`, n).Scan(&pos); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE notify_dead_letters SET redriven = 1 WHERE id = ?`, n)
			return err
		})
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("no dead letter %s: %w", id, events.ErrNotFound)
		}
		return pos, err
	case len(id) > 1 && (id[0] == 'D' || id[0] == 'd'):
		id = id[1:]
	}
	if _, err := fmt.Sscan(id, &n); err != nil {
		return 0, &events.InvalidError{Field: "dead letter", Reason: fmt.Sprintf("%q: want D<n> for a delivery or E<n> for an event", id)}
	}
	var k int64
	err = o.write(ctx, false, func(tx *sql.Tx) error {
		// A delivery that may have arrived goes back as "sending": the
		// sender asks the sink before posting it again.
		res, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET
			status = CASE redrive_confirms WHEN 1 THEN 'sending' ELSE 'pending' END,
			last_error = CASE redrive_confirms WHEN 1 THEN ? ELSE NULL END,
			redrive_confirms = 0, attempts = 0, next_attempt_at = ?
			WHERE id = ? AND status = 'dead'`, redrivenUncertain, now.UnixNano(), n)
		if err != nil {
			return err
		}
		k, _ = res.RowsAffected()
		return nil
	})
	if err == nil && k == 0 {
		return 0, fmt.Errorf("no dead delivery D%d: %w", n, events.ErrNotFound)
	}
	return 0, err
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
	var ns int64
	err := o.db.ReadDB().QueryRowContext(ctx, `SELECT last_run FROM notify_schedules WHERE name = ?`, name).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns).UTC(), nil
}

// SetLastRun persists a schedule's last run.
func (o *Outbox) SetLastRun(ctx context.Context, tx *sql.Tx, name string, t time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO notify_schedules (name, last_run) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run`, name, t.UnixNano())
	return err
}

// State returns a notifier setting, "" if unset.
func (o *Outbox) State(ctx context.Context, key string) (string, error) {
	var v string
	err := o.db.ReadDB().QueryRowContext(ctx, `SELECT value FROM notify_state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetStateOnce sets a notifier setting unless it is set, and returns the
// value in force.
func (o *Outbox) SetStateOnce(ctx context.Context, key, value string) (string, error) {
	err := o.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_state (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, key, value)
		return err
	})
	if err != nil {
		return "", err
	}
	return o.State(ctx, key)
}

// Counts returns how many deliveries are in each status.
func (o *Outbox) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := o.db.ReadDB().QueryContext(ctx, `SELECT status, count(*) FROM notify_deliveries GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
