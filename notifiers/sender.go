package notifiers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Confirmer is a sink that can tell whether a message it may have
// delivered did arrive: after a crash during a send, a timeout or a 429,
// the sender asks before sending again. The Slack sink confirms by
// looking for the delivery id in the metadata of the channel's recent
// messages.
type Confirmer interface {
	Delivered(ctx context.Context, sub events.Subscription, msg Message, since time.Time) (Receipt, bool, error)
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	// DB holds the outbox; Log the subscriptions. Required.
	DB  DB
	Log Log
	// Sinks maps a sink name (events.SinkSlack, ...) to its Sink. A
	// subscription whose sink is missing gets its deliveries dead-lettered
	// with the reason.
	Sinks map[string]Sink
	// Now is the clock; required.
	Now func() time.Time
	// Sleep waits (for pacing and backoff); default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// PerChannel is the minimum interval between two messages to one
	// channel (Slack allows about one per second); default 1 s.
	PerChannel time.Duration
	// MaxAttempts before a delivery goes to the dead letters; default 8.
	MaxAttempts int
	// Backoff is the first retry delay, doubled each attempt up to
	// MaxBackoff; defaults 1 s and 5 min.
	Backoff, MaxBackoff time.Duration
	// Poll is how often the sender looks for due deliveries when not
	// woken; default 500 ms.
	Poll time.Duration
	// AfterSend, if set, is called after a sink accepted a message and
	// before the delivery is marked sent: the window a crash can hit.
	// Fault-injection tests use it to crash exactly there.
	AfterSend func(Delivery)
	// Observe, if set, is told of each outcome ("sent", "retry",
	// "rate_limited", "dead") for metrics.
	Observe func(outcome string)
}

