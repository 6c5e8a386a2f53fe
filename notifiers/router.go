package notifiers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// DirectorySource gives the participants known now. *events.Ledger
// satisfies it.
type DirectorySource interface {
	Directory(ctx context.Context) (*events.Directory, error)
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Log and Directory are the ledger, Store the notifier's state;
	// required.
	Log       Log
	Store     Store
	Directory DirectorySource
	// Subscriber delivers the ledger's events; Topic is the topic that
	// carries them (pubsub.LogTopic). Required.
	Subscriber message.Subscriber
	Topic      string
	// Now stamps deliveries; required (time is injected).
	Now func() time.Time
	// OnEnqueued is called after new deliveries are written (to wake the
	// sender); optional.
	OnEnqueued func()
	// OnSubscriptionsChanged is called when a subscription event passes
	// (to refresh the sender's and the scheduler's view); optional.
	OnSubscriptionsChanged func()
	// MaxRetries and InitialInterval tune watermill's Retry middleware:
	// a failing event is retried with exponential backoff, then goes to
	// the dead letters. Defaults: 5 retries from 100 ms.
	MaxRetries      int
	InitialInterval time.Duration
}

func (c *RouterConfig) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.InitialInterval == 0 {
		c.InitialInterval = 100 * time.Millisecond
	}
	if c.OnEnqueued == nil {
		c.OnEnqueued = func() {}
	}
	if c.OnSubscriptionsChanged == nil {
		c.OnSubscriptionsChanged = func() {}
	}
}

// Validate reports a configuration that cannot work.
func (c RouterConfig) Validate() error {
	if c.Log == nil || c.Store == nil || c.Directory == nil || c.Subscriber == nil || c.Topic == "" || c.Now == nil {
		return errors.New("notifiers: RouterConfig needs Log, Store, Directory, Subscriber, Topic and Now")
	}
	return nil
}

// PoisonTopic names the dead-letter topic of ledger events that the
// router could not turn into deliveries.
const PoisonTopic = "treatywatch.poison"

// Router turns ledger events into deliveries. It runs a watermill Router
// whose one handler consumes the log topic with the middleware
// CorrelationID, PoisonQueue (dead letters kept in SQLite), Retry with
// exponential backoff and Recoverer. For each event it writes every
// delivery the event implies — one row per (event, notice, subscription),
// inserted idempotently — and only then acknowledges the event, so a crash
// loses nothing and a redelivered event adds nothing.
type Router struct {
	cfg    RouterConfig
	logger *slog.Logger
	outbox *Outbox
	subs   *subscriptions
	reg    *events.Registry

	mu    sync.Mutex // one event at a time; guards the caches
	hist  map[string]*events.History
	last  map[string]projections.Status // status after the last event folded into hist
	dir   *events.Directory
	ready chan struct{}
}

// NewRouter returns a Router. A nil logger means no logging.
func NewRouter(cfg RouterConfig, logger *slog.Logger) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	outbox := NewOutbox(cfg.Store)
	return &Router{cfg: cfg, logger: logger, outbox: outbox, subs: newSubscriptions(cfg.Log, outbox), reg: events.NewRegistry(),
		hist: map[string]*events.History{}, last: map[string]projections.Status{}, ready: make(chan struct{})}, nil
}

// Running is closed once the watermill router runs its handler.
func (r *Router) Running() <-chan struct{} { return r.ready }

// Run runs the watermill router until ctx ends, then closes it. On the
// first run on a ledger without subscriptions it starts the implicit
// console subscription at the current head, so that old events are not
// announced.
func (r *Router) Run(ctx context.Context) error {
	head, err := lastPosition(ctx, r.cfg.Log)
	if err != nil {
		return err
	}
	if err := r.subs.startConsole(ctx, head); err != nil {
		return err
	}
	wlog := watermill.NewSlogLogger(r.logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return err
	}
	poison, err := middleware.PoisonQueue(&deadLetters{store: r.cfg.Store, now: r.cfg.Now}, PoisonTopic)
	if err != nil {
		return err
	}
	router.AddMiddleware(
		middleware.CorrelationID,
		poison,
		middleware.Retry{MaxRetries: r.cfg.MaxRetries, InitialInterval: r.cfg.InitialInterval, MaxInterval: 50 * r.cfg.InitialInterval, Multiplier: 2, Logger: wlog}.Middleware,
		middleware.Recoverer,
	)
	router.AddConsumerHandler("notifier", r.cfg.Topic, r.cfg.Subscriber, r.handle)
	go func() {
		select {
		case <-router.Running():
			close(r.ready)
		case <-ctx.Done():
		}
	}()
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("notifier router: %w", err)
	}
	return nil
}

func lastPosition(ctx context.Context, log Log) (int64, error) {
	var head int64
	for {
		page, err := log.ReadAll(ctx, head, 10000)
		if err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return head, nil
		}
		head = page[len(page)-1].Position
	}
}

// handle is the watermill handler: the message payload is an envelope.
func (r *Router) handle(msg *message.Message) error {
	var e events.Envelope
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return fmt.Errorf("message %s: not a ledger envelope: %w", msg.UUID, err)
	}
	return r.Process(msg.Context(), e)
}

