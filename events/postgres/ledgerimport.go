package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// copiedTables are the tables beside the log that a copy of a ledger
// fills, and that must be empty before it does.
var copiedTables = []string{"notify_deliveries", "notify_dead_letters", "notify_threads", "notify_channel_pace", "notify_schedules", "notify_state",
	"http_idempotency", "slack_requests_seen"}

// ImportLedger is Import with what lives beside the log, all in the one
// transaction of the log: a failure anywhere leaves this store as it was
// (empty). It refuses, writing nothing, a store that holds an event
// (*events.LedgerNotEmptyError) or a row in a table the copy fills
// (*events.TableNotEmptyError).
//
// Sink secrets are sealed with this store's secrets key (Config), which
// is recorded as the database's when it has none, and refused with a
// *KeyMismatchError when another is. The notifier's rows are written as
// they come, ids included: the deliveries' and dead letters' id sequences
// are moved past the copied ids, so the next ones follow them, and a
// delivery keeps its status, attempts, due time, last error, Slack ts and
// redrive flag. The kept answers and the seen requests are written as
// they come. Nothing of it is checked against the log beyond what the
// tables' constraints check (one delivery per subscription and dedup
// key, a known status, one answer per key).
func (s *Store) ImportLedger(ctx context.Context, log iter.Seq2[events.Envelope, error], c events.LedgerCopy) (int64, error) {
	sealed := map[string][]byte{}
	check := ""
	if len(c.SinkSecrets) > 0 {
		if err := s.needKey(); err != nil {
			return 0, err
		}
		var err error
		if check, err = s.sealer.Check(true); err != nil {
			return 0, err
		}
		for id, secret := range c.SinkSecrets {
			if sealed[id], err = s.sealer.Seal(id, secret); err != nil {
				return 0, fmt.Errorf("import: seal the sink secret of %s: %w", id, err)
			}
		}
	}
	if err := checkNotifierRows(c.Notifier); err != nil {
		return 0, err
	}
	return s.importLog(ctx, log, func(tx pgx.Tx) error {
		if len(sealed) > 0 {
			if err := s.checkKey(ctx, tx, check, true); err != nil {
				return err
			}
			now := s.now().UnixNano()
			rows := make([][]any, 0, len(sealed))
			for _, id := range slices.Sorted(maps.Keys(sealed)) {
				rows = append(rows, []any{id, sealed[id], now})
			}
			if err := copyRows(ctx, tx, "sink_secrets", []string{"subscription", "sealed", "created_at"}, rows); err != nil {
				return err
			}
		}
		if err := refuseNonEmpty(ctx, tx); err != nil {
			return err
		}
		if err := importNotifier(ctx, tx, c.Notifier); err != nil {
			return err
		}
		answers := make([][]any, 0, len(c.Answers))
		for _, a := range c.Answers {
			body := a.Body
			if body == nil {
				body = []byte{}
			}
			answers = append(answers, []any{a.Key, a.Fingerprint, int32(a.Status), a.ContentType, body, a.At.UnixNano()}) //nolint:gosec // G115: an HTTP status
		}
		if err := copyRows(ctx, tx, "http_idempotency", []string{"key", "fingerprint", "status", "content_type", "body", "created_at"}, answers); err != nil {
			return err
		}
		for _, group := range slices.Sorted(maps.Keys(c.LogOffsets)) {
			pos := c.LogOffsets[group]
			if group == "" || pos < 0 {
				return &events.InvalidError{Field: "LogOffsets", Reason: fmt.Sprintf("group %q at %d: want a named group at a position of 0 or more", group, pos)}
			}
			tag, err := tx.Exec(ctx, sqlSetLogOffset, group, pos)
			if err != nil {
				return fmt.Errorf("import: set the log offset of %s: %w", group, err)
			}
			if tag.RowsAffected() != 1 {
				return &events.InvalidError{Field: "LogOffsets", Reason: fmt.Sprintf("group %s at %d: past the head of the copied log", group, pos)}
			}
		}
		seen := make([][]any, 0, len(c.SeenRequests))
		for _, h := range slices.Sorted(maps.Keys(c.SeenRequests)) {
			seen = append(seen, []any{h, c.SeenRequests[h].UnixNano()})
		}
		return copyRows(ctx, tx, "slack_requests_seen", []string{"signature_hash", "expires_at"}, seen)
	})
}

// refuseNonEmpty refuses, in tx, a store whose tables beside the log
// hold a row.
func refuseNonEmpty(ctx context.Context, tx pgx.Tx) error {
	for _, table := range copiedTables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("import: count the rows of %s: %w", table, err)
		}
		if n > 0 {
			return &events.TableNotEmptyError{Table: table, Rows: n}
		}
	}
	return nil
}

