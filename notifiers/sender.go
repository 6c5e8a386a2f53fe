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
// delivered did arrive: after a crash during a send, a timeout, a 5xx or
// a 429, the sender asks before sending again, and sends again only when
// the answer is "it did not arrive". The Slack sink confirms by looking
// for the delivery id in the metadata of the channel's messages since a
// time. An error means "cannot tell": the sender asks again later and
// never sends blind.
type Confirmer interface {
	Delivered(ctx context.Context, sub events.Subscription, msg Message, since time.Time) (Receipt, bool, error)
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	// Store holds the outbox and the sender lease; Log the
	// subscriptions. Required.
	Store Store
	Log   Log
	// Sinks maps a sink name (events.SinkSlack, ...) to its Sink. A
	// subscription whose sink is missing gets its deliveries dead-lettered
	// with the reason.
	Sinks map[string]Sink
	// Now is the clock; required.
	Now func() time.Time
	// Sleep waits (for pacing and backoff in Drain); default: a timer
	// honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// PerChannel is the minimum interval between two messages to one
	// Slack channel (Slack allows about one per second), measured from the
	// end of one call to the start of the next and kept across restarts
	// (the outbox records each channel's last send); default 1 s.
	PerChannel time.Duration
	// MaxAttempts is how many failed calls (posts or confirmations; 429s
	// do not count) a delivery gets before it goes to the dead letters;
	// default 8.
	MaxAttempts int
	// Backoff is the first retry delay, doubled each attempt up to
	// MaxBackoff; defaults 1 s and 5 min.
	Backoff, MaxBackoff time.Duration
	// Poll is how often the sender looks for due deliveries when not
	// woken; default 500 ms.
	Poll time.Duration
	// AfterSend, if set, is called right after a sink accepted a message
	// (the channel's pacing already recorded) and before the delivery is
	// marked sent: the window in which a crash leaves a delivered message
	// "sending". It is a hook for tests and observation — the exactly-once
	// tests of cmd/treatywatch exit the process from it — and must return
	// quickly. The shipped binary sets none.
	AfterSend func(Delivery)
	// Observe, if set, is told of each outcome for metrics: "sent",
	// "retry", "rate_limited", "uncertain" (a call whose outcome is
	// unknown: the sink is asked before the message is sent again),
	// "confirmed" (asked, the sink had it: marked sent without a new post),
	// "dead".
	Observe func(outcome string)
	// LeaseTTL is how long the ledger's sender lease lasts after its
	// holder's last renewal: only the sender that holds it sends, so that
	// two senders on one ledger (serve and `notify run`) never both post.
	// A sender that does not hold it waits; it takes it over when its
	// holder releases it (a graceful stop), when its holder's process is
	// provably gone (same machine), or once it has seen no renewal for
	// the holder's LeaseTTL. A call to a sink is given a deadline before
	// the holder's lease could lapse (its end less LeaseTTL/10). Default
	// 15 s: a call that starts just before a renewal still has more than
	// DefaultTimeout left, so the lease cuts no call short while renewals
	// succeed. A sender waits that long for a holder that froze, or that
	// died in a process it cannot see (another PID namespace or machine).
	LeaseTTL time.Duration
	// LeaseRenew is how often the holder renews the lease; at most a
	// third of LeaseTTL. A renewal that fails stops the holder from
	// starting calls until one succeeds. Default 3 s.
	LeaseRenew time.Duration
	// LeasePoll is how often a sender that waits for the lease looks at
	// it (and a holder whose renewal failed tries again). Default 1 s.
	LeasePoll time.Duration
}

// Lease defaults.
const (
	defaultLeaseTTL   = 15 * time.Second
	defaultLeaseRenew = 3 * time.Second
	defaultLeasePoll  = time.Second
)

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
	if c.LeaseTTL == 0 {
		c.LeaseTTL = defaultLeaseTTL
	}
	if c.LeaseRenew == 0 {
		c.LeaseRenew = min(defaultLeaseRenew, c.LeaseTTL/3)
	}
	if c.LeasePoll == 0 {
		c.LeasePoll = min(defaultLeasePoll, c.LeaseRenew)
	}
}

