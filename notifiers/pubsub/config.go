package pubsub

import (
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Store is what the Publisher and the Subscriber need of the event store:
// the log, and the consumer groups' offsets kept beside it.
// *sqlite.Store implements it. Its methods must be safe for concurrent
// use.
type Store interface {
	events.Store
	OffsetStore
}

// PublisherConfig holds the options of a Publisher. The zero value is
// valid.
type PublisherConfig struct {
	// Bell, if not nil, is rung after each successful Publish, so that
	// the Subscribers that share it read the log at once rather than at
	// their next poll.
	Bell *Bell
}

func (c *PublisherConfig) setDefaults() {}

// Validate reports the first invalid option; the zero value is valid.
func (c PublisherConfig) Validate() error { return nil }

// SubscriberConfig holds the options of a Subscriber. The zero value is
// valid: zero durations and sizes mean the defaults below.
type SubscriberConfig struct {
	// ConsumerGroup names the offset the Subscriber reads from and
	// commits to, in the watermill_offsets table: the subscribers of one
	// group, in this process or another, share it and get each message
	// once between them, one subscriber at a time (see ClaimTTL); each
	// group gets every message. A new group starts at the beginning of
	// the topic.
	//
	// Empty means no group: each Subscribe reads the topic from its
	// beginning with a private offset kept in memory, and acknowledgements
	// are not persisted. Use it to tail the log, not to notify.
	ConsumerGroup string
	// PollInterval is how often an idle subscription reads the log for
	// new events, and a subscription waiting for its group's claim
	// checks it. Default: 100 ms. A Bell wakes it sooner.
	PollInterval time.Duration
	// NackDelay is how long a subscription waits before it delivers a
	// nacked message again, and before it retries after an error of the
	// store. Default: 1 s.
	NackDelay time.Duration
	// ClaimTTL is how long a group's claim outlives its holder: a
	// subscription renews its claim every ClaimTTL/4 and releases it when
	// it stops, so another subscriber of the group takes over at once
	// after a clean stop; after a crash, at once too when the holder ran
	// on this machine in the same PID namespace (its process is seen to
	// have ended), and otherwise within ClaimTTL. Default: 10 s.
	ClaimTTL time.Duration
	// CloseGrace is how long a subscription that is stopped (Close, or
	// the end of Subscribe's context) while a handler holds a message
	// waits for that message's Ack or Nack before it cancels the
	// message's context and gives up on it; an Ack in that time is
	// committed. A message given up on is delivered again later (after a
	// restart). Default: 5 s.
	CloseGrace time.Duration
	// PageSize is how many events a subscription reads from the log at a
	// time. Default: 100.
	PageSize int
	// Bell, if not nil, wakes the subscriptions when it rings (see
	// Publisher and Bell).
	Bell *Bell
	// Changed, if not nil, returns a channel that is closed when the log
	// may have moved: in the service, the read side's
	// (projections.Runner.Changed), which follows every append of this
	// process and polls for the others', so the subscriptions wake with it
	// instead of on a wake-up of their own.
	Changed func() <-chan struct{}
}

func (c *SubscriberConfig) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.NackDelay == 0 {
		c.NackDelay = time.Second
	}
	if c.ClaimTTL == 0 {
		c.ClaimTTL = 10 * time.Second
	}
	if c.CloseGrace == 0 {
		c.CloseGrace = 5 * time.Second
	}
	if c.PageSize == 0 {
		c.PageSize = 100
	}
}

// Validate reports the first invalid option as an *events.InvalidError.
func (c SubscriberConfig) Validate() error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"PollInterval", c.PollInterval},
		{"NackDelay", c.NackDelay},
		{"ClaimTTL", c.ClaimTTL},
		{"CloseGrace", c.CloseGrace},
	} {
		if d.d < 0 {
			return &events.InvalidError{Field: d.name, Reason: fmt.Sprintf("%s: must not be negative", d.d)}
		}
	}
	if c.ClaimTTL != 0 && c.ClaimTTL < 100*time.Millisecond {
		return &events.InvalidError{Field: "ClaimTTL", Reason: fmt.Sprintf("%s: want 100ms or more", c.ClaimTTL)}
	}
	if c.PageSize < 0 {
		return &events.InvalidError{Field: "PageSize", Reason: fmt.Sprintf("%d: must not be negative", c.PageSize)}
	}
	return nil
}