// checkNotifierRows refuses, before anything is written, rows that the
// tables would refuse with a less helpful message.
func checkNotifierRows(st events.NotifierState) error {
	for _, d := range st.Deliveries {
		switch d.Status {
		case events.DeliveryPending, events.DeliverySending, events.DeliverySent, events.DeliveryDead:
		default:
			return &events.InvalidError{Field: "delivery status", Reason: fmt.Sprintf("delivery %d has status %q, want pending, sending, sent or dead", d.ID, d.Status)}
		}
		if d.ID < 1 {
			return &events.InvalidError{Field: "delivery id", Reason: fmt.Sprintf("delivery %s/%s has id %d, want 1 or more", d.Subscription, d.DedupKey, d.ID)}
		}
	}
	for _, m := range st.DeadMessages {
		if m.ID < 1 {
			return &events.InvalidError{Field: "dead message id", Reason: fmt.Sprintf("dead message %s has id %d, want 1 or more", m.UUID, m.ID)}
		}
	}
	return nil
}

// importNotifier writes the notifier's state in tx, under the outbox
// lock.
func importNotifier(ctx context.Context, tx pgx.Tx, st events.NotifierState) error {
	if st.Empty() {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockEnqueue); err != nil {
		return fmt.Errorf("import: take the outbox lock: %w", err)
	}

	deliveries := make([][]any, 0, len(st.Deliveries))
	for _, d := range st.Deliveries {
		var sent any // NULL until sent
		if !d.SentAt.IsZero() {
			sent = d.SentAt.UnixNano()
		}
		deliveries = append(deliveries, []any{d.ID, d.Subscription, d.DedupKey, d.Position, d.ChannelKey, nullString(d.ThreadKey), string(d.Notice),
			d.Status, int32(d.Attempts), d.NextAttemptAt.UnixNano(), nullString(d.LastError), d.CreatedAt.UnixNano(), sent, nullString(d.TS), d.RedriveConfirms}) //nolint:gosec // G115: attempts are counted in small numbers
	}
	if err := copyRows(ctx, tx, "notify_deliveries", []string{"id", "subscription", "dedup_key", "position", "channel_key", "thread_key", "notice",
		"status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at", "ts", "redrive_confirms"}, deliveries); err != nil {
		return err
	}

	dead := make([][]any, 0, len(st.DeadMessages))
	for _, m := range st.DeadMessages {
		meta, err := json.Marshal(m.Metadata)
		if err != nil {
			return fmt.Errorf("import: encode the metadata of dead message %d: %w", m.ID, err)
		}
		var pos any // NULL: none
		if m.Position != 0 {
			pos = m.Position
		}
		payload := m.Payload
		if payload == nil {
			payload = []byte{}
		}
		dead = append(dead, []any{m.ID, m.UUID, m.Topic, pos, payload, string(meta), m.Reason, m.At.UnixNano(), m.Redriven})
	}
	if err := copyRows(ctx, tx, "notify_dead_letters", []string{"id", "uuid", "topic", "position", "payload", "metadata", "reason", "created_at", "redriven"}, dead); err != nil {
		return err
	}
	// The next ids follow the copied ones.
	for _, table := range []string{"notify_deliveries", "notify_dead_letters"} {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM `+pgx.Identifier{table}.Sanitize()+` HAVING max(id) IS NOT NULL`, table); err != nil {
			return fmt.Errorf("import: move the ids of %s past the copied ones: %w", table, err)
		}
	}

	threads := make([][]any, 0, len(st.Threads))
	for _, th := range st.Threads {
		threads = append(threads, []any{th.ChannelKey, th.ThreadKey, th.TS})
	}
	if err := copyRows(ctx, tx, "notify_threads", []string{"channel_key", "thread_key", "ts"}, threads); err != nil {
		return err
	}
	paces := make([][]any, 0, len(st.Paces))
	for _, key := range slices.Sorted(maps.Keys(st.Paces)) {
		p := st.Paces[key]
		paces = append(paces, []any{key, p.LastSend.UnixNano(), nanos(p.NotBefore)})
	}
	if err := copyRows(ctx, tx, "notify_channel_pace", []string{"channel_key", "last_send_at", "not_before"}, paces); err != nil {
		return err
	}
	runs := make([][]any, 0, len(st.LastRuns))
	for _, name := range slices.Sorted(maps.Keys(st.LastRuns)) {
		runs = append(runs, []any{name, st.LastRuns[name].UnixNano()})
	}
	if err := copyRows(ctx, tx, "notify_schedules", []string{"name", "last_run"}, runs); err != nil {
		return err
	}
	settings := make([][]any, 0, len(st.Settings))
	for _, key := range slices.Sorted(maps.Keys(st.Settings)) {
		settings = append(settings, []any{key, st.Settings[key]})
	}
	return copyRows(ctx, tx, "notify_state", []string{"key", "value"}, settings)
}

// copyRows writes rows into table with COPY (none: nothing).
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows)); err != nil {
		return translate(err, "import: write "+table)
	}
	return nil
}