// Validate reports a configuration that cannot work.
func (c SenderConfig) Validate() error {
	if c.Store == nil || c.Log == nil || c.Now == nil {
		return errors.New("notifiers: SenderConfig needs Store, Log and Now")
	}
	if c.LeaseTTL < 0 || c.LeaseRenew < 0 || c.LeasePoll < 0 {
		return fmt.Errorf("notifiers: SenderConfig: LeaseTTL (%s), LeaseRenew (%s) and LeasePoll (%s) must not be negative", c.LeaseTTL, c.LeaseRenew, c.LeasePoll)
	}
	ttl := c.LeaseTTL
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	if c.LeaseRenew > ttl/3 {
		return fmt.Errorf("notifiers: SenderConfig: LeaseRenew (%s) must be at most a third of LeaseTTL (%s)", c.LeaseRenew, ttl)
	}
	return nil
}

// Sender takes pending deliveries in order and sends them: one message
// at a time per channel, in the order they were written (a later message
// waits while an earlier one backs off), at least PerChannel apart for
// Slack channels, channels in parallel.
//
// Each delivery is marked "sending" before the call. An attempt whose
// outcome is unknown — the process died during the call, or the sink
// answered with a timeout, a reset after the request was written, a 5xx
// or a 429 (see UncertainError) — leaves it "sending", and the next
// attempt does not post blind: a Confirmer (Slack) is asked first and the
// message is sent again only if it did not arrive (if the confirmation
// fails, it is asked again later); a Slack incoming webhook, which can
// neither be asked nor deduplicates, gets the delivery dead-lettered with
// the reason ("outcome unknown: ...; not re-sent to avoid a duplicate");
// the generic webhook gets it again with the same delivery id, on which
// its receiver deduplicates. Only a definite "not delivered" — Slack's
// refusal, a connection refused before anything was sent, a confirmation
// that finds nothing — lets a message be posted again.
//
// Permanent failures (invalid_auth, channel_not_found, not_in_channel,
// is_archived, a webhook's 4xx) go straight to the dead letters; a 429
// waits Retry-After (kept across restarts); other failures retry with
// exponential backoff, then go to the dead letters. A graceful stop lets
// the calls in flight finish (each bounded by its client's timeout) and
// records their outcome.
//
// At most one Sender of a ledger sends at any moment, in this process or
// another: the one that holds the ledger's sender lease (see
// SenderConfig.LeaseTTL). The others wait. Deliveries that a holder which
// died left "sending" are confirmed by the next holder as after a crash.
type Sender struct {
	cfg    SenderConfig
	logger *slog.Logger
	outbox *Outbox
	lease  *lease
	subs   *subscriptions
	wake   chan struct{}

	mu         sync.Mutex
	busy       map[string]bool      // channel → a send in flight
	nextSlot   map[string]time.Time // channel → earliest next send
	paceLoaded bool                 // nextSlot holds the outbox's persisted pacing
	reported   map[string]bool      // permanent failures logged once per channel and reason
	wg         sync.WaitGroup
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
	l := newLease(cfg.Store, cfg.Now, logger, cfg.LeaseTTL, cfg.LeaseRenew, cfg.LeasePoll)
	// Every write of the sender to the outbox checks that it holds the
	// lease, in the same transaction.
	outbox := &Outbox{store: cfg.Store, fence: l.fence}
	return &Sender{cfg: cfg, logger: logger, outbox: outbox, lease: l, subs: newSubscriptions(cfg.Log, outbox), wake: make(chan struct{}, 1),
		busy: map[string]bool{}, nextSlot: map[string]time.Time{}, reported: map[string]bool{}}, nil
}

// Holding reports whether this sender holds the ledger's sender lease
// (and so may send) as far as it knows.
func (s *Sender) Holding() bool { return s.lease.held() }

// Wake asks the sender to look for due deliveries now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SubscriptionsChanged makes the sender read the subscriptions again.
func (s *Sender) SubscriptionsChanged() { s.subs.invalidate() }

