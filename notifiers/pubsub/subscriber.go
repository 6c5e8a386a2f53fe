package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
)

// Subscriber is a watermill message.Subscriber that reads the event log:
// LogTopic delivers every event, any other topic the messages that a
// Publisher appended to it, in log order.
//
// A subscription delivers one message at a time: it sends the next one
// only after the previous one is acknowledged, so messages arrive in
// order. In a consumer group, the Ack moves the group's offset, in one
// transaction, before the next message is sent; a Nack sends the same
// message again after NackDelay; a message neither acknowledged nor
// nacked when the subscription stops is sent again by the next
// subscription of the group (after a restart). Delivery is at least once:
// a handler must tolerate seeing a message again, for instance after a
// crash between its work and the offset's commit.
//
// Only one subscription of a group delivers a topic at a time, whichever
// process it runs in: it holds the group's claim, and the others wait
// until it stops (or, if its process died, until the claim lapses after
// ClaimTTL), then resume from the offset.
//
// A subscription of a topic other than LogTopic reads the whole log from
// its offset and keeps the topic's events: that suits the small topics a
// service keeps beside its log, not a busy message bus.
//
// A Subscriber is safe for concurrent use. Close it before closing the
// store.
type Subscriber struct {
	store Store
	cfg   SubscriberConfig
	log   watermill.LoggerAdapter

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// Compile-time check that Subscriber implements message.Subscriber.
var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber that reads store. A nil logger means
// no logging.
func NewSubscriber(store Store, cfg SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	if store == nil {
		return nil, &events.InvalidError{Field: "store", Reason: "nil store"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{store: store, cfg: cfg, log: logger, ctx: ctx, cancel: cancel}, nil
}

// subscription is one Subscribe call.
type subscription struct {
	topic  string
	stream string // the topic's stream; "" for LogTopic (every stream)
	out    chan<- *message.Message
	fields watermill.LogFields
}

// Subscribe starts delivering the messages of topic on the returned
// channel, which is closed when ctx ends or the Subscriber is closed (and
// the message in hand, if any, is acknowledged, nacked or given up on:
// see CloseGrace). Messages carry a context with ctx's values that is
// canceled once they are acknowledged or nacked. It refuses an empty
// topic (an *events.InvalidError) and any call after Close (ErrClosed).
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic == "" {
		return nil, &events.InvalidError{Field: "topic", Reason: "empty topic"}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("subscribe to %s: %w", topic, ErrClosed)
	}
	s.wg.Add(1)
	s.mu.Unlock()

	out := make(chan *message.Message)
	sub := &subscription{
		topic: topic,
		out:   out,
		fields: watermill.LogFields{
			"topic":          topic,
			"consumer_group": s.cfg.ConsumerGroup,
		},
	}
	if topic != LogTopic {
		sub.stream = TopicStream(topic)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer stop()
		s.run(ctx, sub)
	}()
	return out, nil
}

// Close stops every subscription, waits for them to return (each within
// CloseGrace if a handler holds a message), releases their claims and
// closes their channels. It does not close the store. It may be called
// more than once, concurrently: each call returns once they have stopped.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// run delivers sub until ctx ends: in a group, it claims the group's
// offset, delivers from it, and claims again if the claim is lost.
func (s *Subscriber) run(ctx context.Context, sub *subscription) {
	s.log.Debug("Subscribing", sub.fields)
	defer s.log.Debug("Subscription stopped", sub.fields)
	for ctx.Err() == nil {
		if s.cfg.ConsumerGroup == "" {
			_ = s.deliverFrom(ctx, sub, nil, 0)
			return
		}
		c := &claim{
			store:  s.store,
			topic:  sub.topic,
			group:  s.cfg.ConsumerGroup,
			holder: newHolder(watermill.NewShortUUID()),
			ttl:    s.cfg.ClaimTTL,
			now:    time.Now,
		}
		after, ok := s.acquire(ctx, c, sub)
		if !ok {
			return
		}
		err := s.deliverFrom(ctx, sub, c, after)
		if rerr := c.release(context.WithoutCancel(ctx)); rerr != nil {
			s.log.Error("Cannot release the consumer group's claim; it lapses after ClaimTTL", rerr, sub.fields)
		}
		if errors.Is(err, errClaimLost) {
			s.log.Info("Lost the consumer group's claim; claiming again", sub.fields)
		}
	}
}

// acquire waits until c is taken and returns the offset to resume after,
// or false when ctx ends first.
func (s *Subscriber) acquire(ctx context.Context, c *claim, sub *subscription) (int64, bool) {
	for {
		free, err := c.free(ctx)
		if err == nil && free {
			var pos int64
			var ok bool
			pos, ok, err = c.take(ctx)
			if ok {
				s.log.Debug("Claimed the consumer group's offset", sub.fields.Add(watermill.LogFields{"holder": c.holder, "offset": pos}))
				return pos, true
			}
		}
		wait := s.cfg.PollInterval
		if err != nil {
			if ctx.Err() != nil {
				return 0, false
			}
			s.log.Error("Cannot claim the consumer group's offset; retrying", err, sub.fields)
			wait = s.cfg.NackDelay
		}
		if !sleep(ctx, wait) {
			return 0, false
		}
	}
}

// deliverFrom delivers the events after position cursor until ctx ends
// (it returns ctx's cause) or c is lost (errClaimLost). c is nil without
// a consumer group.
func (s *Subscriber) deliverFrom(ctx context.Context, sub *subscription, c *claim, cursor int64) error {
	ctx, stop := context.WithCancelCause(ctx)
	if c != nil {
		c.renewed.Store(time.Now().UnixMilli())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.keepClaim(ctx, c, stop, sub)
		}()
		defer func() { stop(nil); <-done }()
	} else {
		defer stop(nil)
	}

	for {
		wake := s.cfg.Bell.wait()
		var moved <-chan struct{}
		if s.cfg.Changed != nil {
			moved = s.cfg.Changed()
		}
		page, err := s.store.ReadAll(ctx, cursor, s.cfg.PageSize)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			s.log.Error("Cannot read the log; retrying", err, sub.fields.Add(watermill.LogFields{"after": cursor}))
			if !sleep(ctx, s.cfg.NackDelay) {
				return context.Cause(ctx)
			}
			continue
		}
		for i := range page {
			e := &page[i]
			if sub.stream == "" || e.Stream == sub.stream {
				if err := s.deliver(ctx, sub, c, e); err != nil {
					return err
				}
			}
			cursor = e.Position
		}
		if len(page) == s.cfg.PageSize {
			continue
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-wake:
		case <-moved:
		case <-t.C:
		}
		t.Stop()
	}
}

