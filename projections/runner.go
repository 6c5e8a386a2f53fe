package projections

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// EndOfTime is the "as of" date of statuses that take everything known
// into account, whatever today is, so that they never depend on a clock.
func EndOfTime() events.Date { return events.NewDate(9999, time.December, 31) }

// Log is the event log a Runner reads. *sqlite.Store satisfies it.
type Log interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error)
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
	ReadDefinitions(ctx context.Context) ([]events.Envelope, error)
	Head(ctx context.Context) (int64, error)
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Log is the event log; required.
	Log Log
	// PageSize is how many events are read per query when following the
	// log; default 1,000.
	PageSize int
	// PollInterval is how often Run looks for new events when not woken
	// (appends by other processes); default 500 ms.
	PollInterval time.Duration
	// HistoryEvents bounds the folded treaty histories kept in memory, in
	// events: the least recently used treaty is dropped (and read from its
	// stream again when next needed) beyond it; default 50,000.
	HistoryEvents int
	// Statuses bounds the statuses and timelines kept (per treaty and
	// date); default 1,024. They are also bounded by their size: at most
	// 200,000 participant rows and statements in all.
	Statuses int
	// Transitions is how many of the latest events' transitions are kept
	// (at least; up to a quarter more between trims)
	// for the consumers that follow the log (older ones are computed again
	// from the treaty's stream when asked for); default 4,096 (a
	// transition holds headline statuses only: a few kilobytes).
	Transitions int
}

func (c *RunnerConfig) setDefaults() {
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.HistoryEvents == 0 {
		c.HistoryEvents = 50_000
	}
	if c.Statuses == 0 {
		c.Statuses = 1024
	}
	if c.Transitions == 0 {
		c.Transitions = 4096
	}
}

// Validate reports a configuration that cannot work.
func (c RunnerConfig) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("projections: RunnerConfig needs Log")
	case c.PageSize < 0, c.HistoryEvents < 0, c.Statuses < 0, c.Transitions < 0, c.PollInterval < 0:
		return errors.New("projections: RunnerConfig sizes and intervals must not be negative")
	}
	return nil
}

// Transition is what one event changed: for an event of a treaty's
// stream, the treaty's status as of the end of time before and after it
// (parent-aware: a protocol's status takes its parent's into account), the
// decoded payload and the treaty's definition after it. For any other
// event (participants, subscriptions, tokens) only Event is set.
//
// Before and After are headline statuses: every field but Participants
// (nil), which is what a notice or a digest reports; the full status of
// any date is Status's. So many transitions can be kept at little cost.
type Transition struct {
	Event      events.Envelope
	Payload    events.Payload
	Treaty     string
	Registered bool
	Definition events.Definition
	Before     Status
	After      Status
}

// Headline returns st without its participant rows: the part of a status
// a Transition keeps.
func Headline(st Status) Status {
	st.Participants = nil
	return st
}

// Runner is the read side of one process: the one component that reads
// and folds the ledger's log. It follows the log (Run), publishes the
// transition of every new event (Transition, Transitions), and answers
// statuses and timelines of any treaty as of any date (Status, Timeline)
// for the notifier, the scheduler, the HTTP layer and its live stream.
//
// A treaty's own stream is its read model: a status is computed from the
// treaty's folded history, which the Runner reads from the stream when it
// needs it and keeps while there is room (RunnerConfig.HistoryEvents), so
// that a process starts in the time it takes to read the treaty
// definitions and its memory is bounded by the number of treaties and
// participants, never by the length of the log. Statuses are kept per
// treaty and date until the treaty, its parent or the participants
// change.
//
// A Runner is safe for concurrent use.
type Runner struct {
	cfg    RunnerConfig
	reg    *events.Registry
	logger *slog.Logger

	fold sync.Mutex // one follower at a time

	mu       sync.RWMutex
	started  bool
	defs     map[string]events.Definition // registered treaties
	versions map[string]int64             // latest version seen per treaty stream
	affects  map[string]*affectStack      // per treaty: which followed event last changed the standing as of a date
	dir      *events.Directory
	dirVer   int64 // participants stream version folded into dir
	dirGen   int64 // bumped when a participant is registered
	applied  int64 // last position followed
	hist     map[string]*list.Element
	lru      *list.List // of *histEntry, most recent first
	histSize int
	ring     []Transition
	last     map[string]lastAfter   // each treaty's status after its last followed event
	recent   map[string][]recentAct // each treaty's latest followed events, for advanced
	changed  chan struct{}          // closed and replaced when applied moves

	cacheMu   sync.Mutex
	cache     map[statusKey]cachedStatus
	cacheRows int // the sizes of the statuses kept, summed
	timelines map[statusKey]cachedTimeline

	wake chan struct{}
}