// Run sends until ctx ends, then waits for the sends in flight and
// releases the sender lease. It sends only while it holds the lease: it
// waits for it first, and again whenever it loses it.
func (s *Sender) Run(ctx context.Context) error {
	for {
		if err := s.lease.acquire(ctx); err != nil {
			return nil // ctx ended
		}
		err := s.whileHeld(ctx, func(ctx context.Context) error {
			t := time.NewTimer(s.cfg.Poll)
			defer t.Stop()
			for {
				due, err := s.dispatch(ctx)
				if err != nil && ctx.Err() == nil {
					s.logger.ErrorContext(ctx, "sender", "err", err)
				}
				// Look again at the next poll, or as soon as a channel's
				// next delivery is due (its pace or backoff ends), if
				// sooner.
				wait := s.cfg.Poll
				if !due.IsZero() {
					wait = min(wait, max(time.Millisecond, due.Sub(s.cfg.Now())))
				}
				t.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				case <-s.wake:
				}
			}
		})
		if err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "sender stopped sending; waiting for the lease again", "err", err)
		}
		if ctx.Err() != nil {
			s.lease.release(context.WithoutCancel(ctx))
			return nil
		}
	}
}

// whileHeld runs fn with a context that ends with ctx or when the lease
// is lost, renewing the lease meanwhile; once fn returns it waits for the
// sends in flight, and only then stops renewing. fn's error is returned,
// or errNotHolder or errLeaseLapsed when the lease was lost.
func (s *Sender) whileHeld(ctx context.Context, fn func(ctx context.Context) error) error {
	// What another sender may have done while this one did not hold the
	// lease: read the pacing and the subscriptions again.
	s.mu.Lock()
	s.paceLoaded = false
	s.mu.Unlock()
	s.subs.invalidate()

	keepCtx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
	heldCtx, lost := context.WithCancelCause(ctx)
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		if err := s.lease.keep(keepCtx); err != nil {
			lost(err)
		}
	}()
	err := fn(heldCtx)
	s.wg.Wait() // each call in flight ends before the lease could lapse
	stopKeeping()
	<-kept
	if cause := context.Cause(heldCtx); errors.Is(cause, errNotHolder) || errors.Is(cause, errLeaseLapsed) {
		err = cause
	}
	lost(nil)
	return err
}

// Drain sends until no delivery is waiting (all sent or dead), sleeping
// through backoffs and pacing: for tests and one-shot runs. It waits for
// the sender lease first, and releases it when done; it fails if it loses
// it.
func (s *Sender) Drain(ctx context.Context) error {
	if err := s.lease.acquire(ctx); err != nil {
		return err
	}
	defer s.lease.release(context.WithoutCancel(ctx))
	return s.whileHeld(ctx, s.drain)
}

