package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// The notifier's outbox (package notifiers' OutboxStore, DeadLetterStore,
// ScheduleStore and SettingStore; notifiers/outboxtest is their contract
// suite) in the tables of migration 0010: notify_deliveries,
// notify_threads, notify_channel_pace, notify_schedules,
// notify_dead_letters and notify_state. Times are Unix nanoseconds.
//
// Where SQLite's single writer made a write safe, here: enqueueing is
// INSERT … ON CONFLICT DO NOTHING on UNIQUE (subscription, dedup_key),
// under an advisory lock that makes ids commit in order (enqueueTx); the
// pace is one upsert with greatest(); a thread's first
// message is INSERT … ON CONFLICT DO NOTHING; a setting set once is
// INSERT … ON CONFLICT DO NOTHING then a read, which sees the committed
// winner; a redrive is one conditional UPDATE … RETURNING; and every
// write of the sender reads its lease FOR SHARE first (fencedTx).

const deliveryColumns = `id, subscription, dedup_key, position, channel_key, coalesce(thread_key, ''), notice, status, attempts,
	next_attempt_at, coalesce(last_error, ''), created_at, coalesce(sent_at, 0), coalesce(ts, '')`

const (
	sqlEnqueue = `INSERT INTO notify_deliveries (subscription, dedup_key, position, channel_key, thread_key, notice, status, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (subscription, dedup_key) DO NOTHING`
	sqlDeliveryHeads = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE id IN (
	SELECT min(id) FROM notify_deliveries WHERE status IN ('pending', 'sending') GROUP BY channel_key)
ORDER BY id`
	sqlDelivery             = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE id = $1`
	sqlDeliveries           = `SELECT ` + deliveryColumns + ` FROM notify_deliveries ORDER BY id DESC LIMIT $1::bigint`
	sqlDeliveriesWithStatus = `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE status = $1 ORDER BY id DESC LIMIT $2::bigint`
	sqlDeliveryCounts       = `SELECT status, count(*) FROM notify_deliveries GROUP BY status`

	sqlMarkSending = `UPDATE notify_deliveries SET status = 'sending', last_error = $1 WHERE id = $2`
	sqlMarkSent    = `UPDATE notify_deliveries SET status = 'sent', sent_at = $1, ts = $2, last_error = NULL WHERE id = $3`
	sqlMarkThread  = `INSERT INTO notify_threads (channel_key, thread_key, ts)
SELECT channel_key, thread_key, $1 FROM notify_deliveries WHERE id = $2 AND coalesce(thread_key, '') <> ''
ON CONFLICT (channel_key, thread_key) DO NOTHING`
	sqlMarkRetry     = `UPDATE notify_deliveries SET status = 'pending', attempts = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4`
	sqlMarkUncertain = `UPDATE notify_deliveries SET status = 'sending', attempts = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4`
	sqlMarkDead      = `UPDATE notify_deliveries SET status = 'dead', last_error = $1, redrive_confirms = $2 WHERE id = $3`
	sqlRedrive       = `UPDATE notify_deliveries SET
	status = CASE WHEN redrive_confirms THEN 'sending' ELSE 'pending' END,
	last_error = CASE WHEN redrive_confirms THEN $1 ELSE NULL END,
	redrive_confirms = false, attempts = 0, next_attempt_at = $2
WHERE id = $3 AND status = 'dead'`

	sqlSetPace = `INSERT INTO notify_channel_pace AS p (channel_key, last_send_at, not_before) VALUES ($1, $2, $3)
ON CONFLICT (channel_key) DO UPDATE SET last_send_at = greatest(p.last_send_at, excluded.last_send_at), not_before = greatest(p.not_before, excluded.not_before)`
	sqlPaces  = `SELECT channel_key, last_send_at, not_before FROM notify_channel_pace`
	sqlThread = `SELECT ts FROM notify_threads WHERE channel_key = $1 AND thread_key = $2`

	sqlLastRun    = `SELECT last_run FROM notify_schedules WHERE name = $1`
	sqlSetLastRun = `INSERT INTO notify_schedules (name, last_run) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run`

	sqlSetting        = `SELECT value FROM notify_state WHERE key = $1`
	sqlSetSettingOnce = `INSERT INTO notify_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`

	sqlAddDeadMessage = `INSERT INTO notify_dead_letters (uuid, topic, position, payload, metadata, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlDeadMessages   = `SELECT id, uuid, topic, coalesce(position, 0), payload, metadata, reason, created_at FROM notify_dead_letters WHERE NOT redriven ORDER BY id`
	sqlRedriveDead    = `UPDATE notify_dead_letters SET redriven = true WHERE id = $1 AND NOT redriven RETURNING coalesce(position, 0)`
)

// fencedTx runs fn in a write transaction after f's check, which reads
// the lease in the same transaction FOR SHARE: a TakeLease of another
// instance waits until this transaction ends, so the holder f.Check saw
// still holds the lease when fn's writes commit (what SQLite's single
// writer gave).
func (s *Store) fencedTx(ctx context.Context, f events.Fence, fn func(pgx.Tx) error) error {
	return s.portTx(ctx, func(tx pgx.Tx) error {
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

// enqueueTx inserts ds in tx in one round trip, under the enqueue lock,
// and returns how many were new.
//
// The lock (held to the end of tx) serialises the writers of the outbox
// on every instance: ids are drawn and committed in one order, so the
// sender, which takes each channel's lowest waiting id, never sends a
// delivery before one with a lower id that commits later; and two
// instances inserting overlapping batches in different orders (the
// router and a scheduler) queue rather than deadlock. The router runs on
// one instance at a time (its consumer group's claim), so the lock is
// rarely contended.
func enqueueTx(ctx context.Context, tx pgx.Tx, ds []events.Delivery) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockEnqueue); err != nil {
		return 0, fmt.Errorf("take the outbox lock: %w", err)
	}
	b := &pgx.Batch{}
	for _, d := range ds {
		b.Queue(sqlEnqueue, d.Subscription, d.DedupKey, d.Position, d.ChannelKey, nullString(d.ThreadKey), string(d.Notice), d.CreatedAt.UnixNano())
	}
	br := tx.SendBatch(ctx, b)
	n := 0
	for _, d := range ds {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return n, fmt.Errorf("enqueue %s/%s: %w", d.Subscription, d.DedupKey, err)
		}
		if tag.RowsAffected() > 0 {
			n++
		}
	}
	if err := br.Close(); err != nil {
		return n, fmt.Errorf("enqueue deliveries: %w", err)
	}
	return n, nil
}

// EnqueueDeliveries implements notifiers.OutboxStore.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []events.Delivery) (int, error) {
	n := 0
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = enqueueTx(ctx, tx, ds)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func scanDelivery(row pgx.Row) (events.Delivery, error) {
	var (
		d                     events.Delivery
		notice                string
		next, created, sentAt int64
	)
	if err := row.Scan(&d.ID, &d.Subscription, &d.DedupKey, &d.Position, &d.ChannelKey, &d.ThreadKey, &notice, &d.Status, &d.Attempts,
		&next, &d.LastError, &created, &sentAt, &d.TS); err != nil {
		return d, err
	}
	d.Notice = []byte(notice)
	d.NextAttemptAt, d.CreatedAt, d.SentAt = time.Unix(0, next).UTC(), time.Unix(0, created).UTC(), timeOf(sentAt)
	return d, nil
}

func (s *Store) deliveries(ctx context.Context, q string, args ...any) ([]events.Delivery, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	return out, nil
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
	var lim any // NULL: no limit
	if limit > 0 {
		lim = int64(limit)
	}
	if status == "" {
		return s.deliveries(ctx, sqlDeliveries, lim)
	}
	return s.deliveries(ctx, sqlDeliveriesWithStatus, status, lim)
}

// DeliveryCounts implements notifiers.OutboxStore.
func (s *Store) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, sqlDeliveryCounts)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[st] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	return out, nil
}

func setPaceTx(ctx context.Context, tx pgx.Tx, channelKey string, lastSend, notBefore time.Time) error {
	if _, err := tx.Exec(ctx, sqlSetPace, channelKey, lastSend.UnixNano(), nanos(notBefore)); err != nil {
		return fmt.Errorf("record the pace of %s: %w", channelKey, err)
	}
	return nil
}

// MarkSending implements notifiers.OutboxStore.
func (s *Store) MarkSending(ctx context.Context, f events.Fence, id int64, lastError, paceKey string, at time.Time) error {
	return s.fencedTx(ctx, f, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlMarkSending, lastError, id); err != nil {
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
	return s.fencedTx(ctx, f, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlMarkSent, at.UnixNano(), nullString(ts), id); err != nil {
			return fmt.Errorf("mark delivery %d sent: %w", id, err)
		}
		if ts == "" {
			return nil
		}
		if _, err := tx.Exec(ctx, sqlMarkThread, ts, id); err != nil {
			return fmt.Errorf("record the thread of delivery %d: %w", id, err)
		}
		return nil
	})
}

func (s *Store) markExec(ctx context.Context, f events.Fence, what string, id int64, q string, args ...any) error {
	return s.fencedTx(ctx, f, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q, args...); err != nil {
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

// SetPace implements notifiers.OutboxStore: the channel's one pacing row,
// shared by every instance on the database.
func (s *Store) SetPace(ctx context.Context, f events.Fence, channelKey string, lastSend, notBefore time.Time) error {
	return s.fencedTx(ctx, f, func(tx pgx.Tx) error { return setPaceTx(ctx, tx, channelKey, lastSend, notBefore) })
}

// Paces implements notifiers.OutboxStore.
func (s *Store) Paces(ctx context.Context) (map[string]events.Pace, error) {
	rows, err := s.pool.Query(ctx, sqlPaces)
	if err != nil {
		return nil, fmt.Errorf("read the paces: %w", err)
	}
	defer rows.Close()
	out := map[string]events.Pace{}
	for rows.Next() {
		var key string
		var last, nb int64
		if err := rows.Scan(&key, &last, &nb); err != nil {
			return nil, fmt.Errorf("read the paces: %w", err)
		}
		out[key] = events.Pace{LastSend: time.Unix(0, last).UTC(), NotBefore: timeOf(nb)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the paces: %w", err)
	}
	return out, nil
}

// Thread implements notifiers.OutboxStore.
func (s *Store) Thread(ctx context.Context, channelKey, threadKey string) (string, error) {
	var ts string
	err := s.pool.QueryRow(ctx, sqlThread, channelKey, threadKey).Scan(&ts)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the thread %s of %s: %w", threadKey, channelKey, err)
	}
	return ts, nil
}

// RedriveDelivery implements notifiers.OutboxStore.
func (s *Store) RedriveDelivery(ctx context.Context, id int64, at time.Time, confirmNote string) (bool, error) {
	ok, err := s.execOne(ctx, sqlRedrive, confirmNote, at.UnixNano(), id)
	if err != nil {
		return false, fmt.Errorf("redrive delivery %d: %w", id, err)
	}
	return ok, nil
}

// LastRun implements notifiers.ScheduleStore.
func (s *Store) LastRun(ctx context.Context, name string) (time.Time, error) {
	var ns int64
	err := s.pool.QueryRow(ctx, sqlLastRun, name).Scan(&ns)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		var err error
		if n, err = enqueueTx(ctx, tx, ds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlSetLastRun, name, at.UnixNano()); err != nil {
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
	err := s.pool.QueryRow(ctx, sqlSetting, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the notifier setting %s: %w", key, err)
	}
	return v, nil
}

// SetNotifierSettingOnce implements notifiers.SettingStore. The read
// after the insert sees the value in force: an insert that met a
// concurrent one waited for it to commit, and each statement of a READ
// COMMITTED transaction sees what was committed before it began.
func (s *Store) SetNotifierSettingOnce(ctx context.Context, key, value string) (string, error) {
	var v string
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlSetSettingOnce, key, value); err != nil {
			return err
		}
		return tx.QueryRow(ctx, sqlSetting, key).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("set the notifier setting %s: %w", key, err)
	}
	return v, nil
}

// AddDeadMessages implements notifiers.DeadLetterStore.
func (s *Store) AddDeadMessages(ctx context.Context, ms []events.DeadMessage) error {
	return s.portTx(ctx, func(tx pgx.Tx) error {
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
			if _, err := tx.Exec(ctx, sqlAddDeadMessage, m.UUID, m.Topic, pos, payload, string(meta), m.Reason, m.At.UnixNano()); err != nil {
				return fmt.Errorf("keep dead message %s: %w", m.UUID, err)
			}
		}
		return nil
	})
}

// DeadMessages implements notifiers.DeadLetterStore.
func (s *Store) DeadMessages(ctx context.Context) ([]events.DeadMessage, error) {
	rows, err := s.pool.Query(ctx, sqlDeadMessages)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dead messages: %w", err)
	}
	return out, nil
}

// RedriveDeadMessage implements notifiers.DeadLetterStore: one
// conditional UPDATE, so that of two instances redriving one message at
// once, one gets it.
func (s *Store) RedriveDeadMessage(ctx context.Context, id int64) (int64, bool, error) {
	var pos int64
	found := false
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, sqlRedriveDead, id).Scan(&pos)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("redrive dead message %d: %w", id, err)
	}
	return pos, found, nil
}
