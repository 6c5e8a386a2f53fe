package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// The notifier's outbox (package notifiers' OutboxStore, DeadLetterStore,
// ScheduleStore and SettingStore; notifiers/outboxtest is their contract
// suite) in the tables of migrations 0004, 0005 and 0007:
// notify_deliveries, notify_threads, notify_channel_pace,
// notify_schedules, notify_dead_letters and notify_state. Times are Unix
// nanoseconds.

const deliveryColumns = `id, subscription, dedup_key, position, channel_key, coalesce(thread_key, ''), notice, status, attempts,
	next_attempt_at, coalesce(last_error, ''), created_at, coalesce(sent_at, 0), coalesce(ts, '')`

const (
	sqlEnqueue = `INSERT INTO notify_deliveries (subscription, dedup_key, position, channel_key, thread_key, notice, status, next_attempt_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (subscription, dedup_key) DO NOTHING`
	sqlDeliveryHeads = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE id IN (
	SELECT min(id) FROM notify_deliveries WHERE status IN ('pending', 'sending') GROUP BY channel_key)
ORDER BY id`
	sqlDelivery             = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE id = CAST(? AS INTEGER)`
	sqlDeliveries           = `SELECT ` + deliveryColumns + ` FROM notify_deliveries ORDER BY id DESC LIMIT CAST(? AS INTEGER)`
	sqlDeliveriesWithStatus = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE status = CAST(? AS TEXT) ORDER BY id DESC LIMIT CAST(? AS INTEGER)`
	sqlDeliveryCounts       = `SELECT status, count(*) FROM notify_deliveries GROUP BY status`

	sqlMarkSending = `UPDATE notify_deliveries SET status = 'sending', last_error = ? WHERE id = CAST(? AS INTEGER)`
	sqlMarkSent    = `UPDATE notify_deliveries SET status = 'sent', sent_at = ?, ts = ?, last_error = NULL WHERE id = CAST(? AS INTEGER)`
	sqlMarkThread  = `INSERT INTO notify_threads (channel_key, thread_key, ts)
SELECT channel_key, thread_key, ? FROM notify_deliveries WHERE id = CAST(? AS INTEGER) AND coalesce(thread_key, '') != ''
ON CONFLICT (channel_key, thread_key) DO NOTHING`
	sqlMarkRetry     = `UPDATE notify_deliveries SET status = 'pending', attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = CAST(? AS INTEGER)`
	sqlMarkUncertain = `UPDATE notify_deliveries SET status = 'sending', attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = CAST(? AS INTEGER)`
	sqlMarkDead      = `UPDATE notify_deliveries SET status = 'dead', last_error = ?, redrive_confirms = ? WHERE id = CAST(? AS INTEGER)`
	sqlRedrive       = `UPDATE notify_deliveries SET
	status = CASE redrive_confirms WHEN 1 THEN 'sending' ELSE 'pending' END,
	last_error = CASE redrive_confirms WHEN 1 THEN ? ELSE NULL END,
	redrive_confirms = 0, attempts = 0, next_attempt_at = ?
WHERE id = CAST(? AS INTEGER) AND status = 'dead'`

	sqlSetPace = `INSERT INTO notify_channel_pace (channel_key, last_send_at, not_before) VALUES (?, ?, ?)
ON CONFLICT (channel_key) DO UPDATE SET last_send_at = max(last_send_at, excluded.last_send_at), not_before = max(not_before, excluded.not_before)`
	sqlPaces  = `SELECT channel_key, last_send_at, not_before FROM notify_channel_pace`
	sqlThread = `SELECT ts FROM notify_threads WHERE channel_key = CAST(? AS TEXT) AND thread_key = CAST(? AS TEXT)`

	sqlLastRun    = `SELECT last_run FROM notify_schedules WHERE name = CAST(? AS TEXT)`
	sqlSetLastRun = `INSERT INTO notify_schedules (name, last_run) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run`

	sqlSetting        = `SELECT value FROM notify_state WHERE key = CAST(? AS TEXT)`
	sqlSetSettingOnce = `INSERT INTO notify_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`

	sqlAddDeadMessage = `INSERT INTO notify_dead_letters (uuid, topic, position, payload, metadata, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlDeadMessages   = `SELECT id, uuid, topic, coalesce(position, 0), payload, metadata, reason, created_at FROM notify_dead_letters WHERE redriven = 0 ORDER BY id`
	sqlDeadPosition   = `SELECT coalesce(position, 0) FROM notify_dead_letters WHERE id = CAST(? AS INTEGER) AND redriven = 0`
	sqlRedriveDead    = `UPDATE notify_dead_letters SET redriven = 1 WHERE id = CAST(? AS INTEGER)`
)

// nullString is s, or NULL when s is "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nanos is t in Unix nanoseconds, or 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the time of Unix nanoseconds n, the zero time for 0.
func timeOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// fencedTx runs fn in a write transaction after f's check, which reads
// the lease in the same transaction.
func (s *Store) fencedTx(ctx context.Context, f events.Fence, fn func(*sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if f.Check != nil {
			holder, err := leaseHolder(ctx, tx, f.Lease)
			if err != nil {
				return err
			}
			if err := f.Check(holder); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

func enqueueTx(ctx context.Context, tx *sql.Tx, ds []events.Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, sqlEnqueue)
	if err != nil {
		return 0, fmt.Errorf("prepare enqueue: %w", err)
	}
	defer stmt.Close()
	n := 0
	for _, d := range ds {
		at := d.CreatedAt.UnixNano()
		res, err := stmt.ExecContext(ctx, d.Subscription, d.DedupKey, d.Position, d.ChannelKey, nullString(d.ThreadKey), string(d.Notice), at, at)
		if err != nil {
			return n, fmt.Errorf("enqueue %s/%s: %w", d.Subscription, d.DedupKey, err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return n, err
		} else if k > 0 {
			n++
		}
	}
	return n, nil
}

// EnqueueDeliveries implements notifiers.OutboxStore.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []events.Delivery) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = enqueueTx(ctx, tx, ds)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func scanDelivery(rows interface{ Scan(...any) error }) (events.Delivery, error) {
	var (
		d                     events.Delivery
		notice                string
		next, created, sentAt int64
	)
	if err := rows.Scan(&d.ID, &d.Subscription, &d.DedupKey, &d.Position, &d.ChannelKey, &d.ThreadKey, &notice, &d.Status, &d.Attempts,
		&next, &d.LastError, &created, &sentAt, &d.TS); err != nil {
		return d, err
	}
	d.Notice = []byte(notice)
	d.NextAttemptAt, d.CreatedAt, d.SentAt = time.Unix(0, next).UTC(), time.Unix(0, created).UTC(), timeOf(sentAt)
	return d, nil
}

func (s *Store) deliveries(ctx context.Context, q string, args ...any) ([]events.Delivery, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	var out []events.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeliveryHeads implements notifiers.OutboxStore.
func (s *Store) DeliveryHeads(ctx context.Context) ([]events.Delivery, error) {
	return s.deliveries(ctx, sqlDeliveryHeads)
}

// Delivery implements notifiers.OutboxStore.
func (s *Store) Delivery(ctx context.Context, id int64) (events.Delivery, error) {
	ds, err := s.deliveries(ctx, sqlDelivery, id)
	if err != nil {
		return events.Delivery{}, err
	}
	if len(ds) == 0 {
		return events.Delivery{}, fmt.Errorf("no delivery %d: %w", id, events.ErrNotFound)
	}
	return ds[0], nil
}

// Deliveries implements notifiers.OutboxStore.
func (s *Store) Deliveries(ctx context.Context, status string, limit int) ([]events.Delivery, error) {
	if limit < 1 {
		limit = -1 // no limit
	}
	if status == "" {
		return s.deliveries(ctx, sqlDeliveries, limit)
	}
	return s.deliveries(ctx, sqlDeliveriesWithStatus, status, limit)
}

// DeliveryCounts implements notifiers.OutboxStore.
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, sqlDeliveryCounts)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

func setPaceTx(ctx context.Context, tx *sql.Tx, channelKey string, lastSend, notBefore time.Time) error {
	if _, err := tx.ExecContext(ctx, sqlSetPace, channelKey, lastSend.UnixNano(), nanos(notBefore)); err != nil {
		return fmt.Errorf("record the pace of %s: %w", channelKey, err)
	}
	return nil
}

// MarkSending implements notifiers.OutboxStore.
func (s *Store) MarkSending(ctx context.Context, f events.Fence, id int64, lastError, paceKey string, at time.Time) error {
	return s.fencedTx(ctx, f, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlMarkSending, lastError, id); err != nil {
			return fmt.Errorf("mark delivery %d sending: %w", id, err)
		}
		if paceKey == "" {
			return nil
		}
		return setPaceTx(ctx, tx, paceKey, at, time.Time{})
	})
}

// MarkSent implements notifiers.OutboxStore.
func (s *Store) MarkSent(ctx context.Context, f events.Fence, id int64, ts string, at time.Time) error {
	return s.fencedTx(ctx, f, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlMarkSent, at.UnixNano(), nullString(ts), id); err != nil {
			return fmt.Errorf("mark delivery %d sent: %w", id, err)
		}
		if ts == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, sqlMarkThread, ts, id); err != nil {
			return fmt.Errorf("record the thread of delivery %d: %w", id, err)
		}
		return nil
	})
}

