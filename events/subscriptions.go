package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// Subscription says who hears about which treaties, where, and when. It
// is what the log stores: never the sink's secrets (see SinkSecret).
type Subscription struct {
	ID          string   `json:"id"`
	Sink        string   `json:"sink"`
	Channel     string   `json:"channel,omitempty"`
	Treaties    []string `json:"treaties"`
	Participant string   `json:"participant,omitempty"`
	On          []string `json:"on"`
	// Digest is a cron spec (5 fields, or a descriptor like @daily); empty
	// means no digest. TZ is the IANA zone it runs in.
	Digest string `json:"digest,omitempty"`
	TZ     string `json:"tz,omitempty"`
	// Endpoint is where a webhook sink posts, without the parts of its
	// URL that are secret: the scheme and host ("https://hooks.slack.com/…").
	Endpoint string `json:"endpoint,omitempty"`
	// SecretFingerprint identifies the sink's secrets without revealing
	// them (see SinkSecret.Fingerprint); empty for sinks without any.
	SecretFingerprint string `json:"secret_fingerprint,omitempty"`
	// LegacySecretsInLog is set on subscriptions recorded by treatywatch
	// before 0.2, whose event payload holds the webhook URL and HMAC
	// secret in plain text: rotate them (README, "Sink secrets").
	LegacySecretsInLog bool `json:"legacy_secrets_in_log,omitempty"`
}

// SinkSecret is what a webhook sink needs that must never enter the log:
// the URL (a Slack incoming webhook's URL is its credential) and the
// HMAC secret that signs generic webhook deliveries. The ledger keeps it in
// a SecretStore, keyed by subscription id, and deletes it with the
// subscription.
type SinkSecret struct {
	URL    string
	Secret string
}

// IsZero reports whether s holds no secret.
func (s SinkSecret) IsZero() bool { return s.URL == "" && s.Secret == "" }

// Fingerprint returns "sha256:" and the first 16 hexadecimal digits of the
// SHA-256 of the URL and the secret: enough to tell two sinks apart or
// check one against a copy, nothing to recover either from.
func (s SinkSecret) Fingerprint() string {
	if s.IsZero() {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(s.URL))
	h.Write([]byte{0})
	h.Write([]byte(s.Secret))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// TargetFingerprint identifies where a sink posts (its URL alone): two
// subscriptions with the same target fingerprint post to the same place.
func (s SinkSecret) TargetFingerprint() string {
	if s.URL == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s.URL))
	return "sha256:" + hex.EncodeToString(sum[:])[:16]
}

