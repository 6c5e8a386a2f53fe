package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
	"github.com/treatywatch/treatywatch/projections"
)

// notifierConsumerGroup is the watermill consumer group whose offset the
// notifier router commits.
const notifierConsumerGroup = "notifier"

// sinks builds the sinks from the environment: Slack's Web API when
// SLACK_BOT_TOKEN is set (SLACK_API_URL overrides its base URL), and
// always the Slack incoming webhook, the signed JSON webhook and the
// console.
func (m *Main) sinks() map[string]notifiers.Sink {
	client := &http.Client{Timeout: notifiers.DefaultTimeout}
	s := map[string]notifiers.Sink{
		events.SinkSlackWebhook: notifiers.NewSlackWebhook(client, m.store),
		events.SinkWebhook:      notifiers.NewWebhook(client, m.store),
		events.SinkConsole:      notifiers.NewConsole(m.stdout),
	}
	if token := m.getenv("SLACK_BOT_TOKEN"); token != "" {
		s[events.SinkSlack] = notifiers.NewSlack(notifiers.NewSlackClient(token, m.getenv("SLACK_API_URL"), notifiers.DefaultTimeout))
	}
	return s
}

// notifier is the router, the sender and the scheduler, wired on one ledger.
type notifier struct {
	router *notifiers.Router
	sender *notifiers.Sender
	sched  *notifiers.Scheduler
	// sub is the router's input, the ledger's log (logSubscriber).
	sub message.Subscriber
	// runner is the read side the router and the scheduler take
	// transitions and statuses from; own when the notifier made it (and
	// so runs it).
	runner *projections.Runner
	own    bool
	// announce runs, on a store whose instances announce their
	// deliveries to each other, the announcements and the listening of
	// deliveryWake; nil otherwise.
	announce func(context.Context) error
}

// newNotifier wires the notifier on the ledger, with the process's read
// side; with a nil runner it makes its own (notify run, preview).
func (m *Main) newNotifier(ctx context.Context, observe func(string), runner *projections.Runner) (*notifier, error) {
	l, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	own := runner == nil
	if own {
		if runner, err = projections.NewRunner(projections.RunnerConfig{Log: m.store, PollInterval: 250 * time.Millisecond}, m.logger); err != nil {
			return nil, err
		}
		if err := runner.Start(ctx); err != nil {
			return nil, err
		}
	}
	legacy, err := l.AdoptLegacySinkSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("sink secrets: %w", err)
	}
	if len(legacy) > 0 {
		m.logger.Warn("subscriptions recorded by an earlier version hold their webhook URL and secret in the immutable log: rotate them (README, \"Sink secrets\")", "subscriptions", legacy)
	}
	if swept, err := l.SweepSinkSecrets(ctx); err != nil {
		return nil, fmt.Errorf("sink secrets: %w", err)
	} else if swept > 0 {
		m.logger.Info("removed the stored secrets of subscriptions that no longer exist", "count", swept)
	}
	wlog := watermill.NewSlogLogger(m.logger)
	sub, err := m.logSubscriber(runner, wlog)
	if err != nil {
		return nil, err
	}
	n := &notifier{sub: sub, runner: runner, own: own}
	// TREATYWATCH_CHANNEL_INTERVAL overrides the pacing of one message per
	// second per channel (for tests against a local fake Slack).
	var perChannel time.Duration
	if v := m.getenv("TREATYWATCH_CHANNEL_INTERVAL"); v != "" {
		if perChannel, err = time.ParseDuration(v); err != nil {
			return nil, usagef("TREATYWATCH_CHANNEL_INTERVAL=%q: %v", v, err)
		}
	}
	n.sender, err = notifiers.NewSender(notifiers.SenderConfig{Store: m.store, Log: m.store, Sinks: m.sinks(), Now: time.Now, Observe: observe,
		PerChannel: perChannel, AfterSend: m.afterSend}, m.logger)
	if err != nil {
		return nil, err
	}
	enqueued, announce := m.deliveryWake(n.sender.Wake)
	n.announce = announce
	n.sched, err = notifiers.NewScheduler(notifiers.SchedulerConfig{Log: m.store, Store: m.store, Read: runner, Now: time.Now, OnEnqueued: enqueued}, m.logger)
	if err != nil {
		return nil, err
	}
	n.router, err = notifiers.NewRouter(notifiers.RouterConfig{Log: m.store, Store: m.store, Read: runner, Subscriber: sub, Topic: pubsub.LogTopic, Now: time.Now,
		OnEnqueued: enqueued, OnSubscriptionsChanged: func() { n.sender.SubscriptionsChanged(); n.sched.SubscriptionsChanged() }}, m.logger)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// logSubscriber returns the router's input, the ledger's log in the