// Process writes the deliveries a ledger event implies. It is idempotent.
func (r *Router) Process(ctx context.Context, e events.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case e.Type == events.TypeSubscriptionCreated || e.Type == events.TypeSubscriptionRemoved:
		r.subs.invalidate()
		r.cfg.OnSubscriptionsChanged()
		return nil
	case e.Stream == events.ParticipantsStream:
		r.dir = nil
		clear(r.last)
		return nil
	}
	treaty, ok := events.TreatyOfStream(e.Stream)
	if !ok {
		return nil
	}
	subs, err := r.subs.activeAt(ctx, e.Position)
	if err != nil {
		return err
	}
	notices, err := r.notices(ctx, treaty, e)
	if err != nil || len(notices) == 0 || len(subs) == 0 {
		return err
	}
	now := r.cfg.Now()
	var ds []Delivery
	for _, sub := range subs {
		for _, n := range notices {
			if Wants(sub, n) {
				ds = append(ds, Delivery{Subscription: sub.ID, DedupKey: DedupKey(n), Position: e.Position, ChannelKey: ChannelKey(sub), ThreadKey: n.Treaty, Notice: n, CreatedAt: now})
			}
		}
	}
	added, err := r.outbox.Enqueue(ctx, ds)
	if err != nil {
		return err
	}
	if added > 0 {
		r.logger.InfoContext(ctx, "deliveries enqueued", "position", e.Position, "treaty", treaty, "deliveries", added)
		r.cfg.OnEnqueued()
	}
	return nil
}

// notices folds the event into the treaty's cached history (reloading it
// from the log when the cache is not exactly one version behind) and
// derives the notices from the statuses before and after.
func (r *Router) notices(ctx context.Context, treaty string, e events.Envelope) ([]Notice, error) {
	p, err := r.reg.Decode(e)
	if err != nil {
		return nil, err
	}
	if r.dir == nil {
		if r.dir, err = r.cfg.Directory.Directory(ctx); err != nil {
			return nil, err
		}
	}
	h := r.hist[treaty]
	if h == nil || h.Version != e.Version-1 {
		if h, err = r.historyBefore(ctx, treaty, e.Position); err != nil {
			return nil, err
		}
	}
	var parent *projections.Status
	if pid := h.Definition.Parent; pid != "" {
		if ps, err := projections.StatusFromLog(ctx, r.cfg.Log, r.reg, r.dir, pid, projections.EndOfTime(), time.Time{}); err == nil {
			parent = &ps
		}
	}
	before, ok := r.last[treaty]
	if !ok || r.hist[treaty] != h || parent != nil {
		before = projections.Compute(h, r.dir, projections.EndOfTime(), parent)
	}
	delete(r.last, treaty)
	if err := h.Apply(e, p); err != nil {
		delete(r.hist, treaty)
		return nil, err
	}
	r.hist[treaty] = h
	if !h.Registered {
		return nil, nil
	}
	after := projections.Compute(h, r.dir, projections.EndOfTime(), parent)
	r.last[treaty] = after
	return EventNotices(e, p, h.Definition, before, after), nil
}

func (r *Router) historyBefore(ctx context.Context, treaty string, pos int64) (*events.History, error) {
	evs, err := r.cfg.Log.ReadStream(ctx, events.TreatyStream(treaty))
	if err != nil {
		return nil, err
	}
	h := &events.History{}
	for _, e := range evs {
		if e.Position >= pos {
			break
		}
		p, err := r.reg.Decode(e)
		if err != nil {
			return nil, err
		}
		if err := h.Apply(e, p); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Preview returns the notices the ledger event at a position implies,
// without writing anything.
func (r *Router) Preview(ctx context.Context, position int64) ([]Notice, error) {
	page, err := r.cfg.Log.ReadAll(ctx, position-1, 1)
	if err != nil {
		return nil, err
	}
	if len(page) == 0 || page[0].Position != position {
		return nil, fmt.Errorf("no event at position %d: %w", position, events.ErrNotFound)
	}
	treaty, ok := events.TreatyOfStream(page[0].Stream)
	if !ok {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.hist, treaty)
	defer delete(r.hist, treaty)
	delete(r.last, treaty)
	defer delete(r.last, treaty)
	return r.notices(ctx, treaty, page[0])
}

// Redrive processes a ledger event again (a dead letter of the router).
func (r *Router) Redrive(ctx context.Context, position int64) error {
	page, err := r.cfg.Log.ReadAll(ctx, position-1, 1)
	if err != nil {
		return err
	}
	if len(page) == 0 || page[0].Position != position {
		return fmt.Errorf("no event at position %d: %w", position, events.ErrNotFound)
	}
	return r.Process(ctx, page[0])
}

// deadLetters is the PoisonQueue's publisher: it keeps poisoned messages
// in the DeadLetterStore.
type deadLetters struct {
	store DeadLetterStore
	now   func() time.Time
}

func (d *deadLetters) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background() // watermill's Publisher has no context
	if len(msgs) > 0 {
		ctx = msgs[0].Context()
	}
	at := d.now()
	ms := make([]events.DeadMessage, 0, len(msgs))
	for _, m := range msgs {
		pos, _ := strconv.ParseInt(m.Metadata.Get("position"), 10, 64) // 0: none
		ms = append(ms, events.DeadMessage{UUID: m.UUID, Topic: topic, Position: pos, Payload: m.Payload, Metadata: m.Metadata,
			Reason: m.Metadata.Get(middleware.ReasonForPoisonedKey), At: at})
	}
	return d.store.AddDeadMessages(ctx, ms)
}

func (d *deadLetters) Close() error { return nil }