// lastAfter is a treaty's status after the event at version, valid as
// the next event's status before while the stamp holds.
type lastAfter struct {
	version int64
	stamp   stamp
	status  Status
}

type histEntry struct {
	treaty string
	h      *events.History
	size   int
}

// NewRunner returns a Runner. A nil logger means no logging. Start (or
// Run, which calls it) before anything else.
func NewRunner(cfg RunnerConfig, logger *slog.Logger) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, reg: events.NewRegistry(), logger: logger, hist: map[string]*list.Element{}, lru: list.New(),
		changed: make(chan struct{}), wake: make(chan struct{}, 1)}, nil
}

// Start reads what the Runner needs to answer: the treaty definitions and
// the participants, and the log's head, from which Run follows. It costs
// what the definitions and the participants cost, not the log. Calling it
// again does nothing.
func (r *Runner) Start(ctx context.Context) error {
	r.fold.Lock()
	defer r.fold.Unlock()
	r.mu.RLock()
	started := r.started
	r.mu.RUnlock()
	if started {
		return nil
	}
	head, err := r.cfg.Log.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	defEvents, err := r.cfg.Log.ReadDefinitions(ctx)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	defs, err := events.LatestDefinitions(r.reg, defEvents)
	if err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	dir, ver, err := r.loadDirectory(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.defs, r.versions = map[string]events.Definition{}, map[string]int64{}
	r.affects = map[string]*affectStack{}
	for _, d := range defs {
		r.defs[d.ID] = d
	}
	r.dir, r.dirVer, r.dirGen = dir, ver, r.dirGen+1
	r.applied = head
	r.started = true
	r.broadcastLocked()
	r.logger.DebugContext(ctx, "projections started", "head", head, "treaties", len(defs))
	return nil
}

func (r *Runner) loadDirectory(ctx context.Context) (*events.Directory, int64, error) {
	dir, err := events.NewDirectory()
	if err != nil {
		return nil, 0, err
	}
	evs, err := r.cfg.Log.ReadStream(ctx, events.ParticipantsStream)
	if err != nil {
		return nil, 0, fmt.Errorf("projections: read participants: %w", err)
	}
	var ver int64
	for _, e := range evs {
		if err := addParticipant(r.reg, dir, e); err != nil {
			return nil, 0, err
		}
		ver = e.Version
	}
	return dir, ver, nil
}

func addParticipant(reg *events.Registry, dir *events.Directory, e events.Envelope) error {
	p, err := reg.Decode(e)
	if err != nil {
		return err
	}
	if pr, ok := p.(*events.ParticipantRegistered); ok {
		if err := dir.Add(pr.Participant); err != nil {
			return fmt.Errorf("position %d: %w", e.Position, err)
		}
	}
	return nil
}

// Position returns the last position the Runner has followed.
func (r *Runner) Position() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.applied
}

// Changed returns a channel that is closed when the Runner follows past
// its current position: the one wake-up of the consumers of the log in
// this process (the live stream, writers waiting for their event).
func (r *Runner) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

func (r *Runner) broadcastLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// WaitFor returns once the Runner has followed the log to position (so
// that a status asked for then includes it), or with ctx's error. It
// follows the log itself when it is behind (Run need not be running), so
// a position the caller knows of — committed — is reached at once.
func (r *Runner) WaitFor(ctx context.Context, position int64) error {
	for {
		r.mu.RLock()
		applied, ch := r.applied, r.changed
		r.mu.RUnlock()
		if applied >= position {
			return nil
		}
		if _, err := r.CatchUp(ctx); err != nil {
			return err
		}
		r.mu.RLock()
		applied = r.applied
		r.mu.RUnlock()
		if applied >= position {
			return nil
		}
		// Not committed yet, as far as this connection sees: wait for
		// the next move or a short while.
		t := time.NewTimer(r.cfg.PollInterval / 10)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		}
		t.Stop()
	}
}

// Wake asks Run to look for new events now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run starts the Runner if needed, then follows the log until ctx ends.
// It returns nil when ctx is cancelled, or Start's error.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Start(ctx); err != nil {
		return err
	}
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	for {
		if _, err := r.CatchUp(ctx); err != nil && ctx.Err() == nil {
			r.logger.ErrorContext(ctx, "projections: following the log failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		case <-r.wake:
		}
	}
}