// notifier's consumer group, as the messages pubsub.LogMessage makes of
// its events. On PostgreSQL it is a watermill-sql v4 Subscriber that reads
// the events table itself (postgres.NewLogSubscriber): the routers of all
// instances on the database share the group, each event handled by one
// of them, once, and the group's offset is the row of log_offsets they
// lock in turn. On SQLite it is pubsub.Subscriber (one process per file:
// the offset and claim in watermill_offsets). Either way the read side is
// the wake-up: the subscription reads the log when the runner has followed
// it further (on PostgreSQL the runner hears of other instances' appends
// through LISTEN/NOTIFY).
func (m *Main) logSubscriber(runner *projections.Runner, wlog watermill.LoggerAdapter) (message.Subscriber, error) {
	if pg, ok := m.store.(*postgres.Store); ok {
		return postgres.NewLogSubscriber(pg, postgres.LogSubscriberConfig{
			Topic:         pubsub.LogTopic,
			ConsumerGroup: notifierConsumerGroup,
			Message:       pubsub.LogMessage,
			Wake:          runner.Changed,
			PollInterval:  250 * time.Millisecond,
			// A batch is read, and its events acknowledged, in one
			// transaction: 16 route a backlog ~3x faster than 1 (the
			// group's row is locked and moved once per batch); a crash
			// delivers the unacknowledged rest again, which adds no
			// delivery (UNIQUE(subscription, dedup_key)).
			BatchSize: 16,
		}, wlog)
	}
	return pubsub.NewSubscriber(m.store, pubsub.SubscriberConfig{ConsumerGroup: notifierConsumerGroup, Changed: runner.Changed}, wlog)
}

// deliveryAnnouncer is a store whose instances tell each other of the
// deliveries they write (events/postgres: LISTEN/NOTIFY on one database).
type deliveryAnnouncer interface {
	AnnounceDeliveries(ctx context.Context) error
	ListenDeliveries(ctx context.Context, wake func(), retry time.Duration) error
}

// deliveryWake returns what the router and the scheduler call once they
// wrote deliveries and, on a store whose instances announce their
// deliveries to each other, the run that does it. The routers of all
// instances share the log, but only the holder of the sender lease sends:
// so each instance announces its deliveries (after they commit, a burst
// as one announcement) and wakes its own sender when any instance
// announces some. The sender polls the outbox as well (every 500 ms), so
// an announcement lost changes only how soon a delivery is sent. On
// SQLite the wake-up is wake itself and the run nil.
func (m *Main) deliveryWake(wake func()) (func(), func(context.Context) error) {
	st, ok := m.store.(deliveryAnnouncer)
	if !ok {
		return wake, nil
	}
	return m.announcing(wake, st.AnnounceDeliveries, st.ListenDeliveries,
		"cannot announce deliveries to the other instances; the sender finds them by polling")
}

// Run runs the sender, the scheduler and the router until ctx ends, then
// closes the subscriber.
func (n *notifier) Run(ctx context.Context) error {
	runs := []func(context.Context) error{n.sender.Run, n.sched.Run, n.router.Run}
	if n.own {
		runs = append(runs, n.runner.Run)
	}
	if n.announce != nil {
		runs = append(runs, n.announce)
	}
	err := runAll(ctx, runs...)
	return errors.Join(err, n.sub.Close())
}

