package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store keeps answers with its appends.
var _ events.AnswerStore = (*Store)(nil)

// Answers (events.Answer) are kept in the table http_idempotency
// (migration 0006): the answers of the HTTP API's writes made with an
// Idempotency-Key. The store owns the table's SQL because an answer is
// written in the transaction of the append it answers.
const (
	sqlPutAnswer = `INSERT INTO http_idempotency (key, fingerprint, status, content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
	content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at`
	sqlAnswer       = `SELECT fingerprint, status, content_type, body, created_at FROM http_idempotency WHERE key = CAST(? AS TEXT)`
	sqlPurgeAnswers = `DELETE FROM http_idempotency WHERE created_at < CAST(? AS INTEGER)`
)

// AppendAnswer implements events.AnswerStore: it is Append, always on the
// transaction path (never the single-INSERT fast path), that also keeps
// the answer built from the stored envelopes, dated by Config.Now, in the
// same transaction, after the events are inserted. If answer returns an
// error, the transaction is rolled back and the error returned as is.
func (s *Store) AppendAnswer(ctx context.Context, answer func(stored []events.Envelope) (events.Answer, error), appends ...events.StreamAppend) ([]events.Envelope, error) {
	n, err := events.CheckAppends(appends)
	if err != nil {
		return nil, err
	}
	if len(appends) == 0 {
		return nil, nil
	}
	recorded := time.Unix(0, s.now().UnixNano()).UTC()
	var out []events.Envelope
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = s.appendTx(ctx, tx, appends, recorded, n); err != nil {
			return err
		}
		a, err := answer(out)
		if err != nil {
			return err
		}
		return putAnswer(ctx, tx, a, recorded)
	})
	if err != nil {
		return nil, err
	}
	last := &out[len(out)-1]
	s.remember(last.Position, last.Hash)
	return out, nil
}

func putAnswer(ctx context.Context, tx *sql.Tx, a events.Answer, at time.Time) error {
	if a.Key == "" {
		return &events.InvalidError{Field: "answer key", Reason: "is empty"}
	}
	body := a.Body
	if body == nil {
		body = []byte{}
	}
	if _, err := tx.ExecContext(ctx, sqlPutAnswer, a.Key, a.Fingerprint, a.Status, a.ContentType, body, at.UnixNano()); err != nil {
		return fmt.Errorf("keep the answer of %q: %w", a.Key, err)
	}
	return nil
}

// PutAnswer keeps an answer that goes with no append (a refusal, a dry
// run), dated at, replacing any kept under its key, and deletes the
// answers kept before purgeBefore.
func (s *Store) PutAnswer(ctx context.Context, a events.Answer, at, purgeBefore time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := putAnswer(ctx, tx, a, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqlPurgeAnswers, purgeBefore.UnixNano()); err != nil {
			return fmt.Errorf("purge old answers: %w", err)
		}
		return nil
	})
}

// Answer returns the answer kept under key and when it was kept, or false
// when there is none.
func (s *Store) Answer(ctx context.Context, key string) (events.Answer, time.Time, bool, error) {
	a := events.Answer{Key: key}
	var at int64
	err := s.read.QueryRowContext(ctx, sqlAnswer, key).Scan(&a.Fingerprint, &a.Status, &a.ContentType, &a.Body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return events.Answer{}, time.Time{}, false, nil
	}
	if err != nil {
		return events.Answer{}, time.Time{}, false, fmt.Errorf("read the answer of %q: %w", key, err)
	}
	return a, time.Unix(0, at).UTC(), true, nil
}
