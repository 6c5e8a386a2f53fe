package pubsub

import (
	"context"
	"sync"

	"github.com/treatywatch/treatywatch/events"
)

// Bell wakes the subscriptions that wait for new events. Ring it after
// appending to the log (the Publisher does after each Publish; the service
// should after each Ledger command) so that subscribers deliver at once
// instead of at their next poll. Without a Bell, or for appends by other
// processes, subscribers find new events within PollInterval.
//
// The zero Bell is ready to use; a nil *Bell never rings. A Bell is safe
// for concurrent use.
type Bell struct {
	mu sync.Mutex
	ch chan struct{} // closed by Ring, then replaced
}

// NewBell returns a Bell.
func NewBell() *Bell { return &Bell{} }

// Ring wakes every subscription waiting on b.
func (b *Bell) Ring() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// wait returns a channel that is closed at the next Ring; nil (never
// ready) for a nil Bell. Take it before reading the log, so that a Ring
// between the read and the wait is not missed.
func (b *Bell) wait() <-chan struct{} {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// RingAfterAppend returns store with an Append that rings bell after each
// successful append, for writers that append to a bare events.Store. A
// Ledger rings through its own hook instead (events.LedgerConfig.OnAppend,
// as `serve` does), which keeps the store's optional methods — the
// wrapper exposes only events.Store, so a Ledger given it would lose the
// stream-tail reads and fold whole streams on every command.
func RingAfterAppend(store events.Store, bell *Bell) events.Store {
	return ringingStore{Store: store, bell: bell}
}

// ringingStore is RingAfterAppend's store.
type ringingStore struct {
	events.Store
	bell *Bell
}

// Append implements events.Store.
func (s ringingStore) Append(ctx context.Context, appends ...events.StreamAppend) ([]events.Envelope, error) {
	out, err := s.Store.Append(ctx, appends...)
	if err == nil && len(out) > 0 {
		s.bell.Ring()
	}
	return out, err
}
