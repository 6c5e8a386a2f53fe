package web

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// ReplayStore remembers the signed requests a server accepted (Slack slash
// commands), for as long as their signature is valid, so that the same
// request sent again is refused. Implementations must be safe for
// concurrent use.
type ReplayStore interface {
	// Remember records a request, named by the hash of its signature, until
	// expires. It returns false when the request was already recorded and
	// has not expired: a replay.
	Remember(ctx context.Context, signatureHash string, expires time.Time) (bool, error)
}

// DurableReplays is a ReplayStore in the ledger's own store (an
// events.SeenRequestStore: events/sqlite keeps the requests in the
// ledger's file), so that a replay is refused after a restart of the
// server too. Expired requests are purged as new ones are recorded. Safe
// for concurrent use.
type DurableReplays struct {
	store events.SeenRequestStore
	now   func() time.Time
}

// NewDurableReplays returns a ReplayStore kept in store, dated by now.
func NewDurableReplays(store events.SeenRequestStore, now func() time.Time) *DurableReplays {
	return &DurableReplays{store: store, now: now}
}

// Remember implements ReplayStore.
func (s *DurableReplays) Remember(ctx context.Context, signatureHash string, expires time.Time) (bool, error) {
	fresh, err := s.store.RememberRequest(ctx, signatureHash, expires, s.now())
	if err != nil {
		return false, fmt.Errorf("remember a Slack request: %w", err)
	}
	return fresh, nil
}

// memoryReplays is the ReplayStore of a server whose Log keeps no seen
// requests.
type memoryReplays struct {
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemoryReplays(now func() time.Time) *memoryReplays {
	return &memoryReplays{now: now, seen: map[string]time.Time{}}
}

func (m *memoryReplays) Remember(_ context.Context, signatureHash string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, exp := range m.seen {
		if exp.Before(now) {
			delete(m.seen, k)
		}
	}
	if _, ok := m.seen[signatureHash]; ok {
		return false, nil
	}
	m.seen[signatureHash] = expires
	return true, nil
}
