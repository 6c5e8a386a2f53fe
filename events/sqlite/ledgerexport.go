package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// The export of what lives beside the log, for a copy of the ledger into
// another backend (treatywatch migrate-db): every row of
// notify_deliveries, notify_dead_letters, notify_threads,
// notify_channel_pace, notify_schedules and notify_state as kept
// (ExportNotifierState), the kept answers of http_idempotency
// (ExportAnswers) and the unexpired rows of slack_requests_seen
// (ExportSeenRequests). The sender lease (notify_sender_lease) and the
// consumer groups' claims are the source's processes' own and are not
// exported; the sink secrets are read through SinkSecret.

const (
	sqlExportDeliveries = `SELECT ` + deliveryColumns + `, redrive_confirms FROM notify_deliveries ORDER BY id`
	sqlExportDead       = `SELECT id, uuid, topic, coalesce(position, 0), payload, metadata, reason, created_at, redriven FROM notify_dead_letters ORDER BY id`
	sqlExportThreads    = `SELECT channel_key, thread_key, ts FROM notify_threads ORDER BY channel_key, thread_key`
	sqlExportRuns       = `SELECT name, last_run FROM notify_schedules ORDER BY name`
	sqlExportSettings   = `SELECT key, value FROM notify_state ORDER BY key`
)

// ExportNotifierState returns the notifier's whole durable state, read in
// one read transaction (one snapshot of the file, which writers do not
// wait for), every row with its id and state (see events.NotifierState).
// It is held in memory: a ledger's outbox is thousands of rows, not
// millions.
func (s *Store) ExportNotifierState(ctx context.Context) (events.NotifierState, error) {
	st := events.NotifierState{Paces: map[string]events.Pace{}, LastRuns: map[string]time.Time{}, Settings: map[string]string{}}
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("export the notifier's state: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	steps := []struct {
		what string
		q    string
		scan func(*sql.Rows) error
	}{
		{"deliveries", sqlExportDeliveries, func(rows *sql.Rows) error {
			var (
				d                     events.DeliveryRow
				notice                string
				next, created, sentAt int64
			)
			if err := rows.Scan(&d.ID, &d.Subscription, &d.DedupKey, &d.Position, &d.ChannelKey, &d.ThreadKey, &notice, &d.Status, &d.Attempts,
				&next, &d.LastError, &created, &sentAt, &d.TS, &d.RedriveConfirms); err != nil {
				return err
			}
			d.Notice = []byte(notice)
			d.NextAttemptAt, d.CreatedAt, d.SentAt = time.Unix(0, next).UTC(), time.Unix(0, created).UTC(), timeOf(sentAt)
			st.Deliveries = append(st.Deliveries, d)
			return nil
		}},
		{"dead letters", sqlExportDead, func(rows *sql.Rows) error {
			var (
				m    events.DeadMessageRow
				meta string
				at   int64
			)
			if err := rows.Scan(&m.ID, &m.UUID, &m.Topic, &m.Position, &m.Payload, &meta, &m.Reason, &at, &m.Redriven); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(meta), &m.Metadata); err != nil {
				return fmt.Errorf("dead message %d: decode metadata: %w", m.ID, err)
			}
			if m.Payload == nil {
				m.Payload = []byte{}
			}
			m.At = time.Unix(0, at).UTC()
			st.DeadMessages = append(st.DeadMessages, m)
			return nil
		}},
		{"threads", sqlExportThreads, func(rows *sql.Rows) error {
			var th events.Thread
			if err := rows.Scan(&th.ChannelKey, &th.ThreadKey, &th.TS); err != nil {
				return err
			}
			st.Threads = append(st.Threads, th)
			return nil
		}},
		{"paces", sqlPaces, func(rows *sql.Rows) error {
			var key string
			var last, nb int64
			if err := rows.Scan(&key, &last, &nb); err != nil {
				return err
			}
			st.Paces[key] = events.Pace{LastSend: time.Unix(0, last).UTC(), NotBefore: timeOf(nb)}
			return nil
		}},
		{"schedules' last runs", sqlExportRuns, func(rows *sql.Rows) error {
			var name string
			var at int64
			if err := rows.Scan(&name, &at); err != nil {
				return err
			}
			st.LastRuns[name] = time.Unix(0, at).UTC()
			return nil
		}},
		{"settings", sqlExportSettings, func(rows *sql.Rows) error {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			st.Settings[k] = v
			return nil
		}},
	}
	for _, step := range steps {
		if err := exportRows(ctx, tx, step.q, step.scan); err != nil {
			return st, fmt.Errorf("export the notifier's %s: %w", step.what, err)
		}
	}
	return st, nil
}

// exportRows runs q in tx and calls scan for each row.
func exportRows(ctx context.Context, tx *sql.Tx, q string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ExportAnswers returns every answer kept for Idempotency-Key retries
// (events.AnswerStore), with when it was kept, oldest first.
func (s *Store) ExportAnswers(ctx context.Context) ([]events.KeptAnswer, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT key, fingerprint, status, content_type, body, created_at FROM http_idempotency ORDER BY created_at, key`)
	if err != nil {
		return nil, fmt.Errorf("export the kept answers: %w", err)
	}
	defer rows.Close()
	var out []events.KeptAnswer
	for rows.Next() {
		var (
			a  events.KeptAnswer
			at int64
		)
		if err := rows.Scan(&a.Key, &a.Fingerprint, &a.Status, &a.ContentType, &a.Body, &at); err != nil {
			return nil, fmt.Errorf("export the kept answers: %w", err)
		}
		a.At = time.Unix(0, at).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export the kept answers: %w", err)
	}
	return out, nil
}

// ExportSeenRequests returns the signed requests seen (events.
// SeenRequestStore) that have not expired by now, by signature hash, with
// when each may be forgotten.
func (s *Store) ExportSeenRequests(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT signature_hash, expires_at FROM slack_requests_seen WHERE expires_at >= CAST(? AS INTEGER)`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("export the seen requests: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			h  string
			at int64
		)
		if err := rows.Scan(&h, &at); err != nil {
			return nil, fmt.Errorf("export the seen requests: %w", err)
		}
		out[h] = time.Unix(0, at).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export the seen requests: %w", err)
	}
	return out, nil
}