// CatchUp follows every event after the last one followed (starting the
// Runner first if needed): it folds each into the caches and records its
// transition. It returns how many events it followed.
func (r *Runner) CatchUp(ctx context.Context) (int, error) {
	if err := r.Start(ctx); err != nil {
		return 0, err
	}
	r.fold.Lock()
	defer r.fold.Unlock()
	n := 0
	for {
		r.mu.RLock()
		after := r.applied
		r.mu.RUnlock()
		page, err := r.cfg.Log.ReadAll(ctx, after, r.cfg.PageSize)
		if err != nil {
			return n, fmt.Errorf("projections: read the log after %d: %w", after, err)
		}
		for _, e := range page {
			if err := r.follow(ctx, e); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < r.cfg.PageSize {
			return n, nil
		}
	}
}

// follow folds one new event and records its transition. The caller
// holds r.fold.
func (r *Runner) follow(ctx context.Context, e events.Envelope) error {
	tr := Transition{Event: e}
	treaty, isTreaty := events.TreatyOfStream(e.Stream)
	var p events.Payload
	if isTreaty || e.Stream == events.ParticipantsStream {
		var err error
		if p, err = r.reg.Decode(e); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
	}
	var h *events.History
	if isTreaty {
		// The history before the event, kept or read from the stream, and
		// the parent's, for a protocol's status.
		if err := r.withParent(ctx, treaty); err != nil {
			return err
		}
		var err error
		if h, err = r.historyBefore(ctx, treaty, e.Version); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcastLocked()
	switch {
	case e.Stream == events.ParticipantsStream:
		if e.Version > r.dirVer {
			if pr, ok := p.(*events.ParticipantRegistered); ok {
				if err := r.dir.Add(pr.Participant); err != nil {
					return fmt.Errorf("projections: position %d: %w", e.Position, err)
				}
				r.dirGen++
			}
			r.dirVer = e.Version
		}
	case isTreaty:
		tr.Treaty, tr.Payload = treaty, p
		parent := r.parentLocked(h.Definition.Parent, EndOfTime())
		// The status before is the status after the treaty's previous
		// event, when nothing else it depends on changed since.
		if la, ok := r.last[treaty]; ok && la.version == e.Version-1 && la.stamp == r.stampLocked(treaty) {
			tr.Before = la.status
		} else {
			tr.Before = ComputeHeadline(h, r.dir, EndOfTime(), parent)
		}
		wasRegistered := h.Registered
		if err := h.Apply(e, p); err != nil {
			r.dropLocked(treaty)
			delete(r.recent, treaty)
			return fmt.Errorf("projections: %w", err)
		}
		r.keepLocked(treaty, h)
		r.noteRecentLocked(treaty, e.Version, p, h, e.Position)
		as := r.affects[treaty]
		if as == nil {
			as = &affectStack{base: r.versions[treaty]}
			r.affects[treaty] = as
		}
		if v := r.versions[treaty]; e.Version > v {
			r.versions[treaty] = e.Version
		}
		var from events.Date // the earliest date whose standing the event may change: any, but for a plain act
		if act, ok := p.(*events.Act); ok {
			from = act.Date
		}
		as.push(e.Version, from)
		if h.Registered {
			r.defs[treaty] = h.Definition
			parent = r.parentLocked(h.Definition.Parent, EndOfTime())
			tr.Registered, tr.Definition = true, h.Definition
			if wasRegistered && keepsHeadline(p) {
				tr.After = tr.Before // a statement counts for nothing: the same standing
			} else {
				tr.After = ComputeHeadline(h, r.dir, EndOfTime(), parent)
			}
			if r.last == nil {
				r.last = map[string]lastAfter{}
			}
			if _, ok := r.last[treaty]; !ok && len(r.last) >= r.cfg.Transitions {
				for old := range r.last { // bounded like the transitions kept
					delete(r.last, old)
					break
				}
			}
			r.last[treaty] = lastAfter{version: e.Version, stamp: r.stampLocked(treaty), status: tr.After}
		}
	}
	r.applied = e.Position
	r.ring = append(r.ring, tr)
	// Trimmed to the last Transitions once a quarter more have piled up:
	// trimming at every event would copy the whole ring each time.
	if len(r.ring) > r.cfg.Transitions+r.cfg.Transitions/4 {
		r.ring = append(r.ring[:0], r.ring[len(r.ring)-r.cfg.Transitions:]...)
	}
	return nil
}

// keepsHeadline reports whether p is an act that cannot change a treaty's
// headline status (Headline: the counts, dates and conditions, not the
// participant rows): a statement — a declaration, an objection, a
// territorial application, a reservation or its withdrawal, a declaration
// of provisional application — or a domestic step. None of them is an
// instrument, a signature or a withdrawal, which are all a headline is
// computed from. Most of a busy treaty's acts are statements, and each
// would otherwise cost a computation of the whole status.
func keepsHeadline(p events.Payload) bool {
	act, ok := p.(*events.Act)
	if !ok {
		return false
	}
	switch a := act.Action; a {
	case events.Declaration, events.Objection, events.TerritorialApplication, events.Reservation, events.ReservationWithdrawn, events.ProvisionalApplication:
		return true
	default:
		return a.IsUnofficial()
	}
}

// historyBefore returns treaty's history at version before: the kept one
// when it is exactly there (it stays in the cache: readers read it under
// r.mu held for reading, and follow applies the event under r.mu held for
// writing), else one folded from the stream. The caller holds r.fold.
func (r *Runner) historyBefore(ctx context.Context, treaty string, version int64) (*events.History, error) {
	r.mu.RLock()
	if el, ok := r.hist[treaty]; ok {
		if h := el.Value.(*histEntry).h; h.Version == version-1 {
			r.mu.RUnlock()
			return h, nil
		}
	}
	r.mu.RUnlock()
	return r.foldStream(ctx, treaty, func(e events.Envelope) bool { return e.Version < version })
}

// foldStream reads treaty's stream and folds its events while keep
// accepts them.
func (r *Runner) foldStream(ctx context.Context, treaty string, keep func(events.Envelope) bool) (*events.History, error) {
	evs, err := r.cfg.Log.ReadStream(ctx, events.TreatyStream(treaty))
	if err != nil {
		return nil, fmt.Errorf("projections: read treaty %s: %w", treaty, err)
	}
	h := &events.History{}
	for _, e := range evs {
		if !keep(e) {
			break
		}
		p, err := r.reg.Decode(e)
		if err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
		if err := h.Apply(e, p); err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
	}
	return h, nil
}

// history returns treaty's current history for reading under r.mu: the
// kept one, or one read from the stream and kept. A history read from the
// stream holds the events up to the last one the runner followed (so that
// following goes on from it, one event at a time, and readers never see a
// treaty ahead of the runner's stamp). The caller must not hold r.mu; the
// history must be read with r.mu held for reading.
func (r *Runner) history(ctx context.Context, treaty string) (*events.History, error) {
	r.mu.Lock()
	if el, ok := r.hist[treaty]; ok {
		ent := el.Value.(*histEntry)
		if ent.h.Version >= r.versions[treaty] {
			r.lru.MoveToFront(el)
			r.mu.Unlock()
			return ent.h, nil
		}
	}
	applied := r.applied
	r.mu.Unlock()
	h, err := r.foldStream(ctx, treaty, func(e events.Envelope) bool { return e.Position <= applied })
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.hist[treaty]; ok && el.Value.(*histEntry).h.Version >= h.Version {
		return el.Value.(*histEntry).h, nil // followed meanwhile
	}
	if h.Version < r.versions[treaty] {
		// The runner followed events of this treaty meanwhile and no
		// longer keeps them: h is the treaty as of the snapshot, right
		// for this read, too old to keep.
		return h, nil
	}
	r.versions[treaty] = h.Version
	r.keepLocked(treaty, h)
	return h, nil
}

// keepLocked puts h in the cache as treaty's history, dropping the least
// recently used ones beyond HistoryEvents (never h itself).
func (r *Runner) keepLocked(treaty string, h *events.History) {
	r.dropLocked(treaty)
	ent := &histEntry{treaty: treaty, h: h, size: int(h.Version) + 1}
	r.hist[treaty] = r.lru.PushFront(ent)
	r.histSize += ent.size
	for r.histSize > r.cfg.HistoryEvents && r.lru.Len() > 1 {
		r.removeLocked(r.lru.Back())
	}
}

func (r *Runner) dropLocked(treaty string) {
	if el, ok := r.hist[treaty]; ok {
		r.removeLocked(el)
	}
}

func (r *Runner) removeLocked(el *list.Element) {
	ent := el.Value.(*histEntry)
	r.lru.Remove(el)
	delete(r.hist, ent.treaty)
	r.histSize -= ent.size
}

// keptLocked returns treaty's kept history if it is current, nil if not.
func (r *Runner) keptLocked(treaty string) *events.History {
	if el, ok := r.hist[treaty]; ok {
		if h := el.Value.(*histEntry).h; h.Version >= r.versions[treaty] {
			return h
		}
	}
	return nil
}

// parentLocked returns the status of a parent treaty as of a date from
// its kept history, nil if there is no parent or it is not kept (the
// callers that need it make sure it is: see withParent).
func (r *Runner) parentLocked(parent string, asOf events.Date) *Status {
	if parent == "" {
		return nil
	}
	ph := r.keptLocked(parent)
	if ph == nil || !ph.Registered {
		return nil
	}
	st := Compute(ph, r.dir, asOf, r.parentLocked(ph.Definition.Parent, asOf))
	return &st
}

// withParent makes sure treaty's parent chain is kept, so that
// parentLocked finds it.
func (r *Runner) withParent(ctx context.Context, treaty string) error {
	for depth := 0; depth < 8; depth++ {
		r.mu.RLock()
		parent := r.defs[treaty].Parent
		kept := parent == "" || r.keptLocked(parent) != nil
		r.mu.RUnlock()
		if parent == "" {
			return nil
		}
		if !kept {
			if _, err := r.history(ctx, parent); err != nil {
				return err
			}
		}
		treaty = parent
	}
	return nil
}

// Transition returns the transition of the event at position, once the
// Runner has followed it: kept for the latest events, computed again from
// the treaty's stream for older ones (with the parent's status as it is
// now).
func (r *Runner) Transition(ctx context.Context, position int64) (Transition, error) {
	if err := r.WaitFor(ctx, position); err != nil {
		return Transition{}, err
	}
	r.mu.RLock()
	for i := len(r.ring) - 1; i >= 0; i-- {
		if r.ring[i].Event.Position == position {
			tr := r.ring[i]
			r.mu.RUnlock()
			return tr, nil
		}
		if r.ring[i].Event.Position < position {
			break
		}
	}
	r.mu.RUnlock()
	page, err := r.cfg.Log.ReadAll(ctx, position-1, 1)
	if err != nil {
		return Transition{}, fmt.Errorf("projections: %w", err)
	}
	if len(page) == 0 || page[0].Position != position {
		return Transition{}, fmt.Errorf("no event at position %d: %w", position, events.ErrNotFound)
	}
	treaty, ok := events.TreatyOfStream(page[0].Stream)
	if !ok {
		return Transition{Event: page[0]}, nil
	}
	trs, err := r.TreatyTransitions(ctx, treaty, func(e events.Envelope) bool { return e.Position == position })
	if err != nil || len(trs) == 0 {
		return Transition{Event: page[0]}, err
	}
	return trs[0], nil
}

// TreatyTransitions folds a treaty's stream once and returns, in order,
// the transitions of the events in accepts (by their position, their
// recorded time...): what a digest of a span needs. The parent's status
// is the parent's as it is now.
func (r *Runner) TreatyTransitions(ctx context.Context, treaty string, in func(events.Envelope) bool) ([]Transition, error) {
	stream := events.TreatyStream(treaty)
	if err := r.withParent(ctx, treaty); err != nil {
		return nil, err
	}
	evs, err := r.cfg.Log.ReadStream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("projections: read treaty %s: %w", treaty, err)
	}
	r.mu.RLock()
	dir := r.dir.Clone()
	r.mu.RUnlock()
	h := &events.History{}
	var out []Transition
	for _, ev := range evs {
		p, err := r.reg.Decode(ev)
		if err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
		if !in(ev) {
			if err := h.Apply(ev, p); err != nil {
				return nil, fmt.Errorf("projections: %w", err)
			}
			continue
		}
		tr := Transition{Event: ev, Payload: p, Treaty: treaty}
		r.mu.RLock()
		parent := r.parentLocked(h.Definition.Parent, EndOfTime())
		r.mu.RUnlock()
		tr.Before = ComputeHeadline(h, dir, EndOfTime(), parent)
		if err := h.Apply(ev, p); err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
		if h.Registered {
			r.mu.RLock()
			parent = r.parentLocked(h.Definition.Parent, EndOfTime())
			r.mu.RUnlock()
			tr.Registered, tr.Definition = true, h.Definition
			tr.After = ComputeHeadline(h, dir, EndOfTime(), parent)
		}
		out = append(out, tr)
	}
	return out, nil
}

// Transitions returns the kept transitions of the events after position
// after, in order, at most limit of them, and whether older ones than the
// first returned are no longer kept (the caller then reads the log
// itself).
func (r *Runner) Transitions(after int64, limit int) ([]Transition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i := sort.Search(len(r.ring), func(i int) bool { return r.ring[i].Event.Position > after })
	missed := after < r.applied && (len(r.ring) == 0 || r.ring[0].Event.Position > after+1)
	end := min(len(r.ring), i+max(limit, 0))
	return append([]Transition(nil), r.ring[i:end]...), missed
}

// Status returns a treaty's status as of a date. With a zero knownAt it
// is computed from the treaty's current history (everything the ledger
// holds now); with a knownAt, from the treaty's stream (and its parent's)
// as the ledger knew it then, ignoring events recorded later.
//
// Statuses of the current history are kept per treaty and date until the
// treaty (or its parent, or the participants) change, so the returned
// Status may be shared with other callers: treat it as read-only.
func (r *Runner) Status(ctx context.Context, treaty string, asOf events.Date, knownAt time.Time) (Status, error) {
	if !knownAt.IsZero() {
		if err := r.Start(ctx); err != nil {
			return Status{}, err
		}
		r.mu.RLock()
		dir := r.dir.Clone()
		r.mu.RUnlock()
		return StatusFromLog(ctx, r.cfg.Log, r.reg, dir, treaty, asOf, knownAt)
	}
	if err := r.Start(ctx); err != nil {
		return Status{}, err
	}
	if err := r.known(treaty); err != nil {
		return Status{}, err
	}
	key := statusKey{treaty: treaty, asOf: asOf}
	r.mu.RLock()
	stamp := r.stampAtLocked(treaty, asOf)
	r.mu.RUnlock()
	if st, ok := r.cached(key, stamp); ok {
		return st, nil
	}
	if st, ok := r.advanced(key); ok {
		return st, nil
	}
	h, err := r.history(ctx, treaty)
	if err != nil {
		return Status{}, err
	}
	if err := r.withParent(ctx, treaty); err != nil {
		return Status{}, err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !h.Registered {
		return Status{}, &events.UnknownTreatyError{Treaty: treaty, Known: r.treatiesLocked()}
	}
	st := Compute(h, r.dir, asOf, r.parentLocked(h.Definition.Parent, asOf))
	r.remember(key, r.stampAtLocked(treaty, asOf), st)
	return st, nil
}

// known returns an *events.UnknownTreatyError for a treaty that is not
// registered.
func (r *Runner) known(treaty string) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.defs[treaty]; !ok {
		return &events.UnknownTreatyError{Treaty: treaty, Known: r.treatiesLocked()}
	}
	return nil
}

// statusKey and cachedStatus make the Status cache: a status is valid while
// the stamp — the versions of the treaty's and its parent's streams and the
// participants' generation — is unchanged.
type statusKey struct {
	treaty string
	asOf   events.Date
}

type stamp struct{ version, parentVersion, dirGen int64 }

type cachedStatus struct {
	stamp  stamp
	status Status
	size   int
}

// maxCachedRows bounds the statuses kept by their size: participant rows
// and statements, summed (a status of a treaty with thousands of
// declarations is large).
const maxCachedRows = 200_000

// statusSize is a status's participant rows and statements.
func statusSize(st Status) int {
	n := 1 + len(st.Participants)
	for _, p := range st.Participants {
		n += len(p.Declarations) + len(p.Reservations) + len(p.Unofficial)
	}
	return n
}

type cachedTimeline struct {
	stamp  stamp
	points []Point
}

// Stamp returns a short text that changes whenever what Status and
// Timeline answer for the treaty (at any date, with a zero knownAt) may
// change: the versions of its stream and its parent's and the
// participants' generation. The HTTP layer keys its encoded answers (and
// ETags) on it.
func (r *Runner) Stamp(treaty string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.stampLocked(treaty)
	return fmt.Sprintf("%d.%d.%d", s.version, s.parentVersion, s.dirGen)
}

// StampAt is Stamp for what Status and Timeline answer for the treaty as
// of one date: it changes only when an event that may change the standing
// as of that date is followed — an act dated on or before it, any
// correction, retraction or definition change, a participant registered,
// or such a change of the parent — so a write dated today leaves the
// answers for earlier dates valid.
func (r *Runner) StampAt(treaty string, asOf events.Date) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.stampAtLocked(treaty, asOf)
	return fmt.Sprintf("%d.%d.%d", s.version, s.parentVersion, s.dirGen)
}