// keepClaim renews c every ClaimTTL/4 (unless a commit just did) until
// ctx ends, and cancels ctx with errClaimLost if another subscription
// took it.
func (s *Subscriber) keepClaim(ctx context.Context, c *claim, lost context.CancelCauseFunc, sub *subscription) {
	every := s.cfg.ClaimTTL / 4
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.UnixMilli(c.renewed.Load())) < every {
			continue
		}
		err := c.renew(ctx)
		switch {
		case errors.Is(err, errClaimLost):
			lost(errClaimLost)
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Error("Cannot renew the consumer group's claim", err, sub.fields)
			}
		default:
			c.renewed.Store(time.Now().UnixMilli())
		}
	}
}

// deliver sends e and waits for its Ack (then commits the offset) or
// Nack (then sends it again after NackDelay). It returns nil once e is
// acknowledged and committed, ctx's cause when ctx ends, errClaimLost if
// the commit finds the claim taken.
func (s *Subscriber) deliver(ctx context.Context, sub *subscription, c *claim, e *events.Envelope) error {
	for {
		msg, err := s.message(sub, e)
		if err != nil {
			// Not reachable for events that the store accepted (their
			// payload is JSON). Stop here rather than skip the event.
			s.log.Error("Cannot make a message of the event; retrying", err, sub.fields.Add(watermill.LogFields{"position": e.Position}))
			if !sleep(ctx, s.cfg.NackDelay) {
				return context.Cause(ctx)
			}
			continue
		}
		msgCtx, cancelMsg := context.WithCancel(context.WithoutCancel(ctx))
		msg.SetContext(msgCtx)
		select {
		case sub.out <- msg:
		case <-ctx.Done():
			cancelMsg()
			return context.Cause(ctx)
		}
		select {
		case <-msg.Acked():
			cancelMsg()
			return s.commit(ctx, c, e.Position, sub)
		case <-msg.Nacked():
			cancelMsg()
			s.log.Trace("Message nacked; sending it again", sub.fields.Add(watermill.LogFields{"message_uuid": msg.UUID, "position": e.Position}))
			if !sleep(ctx, s.cfg.NackDelay) {
				return context.Cause(ctx)
			}
		case <-ctx.Done():
			s.giveUp(ctx, c, msg, e.Position, sub)
			cancelMsg()
			return context.Cause(ctx)
		}
	}
}

// message returns the message of e for sub.
func (s *Subscriber) message(sub *subscription, e *events.Envelope) (*message.Message, error) {
	if sub.stream == "" {
		return LogMessage(e)
	}
	msg, err := topicMessage(e)
	if err != nil {
		s.log.Error("Cannot decode a published message; delivering its event instead", err, sub.fields.Add(watermill.LogFields{"position": e.Position}))
		return LogMessage(e)
	}
	return msg, nil
}

// commit moves the group's offset to pos, retrying after errors of the
// store until ctx ends. Without a group (c nil) it does nothing.
func (s *Subscriber) commit(ctx context.Context, c *claim, pos int64, sub *subscription) error {
	if c == nil {
		return nil
	}
	for {
		err := c.commit(context.WithoutCancel(ctx), pos)
		if err == nil {
			c.renewed.Store(time.Now().UnixMilli())
			return nil
		}
		if errors.Is(err, errClaimLost) {
			return errClaimLost
		}
		s.log.Error("Cannot commit the offset; retrying", err, sub.fields.Add(watermill.LogFields{"position": pos}))
		if !sleep(ctx, s.cfg.NackDelay) {
			return context.Cause(ctx)
		}
	}
}

// giveUp waits up to CloseGrace, after the subscription was stopped, for
// the handler holding msg to acknowledge it (then commits it) or nack it.
func (s *Subscriber) giveUp(ctx context.Context, c *claim, msg *message.Message, pos int64, sub *subscription) {
	t := time.NewTimer(s.cfg.CloseGrace)
	defer t.Stop()
	fields := sub.fields.Add(watermill.LogFields{"message_uuid": msg.UUID, "position": pos})
	select {
	case <-msg.Acked():
		if c == nil {
			return
		}
		if err := c.commit(context.WithoutCancel(ctx), pos); err != nil {
			s.log.Error("Cannot commit the offset of a message acknowledged while stopping; it will be delivered again", err, fields)
		}
	case <-msg.Nacked():
	case <-t.C:
		s.log.Info("Stopped while a handler held a message; it will be delivered again", fields)
	}
}

// sleep waits for d or the end of ctx, and reports whether ctx is still
// alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
