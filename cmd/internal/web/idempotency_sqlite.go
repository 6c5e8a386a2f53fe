package web

import (
	"context"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// AnswerDB is the store a durable IdempotencyStore keeps its answers in:
// the ledger's own store, which also keeps, in the transaction of each
// append made under events.WithAnswer, that write's answer.
// *sqlite.Store satisfies it.
type AnswerDB interface {
	// Answer returns the answer kept under key and when it was kept.
	Answer(ctx context.Context, key string) (events.Answer, time.Time, bool, error)
	// PutAnswer keeps an answer that goes with no append, replacing any
	// under its key, and deletes the answers kept before purgeBefore.
	PutAnswer(ctx context.Context, a events.Answer, at, purgeBefore time.Time) error
}

// SQLIdempotency is an IdempotencyStore in the ledger's SQLite file (table
// http_idempotency). The answer of a write that appends events is kept by
// the ledger's store in the transaction of the append (events.WithAnswer),
// so it exists exactly when the events do: a client that retries after a
// dropped connection or a crash of the server gets the first answer
// replayed, never a second write. Answers that go with no append
// (refusals, dry runs) are kept after they are sent. Answers older than
// the time to live are ignored and purged. Safe for concurrent use.
//
// db must be the store the Ledger writes to: that is where the answers of
// appends are kept.
type SQLIdempotency struct {
	db  AnswerDB
	ttl time.Duration
	now func() time.Time
}

// NewSQLIdempotency returns a durable IdempotencyStore keeping answers for
// ttl (24 h when zero), dated by now.
func NewSQLIdempotency(db AnswerDB, ttl time.Duration, now func() time.Time) *SQLIdempotency {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &SQLIdempotency{db: db, ttl: ttl, now: now}
}

// Get returns the answer stored under key, unless it expired.
func (s *SQLIdempotency) Get(ctx context.Context, key string) (StoredResponse, bool, error) {
	a, at, ok, err := s.db.Answer(ctx, key)
	if err != nil || !ok {
		return StoredResponse{}, false, err
	}
	if s.now().Sub(at) > s.ttl {
		return StoredResponse{}, false, nil
	}
	return StoredResponse{Fingerprint: a.Fingerprint, Status: a.Status, ContentType: a.ContentType, Body: a.Body}, true, nil
}

// Put stores an answer under key and purges expired ones.
func (s *SQLIdempotency) Put(ctx context.Context, key string, resp StoredResponse) error {
	now := s.now()
	a := events.Answer{Key: key, Fingerprint: resp.Fingerprint, Status: resp.Status, ContentType: resp.ContentType, Body: resp.Body}
	return s.db.PutAnswer(ctx, a, now, now.Add(-s.ttl))
}

// keepsWithAppends reports that the ledger's store keeps the answers of
// appends where Get finds them.
func (s *SQLIdempotency) keepsWithAppends() bool { return true }
