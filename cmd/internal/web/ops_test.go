package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func TestHealthAndReadiness(t *testing.T) {
	e := MustEnv(t, envOptions{})
	wantStatus(t, e.Get("/healthz"), http.StatusOK)
	r := e.Get("/readyz")
	wantStatus(t, r, http.StatusOK)
	var body struct {
		Status    string `json:"status"`
		Head      int64  `json:"head"`
		Projected int64  `json:"projected"`
	}
	r.JSON(t, &body)
	if body.Status != "ready" || body.Head != e.Head() || body.Projected != e.Head() {
		t.Errorf("readyz = %+v; head %d", body, e.Head())
	}

	// A runner that has folded nothing of a long log is not ready.
	cold, err := projections.NewRunner(projections.RunnerConfig{Log: e.Store}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 120 {
		if _, _, err := e.Ledger.CreateToken(t.Context(), fmt.Sprintf("t%d", i), events.RoleViewer, events.Metadata{}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := web.New(web.Config{Ledger: e.Ledger, Log: e.Store, Runner: cold, Now: today}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "catching_up") {
		t.Errorf("cold runner: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMetrics(t *testing.T) {
	e := MustEnv(t, envOptions{})
	e.Server.Observe("sent")
	e.Server.Observe("sent")
	e.Server.Observe("dead")
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification()), http.StatusCreated)
	wantStatus(t, e.Get("/api/v1/treaties/"+hanoi+"/status"), http.StatusOK)
	wantStatus(t, e.Get("/api/v1/treaties/hanoi/status"), http.StatusOK)
	r := e.Get("/metrics")
	wantStatus(t, r, http.StatusOK)
	text := string(r.Body)
	for _, want := range []string{
		`treatywatch_events_appended_total{kind="record"} 1`,
		`treatywatch_events_appended_total{kind="import"} 0`,
		`treatywatch_notifications_total{outcome="sent"} 2`,
		`treatywatch_notifications_total{outcome="dead"} 1`,
		`treatywatch_notifications_total{outcome="retry"} 0`,
		`treatywatch_notifications_total{outcome="uncertain"} 0`,
		`treatywatch_notifications_total{outcome="confirmed"} 0`,
		`# HELP treatywatch_notifications_total Notification delivery outcomes: sent, retry, rate_limited, uncertain`,
		`treatywatch_projection_lag_events 0`,
		fmt.Sprintf("treatywatch_log_head_position %d", e.Head()),
		`treatywatch_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/treaties/{id}/status"} 2`,
		`treatywatch_http_request_duration_seconds_bucket{code="201",method="POST",route="POST /api/v1/treaties/{id}/actions",le="+Inf"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `route="/api/v1/treaties/hanoi/status"`) {
		t.Error("latency is labelled by raw path")
	}
}

func TestRunDrainsOnShutdown(t *testing.T) {
	e := MustEnv(t, envOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv, err := web.New(web.Config{Addr: addr, Ledger: e.Ledger, Log: e.Store, Runner: e.Runner, Now: today}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + addr
	var res *http.Response
	for i := 0; ; i++ {
		res, err = http.Get(base + "/healthz")
		if err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.Body.Close()

	stream, err := http.Get(base + "/api/v1/events/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v; want nil after a clean shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := io.ReadAll(stream.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream ended with %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still accepts connections")
	}
}

func TestConfigValidate(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for name, cfg := range map[string]web.Config{
		"no ledger": {Log: e.Store, Runner: e.Runner, Now: today},
		"no log":    {Ledger: e.Ledger, Runner: e.Runner, Now: today},
		"no runner": {Ledger: e.Ledger, Log: e.Store, Now: today},
		"no clock":  {Ledger: e.Ledger, Log: e.Store, Runner: e.Runner},
	} {
		if _, err := web.New(cfg, nil); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
}
