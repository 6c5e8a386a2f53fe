package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// EndOfTime is the "as of" date of the persisted read models: everything
// known, whatever today is, so that they never depend on a clock.
func EndOfTime() events.Date { return events.NewDate(9999, time.December, 31) }

// Log is the event log a Runner folds. *sqlite.Store satisfies it.
type Log interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error)
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
}

// DB is where a Runner persists its read models and checkpoint: the
// ledger's own SQLite file. *sqlite.Store satisfies it.
type DB interface {
	WriteTx(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Log is the event log to fold; required.
	Log Log
	// DB holds the read models; required.
	DB DB
	// PageSize is how many events are read per query; default 5,000.
	PageSize int
	// BatchSize is how many events are folded before the read models and
	// the checkpoint are written (in one transaction); default 100,000.
	// A catch-up always ends with a write.
	BatchSize int
	// PollInterval is how often Run looks for new events when not woken;
	// default 500 ms.
	PollInterval time.Duration
	// PersistInterval is how often Run writes the read models of what it
	// folded: events are folded into memory (and so visible to Status) as
	// soon as Run sees them, and persisted with the checkpoint at most this
	// often, so a burst of writes costs one write of each model; default 1 s.
	PersistInterval time.Duration
}

func (c *RunnerConfig) setDefaults() {
	if c.PageSize == 0 {
		c.PageSize = 5000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100_000
	}
	if c.PollInterval == 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.PersistInterval == 0 {
		c.PersistInterval = time.Second
	}
}

// Validate reports a configuration that cannot work.
func (c RunnerConfig) Validate() error {
	if c.Log == nil || c.DB == nil {
		return errors.New("projections: RunnerConfig needs Log and DB")
	}
	return nil
}

// checkpointName is the runner's row in projection_checkpoints.
const checkpointName = "treaties"

// Runner keeps the persisted read models current: it tails the global
// log from its checkpoint, folds each event into the treaty's history,
// and writes the changed treaties' models and the new checkpoint in one
// transaction. It also keeps every treaty's history in memory, so Status
// answers "as of any date" without reading the log.
//
// A Runner is safe for concurrent use: Status may be called while Run or
// CatchUp folds new events.
type Runner struct {
	cfg    RunnerConfig
	reg    *events.Registry
	logger *slog.Logger

	fold    sync.Mutex // one folder at a time
	mu      sync.RWMutex
	dir     *events.Directory
	hist    map[string]*events.History
	applied int64           // last position folded in memory
	saved   int64           // last position persisted; guarded by fold, not mu
	dirty   map[string]bool // treaties folded since saved; guarded by fold
	dirGen  int64           // bumped when a participant is registered; guarded by mu

	cacheMu sync.Mutex
	cache   map[statusKey]cachedStatus
	wake    chan struct{}
}

// NewRunner returns a Runner. A nil logger means no logging. Call Start
// (or Run, which calls it) before Status.
func NewRunner(cfg RunnerConfig, logger *slog.Logger) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := events.NewDirectory()
	if err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, reg: events.NewRegistry(), logger: logger, dir: dir, hist: map[string]*events.History{}, wake: make(chan struct{}, 1)}, nil
}

// Checkpoint returns the position persisted with the read models.
func (r *Runner) Checkpoint(ctx context.Context) (int64, error) {
	var pos int64
	err := r.cfg.DB.ReadDB().QueryRowContext(ctx, `SELECT position FROM projection_checkpoints WHERE name = ?`, checkpointName).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	return pos, nil
}

// Position returns the last position folded in memory.
func (r *Runner) Position() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.applied
}

