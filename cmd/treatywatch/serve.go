package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// stage is one component of the service with its own lifetime: Run
// returns when its context ends, or earlier with the reason it failed.
type stage struct {
	name string
	run  func(context.Context) error
}

// supervise starts the stages in order, each in its own goroutine, and
// waits until ctx ends or a stage returns. Then it stops the stages that
// are still running in reverse order, each only after the ones started
// after it have returned, and calls after(name) once each has stopped.
// The first stage to return before the stop began has failed, even with
// a nil error (a component never stops on its own): supervise returns
// that failure; after an orderly stop, the errors stages returned while
// stopping, joined, but for context.Canceled: a stage that returns the
// cancellation of its context stopped as asked.
func supervise(ctx context.Context, stages []stage, after func(name string)) error {
	type exit struct {
		i   int
		err error
	}
	exits := make(chan exit, len(stages))
	cancels := make([]context.CancelFunc, len(stages))
	for i, st := range stages {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cancels[i] = cancel
		go func() { exits <- exit{i, st.run(sctx)} }()
	}
	exited := make([]bool, len(stages))
	errs := make([]error, len(stages))
	var failure error
	select {
	case <-ctx.Done():
	case e := <-exits:
		exited[e.i], errs[e.i] = true, e.err
		err := e.err
		if err == nil {
			err = errors.New("stopped on its own")
		}
		failure = fmt.Errorf("%s: %w", stages[e.i].name, err)
	}
	var stopErrs []error
	for i := len(stages) - 1; i >= 0; i-- {
		cancels[i]()
		for !exited[i] {
			e := <-exits
			exited[e.i], errs[e.i] = true, e.err
		}
		// A stage that reports the cancellation it was just given stopped
		// as asked (a read in flight when the stop came, say).
		if errs[i] != nil && failure == nil && !errors.Is(errs[i], context.Canceled) {
			stopErrs = append(stopErrs, fmt.Errorf("%s: %w", stages[i].name, errs[i]))
		}
		if after != nil {
			after(stages[i].name)
		}
	}
	if failure != nil {
		return failure
	}
	return errors.Join(stopErrs...)
}

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "HOST:PORT to listen on")
	private := fs.Bool("private", false, "reads need a viewer token too")
	noSeed := fs.Bool("no-seed", false, "do not load the shipped seed into an empty ledger")
	var watches untcWatches
	fs.Var(&watches, "watch-untc", "ID=URL@CRON-SPEC: poll a UNTC status file and record what it adds (repeatable; see watch-untc)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	// Bind the address first: one in use is reported before anything
	// starts or is written.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: cannot listen on %s: %w", *addr, err)
	}
	defer ln.Close() // the HTTP server closes it on an orderly stop
	if !*noSeed {
		// Only into an empty ledger: serve never writes into a ledger
		// that holds anything unless asked (`treatywatch seed`).
		head, err := m.store.Head(ctx)
		if err != nil {
			return err
		}
		if head == 0 {
			if n, err := seed.Load(ctx, l); err != nil {
				return err
			} else if n > 0 {
				m.logger.Info("seed loaded into the empty ledger", "events", n)
			}
		}
	}
	// Appends made by this process wake the notifier at once; appends by
	// other processes (the CLI) are found within the poll interval.
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: m.store, PollInterval: 250 * time.Millisecond}, m.logger)
	if err != nil {
		return err
	}
	// The one wake-up: the runner follows, and everyone waits on it; on
	// PostgreSQL the other instances are told too, and their appends wake
	// this runner (logWake).
	wake, announce := m.logWake(runner.Wake)
	if m.ledger, err = events.NewLedger(m.store, m.ledgerConfig(wake)); err != nil {
		return err
	}
	// The read side starts from the treaty definitions and the
	// participants: its cost grows with the number of treaties, not with
	// the length of the log.
	if err := runner.Start(ctx); err != nil {
		return err
	}
	var srv *web.Server
	observe := func(outcome string) {
		if srv != nil {
			srv.Observe(outcome)
		}
	}
	n, err := m.newNotifier(ctx, observe, runner)
	if err != nil {
		return err
	}
	srv, err = web.New(web.Config{Addr: *addr, Listener: ln, Ledger: m.ledger, Log: m.store, Runner: runner, Outbox: notifiers.NewOutbox(m.store), Private: *private,
		SlackSigningSecret: m.getenv("SLACK_SIGNING_SECRET"), Now: m.now, OnAppend: wake,
		Idempotency: web.NewDurableIdempotency(m.store, 24*time.Hour, time.Now)}, m.logger)
	if err != nil {
		return err
	}

	// Start in order — projections, notifier (sender, router), scheduler,
	// HTTP — and stop in reverse when the signal context ends or when any
	// of them fails.
	stages := []stage{{"projections", runner.Run}}
	if announce != nil {
		stages = append(stages, *announce)
	}
	if n.announce != nil {
		stages = append(stages, stage{"delivery announcements", n.announce})
	}
	stages = append(stages, []stage{
		{"sender", n.sender.Run},
		{"router", n.router.Run},
		{"scheduler", n.sched.Run},
		{"http", srv.Run},
	}...)
	watchers, err := m.untcStages(ctx, m.ledger, watches)
	if err != nil {
		return err
	}
	stages = append(stages, watchers...) // started last, stopped first
	fmt.Fprintf(m.stderr, "treatywatch: serving http://%s (ledger %s); Ctrl-C to stop\n", ln.Addr(), m.dbName())
	err = supervise(ctx, stages, func(name string) {
		if name == "router" {
			_ = n.sub.Close()
		}
	})
	if err != nil {
		m.logger.Error("a component failed; the service stopped", "err", err)
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(m.stderr, "treatywatch: stopped")
	return nil
}
