package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
	"github.com/treatywatch/treatywatch/projections"
)

// stage is one component of the service with its own lifetime.
type stage struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

func startStage(parent context.Context, name string, run func(context.Context) error, m *Main) *stage {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	s := &stage{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := run(ctx); err != nil {
			m.logger.Error("component stopped with an error", "component", name, "err", err)
		}
	}()
	return s
}

func (s *stage) stop() {
	s.cancel()
	<-s.done
}

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "HOST:PORT to listen on")
	private := fs.Bool("private", false, "reads need a viewer token too")
	noSeed := fs.Bool("no-seed", false, "do not load the shipped seed into an empty ledger")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	if !*noSeed {
		if n, err := loadSeed(ctx, l); err != nil {
			return err
		} else if n > 0 {
			m.logger.Info("seed loaded", "events", n)
		}
	}
	// Appends made by this process wake the notifier at once; appends by
	// other processes (the CLI) are found within the poll interval.
	bell := pubsub.NewBell()
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: m.store, DB: m.store, PollInterval: 250 * time.Millisecond}, m.logger)
	if err != nil {
		return err
	}
	wake := func() { bell.Ring(); runner.Wake() }
	if m.ledger, err = events.NewLedger(m.store, m.ledgerConfig(wake)); err != nil {
		return err
	}
	if _, err := runner.CatchUp(ctx); err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	var srv *web.Server
	observe := func(outcome string) {
		if srv != nil {
			srv.Observe(outcome)
		}
	}
	n, err := m.newNotifier(ctx, bell, observe)
	if err != nil {
		return err
	}
	srv, err = web.New(web.Config{Addr: *addr, Ledger: m.ledger, Log: m.store, Runner: runner, Outbox: notifiers.NewOutbox(m.store), Private: *private,
		SlackSigningSecret: m.getenv("SLACK_SIGNING_SECRET"), Now: m.now, OnAppend: wake,
		Idempotency: web.NewSQLIdempotency(m.store, 24*time.Hour, time.Now)}, m.logger)
	if err != nil {
		return err
	}

	// Start in order — projections, notifier (sender, router), scheduler,
	// HTTP — and stop in reverse when the signal context ends.
	stages := []*stage{
		startStage(ctx, "projections", runner.Run, m),
		startStage(ctx, "sender", n.sender.Run, m),
		startStage(ctx, "router", n.router.Run, m),
		startStage(ctx, "scheduler", n.sched.Run, m),
		startStage(ctx, "http", srv.Run, m),
	}
	fmt.Fprintf(m.stderr, "treatywatch: serving http://%s (ledger %s); Ctrl-C to stop\n", *addr, m.dbPath)
	<-ctx.Done()
	m.logger.Info("shutting down")
	var once sync.Once
	for i := len(stages) - 1; i >= 0; i-- {
		stages[i].stop()
		if stages[i].name == "router" {
			once.Do(func() { _ = n.sub.Close() })
		}
	}
	fmt.Fprintln(m.stderr, "treatywatch: stopped")
	return nil
}
