package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store keeps answers with its appends.
var _ events.AnswerStore = (*Store)(nil)

// Answers (events.Answer, contract suite events/answertest) are kept in
// the table http_idempotency (migration 0013): the answers of the HTTP
// API's writes made with an Idempotency-Key, which any instance replays.
// The store owns the table's SQL because an answer is written in the
// transaction of the append it answers. A replacement is one upsert, so
// two instances keeping answers under one key at once leave one of them.
const (
	sqlPutAnswer = `INSERT INTO http_idempotency (key, fingerprint, status, content_type, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
	content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at`
	sqlAnswer       = `SELECT fingerprint, status, content_type, body, created_at FROM http_idempotency WHERE key = $1`
	sqlPurgeAnswers = `DELETE FROM http_idempotency WHERE created_at < $1`
)

// answerArgs checks a and returns the arguments of sqlPutAnswer for it,
// kept at at.
func answerArgs(a events.Answer, at time.Time) ([]any, error) {
	if a.Key == "" {
		return nil, &events.InvalidError{Field: "answer key", Reason: "is empty"}
	}
	body := a.Body
	if body == nil {
		body = []byte{}
	}
	return []any{a.Key, a.Fingerprint, a.Status, a.ContentType, body, at.UnixNano()}, nil
}

// AppendAnswer implements events.AnswerStore: it is Append, always on the
// transaction path (never the single-INSERT fast path), that also keeps
// the answer built from the stored envelopes, dated by their recorded
// time, in the same transaction, after the events are inserted and
// before the commit. If answer returns an error, nothing is written and
// the error is returned as is.
func (s *Store) AppendAnswer(ctx context.Context, answer func(stored []events.Envelope) (events.Answer, error), appends ...events.StreamAppend) ([]events.Envelope, error) {
	n, err := events.CheckAppends(appends)
	if err != nil {
		return nil, err
	}
	if len(appends) == 0 {
		return nil, nil
	}
	done, err := s.takeTurn(ctx) // as Append: this Store's appends take turns
	if err != nil {
		return nil, err
	}
	defer done()
	recorded := time.Unix(0, s.now().UnixNano()).UTC()
	out, err := s.appendTx(ctx, appends, recorded, n, func(stored []events.Envelope) (string, []any, error) {
		a, err := answer(stored)
		if err != nil {
			return "", nil, err
		}
		args, err := answerArgs(a, recorded)
		if err != nil {
			return "", nil, err
		}
		return sqlPutAnswer, args, nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		last := &out[len(out)-1]
		s.remember(last.Position, last.Hash)
	}
	return out, nil
}

// PutAnswer keeps an answer that goes with no append (a refusal, a dry
// run), dated at, replacing any kept under its key, and deletes the
// answers kept before purgeBefore, in one transaction.
func (s *Store) PutAnswer(ctx context.Context, a events.Answer, at, purgeBefore time.Time) error {
	args, err := answerArgs(a, at)
	if err != nil {
		return err
	}
	return s.portTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlPutAnswer, args...); err != nil {
			return fmt.Errorf("keep the answer of %q: %w", a.Key, err)
		}
		if _, err := tx.Exec(ctx, sqlPurgeAnswers, purgeBefore.UnixNano()); err != nil {
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
	err := s.pool.QueryRow(ctx, sqlAnswer, key).Scan(&a.Fingerprint, &a.Status, &a.ContentType, &a.Body, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Answer{}, time.Time{}, false, nil
	}
	if err != nil {
		return events.Answer{}, time.Time{}, false, fmt.Errorf("read the answer of %q: %w", key, err)
	}
	return a, time.Unix(0, at).UTC(), true, nil
}
