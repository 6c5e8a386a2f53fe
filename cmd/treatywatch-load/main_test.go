package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
)

// TestDriveAgainstARealServer runs the load driver briefly against a real
// server on a loopback port and checks its report: requests served, no
// unexpected answers, every acknowledged write in the log.
func TestDriveAgainstARealServer(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: st, PollInterval: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
	l, err := events.NewLedger(st, events.LedgerConfig{Now: now, OnAppend: runner.Wake})
	if err != nil {
		t.Fatal(err)
	}
	def := events.Definition{ID: "XVIII-16", Title: "United Nations Convention against Cybercrime", ShortTitle: "Hanoi Convention",
		Adopted: events.MustDate("2024-12-24"), RequiresSignature: true,
		EntryIntoForce: events.Rule{Instruments: 40, Delay: events.Period{N: 90, Unit: events.Days}}}
	if _, err := l.AddTreaty(ctx, def, events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := l.CreateToken(ctx, "load", events.RoleOfficer, events.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = runner.Run(runCtx) }()
	srv, err := web.New(web.Config{Ledger: l, Log: st, Runner: runner, Now: now, OnAppend: runner.Wake}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	var out, errb bytes.Buffer
	code := run(ctx, []string{"--url", hs.URL, "--token", secret, "--clients", "8", "--duration", "2s"}, &out, &errb, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"req/s", "unexpected    0", "missing from the log afterwards: 0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "acknowledged  0 writes") {
		t.Fatalf("no write was acknowledged:\n%s", out.String())
	}
	if code := run(ctx, []string{"--url", "http://192.0.2.1:8080", "--token", secret}, &out, &errb, func(string) string { return "" }); code != 2 {
		t.Fatalf("a non-loopback target was accepted (exit %d)", code)
	}
}