// Wake asks Run to look for new events now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run catches up, then follows the log until ctx ends. It returns nil
// when ctx is cancelled.
func (r *Runner) Run(ctx context.Context) error {
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	save := time.NewTicker(r.cfg.PersistInterval)
	defer save.Stop()
	persist := true
	for {
		if _, err := r.catchUp(ctx, 0, persist); err != nil {
			if ctx.Err() != nil {
				break
			}
			r.logger.ErrorContext(ctx, "projection catch-up failed", "err", err)
		}
		persist = false
		select {
		case <-ctx.Done():
		case <-poll.C:
		case <-r.wake:
		case <-save.C:
			persist = true
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Write what was folded but not yet persisted before returning.
	if _, err := r.catchUp(context.WithoutCancel(ctx), 0, true); err != nil {
		r.logger.Error("projection final persist failed", "err", err)
	}
	return nil
}

// CatchUp folds every event after the last one folded and persists the
// read models of the treaties that changed, with the checkpoint, at least
// once per BatchSize events and at the end. On the first call it folds the
// whole log into memory (the histories are not persisted, only the models),
// rewriting only the models of treaties changed after the checkpoint. It
// returns how many events it folded.
func (r *Runner) CatchUp(ctx context.Context) (int, error) {
	return r.catchUp(ctx, 0, true)
}

// catchUp folds what is new; it persists when persist is set, and always
// every BatchSize events.
func (r *Runner) catchUp(ctx context.Context, until int64, persist bool) (int, error) {
	r.fold.Lock()
	defer r.fold.Unlock()
	saved, err := r.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.saved = saved
	r.mu.Unlock()
	r.mu.RLock()
	after := r.applied
	r.mu.RUnlock()
	pages, errc := r.prefetch(ctx, after, until)
	n, inBatch := 0, 0
	if r.dirty == nil {
		r.dirty = map[string]bool{}
	}
	for page := range pages {
		if err := r.apply(page, saved, r.dirty); err != nil {
			drain(pages)
			return n, err
		}
		n += len(page)
		inBatch += len(page)
		if inBatch >= r.cfg.BatchSize {
			if err := r.persist(ctx, r.dirty); err != nil {
				drain(pages)
				return n, err
			}
			inBatch, r.dirty = 0, map[string]bool{}
		}
	}
	if err := <-errc; err != nil {
		return n, err
	}
	r.mu.RLock()
	behind := r.applied > r.saved
	r.mu.RUnlock()
	if behind && persist {
		if err := r.persist(ctx, r.dirty); err != nil {
			return n, err
		}
		r.dirty = map[string]bool{}
	}
	return n, nil
}

// prefetch reads pages of the log after a position (up to until, when
// positive) in its own goroutine, so that reading the next page overlaps
// folding this one. The error channel yields one value after the pages
// channel is closed.
func (r *Runner) prefetch(ctx context.Context, after, until int64) (<-chan []decoded, <-chan error) {
	raw := make(chan []events.Envelope, 2)
	pages := make(chan []decoded, 2)
	errc := make(chan error, 1)
	readErr := make(chan error, 1)
	go func() { // read: SQLite, mostly in C
		defer close(raw)
		for {
			limit := r.cfg.PageSize
			if until > 0 {
				if after >= until {
					readErr <- nil
					return
				}
				limit = int(min(int64(limit), until-after))
			}
			page, err := r.cfg.Log.ReadAll(ctx, after, limit)
			if err != nil || len(page) == 0 {
				readErr <- err
				return
			}
			after = page[len(page)-1].Position
			select {
			case raw <- page:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
			if len(page) < limit {
				readErr <- nil
				return
			}
		}
	}()
	go func() { // decode: JSON, in Go, while the next page is read
		defer close(pages)
		for page := range raw {
			out := make([]decoded, len(page))
			for i, e := range page {
				out[i].env = e
				if _, ok := events.TreatyOfStream(e.Stream); ok || e.Stream == events.ParticipantsStream {
					p, err := r.reg.Decode(e)
					if err != nil {
						for range raw {
						}
						<-readErr //nolint:errcheck // the decode error is the one reported
						errc <- err
						return
					}
					out[i].payload = p
				}
			}
			select {
			case pages <- out:
			case <-ctx.Done():
			}
		}
		errc <- <-readErr
	}()
	return pages, errc
}

// decoded is an event with its payload decoded (nil for streams the
// runner does not fold).
type decoded struct {
	env     events.Envelope
	payload events.Payload
}

func drain(pages <-chan []decoded) {
	for range pages {
	}
}

// apply folds a page into memory. Treaties changed after the persisted
// checkpoint are marked dirty.
func (r *Runner) apply(page []decoded, saved int64, dirty map[string]bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range page {
		e, p := d.env, d.payload
		r.applied = e.Position
		if e.Stream == events.ParticipantsStream {
			if pr, ok := p.(*events.ParticipantRegistered); ok {
				if err := r.dir.Add(pr.Participant); err != nil {
					return fmt.Errorf("position %d: %w", e.Position, err)
				}
				r.dirGen++
			}
			if e.Position > saved {
				for t := range r.hist { // REIO or names may change how acts count
					dirty[t] = true
				}
			}
			continue
		}
		treaty, ok := events.TreatyOfStream(e.Stream)
		if !ok {
			continue
		}
		h := r.hist[treaty]
		if h == nil {
			h = &events.History{}
			r.hist[treaty] = h
		}
		if err := h.Apply(e, p); err != nil {
			return err
		}
		if e.Position > saved {
			dirty[treaty] = true
		}
	}
	return nil
}

// persist writes the models of the dirty treaties (and of protocols whose
// parent is dirty) and the checkpoint in one transaction. Models are
// computed on every CPU while the transaction writes them, in id order.
func (r *Runner) persist(ctx context.Context, dirty map[string]bool) error {
	r.mu.RLock()
	defer r.mu.RUnlock() // the histories are read until the last model is computed
	pos := r.applied
	for id, h := range r.hist { // a parent's change changes its protocols
		if p := h.Definition.Parent; p != "" && dirty[p] {
			dirty[id] = true
		}
	}
	ids := make([]string, 0, len(dirty))
	for id := range dirty {
		if h := r.hist[id]; h != nil && h.Registered {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	models := r.modelsLocked(ids)
	fresh := r.saved == 0 // after Replay cleared the tables, or on a new file
	err := r.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		stmts, err := prepare(ctx, tx)
		if err != nil {
			return err
		}
		defer stmts.close()
		for _, m := range models {
			if err := (<-m).write(ctx, tx, stmts, fresh); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO projection_checkpoints (name, position) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position`, checkpointName, pos)
		return err
	})
	for _, m := range models { // after a failed write, let the workers finish
		for range m {
		}
	}
	if err != nil {
		return fmt.Errorf("persist read models at position %d: %w", pos, err)
	}
	r.saved = pos
	r.logger.DebugContext(ctx, "read models persisted", "position", pos, "treaties", len(models))
	return nil
}

// Replay rebuilds every read model from position 0, up to and including
// position until (0: the whole log), and sets the checkpoint there.
func (r *Runner) Replay(ctx context.Context, until int64) error {
	r.fold.Lock()
	err := r.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, t := range []string{"projection_treaties", "projection_participants", "projection_timeline", "projection_milestones", "projection_checkpoints"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil { //nolint:gosec // G202: t is one of the constant table names above
				return err
			}
		}
		return nil
	})
	if err == nil {
		dir, derr := events.NewDirectory()
		if derr != nil {
			err = derr
		}
		r.mu.Lock()
		r.dir, r.hist, r.applied, r.saved, r.dirty = dir, map[string]*events.History{}, 0, 0, nil
		r.dirGen++ // invalidates every cached status
		r.mu.Unlock()
	}
	r.fold.Unlock()
	if err != nil {
		return fmt.Errorf("clear read models: %w", err)
	}
	_, err = r.catchUp(ctx, until, true)
	return err
}

// model is one treaty's persisted read model.
type model struct {
	treaty   string
	version  int64
	position int64
	status   Status
	timeline []Point
}

// modelsLocked starts computing the models of the given treaties on
// every CPU and returns, in the order of ids, a channel per model that
// yields it once computed. The caller holds r.mu for reading until every
// channel has yielded.
func (r *Runner) modelsLocked(ids []string) []chan model {
	out := make([]chan model, len(ids))
	for i := range out {
		out[i] = make(chan model, 1)
	}
	next := make(chan int, len(ids))
	for i := range ids {
		next <- i
	}
	close(next)
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for i := range next {
				out[i] <- r.modelLocked(ids[i], r.hist[ids[i]])
				close(out[i])
			}
		}()
	}
	return out
}

func (r *Runner) modelLocked(id string, h *events.History) model {
	st, timeline := ComputeWithTimeline(h, r.dir, EndOfTime(), r.parentLocked(h, EndOfTime()))
	return model{treaty: id, version: h.Version, position: h.LastPosition, status: st, timeline: timeline}
}

// parentLocked returns the parent's status as of a date, nil if none.
func (r *Runner) parentLocked(h *events.History, asOf events.Date) *Status {
	p := h.Definition.Parent
	if p == "" {
		return nil
	}
	ph := r.hist[p]
	if ph == nil || !ph.Registered {
		return nil
	}
	st := Compute(ph, r.dir, asOf, r.parentLocked(ph, asOf))
	return &st
}

// write replaces the treaty's rows. The status row holds the summary
// (the participants are rows of their own).
func (m model) write(ctx context.Context, tx *sql.Tx, stmts *statements, fresh bool) error {
	if !fresh {
		for _, t := range []string{"projection_treaties", "projection_participants", "projection_timeline", "projection_milestones"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE treaty = ?", m.treaty); err != nil { //nolint:gosec // G202: t is one of the constant table names above
				return err
			}
		}
	}
	summary := m.status
	summary.Participants = nil
	b, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO projection_treaties (treaty, version, position, status) VALUES (?, ?, ?, ?)`, m.treaty, m.version, m.position, string(b)); err != nil {
		return err
	}
	ins := stmts.participant
	for _, p := range m.status.Participants {
		var kind, cdate any
		if p.Consent != nil {
			kind, cdate = string(p.Consent.Kind), p.Consent.Date.String()
		}
		if _, err := ins.ExecContext(ctx, m.treaty, p.Participant, nullable(p.ISO3), nullDate(p.Signature), kind, cdate, nullDate(p.EntryIntoForce), nullDate(p.WithdrawalEffective)); err != nil {
			return err
		}
	}
	for _, pt := range m.timeline {
		if _, err := stmts.point.ExecContext(ctx, m.treaty, pt.Date.String(), pt.Counted); err != nil {
			return err
		}
	}
	for _, mk := range m.status.Milestones {
		if mk.Date == nil {
			continue
		}
		if _, err := stmts.milestone.ExecContext(ctx, m.treaty, mk.Percent, mk.Date.String()); err != nil {
			return err
		}
	}
	return nil
}

// statements are the inserts of one persist transaction, prepared once.
type statements struct {
	participant, point, milestone *sql.Stmt
}

func prepare(ctx context.Context, tx *sql.Tx) (*statements, error) {
	var st statements
	var err error
	if st.participant, err = tx.PrepareContext(ctx, `INSERT INTO projection_participants (treaty, participant, iso3, signature, consent_kind, consent_date, entry_into_force, withdrawal_effective) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if st.point, err = tx.PrepareContext(ctx, `INSERT INTO projection_timeline (treaty, date, counted) VALUES (?, ?, ?)`); err != nil {
		return nil, err
	}
	if st.milestone, err = tx.PrepareContext(ctx, `INSERT INTO projection_milestones (treaty, percent, date) VALUES (?, ?, ?)`); err != nil {
		return nil, err
	}
	return &st, nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.participant, st.point, st.milestone} {
		if s != nil {
			_ = s.Close()
		}
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullDate(d *events.Date) any {
	if d == nil || d.IsZero() {
		return nil
	}
	return d.String()
}

// Status returns a treaty's status as of a date. With a zero knownAt it
// uses the histories in memory (everything folded so far); with a knownAt
// it folds the treaty's stream (and its parent's) as the ledger knew it
// then, ignoring events recorded later.
//
// Statuses from memory are cached per treaty and date until the treaty (or
// its parent, or the participants) change, so the returned Status may be
// shared with other callers: treat it as read-only.
func (r *Runner) Status(ctx context.Context, treaty string, asOf events.Date, knownAt time.Time) (Status, error) {
	if knownAt.IsZero() {
		r.mu.RLock()
		defer r.mu.RUnlock()
		h := r.hist[treaty]
		if h == nil || !h.Registered {
			return Status{}, &events.UnknownTreatyError{Treaty: treaty, Known: r.treatiesLocked()}
		}
		key, stamp := statusKey{treaty: treaty, asOf: asOf}, r.stampLocked(h)
		if st, ok := r.cached(key, stamp); ok {
			return st, nil
		}
		st := Compute(h, r.dir, asOf, r.parentLocked(h, asOf))
		r.remember(key, stamp, st)
		return st, nil
	}
	r.mu.RLock()
	dir := r.dir.Clone()
	r.mu.RUnlock()
	return StatusFromLog(ctx, r.cfg.Log, r.reg, dir, treaty, asOf, knownAt)
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
}

// maxCachedStatuses bounds the cache; when full, an arbitrary entry goes.
const maxCachedStatuses = 4096

func (r *Runner) stampLocked(h *events.History) stamp {
	st := stamp{version: h.Version, dirGen: r.dirGen}
	if p := r.hist[h.Definition.Parent]; h.Definition.Parent != "" && p != nil {
		st.parentVersion = p.Version
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
	if len(r.cache) >= maxCachedStatuses {
		for old := range r.cache {
			delete(r.cache, old)
			break
		}
	}
	r.cache[k] = cachedStatus{stamp: s, status: st}
}

// Timeline returns a treaty's counted instruments over time up to asOf,
// from the histories in memory, or folded from the log as known at
// knownAt when it is not zero.
func (r *Runner) Timeline(ctx context.Context, treaty string, asOf events.Date, knownAt time.Time) ([]Point, error) {
	if knownAt.IsZero() {
		r.mu.RLock()
		defer r.mu.RUnlock()
		h := r.hist[treaty]
		if h == nil || !h.Registered {
			return nil, &events.UnknownTreatyError{Treaty: treaty, Known: r.treatiesLocked()}
		}
		return Timeline(h, r.dir, asOf), nil
	}
	h, err := foldStream(ctx, r.cfg.Log, r.reg, treaty, knownAt)
	if err != nil {
		return nil, err
	}
	if !h.Registered {
		return nil, &events.UnknownTreatyError{Treaty: treaty}
	}
	r.mu.RLock()
	dir := r.dir.Clone()
	r.mu.RUnlock()
	return Timeline(h, dir, asOf), nil
}

// Definition returns the latest definition of a treaty folded so far.
func (r *Runner) Definition(treaty string) (events.Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	h := r.hist[treaty]
	if h == nil || !h.Registered {
		return events.Definition{}, false
	}
	return h.Definition, true
}

// Treaties returns the ids of the registered treaties folded so far, sorted.
func (r *Runner) Treaties() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.treatiesLocked()
}

func (r *Runner) treatiesLocked() []string {
	var out []string
	for id, h := range r.hist {
		if h.Registered {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// StatusFromLog folds a treaty's stream (and its parent's) as known at
// knownAt (zero: everything) and computes its status as of asOf. It is
// what the command line uses without a running Runner.
func StatusFromLog(ctx context.Context, log Log, reg *events.Registry, dir *events.Directory, treaty string, asOf events.Date, knownAt time.Time) (Status, error) {
	h, err := foldStream(ctx, log, reg, treaty, knownAt)
	if err != nil {
		return Status{}, err
	}
	if !h.Registered {
		return Status{}, &events.UnknownTreatyError{Treaty: treaty}
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

func foldStream(ctx context.Context, log Log, reg *events.Registry, treaty string, knownAt time.Time) (*events.History, error) {
	evs, err := log.ReadStream(ctx, events.TreatyStream(treaty))
	if err != nil {
		return nil, fmt.Errorf("read treaty %s: %w", treaty, err)
	}
	return events.Fold(reg, evs, knownAt)
}
