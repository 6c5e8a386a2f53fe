package notifiers

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/treatywatch/treatywatch/events"
)

// Log is the part of the ledger the notifier reads. *sqlite.Store
// satisfies it.
type Log interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error)
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
	Streams(ctx context.Context, prefix string) ([]string, error)
	Head(ctx context.Context) (int64, error)
}

// ConsoleSubscriptionID is the implicit subscription used when no
// subscription was ever created: every treaty, every topic, printed on the
// notifier's standard output, from the log position at which the notifier
// first ran, so that `make run` shows notifications with no setup.
const ConsoleSubscriptionID = "console-default"

const consoleSinceKey = "console_since"

type subEntry struct {
	sub              events.Subscription
	created, removed int64
}

// subscriptions is the set of subscriptions read from the ledger, with
// the positions at which each began and ended, cached until invalidated.
// It is safe for concurrent use.
type subscriptions struct {
	log    Log
	outbox *Outbox
	reg    *events.Registry

	mu      sync.Mutex
	loaded  bool
	entries []subEntry
	since   int64 // the implicit console subscription's start
}

func newSubscriptions(log Log, outbox *Outbox) *subscriptions {
	return &subscriptions{log: log, outbox: outbox, reg: events.NewRegistry()}
}

// invalidate makes the next read load the subscriptions again.
func (s *subscriptions) invalidate() {
	s.mu.Lock()
	s.loaded = false
	s.mu.Unlock()
}

func (s *subscriptions) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	streams, err := s.log.Streams(ctx, events.SubscriptionStream(""))
	if err != nil {
		return fmt.Errorf("list subscriptions: %w", err)
	}
	var entries []subEntry
	for _, st := range streams {
		evs, err := s.log.ReadStream(ctx, st)
		if err != nil {
			return err
		}
		var cur *subEntry
		for _, e := range evs {
			p, err := s.reg.Decode(e)
			if err != nil {
				return err
			}
			switch v := p.(type) {
			case *events.SubscriptionCreated:
				if cur != nil {
					entries = append(entries, *cur)
				}
				cur = &subEntry{sub: v.Subscription, created: e.Position}
			case *events.SubscriptionRemoved:
				if cur != nil {
					cur.removed = e.Position
				}
			}
		}
		if cur != nil {
			entries = append(entries, *cur)
		}
	}
	if len(entries) == 0 {
		v, err := s.outbox.State(ctx, consoleSinceKey)
		if err != nil {
			return err
		}
		s.since, _ = strconv.ParseInt(v, 10, 64)
		if v == "" {
			s.since = -1 // not started yet: no console notifications
		}
	}
	s.entries, s.loaded = entries, true
	return nil
}

// startConsole fixes the implicit console subscription's start at the
// given log head, the first time the notifier runs on a ledger.
func (s *subscriptions) startConsole(ctx context.Context, head int64) error {
	if _, err := s.outbox.SetStateOnce(ctx, consoleSinceKey, strconv.FormatInt(head, 10)); err != nil {
		return err
	}
	s.invalidate()
	return nil
}

// activeAt returns the subscriptions that hear about the event at a log
// position: created before it and not removed by then.
func (s *subscriptions) activeAt(ctx context.Context, pos int64) ([]events.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if len(s.entries) == 0 {
		if s.since >= 0 && pos > s.since {
			return []events.Subscription{consoleDefault()}, nil
		}
		return nil, nil
	}
	var out []events.Subscription
	for _, e := range s.entries {
		if e.created < pos && (e.removed == 0 || e.removed > pos) {
			out = append(out, e.sub)
		}
	}
	return out, nil
}

// current returns the subscriptions in force now (the implicit console
// one when none was ever created), by id.
func (s *subscriptions) current(ctx context.Context) (map[string]events.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	out := map[string]events.Subscription{}
	if len(s.entries) == 0 {
		out[ConsoleSubscriptionID] = consoleDefault()
		return out, nil
	}
	for _, e := range s.entries {
		if e.removed == 0 {
			out[e.sub.ID] = e.sub
		}
	}
	return out, nil
}

// byID returns a subscription by id, removed ones included (their pending
// deliveries are dropped by the sender).
func (s *subscriptions) byID(ctx context.Context, id string) (events.Subscription, bool, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return events.Subscription{}, false, false, err
	}
	if id == ConsoleSubscriptionID {
		return consoleDefault(), true, false, nil
	}
	for _, e := range s.entries {
		if e.sub.ID == id {
			return e.sub, true, e.removed != 0, nil
		}
	}
	return events.Subscription{}, false, false, nil
}

func consoleDefault() events.Subscription {
	return events.Subscription{ID: ConsoleSubscriptionID, Sink: events.SinkConsole, On: []string{events.TopicAll}, Treaties: nil}
}
