package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runSubscribe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("subscribe", flag.ContinueOnError)
	sink := fs.String("sink", "", "slack | slack-webhook | webhook | console")
	channel := fs.String("channel", "", "Slack channel id or #name (sink slack)")
	url := fs.String("url", "", "webhook URL (sinks slack-webhook and webhook)")
	treaty := fs.String("treaty", "", "treaty ids or names, comma-separated")
	participant := fs.String("participant", "", "only acts of this participant")
	on := fs.String("on", "all", "deposits,signatures,milestones,countdown,protocols,corrections,all")
	digest := fs.String("digest", "", "cron spec of a digest, e.g. '0 9 * * 1' (Mondays 09:00) or @daily")
	tz := fs.String("tz", "", "time zone of the digest spec (IANA name, default UTC)")
	secretFlag := fs.String("secret", "", "HMAC secret of a webhook (default: generated and printed once)")
	actor := fs.String("actor", "", "who subscribes")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := need(fs, "sink", "treaty"); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	sub := events.Subscription{Sink: *sink, Channel: *channel, Treaties: splitList(*treaty), Participant: *participant,
		On: splitList(*on), Digest: *digest, TZ: *tz}
	secret := events.SinkSecret{URL: *url, Secret: *secretFlag}
	generated := false
	if sub.Sink == events.SinkWebhook && secret.Secret == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		secret.Secret, generated = hex.EncodeToString(b[:]), true
	}
	e, err := l.Subscribe(ctx, sub, secret, events.Metadata{Actor: m.actor(*actor)})
	if err != nil {
		return err
	}
	var created events.SubscriptionCreated
	if err := json.Unmarshal(e.Payload, &created); err != nil {
		return fmt.Errorf("decode the subscription: %w", err)
	}
	s := created.Subscription
	fmt.Fprintf(m.stdout, "subscription %s: %s %s for %s (%s) at position %d\n", s.ID, s.Sink, target(s), strings.Join(s.Treaties, ", "), strings.Join(s.On, ","), e.Position)
	if generated {
		fmt.Fprintf(m.stdout, "webhook secret (verify %s with HMAC-SHA256; shown once, stored encrypted): %s\n", notifiers.SignatureHeader, secret.Secret)
	}
	return nil
}

// target is where a subscription posts, as shown to people: the Slack
// channel, or a webhook's scheme and host and the fingerprint of its
// secrets — never its URL, which is a credential.
func target(s events.Subscription) string {
	switch {
	case s.Channel != "":
		return s.Channel
	case s.Endpoint != "":
		t := s.Endpoint + " (" + s.SecretFingerprint + ")"
		if s.LegacySecretsInLog {
			t += " [secrets in the log: rotate]"
		}
		return t
	}
	return "-"
}

func runSubscriptions(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("subscriptions", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	subs, err := l.Subscriptions(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if subs == nil {
			subs = []events.Subscription{}
		}
		return json.NewEncoder(m.stdout).Encode(subs)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSINK\tTARGET\tTREATIES\tPARTICIPANT\tON\tDIGEST")
	for _, s := range subs {
		dg := s.Digest
		if dg != "" && s.TZ != "" {
			dg += " (" + s.TZ + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Sink, target(s), strings.Join(s.Treaties, ","), orDash(s.Participant), strings.Join(s.On, ","), orDash(dg))
	}
	if len(subs) == 0 {
		fmt.Fprintln(tw, "(none: notifications go to the console of `treatywatch notify run` / `serve`)")
	}
	return tw.Flush()
}

func runUnsubscribe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("unsubscribe", flag.ContinueOnError)
	actor := fs.String("actor", "", "who unsubscribes")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("unsubscribe: want exactly one subscription ID")
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	e, err := l.Unsubscribe(ctx, pos[0], events.Metadata{Actor: m.actor(*actor)})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "subscription %s removed at position %d\n", pos[0], e.Position)
	return nil
}