func (s *Store) markExec(ctx context.Context, f events.Fence, what string, id int64, q string, args ...any) error {
	return s.fencedTx(ctx, f, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mark delivery %d %s: %w", id, what, err)
		}
		return nil
	})
}

// MarkRetry implements notifiers.OutboxStore.
func (s *Store) MarkRetry(ctx context.Context, f events.Fence, id int64, attempts int, reason string, next time.Time) error {
	return s.markExec(ctx, f, "for retry", id, sqlMarkRetry, attempts, reason, next.UnixNano(), id)
}

// MarkUncertain implements notifiers.OutboxStore.
func (s *Store) MarkUncertain(ctx context.Context, f events.Fence, id int64, attempts int, reason string, next time.Time) error {
	return s.markExec(ctx, f, "uncertain", id, sqlMarkUncertain, attempts, reason, next.UnixNano(), id)
}

// MarkDead implements notifiers.OutboxStore.
func (s *Store) MarkDead(ctx context.Context, f events.Fence, id int64, reason string, confirmOnRedrive bool) error {
	return s.markExec(ctx, f, "dead", id, sqlMarkDead, reason, confirmOnRedrive, id)
}

// SetPace implements notifiers.OutboxStore.
func (s *Store) SetPace(ctx context.Context, f events.Fence, channelKey string, lastSend, notBefore time.Time) error {
	return s.fencedTx(ctx, f, func(tx *sql.Tx) error { return setPaceTx(ctx, tx, channelKey, lastSend, notBefore) })
}