// RedactURL returns the scheme and host of a URL and "/…" for the rest,
// which may be a credential; "(url redacted)" when it has no host.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url redacted)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// SecretStore keeps sink secrets outside the log, for the notifier to
// read. The events/sqlite Store implements it (encrypted at rest).
// Implementations must be safe for concurrent use.
type SecretStore interface {
	// PutSinkSecret stores the secret of a subscription, replacing any.
	PutSinkSecret(ctx context.Context, subscription string, s SinkSecret) error
	// SinkSecret returns a subscription's secret, or an error wrapping
	// ErrNotFound when there is none.
	SinkSecret(ctx context.Context, subscription string) (SinkSecret, error)
	// DeleteSinkSecret removes a subscription's secret; removing one that
	// does not exist is not an error.
	DeleteSinkSecret(ctx context.Context, subscription string) error
	// SinkSecretIDs returns the ids of the subscriptions with a stored
	// secret, sorted.
	SinkSecretIDs(ctx context.Context) ([]string, error)
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
// package can judge, and the secret it comes with (the digest's cron
// spec is checked by the Ledger's ValidateSchedule). It normalises topics
// and treaty ids in place.
func ValidateSubscription(s *Subscription, secret SinkSecret, known []string) error {
	for _, f := range []struct{ name, value string }{
		{"sink", s.Sink}, {"channel", s.Channel}, {"participant", s.Participant}, {"digest", s.Digest}, {"tz", s.TZ},
		{"url", secret.URL}, {"secret", secret.Secret},
	} {
		if err := CheckText(f.name, f.value, LineText); err != nil {
			return err
		}
	}
	for _, t := range s.Treaties {
		if err := CheckTreatyID("treaty", t); err != nil {
			return err
		}
	}
	if s.Sink == SinkSlack && !slackChannel(s.Channel) && s.Channel != "" {
		return &InvalidError{Field: "channel", Reason: fmt.Sprintf("%q is not a Slack channel: want an id like C0123456789 (or G…, D…) or #name in lower case with letters, digits, - and _", s.Channel)}
	}
	switch s.Sink {
	case SinkSlack:
		if s.Channel == "" {
			return &InvalidError{Field: "channel", Reason: "the slack sink needs --channel (a channel id like C0123456789 or #name)"}
		}
		if !secret.IsZero() {
			return &InvalidError{Field: "url", Reason: "the slack sink posts with the bot token to --channel; it takes no --url or --secret"}
		}
	case SinkSlackWebhook, SinkWebhook:
		u, err := url.Parse(secret.URL)
		if secret.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return &InvalidError{Field: "url", Reason: fmt.Sprintf("the %s sink needs --url with an http(s) URL, got %s", s.Sink, describeURL(secret.URL))}
		}
		if s.Channel != "" {
			return &InvalidError{Field: "channel", Reason: fmt.Sprintf("the %s sink posts to its --url; it takes no --channel", s.Sink)}
		}
		if s.Sink == SinkSlackWebhook && secret.Secret != "" {
			return &InvalidError{Field: "secret", Reason: "a Slack incoming webhook is not signed; --secret is for the webhook sink"}
		}
	case SinkConsole:
		if !secret.IsZero() || s.Channel != "" {
			return &InvalidError{Field: "sink", Reason: "the console sink prints on the notifier's standard output; it takes no --channel, --url or --secret"}
		}
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

// slackChannel reports whether c looks like a Slack conversation id
// (C, G or D and upper-case letters and digits) or a #channel-name.
func slackChannel(c string) bool {
	if len(c) > 80 {
		return false
	}
	if strings.HasPrefix(c, "#") {
		name := c[1:]
		if name == "" {
			return false
		}
		for _, r := range name {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.' {
				return false
			}
		}
		return true
	}
	if len(c) < 2 || !strings.ContainsRune("CGD", rune(c[0])) {
		return false
	}
	for _, r := range c {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// describeURL names a URL in an error without its secret parts.
func describeURL(raw string) string {
	if raw == "" {
		return "none"
	}
	return fmt.Sprintf("%q", RedactURL(raw))
}

// DuplicateSubscriptionError: an identical subscription is active. It
// wraps ErrDuplicate.
type DuplicateSubscriptionError struct {
	ID string
}

func (e *DuplicateSubscriptionError) Error() string {
	return "already subscribed as " + e.ID + " (same sink, target, treaties, participant, topics and digest)"
}

// Unwrap returns ErrDuplicate.
func (e *DuplicateSubscriptionError) Unwrap() error { return ErrDuplicate }

// sameSubscription reports whether a and b ask for the same messages at
// the same place (their ids and secrets' signing keys aside).
func sameSubscription(a Subscription, aURL string, b Subscription, bURL string) bool {
	set := func(xs []string) string {
		c := slices.Clone(xs)
		if slices.Contains(c, TopicAll) {
			c = []string{TopicAll}
		}
		slices.Sort(c)
		return strings.Join(slices.Compact(c), ",")
	}
	return a.Sink == b.Sink && a.Channel == b.Channel && aURL == bURL && set(a.Treaties) == set(b.Treaties) &&
		a.Participant == b.Participant && set(a.On) == set(b.On) && a.Digest == b.Digest && a.TZ == b.TZ
}

// Subscribe records a new subscription after validating it and its sink
// secret, which goes to the SecretStore, never into the log: the event
// keeps the subscription id, the endpoint's scheme and host and the
// secret's fingerprint. An identical active subscription is refused with
// a *DuplicateSubscriptionError. It returns the stored event.
func (l *Ledger) Subscribe(ctx context.Context, s Subscription, secret SinkSecret, meta Metadata) (*Envelope, error) {
	if s.Endpoint != "" || s.SecretFingerprint != "" || s.LegacySecretsInLog {
		return nil, &InvalidError{Field: "subscription", Reason: "endpoint and fingerprint are set by the ledger"}
	}
	defs, err := l.Treaties(ctx)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, d := range defs {
		known = append(known, d.ID)
	}
	s.Treaties = slices.Clone(s.Treaties)
	for i, t := range s.Treaties {
		if id, err := l.ResolveTreaty(ctx, t); err == nil {
			s.Treaties[i] = id
		}
	}
	s.On = slices.Clone(s.On)
	if err := ValidateSubscription(&s, secret, known); err != nil {
		return nil, err
	}
	if s.Digest != "" {
		if l.cfg.ValidateSchedule == nil {
			return nil, &InvalidError{Field: "digest", Reason: "this ledger cannot check digest schedules (no ValidateSchedule configured)"}
		}
		if err := l.cfg.ValidateSchedule(s.Digest, s.TZ); err != nil {
			return nil, err
		}
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
	if l.cfg.ValidateSink != nil {
		if err := l.cfg.ValidateSink(s, secret); err != nil {
			return nil, err
		}
	}
	if !secret.IsZero() && l.cfg.Secrets == nil {
		return nil, &InvalidError{Field: "url", Reason: "this ledger has no secret store for webhook URLs and secrets"}
	}

	l.subMu.Lock()
	defer l.subMu.Unlock()
	active, err := l.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range active {
		var aURL string
		if a.Endpoint != "" && l.cfg.Secrets != nil {
			as, err := l.cfg.Secrets.SinkSecret(ctx, a.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			aURL = as.URL
		}
		if sameSubscription(a, aURL, s, secret.URL) {
			return nil, &DuplicateSubscriptionError{ID: a.ID}
		}
	}
	if s.ID == "" {
		s.ID = l.cfg.NewID()[:12]
	}
	if !secret.IsZero() {
		s.Endpoint = RedactURL(secret.URL)
		s.SecretFingerprint = secret.Fingerprint()
		if err := l.cfg.Secrets.PutSinkSecret(ctx, s.ID, secret); err != nil {
			return nil, fmt.Errorf("subscribe: keep the sink secret: %w", err)
		}
	}
	e, err := l.appendOne(ctx, SubscriptionStream(s.ID), 0, &SubscriptionCreated{Subscription: s}, Date{}, l.meta(meta))
	if err != nil && !secret.IsZero() {
		// Nothing refers to the secret: remove it. Should this fail too,
		// SweepSinkSecrets removes it later.
		_ = l.cfg.Secrets.DeleteSinkSecret(context.WithoutCancel(ctx), s.ID)
	}
	return e, err
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
	e, err := l.appendOne(ctx, SubscriptionStream(id), evs[len(evs)-1].Version, &SubscriptionRemoved{ID: id}, Date{}, l.meta(meta))
	if err != nil {
		return nil, err
	}
	if l.cfg.Secrets != nil {
		if err := l.cfg.Secrets.DeleteSinkSecret(ctx, id); err != nil {
			return e, fmt.Errorf("unsubscribed %s at position %d, but its sink secret is still stored (SweepSinkSecrets removes it): %w", id, e.Position, err)
		}
	}
	return e, nil
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

// upcastSubscriptionCreated turns a subscription.created payload of
// schema version 1, which held the sink's URL and HMAC secret, into
// version 2: the secrets leave the payload, replaced by the endpoint's
// scheme and host, their fingerprint and LegacySecretsInLog. (The stored
// event is immutable and keeps them: AdoptLegacySinkSecrets copies them
// to the SecretStore so the sink keeps working; README says how to rotate
// them.)
func upcastSubscriptionCreated(from int, payload json.RawMessage) (json.RawMessage, error) {
	if from != 1 {
		return nil, fmt.Errorf("no upcaster from schema version %d", from)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return nil, err
	}
	var sub map[string]json.RawMessage
	if err := json.Unmarshal(top["subscription"], &sub); err != nil {
		return nil, err
	}
	secret, err := legacySecretOf(sub)
	if err != nil {
		return nil, err
	}
	delete(sub, "url")
	delete(sub, "secret")
	if !secret.IsZero() {
		for k, v := range map[string]any{"endpoint": RedactURL(secret.URL), "secret_fingerprint": secret.Fingerprint(), "legacy_secrets_in_log": true} {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			sub[k] = b
		}
	}
	b, err := json.Marshal(sub)
	if err != nil {
		return nil, err
	}
	top["subscription"] = b
	return json.Marshal(top)
}

// legacySecretOf reads the url and secret fields of a version-1
// subscription object.
func legacySecretOf(sub map[string]json.RawMessage) (SinkSecret, error) {
	var s SinkSecret
	for k, dst := range map[string]*string{"url": &s.URL, "secret": &s.Secret} {
		if raw, ok := sub[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return SinkSecret{}, fmt.Errorf("subscription.%s: %w", k, err)
			}
		}
	}
	return s, nil
}

// legacySinkSecret returns the secret a version-1 subscription.created
// event holds in its payload, or the zero SinkSecret.
func legacySinkSecret(e Envelope) (SinkSecret, error) {
	if e.Type != TypeSubscriptionCreated || e.SchemaVersion != 1 {
		return SinkSecret{}, nil
	}
	var top struct {
		Subscription map[string]json.RawMessage `json:"subscription"`
	}
	if err := json.Unmarshal(e.Payload, &top); err != nil {
		return SinkSecret{}, fmt.Errorf("position %d: %w", e.Position, err)
	}
	return legacySecretOf(top.Subscription)
}

// Redact returns e as it may be shown or exported: an event written by an
// earlier version with a secret in its payload (a version-1
// subscription.created) comes back with its payload upcast, which drops
// the secret and marks legacy_secrets_in_log. Other events come back
// unchanged. Every reader that shows payloads (the log command, the API,
// exports) goes through it.
//
// A token's hash (of a 256-bit random secret, so it reveals nothing) is
// dropped too: readers of the log have no use for it.
func Redact(e Envelope) Envelope {
	switch {
	case e.Type == TypeSubscriptionCreated && e.SchemaVersion == 1:
		p, err := upcastSubscriptionCreated(1, e.Payload)
		if err != nil {
			p = json.RawMessage(`{"redacted":"unreadable subscription payload"}`)
		}
		e.Payload = p
	case e.Type == TypeTokenCreated:
		var top map[string]map[string]json.RawMessage
		if err := json.Unmarshal(e.Payload, &top); err != nil {
			e.Payload = json.RawMessage(`{"redacted":"unreadable token payload"}`)
			return e
		}
		delete(top["token"], "hash")
		if p, err := json.Marshal(top); err == nil {
			e.Payload = p
		}
	}
	return e
}

// AdoptLegacySinkSecrets copies the sink secrets that active subscriptions
// recorded by earlier versions hold in their (immutable) events into the
// SecretStore, where the notifier reads them, unless one is stored
// already. It returns the ids of the subscriptions whose secrets are
// still in the log: rotate those (README).
func (l *Ledger) AdoptLegacySinkSecrets(ctx context.Context) ([]string, error) {
	if l.cfg.Secrets == nil {
		return nil, nil
	}
	streams, err := l.store.Streams(ctx, subscriptionStreamPrefix)
	if err != nil {
		return nil, err
	}
	var legacy []string
	for _, st := range streams {
		evs, err := l.store.ReadStream(ctx, st)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 || evs[len(evs)-1].Type != TypeSubscriptionCreated {
			continue // removed, or nothing
		}
		secret, err := legacySinkSecret(evs[len(evs)-1])
		if err != nil || secret.IsZero() {
			if err != nil {
				return nil, err
			}
			continue
		}
		id := strings.TrimPrefix(st, subscriptionStreamPrefix)
		legacy = append(legacy, id)
		if _, err := l.cfg.Secrets.SinkSecret(ctx, id); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err := l.cfg.Secrets.PutSinkSecret(ctx, id, secret); err != nil {
			return nil, err
		}
	}
	return legacy, nil
}

// SweepSinkSecrets deletes the stored secrets of subscriptions that are
// not active (removed, or never recorded because the process stopped
// between storing the secret and appending the event). It returns how
// many it deleted.
func (l *Ledger) SweepSinkSecrets(ctx context.Context) (int, error) {
	if l.cfg.Secrets == nil {
		return 0, nil
	}
	l.subMu.Lock()
	defer l.subMu.Unlock()
	ids, err := l.cfg.Secrets.SinkSecretIDs(ctx)
	if err != nil {
		return 0, err
	}
	active, err := l.Subscriptions(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if slices.ContainsFunc(active, func(s Subscription) bool { return s.ID == id }) {
			continue
		}
		if err := l.cfg.Secrets.DeleteSinkSecret(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