// runAll runs each function in its own goroutine until all have returned
// and returns their errors joined — but for the cancellation of ctx,
// which a function returns when it stopped as asked (a read or a write
// in flight when ctx ended, say).
func runAll(ctx context.Context, runs ...func(context.Context) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i, run := range runs {
		wg.Go(func() { errs[i] = run(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			errs[i] = nil
		}
	}
	return errors.Join(errs...)
}

func runNotify(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return usagef("notify: want a subcommand: run | dead-letters | redrive ID|--all | preview --treaty ID [--event POS]")
	}
	switch args[0] {
	case "run":
		return runNotifyRun(ctx, m, args[1:])
	case "dead-letters":
		return runDeadLetters(ctx, m, args[1:])
	case "redrive":
		return runRedrive(ctx, m, args[1:])
	case "preview":
		return runPreview(ctx, m, args[1:])
	}
	return subcommandHelp(ctx, m, "notify", runNotify, args[0])
}

func runNotifyRun(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("notify run", flag.ContinueOnError)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	n, err := m.newNotifier(ctx, nil, nil)
	if err != nil {
		return err
	}
	if m.getenv("SLACK_BOT_TOKEN") == "" {
		m.logger.Warn("SLACK_BOT_TOKEN is not set: slack subscriptions will be dead-lettered; console notifications print here")
	}
	fmt.Fprintln(m.stderr, "treatywatch: notifier running (router, sender, scheduler); Ctrl-C to stop")
	return n.Run(ctx)
}

func runDeadLetters(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("notify dead-letters", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	dls, err := notifiers.NewOutbox(m.store).DeadLetters(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if dls == nil {
			dls = []notifiers.DeadLetter{}
		}
		return json.NewEncoder(m.stdout).Encode(dls)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPOSITION\tTARGET\tWHAT\tERROR")
	for _, d := range dls {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Kind, d.Position, d.Target, d.What, d.Reason)
	}
	if len(dls) == 0 {
		fmt.Fprintln(tw, "(no dead letters)")
	}
	return tw.Flush()
}

func runRedrive(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("notify redrive", flag.ContinueOnError)
	all := fs.Bool("all", false, "redrive every dead letter")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *all && len(pos) > 0 {
		return usagef("notify redrive: --all and a dead-letter ID (%s) cannot go together: give one or the other", pos[0])
	}
	if !*all && len(pos) != 1 {
		return usagef("notify redrive: want one dead-letter ID (D<n> or E<n>) or --all")
	}
	n, err := m.newNotifier(ctx, nil, nil)
	if err != nil {
		return err
	}
	outbox := notifiers.NewOutbox(m.store)
	var positions []int64
	count := 0
	if *all {
		count, positions, err = outbox.RedriveAll(ctx, time.Now())
	} else {
		var p int64
		p, err = outbox.Redrive(ctx, pos[0], time.Now())
		if p > 0 {
			positions = append(positions, p)
		} else if err == nil {
			count = 1
		}
	}
	if err != nil {
		return err
	}
	for _, p := range positions {
		if err := n.router.Redrive(ctx, p); err != nil {
			return fmt.Errorf("redrive event %d: %w", p, err)
		}
	}
	fmt.Fprintf(m.stdout, "redriven: %d deliveries back in the queue, %d events processed again; a running notifier sends them\n", count, len(positions))
	return nil
}

func runPreview(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("notify preview", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	event := fs.Int64("event", 0, "log position of the event (default: the treaty's latest act)")
	asJSON := fs.Bool("json", false, "print the Slack Block Kit JSON instead of text")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if err := need(fs, "treaty"); err != nil {
		return err
	}
	n, err := m.newNotifier(ctx, nil, nil)
	if err != nil {
		return err
	}
	id, err := m.ledger.ResolveTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	pos := *event
	if pos == 0 {
		evs, err := m.store.ReadStream(ctx, events.TreatyStream(id))
		if err != nil {
			return err
		}
		for _, e := range evs {
			if events.IsAct(e.Type) || e.Type == events.TypeActCorrected || e.Type == events.TypeActRetracted {
				pos = e.Position
			}
		}
		if pos == 0 {
			return fmt.Errorf("treaty %s has no acts to preview: %w", id, events.ErrNotFound)
		}
	}
	notices, err := n.router.Preview(ctx, pos)
	if err != nil {
		return err
	}
	for _, nt := range notices {
		if nt.Treaty != id {
			return fmt.Errorf("position %d is not an event of treaty %s: %w", pos, id, events.ErrNotFound)
		}
		card := notifiers.CardOf(nt)
		if *asJSON {
			sm := notifiers.SlackMessage(card)
			enc := json.NewEncoder(m.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"text": sm.Text, "blocks": sm.Blocks.BlockSet}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(m.stdout, "── %s (position %s) ──\n%s\n", nt.Kind, strconv.FormatInt(pos, 10), notifiers.PlainText(card))
	}
	if len(notices) == 0 {
		fmt.Fprintf(m.stdout, "the event at position %d sends no notification\n", pos)
	}
	return nil
}