// Paces implements notifiers.OutboxStore.
func (s *Store) Paces(ctx context.Context) (map[string]events.Pace, error) {
	rows, err := s.read.QueryContext(ctx, sqlPaces)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]events.Pace{}
	for rows.Next() {
		var key string
		var last, nb int64
		if err := rows.Scan(&key, &last, &nb); err != nil {
			return nil, err
		}
		out[key] = events.Pace{LastSend: time.Unix(0, last).UTC(), NotBefore: timeOf(nb)}
	}
	return out, rows.Err()
}

// Thread implements notifiers.OutboxStore.
func (s *Store) Thread(ctx context.Context, channelKey, threadKey string) (string, error) {
	var ts string
	err := s.read.QueryRowContext(ctx, sqlThread, channelKey, threadKey).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the thread %s of %s: %w", threadKey, channelKey, err)
	}
	return ts, nil
}

// RedriveDelivery implements notifiers.OutboxStore.
func (s *Store) RedriveDelivery(ctx context.Context, id int64, at time.Time, confirmNote string) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlRedrive, confirmNote, at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("redrive delivery %d: %w", id, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// LastRun implements notifiers.ScheduleStore.
func (s *Store) LastRun(ctx context.Context, name string) (time.Time, error) {
	var ns int64
	err := s.read.QueryRowContext(ctx, sqlLastRun, name).Scan(&ns)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last run of %s: %w", name, err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// RecordRun implements notifiers.ScheduleStore.
func (s *Store) RecordRun(ctx context.Context, name string, at time.Time, ds []events.Delivery) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = enqueueTx(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlSetLastRun, name, at.UnixNano()); err != nil {
			return fmt.Errorf("record the run of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// NotifierSetting implements notifiers.SettingStore.
func (s *Store) NotifierSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, sqlSetting, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the notifier setting %s: %w", key, err)
	}
	return v, nil
}

// SetNotifierSettingOnce implements notifiers.SettingStore.
func (s *Store) SetNotifierSettingOnce(ctx context.Context, key, value string) (string, error) {
	var v string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlSetSettingOnce, key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, sqlSetting, key).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("set the notifier setting %s: %w", key, err)
	}
	return v, nil
}

// AddDeadMessages implements notifiers.DeadLetterStore.
func (s *Store) AddDeadMessages(ctx context.Context, ms []events.DeadMessage) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			meta, err := json.Marshal(m.Metadata)
			if err != nil {
				return fmt.Errorf("encode the metadata of message %s: %w", m.UUID, err)
			}
			var pos any // NULL: none
			if m.Position != 0 {
				pos = m.Position
			}
			payload := m.Payload
			if payload == nil {
				payload = []byte{}
			}
			if _, err := tx.ExecContext(ctx, sqlAddDeadMessage, m.UUID, m.Topic, pos, payload, string(meta), m.Reason, m.At.UnixNano()); err != nil {
				return fmt.Errorf("keep dead message %s: %w", m.UUID, err)
			}
		}
		return nil
	})
}

// DeadMessages implements notifiers.DeadLetterStore.
func (s *Store) DeadMessages(ctx context.Context) ([]events.DeadMessage, error) {
	rows, err := s.read.QueryContext(ctx, sqlDeadMessages)
	if err != nil {
		return nil, fmt.Errorf("read dead messages: %w", err)
	}
	defer rows.Close()
	var out []events.DeadMessage
	for rows.Next() {
		var (
			m    events.DeadMessage
			meta string
			at   int64
		)
		if err := rows.Scan(&m.ID, &m.UUID, &m.Topic, &m.Position, &m.Payload, &meta, &m.Reason, &at); err != nil {
			return nil, fmt.Errorf("read dead messages: %w", err)
		}
		if err := json.Unmarshal([]byte(meta), &m.Metadata); err != nil {
			return nil, fmt.Errorf("dead message %d: decode metadata: %w", m.ID, err)
		}
		m.At = time.Unix(0, at).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// RedriveDeadMessage implements notifiers.DeadLetterStore.
func (s *Store) RedriveDeadMessage(ctx context.Context, id int64) (int64, bool, error) {
	var pos int64
	found := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, sqlDeadPosition, id).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.ExecContext(ctx, sqlRedriveDead, id)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("redrive dead message %d: %w", id, err)
	}
	return pos, found, nil
}