func (r *Runner) stampAtLocked(treaty string, asOf events.Date) stamp {
	st := stamp{version: r.versionAtLocked(treaty, asOf), dirGen: r.dirGen}
	if p := r.defs[treaty].Parent; p != "" {
		st.parentVersion = r.versionAtLocked(p, asOf)
	}
	return st
}

func (r *Runner) versionAtLocked(treaty string, asOf events.Date) int64 {
	if as := r.affects[treaty]; as != nil {
		return as.at(asOf)
	}
	return r.versions[treaty]
}

// affectStack answers, for a date, the version of the latest followed
// event of a treaty that may have changed its standing as of that date
// (base when none since the runner started following it). Its entries
// rise in both version and date: an event affecting dates from d hides
// every earlier entry affecting dates from d or later, which no query
// answered by them could tell apart from it. So it holds at most one
// entry per date, in practice a few, and at most maxAffects.
type affectStack struct {
	base    int64
	entries []affect
}

type affect struct {
	version int64
	from    events.Date // zero: every date
}

const maxAffects = 1024

func (a *affectStack) push(version int64, from events.Date) {
	for n := len(a.entries); n > 0 && !a.entries[n-1].from.Before(from); n-- {
		a.entries = a.entries[:n-1]
	}
	a.entries = append(a.entries, affect{version, from})
	if len(a.entries) > maxAffects { // the oldest becomes the floor: answers change, never wrongly stay
		a.base = a.entries[0].version
		a.entries = append(a.entries[:0], a.entries[1:]...)
	}
}

