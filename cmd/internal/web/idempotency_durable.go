package web

import (
	"context"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// DurableIdempotency is an IdempotencyStore in the ledger's own store (an
// events.AnswerStore: events/sqlite keeps the answers in the ledger's
// file). The answer of a write that appends events is kept by the
// ledger's store in the transaction of the append (events.WithAnswer), so
// it exists exactly when the events do: a client that retries after a
// dropped connection or a crash of the server gets the first answer
// replayed, never a second write. Answers that go with no append
// (refusals, dry runs) are kept after they are sent. Answers older than
// the time to live are ignored and purged. Safe for concurrent use.
//
// store must be the store the Ledger writes to: that is where the answers
// of appends are kept.
type DurableIdempotency struct {
	store events.AnswerStore
	ttl   time.Duration
	now   func() time.Time
}

// NewDurableIdempotency returns an IdempotencyStore keeping answers in
// store for ttl (24 h when zero), dated by now.
func NewDurableIdempotency(store events.AnswerStore, ttl time.Duration, now func() time.Time) *DurableIdempotency {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &DurableIdempotency{store: store, ttl: ttl, now: now}
}

// Get returns the answer stored under key, unless it expired.
func (s *DurableIdempotency) Get(ctx context.Context, key string) (StoredResponse, bool, error) {
	a, at, ok, err := s.store.Answer(ctx, key)
	if err != nil || !ok {
		return StoredResponse{}, false, err
	}
	if s.now().Sub(at) > s.ttl {
		return StoredResponse{}, false, nil
	}
	return StoredResponse{Fingerprint: a.Fingerprint, Status: a.Status, ContentType: a.ContentType, Body: a.Body}, true, nil
}

// Put stores an answer under key and purges expired ones.
func (s *DurableIdempotency) Put(ctx context.Context, key string, resp StoredResponse) error {
	now := s.now()
	a := events.Answer{Key: key, Fingerprint: resp.Fingerprint, Status: resp.Status, ContentType: resp.ContentType, Body: resp.Body}
	return s.store.PutAnswer(ctx, a, now, now.Add(-s.ttl))
}

// keepsWithAppends reports that the ledger's store keeps the answers of
// appends where Get finds them.
func (s *DurableIdempotency) keepsWithAppends() bool { return true }
