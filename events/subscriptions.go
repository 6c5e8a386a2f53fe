package events

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Stable type names of subscription events, in "subscription-<id>" streams.
const (
	TypeSubscriptionCreated = "subscription.created"
	TypeSubscriptionRemoved = "subscription.removed"

	subscriptionStreamPrefix = "subscription-"
)

// SubscriptionStream returns the stream id of a subscription.
func SubscriptionStream(id string) string { return subscriptionStreamPrefix + id }

// Sinks a subscription can deliver to.
const (
	SinkSlack        = "slack"         // Slack Web API, chat.postMessage with a bot token
	SinkSlackWebhook = "slack-webhook" // a Slack incoming webhook URL
	SinkWebhook      = "webhook"       // a generic JSON webhook signed with HMAC-SHA256
	SinkConsole      = "console"       // standard output of the notifier process
)

// Topics a subscription can ask for ("--on").
const (
	TopicDeposits    = "deposits"
	TopicSignatures  = "signatures"
	TopicMilestones  = "milestones"
	TopicCountdown   = "countdown"
	TopicProtocols   = "protocols"
	TopicCorrections = "corrections"
	TopicAll         = "all"
)

// AllTopics lists the topics, "all" excluded.
func AllTopics() []string {
	return []string{TopicDeposits, TopicSignatures, TopicMilestones, TopicCountdown, TopicProtocols, TopicCorrections}
}

// Subscription says who hears about which treaties, where, and when.
type Subscription struct {
	ID          string   `json:"id"`
	Sink        string   `json:"sink"`
	Channel     string   `json:"channel,omitempty"`
	URL         string   `json:"url,omitempty"`
	Treaties    []string `json:"treaties"`
	Participant string   `json:"participant,omitempty"`
	On          []string `json:"on"`
	// Digest is a cron spec (5 fields, or a descriptor like @daily); empty
	// means no digest. TZ is the IANA zone it runs in.
	Digest string `json:"digest,omitempty"`
	TZ     string `json:"tz,omitempty"`
	// Secret signs generic webhook deliveries (HMAC-SHA256).
	Secret string `json:"secret,omitempty"`
}

// Wants reports whether the subscription asked for a topic.
func (s Subscription) Wants(topic string) bool {
	return slices.Contains(s.On, TopicAll) || slices.Contains(s.On, topic)
}

// Covers reports whether the subscription follows a treaty. An empty list
// (only the notifier's implicit console subscription has one) covers all.
func (s Subscription) Covers(treaty string) bool {
	return len(s.Treaties) == 0 || slices.Contains(s.Treaties, treaty)
}

// SubscriptionCreated records a new subscription.
type SubscriptionCreated struct {
	Subscription Subscription `json:"subscription"`
}

// EventType returns TypeSubscriptionCreated.
func (SubscriptionCreated) EventType() string { return TypeSubscriptionCreated }

// SubscriptionRemoved records that a subscription ended.
type SubscriptionRemoved struct {
	ID string `json:"id"`
}

// EventType returns TypeSubscriptionRemoved.
func (SubscriptionRemoved) EventType() string { return TypeSubscriptionRemoved }

// ValidateSubscription checks a subscription's fields that the events
// package can judge (the digest's cron spec is checked by the scheduler
// that will run it). It normalises topics and treaty ids in place.
func ValidateSubscription(s *Subscription, known []string) error {
	switch s.Sink {
	case SinkSlack:
		if s.Channel == "" {
			return &InvalidError{Field: "channel", Reason: "the slack sink needs --channel (a channel id like C0123456789 or #name)"}
		}
	case SinkSlackWebhook, SinkWebhook:
		u, err := url.Parse(s.URL)
		if s.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return &InvalidError{Field: "url", Reason: fmt.Sprintf("the %s sink needs --url with an http(s) URL, got %q", s.Sink, s.URL)}
		}
	case SinkConsole:
	default:
		return &InvalidError{Field: "sink", Reason: fmt.Sprintf("unknown sink %q (want slack, slack-webhook, webhook or console)", s.Sink)}
	}
	if len(s.Treaties) == 0 {
		return &InvalidError{Field: "treaty", Reason: "at least one treaty is required"}
	}
	for _, t := range s.Treaties {
		if !slices.Contains(known, t) {
			return &UnknownTreatyError{Treaty: t, Known: known}
		}
	}
	if len(s.On) == 0 {
		s.On = []string{TopicAll}
	}
	topics := append(AllTopics(), TopicAll)
	for i, o := range s.On {
		o = strings.ToLower(strings.TrimSpace(o))
		if !slices.Contains(topics, o) {
			return &InvalidError{Field: "on", Reason: fmt.Sprintf("unknown topic %q (want %s)", o, strings.Join(topics, ", "))}
		}
		s.On[i] = o
	}
	if s.TZ != "" {
		if _, err := time.LoadLocation(s.TZ); err != nil {
			return &InvalidError{Field: "tz", Reason: fmt.Sprintf("unknown time zone %q", s.TZ)}
		}
	}
	return nil
}

// Subscribe records a new subscription after validating it; the caller
// has already checked the digest spec. It returns the stored event.
func (l *Ledger) Subscribe(ctx context.Context, s Subscription, meta Metadata) (*Envelope, error) {
	defs, err := l.Treaties(ctx)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, d := range defs {
		known = append(known, d.ID)
	}
	for i, t := range s.Treaties {
		if id, err := l.ResolveTreaty(ctx, t); err == nil {
			s.Treaties[i] = id
		}
	}
	if err := ValidateSubscription(&s, known); err != nil {
		return nil, err
	}
	if s.Participant != "" {
		dir, err := l.Directory(ctx)
		if err != nil {
			return nil, err
		}
		p, err := dir.Resolve(s.Participant)
		if err != nil {
			return nil, err
		}
		s.Participant = p.Name
	}
	if s.ID == "" {
		s.ID = l.cfg.NewID()[:12]
	}
	return l.appendOne(ctx, SubscriptionStream(s.ID), 0, &SubscriptionCreated{Subscription: s}, Date{}, l.meta(meta))
}

// Unsubscribe ends a subscription.
func (l *Ledger) Unsubscribe(ctx context.Context, id string, meta Metadata) (*Envelope, error) {
	evs, err := l.store.ReadStream(ctx, SubscriptionStream(id))
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("no subscription %q: %w", id, ErrNotFound)
	}
	if evs[len(evs)-1].Type == TypeSubscriptionRemoved {
		return nil, &RefusedError{Participant: "subscription " + id, Reason: "was already removed"}
	}
	return l.appendOne(ctx, SubscriptionStream(id), evs[len(evs)-1].Version, &SubscriptionRemoved{ID: id}, Date{}, l.meta(meta))
}

// Subscriptions returns the active subscriptions, sorted by id.
func (l *Ledger) Subscriptions(ctx context.Context) ([]Subscription, error) {
	streams, err := l.store.Streams(ctx, subscriptionStreamPrefix)
	if err != nil {
		return nil, err
	}
	var out []Subscription
	for _, st := range streams {
		evs, err := l.store.ReadStream(ctx, st)
		if err != nil {
			return nil, err
		}
		var cur *Subscription
		for _, e := range evs {
			p, err := l.reg.Decode(e)
			if err != nil {
				return nil, err
			}
			switch v := p.(type) {
			case *SubscriptionCreated:
				s := v.Subscription
				cur = &s
			case *SubscriptionRemoved:
				cur = nil
			}
		}
		if cur != nil {
			out = append(out, *cur)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