func (a *affectStack) at(asOf events.Date) int64 {
	i := sort.Search(len(a.entries), func(i int) bool { return asOf.Before(a.entries[i].from) })
	if i == 0 {
		return a.base
	}
	return a.entries[i-1].version
}

func (r *Runner) stampLocked(treaty string) stamp {
	st := stamp{version: r.versions[treaty], dirGen: r.dirGen}
	if p := r.defs[treaty].Parent; p != "" {
		st.parentVersion = r.versions[p]
	}
	return st
}

func (r *Runner) cached(k statusKey, s stamp) (Status, bool) {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	c, ok := r.cache[k]
	return c.status, ok && c.stamp == s
}

func (r *Runner) remember(k statusKey, s stamp, st Status) {
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	if r.cache == nil {
		r.cache = map[statusKey]cachedStatus{}
	}
	if old, ok := r.cache[k]; ok {
		r.cacheRows -= old.size
		delete(r.cache, k)
	}
	size := statusSize(st)
	for old, c := range r.cache {
		if len(r.cache) < r.cfg.Statuses && r.cacheRows+size <= maxCachedRows {
			break
		}
		r.cacheRows -= c.size
		delete(r.cache, old)
	}
	r.cache[k] = cachedStatus{stamp: s, status: st, size: size}
	r.cacheRows += size
}