func (s *Sender) drain(ctx context.Context) error {
	for {
		if !s.lease.canStart() { // a renewal failed: wait for the next
			if err := sleepCtx(ctx, s.cfg.LeasePoll); err != nil {
				return context.Cause(ctx)
			}
			continue
		}
		if _, err := s.dispatch(ctx); err != nil {
			return err
		}
		s.wg.Wait()
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		heads, err := s.outbox.Heads(ctx)
		if err != nil || len(heads) == 0 {
			return err
		}
		var next time.Time
		s.mu.Lock()
		for i, d := range heads {
			if at := maxTime(d.NextAttemptAt, s.nextSlot[d.ChannelKey]); i == 0 || at.Before(next) {
				next = at
			}
		}
		s.mu.Unlock()
		if wait := next.Sub(s.cfg.Now()); wait > 0 {
			if err := s.cfg.Sleep(ctx, wait); err != nil {
				return context.Cause(ctx)
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

// loadPace reads, once, the pacing the outbox kept for each channel, so
// that a sender starting right after another one stopped keeps the pace.
func (s *Sender) loadPace(ctx context.Context) error {
	s.mu.Lock()
	loaded := s.paceLoaded
	s.mu.Unlock()
	if loaded {
		return nil
	}
	paces, err := s.outbox.Paces(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, p := range paces {
		s.nextSlot[key] = maxTime(s.nextSlot[key], maxTime(p.LastSend.Add(s.cfg.PerChannel), p.NotBefore))
	}
	s.paceLoaded = true
	return nil
}

// pace records a call to a paced channel that ended at end (and a 429's
// end of wait, when not zero): in memory for this sender, in the outbox
// for the next one.
func (s *Sender) pace(ctx context.Context, key string, end, notBefore time.Time) {
	s.mu.Lock()
	s.nextSlot[key] = maxTime(s.nextSlot[key], maxTime(end.Add(s.cfg.PerChannel), notBefore))
	s.mu.Unlock()
	if err := s.outbox.SetPace(ctx, key, end, notBefore); err != nil {
		s.writeFailed(ctx, "record channel pacing", 0, err, "channel", key)
	}
}

// writeFailed logs a write to the outbox that failed: when the lease was
// lost, the delivery is the next holder's, which confirms it if it was
// left "sending".
func (s *Sender) writeFailed(ctx context.Context, what string, id int64, err error, args ...any) {
	if id != 0 {
		args = append(args, "delivery", id)
	}
	if errors.Is(err, errNotHolder) {
		s.logger.WarnContext(ctx, what+": the sender lease was lost; the sender that holds it now takes this over (confirming what was left \"sending\")", args...)
		return
	}
	s.logger.ErrorContext(ctx, what, append(args, "err", err)...)
}

// dispatch starts one send per idle channel whose first waiting delivery
// is due and whose slot is open.
func (s *Sender) dispatch(ctx context.Context) (time.Time, error) {
	if !s.lease.canStart() {
		return time.Time{}, nil
	}
	if err := s.loadPace(ctx); err != nil {
		return time.Time{}, err
	}
	heads, err := s.outbox.Heads(ctx)
	if err != nil {
		return time.Time{}, err
	}
	now := s.cfg.Now()
	var due time.Time // the soonest a head not started now becomes due
	later := func(t time.Time) {
		if due.IsZero() || t.Before(due) {
			due = t
		}
	}
	for _, d := range heads {
		if d.NextAttemptAt.After(now) {
			later(d.NextAttemptAt)
			continue
		}
		s.mu.Lock()
		busy, slot := s.busy[d.ChannelKey], s.nextSlot[d.ChannelKey]
		idle := !busy && !now.Before(slot)
		if idle {
			s.busy[d.ChannelKey] = true
		}
		s.mu.Unlock()
		if !idle {
			if !busy { // its pace ends at slot; a busy channel wakes the sender when its call ends
				later(slot)
			}
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
	return due, nil
}

// confirmSkew is how far before a delivery was written its confirmation
// looks: clocks differ.
const confirmSkew = time.Minute

// uncertainPolicy is what the sender does with a delivery that may have
// arrived.
type uncertainPolicy int

const (
	resend            uncertainPolicy = iota // send again with the same delivery id
	confirmFirst                             // ask the Confirmer, send again only if it did not arrive
	deadLetterUnknown                        // dead-letter: cannot ask, and a repeat would be a duplicate
)

// onUncertain chooses the policy for a sink: a Confirmer (Slack's Web
// API) is asked first; a Slack incoming webhook can neither be asked nor
// deduplicates, so the delivery is dead-lettered; any other sink gets it
// again — the generic webhook's receiver deduplicates on the delivery id
// it gets in X-Treatywatch-Delivery and the body, and a repeated console
// line is harmless.
func onUncertain(sinkName string, sink Sink) uncertainPolicy {
	if _, ok := sink.(Confirmer); ok {
		return confirmFirst
	}
	if sinkName == events.SinkSlackWebhook {
		return deadLetterUnknown
	}
	return resend
}

// unknownOutcome is the dead-letter reason of a delivery that may have
// arrived and is not sent again.
func unknownOutcome(what string) string {
	return "outcome unknown: " + what + "; not re-sent to avoid a duplicate; `notify redrive` resends"
}

// cause describes a failure without UncertainError's own remark.
func cause(err error) string {
	if ue, ok := errors.AsType[*UncertainError](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// backoff is the delay after the nth failed attempt.
func (s *Sender) backoff(n int) time.Duration {
	delay := time.Duration(float64(s.cfg.Backoff) * math.Pow(2, float64(max(n-1, 0))))
	return min(delay, s.cfg.MaxBackoff)
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
	uncertain := d.Status == StatusSending
	sub, ok, removed, err := s.subs.byID(ctx, d.Subscription)
	if err != nil {
		s.logger.ErrorContext(ctx, "read subscriptions", "err", err)
		return
	}
	if !ok || removed {
		s.dead(ctx, d, "subscription "+d.Subscription+" no longer exists", false)
		return
	}
	sink := s.cfg.Sinks[sub.Sink]
	if sink == nil {
		s.dead(ctx, d, fmt.Sprintf("no %s sink is configured (for slack, set SLACK_BOT_TOKEN)", sub.Sink), uncertain)
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
	// A delivery left "sending" (a crash, a timeout, a 5xx, a 429) may
	// have arrived: never post it blind.
	if uncertain {
		switch onUncertain(sub.Sink, sink) {
		case confirmFirst:
			if !s.confirm(ctx, &d, sub, sink.(Confirmer), msg) {
				return
			}
		case deadLetterUnknown:
			s.dead(ctx, d, unknownOutcome(d.LastError), false)
			return
		default: // resend: the receiver deduplicates on the delivery id
		}
	}
	paceKey := ""
	if paced(sub.Sink) {
		paceKey = d.ChannelKey
	}
	if err := s.outbox.MarkSending(ctx, d.ID, paceKey, s.cfg.Now()); err != nil {
		switch {
		case errors.Is(err, errLeaseShort) || errors.Is(err, errNotHolder):
			s.logger.DebugContext(ctx, "not sending", "delivery", d.ID, "why", err)
		case ctx.Err() == nil:
			s.logger.ErrorContext(ctx, "mark sending", "delivery", d.ID, "err", err)
		}
		return
	}
	// From here a graceful stop lets the call finish (it is bounded by
	// the sink's client timeout) and records its outcome: only a crash
	// leaves the delivery "sending" with no answer. The call must end
	// before this sender's lease could lapse and another sender, taking
	// over, look for the message: it gets a deadline before that.
	ctx = context.WithoutCancel(ctx)
	callCtx, cancel := context.WithTimeout(ctx, s.lease.budget())
	rc, err := sink.Send(callCtx, sub, msg)
	cancel()
	kind, after := Classify(err)
	if kind == FailureRateLimited && after <= 0 {
		after = s.cfg.PerChannel
	}
	if paceKey != "" {
		var notBefore time.Time
		end := s.cfg.Now()
		if kind == FailureRateLimited {
			notBefore = end.Add(after)
		}
		s.pace(ctx, paceKey, end, notBefore)
	}
	if err == nil {
		if s.cfg.AfterSend != nil {
			s.cfg.AfterSend(d)
		}
		s.sent(ctx, d, rc)
		return
	}
	s.failed(ctx, d, sub, sink, err, kind, after)
}

// confirm asks the sink whether a delivery that may have arrived did. It
// reports whether the caller should send it: only when the sink answered
// that it did not arrive. Otherwise it records the outcome: sent, still
// uncertain (to ask again later), or dead.
func (s *Sender) confirm(ctx context.Context, d *Delivery, sub events.Subscription, c Confirmer, msg Message) bool {
	rc, arrived, err := c.Delivered(ctx, sub, msg, d.CreatedAt.Add(-confirmSkew))
	if err != nil && ctx.Err() != nil {
		return false // stopping: it stays "sending" and is asked about at the next start
	}
	ctx = context.WithoutCancel(ctx)
	what := d.LastError
	if what == "" {
		what = interruptedCall
	}
	if err != nil {
		switch kind, after := Classify(err); kind {
		case FailurePermanent:
			s.dead(ctx, *d, fmt.Sprintf("outcome unknown: %s; could not confirm whether it arrived: %v; not re-sent to avoid a duplicate; `notify redrive` asks again", what, err), true)
		case FailureRateLimited:
			if after <= 0 {
				after = s.cfg.PerChannel
			}
			s.cfg.Observe("rate_limited")
			s.uncertain(ctx, *d, what, after, err)
		default:
			d.Attempts++
			if d.Attempts >= s.cfg.MaxAttempts {
				s.dead(ctx, *d, fmt.Sprintf("outcome unknown: %s; gave up confirming after %d attempts: %v; not re-sent to avoid a duplicate; `notify redrive` asks again", what, d.Attempts, err), true)
				return false
			}
			s.uncertain(ctx, *d, what, s.backoff(d.Attempts), err)
		}
		return false
	}
	if arrived {
		s.cfg.Observe("confirmed")
		s.logger.InfoContext(ctx, "a delivery whose outcome was unknown had arrived", "delivery", d.ID, "subscription", d.Subscription, "after", what)
		s.sent(ctx, *d, rc)
		return false
	}
	if d.Attempts >= s.cfg.MaxAttempts {
		s.dead(ctx, *d, fmt.Sprintf("gave up after %d attempts: %s (it did not arrive)", d.Attempts, what), false)
		return false
	}
	s.logger.InfoContext(ctx, "a delivery whose outcome was unknown had not arrived; sending it again", "delivery", d.ID, "subscription", d.Subscription, "after", what)
	return true
}

// uncertain keeps a delivery that may have arrived "sending" for another
// look after delay; what is what happened to it.
func (s *Sender) uncertain(ctx context.Context, d Delivery, what string, delay time.Duration, err error) {
	s.logger.WarnContext(ctx, "delivery outcome unknown; will ask the sink before sending again", "delivery", d.ID, "attempt", d.Attempts, "in", delay, "err", err)
	if err := s.outbox.MarkUncertain(ctx, d.ID, d.Attempts, what, s.cfg.Now().Add(delay)); err != nil {
		s.writeFailed(ctx, "mark uncertain", d.ID, err)
	}
}

// failed records a send that failed, by the failure's class and by
// whether the message may have arrived nonetheless.
func (s *Sender) failed(ctx context.Context, d Delivery, sub events.Subscription, sink Sink, err error, kind string, after time.Duration) {
	if kind == FailurePermanent {
		s.dead(ctx, d, err.Error(), false)
		return
	}
	rateLimited := kind == FailureRateLimited
	if rateLimited {
		s.cfg.Observe("rate_limited")
		s.logger.WarnContext(ctx, "rate limited", "channel", d.ChannelKey, "retry_after", after)
	} else {
		d.Attempts++
	}
	if !MayHaveArrived(err) {
		s.retry(ctx, d, err, rateLimited, after)
		return
	}
	s.cfg.Observe("uncertain")
	switch onUncertain(sub.Sink, sink) {
	case confirmFirst:
		delay := after
		if !rateLimited {
			delay = s.backoff(d.Attempts)
		}
		s.uncertain(ctx, d, cause(err), delay, err)
	case deadLetterUnknown:
		s.dead(ctx, d, unknownOutcome(cause(err)), false)
	default:
		s.retry(ctx, d, err, rateLimited, after)
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
		s.writeFailed(ctx, "mark sent", d.ID, err)
		return
	}
	s.cfg.Observe("sent")
}

// retry puts a delivery back to wait: Retry-After when rate limited,
// else the backoff of its failed attempts — or the dead letters once
// they are spent.
func (s *Sender) retry(ctx context.Context, d Delivery, err error, rateLimited bool, after time.Duration) {
	delay := after
	if !rateLimited {
		if d.Attempts >= s.cfg.MaxAttempts {
			s.dead(ctx, d, fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, cause(err)), false)
			return
		}
		delay = s.backoff(d.Attempts)
		s.cfg.Observe("retry")
		s.logger.WarnContext(ctx, "delivery failed; will retry", "delivery", d.ID, "attempt", d.Attempts, "in", delay, "err", err)
	}
	if err := s.outbox.MarkRetry(ctx, d.ID, d.Attempts, cause(err), s.cfg.Now().Add(delay)); err != nil {
		s.writeFailed(ctx, "mark retry", d.ID, err)
	}
}

func (s *Sender) dead(ctx context.Context, d Delivery, reason string, confirmOnRedrive bool) {
	if err := s.outbox.MarkDead(ctx, d.ID, reason, confirmOnRedrive); err != nil {
		s.writeFailed(ctx, "mark dead", d.ID, err)
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
