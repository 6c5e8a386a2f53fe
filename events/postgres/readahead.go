package postgres

import (
	"context"
	"sync"

	"github.com/treatywatch/treatywatch/events"
)

// readAheadState is ReadAll's read-ahead: at most one page read in the
// background, for the reader that asks for it next. Positions are
// immutable and without gaps, so a full page read earlier is the page a
// query would return now; a page that came back short (the end of the
// log then) is not used, and is read again.
type readAheadState struct {
	mu     sync.Mutex
	next   *prefetch
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// prefetch is one page read in the background.
type prefetch struct {
	after int64
	limit int
	done  chan struct{}
	page  []events.Envelope
	err   error
}

func (r *readAheadState) init() {
	r.ctx, r.cancel = context.WithCancel(context.Background())
}

// stop ends the background read, if any, and waits for it.
func (r *readAheadState) stop() {
	r.cancel()
	r.wg.Wait()
}

// start reads the page (after, limit] in the background with read,
// unless that page is already being read. It replaces any other page
// read ahead: one reader at a time pages through the log.
func (r *readAheadState) start(after int64, limit int, read func(context.Context, int64, int) ([]events.Envelope, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil || (r.next != nil && r.next.after == after && r.next.limit == limit) {
		return
	}
	p := &prefetch{after: after, limit: limit, done: make(chan struct{})}
	r.next = p
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(p.done)
		p.page, p.err = read(r.ctx, after, limit)
	}()
}

// claim returns the page (after, limit] if it was read ahead, full and
// without error, and true; false if it was not (the caller reads it
// itself). It waits for a read under way, or for ctx.
func (r *readAheadState) claim(ctx context.Context, after int64, limit int) ([]events.Envelope, bool, error) {
	r.mu.Lock()
	p := r.next
	if p == nil || p.after != after || p.limit != limit {
		r.mu.Unlock()
		return nil, false, nil
	}
	r.next = nil
	r.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, false, context.Cause(ctx)
	}
	if p.err != nil || len(p.page) != limit {
		return nil, false, nil
	}
	return p.page, true, nil
}