// Timeline returns a treaty's counted instruments over time up to asOf,
// from its current history, or folded from the log as known at knownAt
// when it is not zero.
func (r *Runner) Timeline(ctx context.Context, treaty string, asOf events.Date, knownAt time.Time) ([]Point, error) {
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	if err := r.known(treaty); err != nil {
		return nil, err
	}
	if !knownAt.IsZero() {
		h, err := foldStream(ctx, r.cfg.Log, r.reg, treaty, knownAt)
		if err != nil {
			return nil, err
		}
		r.mu.RLock()
		dir := r.dir.Clone()
		r.mu.RUnlock()
		return Timeline(h, dir, asOf), nil
	}
	key := statusKey{treaty: treaty, asOf: asOf}
	r.mu.RLock()
	stamp := r.stampAtLocked(treaty, asOf)
	r.mu.RUnlock()
	r.cacheMu.Lock()
	c, ok := r.timelines[key]
	r.cacheMu.Unlock()
	if ok && c.stamp == stamp {
		return c.points, nil
	}
	if ok && c.stamp.parentVersion == stamp.parentVersion && c.stamp.dirGen == stamp.dirGen && c.stamp.version < stamp.version {
		// Statements alone since: the counted instruments are the same.
		r.mu.RLock()
		_, same := r.sinceLocked(treaty, c.stamp.version, stamp.version, asOf)
		r.mu.RUnlock()
		if same {
			r.cacheMu.Lock()
			r.timelines[key] = cachedTimeline{stamp: stamp, points: c.points}
			r.cacheMu.Unlock()
			return c.points, nil
		}
	}
	h, err := r.history(ctx, treaty)
	if err != nil {
		return nil, err
	}
	r.mu.RLock()
	points := Timeline(h, r.dir, asOf)
	stamp = r.stampAtLocked(treaty, asOf)
	r.mu.RUnlock()
	r.cacheMu.Lock()
	defer r.cacheMu.Unlock()
	if r.timelines == nil {
		r.timelines = map[statusKey]cachedTimeline{}
	}
	if len(r.timelines) >= r.cfg.Statuses {
		for old := range r.timelines {
			delete(r.timelines, old)
			break
		}
	}
	r.timelines[key] = cachedTimeline{stamp: stamp, points: points}
	return points, nil
}