func (c *SenderConfig) setDefaults() {
	if c.Sleep == nil {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	if c.PerChannel == 0 {
		c.PerChannel = time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.Poll == 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Observe == nil {
		c.Observe = func(string) {}
	}
}

// Validate reports a configuration that cannot work.
func (c SenderConfig) Validate() error {
	if c.DB == nil || c.Log == nil || c.Now == nil {
		return errors.New("notifiers: SenderConfig needs DB, Log and Now")
	}
	return nil
}

// Sender takes pending deliveries in order and sends them: one message
// at a time per channel, at least PerChannel apart, channels in parallel.
// Each delivery is marked "sending" before the call and "sent" right
// after it, so the only window in which a message can arrive twice is a
// crash between the sink accepting it and that mark — and for sinks that
// are Confirmers (Slack) the sender first asks whether it arrived. Permanent
// failures (invalid_auth, channel_not_found, not_in_channel, is_archived,
// a webhook's 4xx) go straight to the dead letters; a 429 waits Retry-After;
// other failures retry with exponential backoff, then go to the dead letters.
type Sender struct {
	cfg    SenderConfig
	logger *slog.Logger
	outbox *Outbox
	subs   *subscriptions
	wake   chan struct{}

	mu       sync.Mutex
	busy     map[string]bool      // channel → a send in flight
	nextSlot map[string]time.Time // channel → earliest next send
	reported map[string]bool      // permanent failures logged once per channel and reason
	wg       sync.WaitGroup
}

// NewSender returns a Sender. A nil logger means no logging.
func NewSender(cfg SenderConfig, logger *slog.Logger) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	outbox := NewOutbox(cfg.DB)
	return &Sender{cfg: cfg, logger: logger, outbox: outbox, subs: newSubscriptions(cfg.Log, outbox), wake: make(chan struct{}, 1),
		busy: map[string]bool{}, nextSlot: map[string]time.Time{}, reported: map[string]bool{}}, nil
}

// Wake asks the sender to look for due deliveries now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SubscriptionsChanged makes the sender read the subscriptions again.
func (s *Sender) SubscriptionsChanged() { s.subs.invalidate() }

// Run sends until ctx ends, then waits for the sends in flight.
func (s *Sender) Run(ctx context.Context) error {
	defer s.wg.Wait()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "sender", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Drain sends until no delivery is waiting (all sent or dead), sleeping
// through backoffs and pacing: for tests and one-shot runs.
func (s *Sender) Drain(ctx context.Context) error {
	for {
		if err := s.dispatch(ctx); err != nil {
			return err
		}
		s.wg.Wait()
		next, err := s.outbox.NextDue(ctx)
		if err != nil || next.IsZero() {
			return err
		}
		due, err := s.outbox.NextPerChannel(ctx, s.cfg.Now())
		if err != nil {
			return err
		}
		s.mu.Lock()
		for _, d := range due {
			next = maxTime(next, s.nextSlot[d.ChannelKey])
		}
		s.mu.Unlock()
		if wait := next.Sub(s.cfg.Now()); wait > 0 {
			if err := s.cfg.Sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// dispatch starts one send per idle channel whose slot is open.
func (s *Sender) dispatch(ctx context.Context) error {
	due, err := s.outbox.NextPerChannel(ctx, s.cfg.Now())
	if err != nil {
		return err
	}
	started := map[string]bool{}
	now := s.cfg.Now()
	for _, d := range due {
		s.mu.Lock()
		idle := !s.busy[d.ChannelKey] && !started[d.ChannelKey] && !now.Before(s.nextSlot[d.ChannelKey])
		if idle {
			s.busy[d.ChannelKey] = true
		}
		s.mu.Unlock()
		started[d.ChannelKey] = true // later deliveries of a channel wait for the first
		if !idle {
			continue
		}
		s.wg.Add(1)
		go func(d Delivery) {
			defer s.wg.Done()
			s.send(ctx, d)
			s.mu.Lock()
			delete(s.busy, d.ChannelKey)
			s.mu.Unlock()
			s.Wake()
		}(d)
	}
	return nil
}

// send delivers one message and records the outcome.
func (s *Sender) send(ctx context.Context, d Delivery) {
	// The list dispatch read may be older than the previous send on this
	// channel: read the delivery again, now that the channel is ours.
	d, err := s.outbox.Get(ctx, d.ID)
	if err != nil {
		s.logger.ErrorContext(ctx, "read delivery", "err", err)
		return
	}
	if d.Status != StatusPending && d.Status != StatusSending || d.NextAttemptAt.After(s.cfg.Now()) {
		return
	}
	sub, ok, removed, err := s.subs.byID(ctx, d.Subscription)
	if err != nil {
		s.logger.ErrorContext(ctx, "read subscriptions", "err", err)
		return
	}
	if !ok || removed {
		s.dead(ctx, d, "subscription "+d.Subscription+" no longer exists")
		return
	}
	sink := s.cfg.Sinks[sub.Sink]
	if sink == nil {
		s.dead(ctx, d, fmt.Sprintf("no %s sink is configured (for slack, set SLACK_BOT_TOKEN)", sub.Sink))
		return
	}
	msg := Render(d.Notice)
	msg.DeliveryID = d.ID
	if d.ThreadKey != "" && sub.Sink == events.SinkSlack {
		if msg.ThreadTS, err = s.outbox.Thread(ctx, d.ChannelKey, d.ThreadKey); err != nil {
			s.logger.ErrorContext(ctx, "read thread", "err", err)
			return
		}
	}
	// A delivery left "sending" (a crash, a timeout, a 429) may have
	// arrived: ask the sink before sending it again.
	if d.Status == StatusSending {
		if c, ok := sink.(Confirmer); ok {
			rc, arrived, err := c.Delivered(ctx, sub, msg, d.CreatedAt.Add(-time.Minute))
			if err != nil {
				s.retry(ctx, d, fmt.Errorf("confirm an uncertain delivery: %w", err))
				return
			}
			if arrived {
				s.logger.InfoContext(ctx, "uncertain delivery had arrived", "delivery", d.ID, "subscription", d.Subscription)
				s.sent(ctx, d, rc)
				return
			}
		}
	}
	if err := s.outbox.MarkSending(ctx, d.ID); err != nil {
		s.logger.ErrorContext(ctx, "mark sending", "delivery", d.ID, "err", err)
		return
	}
	d.Attempts++
	if paced(sub.Sink) {
		s.mu.Lock()
		s.nextSlot[d.ChannelKey] = s.cfg.Now().Add(s.cfg.PerChannel)
		s.mu.Unlock()
	}
	rc, err := sink.Send(ctx, sub, msg)
	if err == nil {
		if s.cfg.AfterSend != nil {
			s.cfg.AfterSend(d)
		}
		s.sent(ctx, d, rc)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the delivery stays "sending" and is confirmed at the next start
	}
	switch kind, after := Classify(err); kind {
	case FailurePermanent:
		s.dead(ctx, d, err.Error())
	case FailureRateLimited:
		s.cfg.Observe("rate_limited")
		if after <= 0 {
			after = s.cfg.PerChannel
		}
		s.mu.Lock()
		s.nextSlot[d.ChannelKey] = s.cfg.Now().Add(after)
		s.mu.Unlock()
		// Stay "sending": a 429 can follow a post Slack accepted, so the
		// next attempt confirms before it posts again.
		if err := s.outbox.MarkRetry(ctx, d.ID, err.Error(), s.cfg.Now().Add(after)); err == nil {
			_ = s.outbox.exec(ctx, `UPDATE notify_deliveries SET status = 'sending' WHERE id = ?`, d.ID)
		}
		s.logger.WarnContext(ctx, "rate limited", "channel", d.ChannelKey, "retry_after", after)
	default:
		s.retry(ctx, d, err)
	}
}

// paced reports whether a sink's channels are held to PerChannel: Slack's
// (about one message per second per channel); not the console's nor a
// generic webhook's.
func paced(sink string) bool {
	return sink == events.SinkSlack || sink == events.SinkSlackWebhook
}

func (s *Sender) sent(ctx context.Context, d Delivery, rc Receipt) {
	if err := s.outbox.MarkSent(ctx, d, rc.TS, s.cfg.Now()); err != nil {
		s.logger.ErrorContext(ctx, "mark sent", "delivery", d.ID, "err", err)
		return
	}
	s.cfg.Observe("sent")
}

func (s *Sender) retry(ctx context.Context, d Delivery, err error) {
	if d.Attempts >= s.cfg.MaxAttempts {
		s.dead(ctx, d, fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err))
		return
	}
	delay := time.Duration(float64(s.cfg.Backoff) * math.Pow(2, float64(max(d.Attempts-1, 0))))
	delay = min(delay, s.cfg.MaxBackoff)
	s.cfg.Observe("retry")
	s.logger.WarnContext(ctx, "delivery failed; will retry", "delivery", d.ID, "attempt", d.Attempts, "in", delay, "err", err)
	if err := s.outbox.MarkRetry(ctx, d.ID, err.Error(), s.cfg.Now().Add(delay)); err != nil {
		s.logger.ErrorContext(ctx, "mark retry", "delivery", d.ID, "err", err)
	}
}

func (s *Sender) dead(ctx context.Context, d Delivery, reason string) {
	if err := s.outbox.MarkDead(ctx, d.ID, reason); err != nil {
		s.logger.ErrorContext(ctx, "mark dead", "delivery", d.ID, "err", err)
		return
	}
	s.cfg.Observe("dead")
	key := d.ChannelKey + "\x00" + reason
	s.mu.Lock()
	first := !s.reported[key]
	s.reported[key] = true
	s.mu.Unlock()
	if first { // logged once per channel and reason: no log storm
		s.logger.ErrorContext(ctx, "delivery dead-lettered", "delivery", d.ID, "subscription", d.Subscription, "channel", d.ChannelKey, "reason", reason)
	}
}
