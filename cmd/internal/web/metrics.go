package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on a registry of its own
// (no global registry).
type metrics struct {
	reg           *prometheus.Registry
	appended      *prometheus.CounterVec
	notifications *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	handler       http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.appended = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "treatywatch_events_appended_total",
		Help: "Events appended to the ledger through the HTTP server, by kind of write.",
	}, []string{"kind"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "treatywatch_notifications_total",
		Help: "Notification delivery outcomes: sent, retry, rate_limited, uncertain (a call whose outcome is unknown; the sink is asked before sending again), confirmed (asked, the sink had it: marked sent without a new post), dead.",
	}, []string{"outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "treatywatch_http_request_duration_seconds",
		Help:    "HTTP request latency by method, route pattern and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "code"})
	for _, k := range []string{"record", "import", "correction", "retraction", "treaty", "token", "subscription"} {
		m.appended.WithLabelValues(k)
	}
	for _, o := range []string{"sent", "retry", "rate_limited", "uncertain", "confirmed", "dead"} { // each series exists from the start
		m.notifications.WithLabelValues(o)
	}
	m.reg.MustRegister(m.appended, m.notifications, m.latency, newLedgerCollector(s),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return m
}

type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.logger.Error("metrics", "err", v) }

// ledgerCollector reads the log head, the runner's position and the
// outbox's delivery counts at scrape time.
type ledgerCollector struct {
	s                                *Server
	head, projected, lag, deliveries *prometheus.Desc
}

func newLedgerCollector(s *Server) *ledgerCollector {
	return &ledgerCollector{
		s: s,
		head: prometheus.NewDesc("treatywatch_log_head_position",
			"Global position of the last event in the ledger.", nil, nil),
		projected: prometheus.NewDesc("treatywatch_projection_position",
			"Last log position folded by the projection runner.", nil, nil),
		lag: prometheus.NewDesc("treatywatch_projection_lag_events",
			"Events in the log not yet folded by the projection runner (log head − runner position).", nil, nil),
		deliveries: prometheus.NewDesc("treatywatch_notification_deliveries",
			"Notification deliveries in the outbox, by status (pending, sending, sent, dead).", []string{"status"}, nil),
	}
}

// Describe sends the descriptors of the series Collect reports.
func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.head
	ch <- c.projected
	ch <- c.lag
	ch <- c.deliveries
}

// Collect reads the current values.
func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pos := c.s.cfg.Runner.Position()
	ch <- prometheus.MustNewConstMetric(c.projected, prometheus.GaugeValue, float64(pos))
	if head, err := c.s.head(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(head))
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(max(head-pos, 0)))
	} else {
		ch <- prometheus.NewInvalidMetric(c.head, err)
	}
	if c.s.cfg.Outbox == nil {
		return
	}
	counts, err := c.s.cfg.Outbox.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.deliveries, err)
		return
	}
	for _, st := range []string{"pending", "sending", "sent", "dead"} {
		if _, ok := counts[st]; !ok {
			counts[st] = 0
		}
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(n), st)
	}
}

// head returns the log's last position: through Head when the store has
// it, else by paging from the runner's position.
func (s *Server) head(ctx context.Context) (int64, error) {
	if h, ok := s.cfg.Log.(interface {
		Head(ctx context.Context) (int64, error)
	}); ok {
		return h.Head(ctx)
	}
	after := s.cfg.Runner.Position()
	for {
		page, err := s.cfg.Log.ReadAll(ctx, after, 1000)
		if err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return after, nil
		}
		after = page[len(page)-1].Position
		if len(page) < 1000 {
			return after, nil
		}
	}
}
