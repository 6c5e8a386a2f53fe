package events

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// streamTailer is implemented by stores that can read only the events of
// a stream after a version (events/sqlite does); with it the Ledger keeps
// folded histories between commands and reads only what is new.
type streamTailer interface {
	ReadStreamAfter(ctx context.Context, stream string, after int64) ([]Envelope, error)
}

// historyCache keeps each treaty's folded history and the participant
// directory between commands. Its mutex is held across a command's
// load-decide-append, so the commands of one process never race each
// other; other processes are caught by the stream's expected version.
type historyCache struct {
	mu         sync.Mutex
	treaties   map[string]*list.Element // of *cachedHistory, in lru
	lru        list.List                // most recently used first
	events     int                      // the kept histories' versions, summed
	dir        *Directory
	dirVersion int64
}

type cachedHistory struct {
	treaty string
	h      *History
}

// maxCachedEvents bounds the histories a Ledger keeps between commands,
// in events: beyond it the least recently used treaty is dropped (and
// read from its stream again when next needed), so a long-running
// process's memory does not grow with the log.
const maxCachedEvents = 50_000

// keep puts treaty's history first in the cache and drops the least
// recently used ones beyond maxCachedEvents (never the one just kept).
func (c *historyCache) keep(treaty string, h *History) {
	if c.treaties == nil {
		c.treaties = map[string]*list.Element{}
	}
	c.drop(treaty)
	c.treaties[treaty] = c.lru.PushFront(&cachedHistory{treaty: treaty, h: h})
	c.events += int(h.Version)
	for c.events > maxCachedEvents && c.lru.Len() > 1 {
		c.drop(c.lru.Back().Value.(*cachedHistory).treaty)
	}
}

func (c *historyCache) drop(treaty string) {
	if el, ok := c.treaties[treaty]; ok {
		c.events -= int(el.Value.(*cachedHistory).h.Version)
		c.lru.Remove(el)
		delete(c.treaties, treaty)
	}
}

func (c *historyCache) get(treaty string) *History {
	if el, ok := c.treaties[treaty]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cachedHistory).h
	}
	return nil
}

// locked runs fn with the cache held.
func (l *Ledger) locked(fn func() error) error {
	l.cache.mu.Lock()
	defer l.cache.mu.Unlock()
	return fn()
}

// historyLocked returns a treaty's history as stored now, folding only
// the events appended since the cached version. Callers must hold the
// cache and must not modify the history.
func (l *Ledger) historyLocked(ctx context.Context, treaty string) (*History, error) {
	tail, ok := l.store.(streamTailer)
	if !ok {
		return l.History(ctx, treaty, time.Time{})
	}
	h := l.cache.get(treaty)
	if h == nil {
		h = &History{}
	} else {
		l.cache.drop(treaty) // kept again below, at its new size
	}
	evs, err := tail.ReadStreamAfter(ctx, TreatyStream(treaty), h.Version)
	if err != nil {
		return nil, fmt.Errorf("read treaty %s: %w", treaty, err)
	}
	for _, e := range evs {
		p, err := l.reg.Decode(e)
		if err != nil {
			return nil, err
		}
		if err := h.Apply(e, p); err != nil {
			return nil, err
		}
	}
	l.cache.keep(treaty, h)
	return h, nil
}

// directoryLocked returns the participants known now. Callers must hold
// the cache and must not modify the directory.
func (l *Ledger) directoryLocked(ctx context.Context) (*Directory, error) {
	tail, ok := l.store.(streamTailer)
	if !ok {
		return l.loadDirectory(ctx)
	}
	if l.cache.dir == nil {
		l.cache.dir, l.cache.dirVersion = l.base.Clone(), 0
	}
	evs, err := tail.ReadStreamAfter(ctx, ParticipantsStream, l.cache.dirVersion)
	if err != nil {
		return nil, fmt.Errorf("read participants: %w", err)
	}
	for _, e := range evs {
		if err := l.addRegistered(l.cache.dir, e); err != nil {
			l.cache.dir = nil
			return nil, err
		}
		l.cache.dirVersion = e.Version
	}
	return l.cache.dir, nil
}

// treatyLocked loads a registered treaty and its parent from the cache,
// or returns an *UnknownTreatyError.
func (l *Ledger) treatyLocked(ctx context.Context, id string) (*History, *History, error) {
	h, err := l.historyLocked(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !h.Registered {
		return nil, nil, l.unknownTreatyLocked(ctx, id)
	}
	var parent *History
	if p := h.Definition.Parent; p != "" {
		if parent, err = l.historyLocked(ctx, p); err != nil {
			return nil, nil, err
		}
	}
	return h, parent, nil
}
