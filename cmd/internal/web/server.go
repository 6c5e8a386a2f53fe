package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/worldmap"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/projections"
)

// Request body limits.
const (
	maxJSONBody  = 1 << 20  // 1 MiB: actions, corrections, tokens
	maxYAMLBody  = 1 << 20  // 1 MiB: a treaty definition
	maxCSVBody   = 10 << 20 // 10 MiB: an import
	maxFormBody  = 1 << 20  // 1 MiB: dashboard forms
	maxSlackBody = 64 << 10 // 64 KiB: a slash command

	// maxHeaderBytes bounds a request's header block (431 above it).
	maxHeaderBytes = 64 << 10
)

// Log is the event log the server pages through for /api/v1/events and the
// live stream. *sqlite.Store satisfies it; if it also has
// Head(ctx) (int64, error), that is used for the projection lag.
type Log interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error)
}

// Config configures a Server.
type Config struct {
	// Addr is the address Run listens on; default 127.0.0.1:8080.
	Addr string
	// Listener, when set, is where Run serves instead of listening on
	// Addr: the caller bound it first, so that an address in use is
	// reported before anything starts.
	Listener net.Listener
	// Ledger records and reads the write side; required.
	Ledger *events.Ledger
	// Log is the store, read for the event log and its stream; required.
	Log Log
	// Runner supplies caught-up statuses (Status(ctx, id, asOf, knownAt))
	// and its log position for readiness and lag; required.
	Runner *projections.Runner
	// Outbox, when set, supplies delivery counts by status for /metrics.
	Outbox *notifiers.Outbox
	// Private makes every read need a token of role viewer or above (API)
	// or a signed-in session (dashboard).
	Private bool
	// SlackSigningSecret verifies slash commands; when empty,
	// POST /slack/commands answers 503.
	SlackSigningSecret string
	// Now is the clock that says what "today" is (the default "as of"
	// date); required. Timeouts and expiries use the wall clock.
	Now func() time.Time
	// OnAppend is called after each successful write (to wake the
	// projection runner and the notifier); optional. After calling it, a
	// write waits up to two seconds for the runner to fold the new events,
	// so the next read sees them.
	OnAppend func()
	// Idempotency keeps the responses of writes sent with an
	// Idempotency-Key header, per token. Default: when Log is an
	// events.AnswerStore (the ledger's *sqlite.Store), a
	// DurableIdempotency on it, which keeps each write's answer in the
	// transaction of its events, for 24 hours; otherwise in memory, an
	// LRU of 10,000 responses kept 24 hours, lost on restart and not
	// written with the events.
	Idempotency IdempotencyStore
	// SlackReplays remembers the slash commands already accepted, so that
	// a signed request sent again within its five minutes is refused.
	// Default: when Log is an events.SeenRequestStore (the ledger's
	// *sqlite.Store), a DurableReplays on it, which survives a restart;
	// otherwise in memory.
	SlackReplays ReplayStore
	// ShutdownTimeout bounds how long Run drains in-flight requests when
	// its context ends; default 10 s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds how long Run waits for a request's headers
	// (a client that trickles them is cut off); default 5 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds how long Run waits for a whole request, body
	// included (a body that does not arrive in time is answered 408);
	// default 60 s.
	ReadTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.Idempotency == nil {
		if as, ok := c.Log.(events.AnswerStore); ok {
			c.Idempotency = NewDurableIdempotency(as, 24*time.Hour, time.Now)
		} else {
			c.Idempotency = newMemoryIdempotency(10_000, 24*time.Hour, time.Now)
		}
	}
	if c.SlackReplays == nil {
		if ss, ok := c.Log.(events.SeenRequestStore); ok {
			c.SlackReplays = NewDurableReplays(ss, time.Now)
		} else {
			c.SlackReplays = newMemoryReplays(time.Now)
		}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Ledger == nil:
		return errors.New("web: Config.Ledger is required")
	case c.Log == nil:
		return errors.New("web: Config.Log is required")
	case c.Runner == nil:
		return errors.New("web: Config.Runner is required")
	case c.Now == nil:
		return errors.New("web: Config.Now is required")
	}
	return nil
}

// Server serves the API, the dashboard and the operational endpoints. It
// is safe for concurrent use; Run may be called once.
type Server struct {
	cfg    Config
	logger *slog.Logger
	clock  func() time.Time // wall clock, for expiries

	routes   []route
	handler  http.Handler
	tokens   *tokenCache
	sessions *sessionStore
	locks    *keyedMutex
	metrics  *metrics
	pages    map[string]*template.Template
	bodies   bodyCache // encoded answers, per treaty and date (respcache.go)
	maps     *worldmap.Renderer

	closing   chan struct{} // closed when shutdown starts: ends live streams
	closeOnce sync.Once
}

// New returns a Server. A nil logger means no logging.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		logger:  logger,
		clock:   time.Now,
		locks:   newKeyedMutex(),
		closing: make(chan struct{}),
	}
	s.tokens = newTokenCache(cfg.Ledger, 2*time.Second, s.clock)
	s.sessions = newSessionStore(10_000, 12*time.Hour, 2*time.Hour, s.clock)
	s.metrics = newMetrics(s)
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	s.pages = pages
	if s.maps, err = worldmap.New(); err != nil {
		return nil, fmt.Errorf("web: world map: %w", err)
	}
	s.routes = s.routeTable()
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.handler = s.observe(mux)
	return s, nil
}

// Handler returns the server's handler: every route, with request logs,
// metrics, security headers and timeouts.
func (s *Server) Handler() http.Handler { return s.handler }

// Observe counts one notification outcome ("sent", "retry",
// "rate_limited", "uncertain", "confirmed", "dead"; see
// notifiers.SenderConfig.Observe) for /metrics. It is safe for
// concurrent use.
func (s *Server) Observe(outcome string) {
	s.metrics.notifications.WithLabelValues(outcome).Inc()
}

// Run listens on Config.Addr and serves until ctx ends, then stops
// accepting connections, ends live event streams and waits up to
// Config.ShutdownTimeout for in-flight requests. It returns nil after a
// clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	ln := s.cfg.Listener
	if ln == nil {
		var lc net.ListenConfig
		var err error
		if ln, err = lc.Listen(ctx, "tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("web: listen on %s: %w", s.cfg.Addr, err)
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      60 * time.Second, // lifted by the live stream
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(s.closeStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.logger.InfoContext(ctx, "http server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.closeStreams()
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("http server shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("web: serve: %w", serr)
	}
	s.logger.Info("http server stopped")
	return nil
}

func (s *Server) closeStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// today is the default "as of" date.
func (s *Server) today() events.Date { return s.cfg.Ledger.Today() }

// afterWrite runs after a successful write of n events ending at position
// last: it counts them, wakes the runner and the live streams, and waits
// (briefly) until the runner has folded them.
func (s *Server) afterWrite(ctx context.Context, kind string, n int, last int64) {
	if n <= 0 {
		return
	}
	s.metrics.appended.WithLabelValues(kind).Add(float64(n))
	if s.cfg.OnAppend != nil {
		s.cfg.OnAppend()
	}
	s.awaitProjection(ctx, last)
}

// awaitProjection waits up to two seconds for the runner to follow the
// log to pos, so that a read right after a write sees it.
func (s *Server) awaitProjection(ctx context.Context, pos int64) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.cfg.Runner.WaitFor(ctx, pos)
}
