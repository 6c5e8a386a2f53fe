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

// ReadSide is what the notifier needs of the process's read side, the
// one component that folds the log: each event's transition, the
// treaties' statuses and definitions. *projections.Runner satisfies it.
type ReadSide interface {
	// Transition returns the transition of the event at a position,
	// waiting for the read side to follow the log that far.
	Transition(ctx context.Context, position int64) (projections.Transition, error)
	// TreatyTransitions returns the transitions of a treaty's events that
	// in accepts, folded once from its stream.
	TreatyTransitions(ctx context.Context, treaty string, in func(events.Envelope) bool) ([]projections.Transition, error)
	// Status returns a treaty's status as of a date.
	Status(ctx context.Context, treaty string, asOf events.Date, knownAt time.Time) (projections.Status, error)
	// Treaties returns the registered treaties' ids; Definition one's
	// latest definition — both as of the position the read side has
	// followed.
	Treaties() []string
	Definition(treaty string) (events.Definition, bool)
	// WaitFor returns once the read side has followed the log to a
	// position.
	WaitFor(ctx context.Context, position int64) error
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Log is the ledger, Store the notifier's state; required.
	Log   Log
	Store Store
	// Read is the process's read side, which folds the log; the router
	// takes each event's transition from it. Required.
	Read ReadSide
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
	if c.Log == nil || c.Store == nil || c.Read == nil || c.Subscriber == nil || c.Topic == "" || c.Now == nil {
		return errors.New("notifiers: RouterConfig needs Log, Store, Read, Subscriber, Topic and Now")
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

	mu    sync.Mutex // one event at a time
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
	return &Router{cfg: cfg, logger: logger, outbox: outbox, subs: newSubscriptions(cfg.Log, outbox), ready: make(chan struct{})}, nil
}

// Running is closed once the watermill router runs its handler.
func (r *Router) Running() <-chan struct{} { return r.ready }

// Run runs the watermill router until ctx ends, then closes it. On the
// first run on a ledger without subscriptions it starts the implicit
// console subscription at the current head, so that old events are not
// announced.
func (r *Router) Run(ctx context.Context) error {
	head, err := r.cfg.Log.Head(ctx)
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
	}
	treaty, ok := events.TreatyOfStream(e.Stream)
	if !ok {
		return nil
	}
	subs, err := r.subs.activeAt(ctx, e.Position)
	if err != nil || len(subs) == 0 {
		return err // nobody to tell: the transition is not even needed
	}
	notices, err := r.notices(ctx, treaty, e)
	if err != nil || len(notices) == 0 {
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

// notices derives an event's notices from its transition, which the read
// side computed when it followed the event (the statuses before and after
// it, parent-aware).
func (r *Router) notices(ctx context.Context, treaty string, e events.Envelope) ([]Notice, error) {
	tr, err := r.cfg.Read.Transition(ctx, e.Position)
	if err != nil {
		return nil, err
	}
	if tr.Treaty != treaty || !tr.Registered {
		return nil, nil
	}
	return EventNotices(tr.Event, tr.Payload, tr.Definition, tr.Before, tr.After), nil
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