// Definition returns the latest definition of a registered treaty.
func (r *Runner) Definition(treaty string) (events.Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[treaty]
	return d, ok
}

// Directory returns a copy of the participants known to the Runner.
func (r *Runner) Directory() *events.Directory {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir.Clone()
}

// Treaties returns the ids of the registered treaties, sorted.
func (r *Runner) Treaties() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.treatiesLocked()
}

func (r *Runner) treatiesLocked() []string {
	out := make([]string, 0, len(r.defs))
	for id := range r.defs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// StatusFromLog folds a treaty's stream (and its parent's) as known at
// knownAt (zero: everything) and computes its status as of asOf. It is
// what the command line uses without a running Runner: it costs what the
// treaty's stream costs.
func StatusFromLog(ctx context.Context, log StreamReader, reg *events.Registry, dir *events.Directory, treaty string, asOf events.Date, knownAt time.Time) (Status, error) {
	h, err := foldStream(ctx, log, reg, treaty, knownAt)
	if err != nil {
		return Status{}, err
	}
	var parent *Status
	if p := h.Definition.Parent; p != "" {
		ps, err := StatusFromLog(ctx, log, reg, dir, p, asOf, knownAt)
		var ut *events.UnknownTreatyError
		switch {
		case err == nil:
			parent = &ps
		case !errors.As(err, &ut):
			return Status{}, err
		}
	}
	st := Compute(h, dir, asOf, parent)
	if !knownAt.IsZero() {
		k := knownAt.UTC()
		st.KnownAt = &k
	}
	return st, nil
}

// StreamReader is the part of the log StatusFromLog reads.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
}

// foldStream folds a treaty's stream as known at knownAt (zero: now). A
// treaty not registered then is an *events.UnknownTreatyError, or an
// *events.NotYetRegisteredError when its registration was recorded later.
func foldStream(ctx context.Context, log StreamReader, reg *events.Registry, treaty string, knownAt time.Time) (*events.History, error) {
	evs, err := log.ReadStream(ctx, events.TreatyStream(treaty))
	if err != nil {
		return nil, fmt.Errorf("read treaty %s: %w", treaty, err)
	}
	h, err := events.Fold(reg, evs, knownAt)
	if err != nil {
		return nil, err
	}
	if !h.Registered {
		for _, e := range evs {
			if e.Type == events.TypeTreatyRegistered && !knownAt.IsZero() {
				return nil, &events.NotYetRegisteredError{Treaty: treaty, KnownAt: knownAt, RegisteredAt: e.RecordedAt}
			}
		}
		return nil, &events.UnknownTreatyError{Treaty: treaty}
	}
	return h, nil
}

// Summary is one treaty's standing as of the end of time, as Rebuild
// computes it.
type Summary struct {
	Treaty      string
	Signatories int
	Counted     int
	Required    int
}

// Rebuild folds every treaty of the log from position 0 up to until (0:
// the whole log), one treaty stream at a time (so its memory is a few
// treaties'), and computes each one's status as of the end of time: the
// check that the whole log decodes and folds, and what a rebuild of all
// state costs. It returns one Summary per registered treaty, by id, and
// the number of events folded.
//
// The work is a three-stage pipeline, each stage in its own goroutine:
// reading the streams, decoding and folding them, computing statuses; a
// few streams are in flight at a time.
func Rebuild(ctx context.Context, log interface {
	Log
	Streams(ctx context.Context, prefix string) ([]string, error)
}, until int64) ([]Summary, int, error) {
	reg := events.NewRegistry()
	dir, err := events.NewDirectory()
	if err != nil {
		return nil, 0, err
	}
	pevs, err := log.ReadStream(ctx, events.ParticipantsStream)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for _, e := range pevs {
		if until > 0 && e.Position > until {
			break
		}
		if err := addParticipant(reg, dir, e); err != nil {
			return nil, n, err
		}
		n++
	}
	streams, err := log.Streams(ctx, events.TreatyStream(""))
	if err != nil {
		return nil, n, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type read struct {
		treaty string
		evs    []events.Envelope
	}
	reads := make(chan read, 4)
	folded := make(chan *events.History, 4)
	var readErr, foldErr error
	folds := 0
	go func() { // stage 1: read
		defer close(reads)
		for _, s := range streams {
			treaty, _ := events.TreatyOfStream(s)
			evs, err := log.ReadStream(ctx, s)
			if err != nil {
				readErr = fmt.Errorf("read treaty %s: %w", treaty, err)
				cancel()
				return
			}
			select {
			case reads <- read{treaty, evs}:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { // stage 2: decode and fold
		defer close(folded)
		for r := range reads {
			h := &events.History{}
			for _, e := range r.evs {
				if until > 0 && e.Position > until {
					break
				}
				p, err := reg.Decode(e)
				if err == nil {
					err = h.Apply(e, p)
				}
				if err != nil {
					foldErr = fmt.Errorf("fold treaty %s: %w", r.treaty, err)
					cancel()
					for range reads { // let the reader finish
					}
					return
				}
				folds++
			}
			if !h.Registered {
				continue
			}
			select {
			case folded <- h:
			case <-ctx.Done():
				for range reads {
				}
				return
			}
		}
	}()
	statuses := map[string]Status{}           // every treaty's, as of the end of time
	protocols := map[string]*events.History{} // computed again with their parent's
	for h := range folded {                   // stage 3: statuses
		statuses[h.Definition.ID] = Compute(h, dir, EndOfTime(), nil)
		if h.Definition.Parent != "" {
			protocols[h.Definition.ID] = h
		}
	}
	// Both stages have stopped: folded is closed only after reads is.
	n += folds
	if err := errors.Join(readErr, foldErr); err != nil {
		return nil, n, err
	}
	if err := ctx.Err(); err != nil {
		return nil, n, err
	}
	for treaty, h := range protocols {
		if ps, ok := statuses[h.Definition.Parent]; ok {
			statuses[treaty] = Compute(h, dir, EndOfTime(), &ps)
		}
	}
	out := make([]Summary, 0, len(statuses))
	for treaty, st := range statuses {
		out = append(out, Summary{Treaty: treaty, Signatories: st.Signatories, Counted: st.Counted, Required: st.Required})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Treaty < out[j].Treaty })
	return out, n, nil
}
