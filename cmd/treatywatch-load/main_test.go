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
	code := run(ctx, []string{"--url", hs.URL, "--token", secret, "--clients", "8", "--duration", "2s", "--db", st.Path()}, &out, &errb, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"req/s", "unexpected    0", "missing from the log afterwards: 0",
		"ledger (API log pages): ", "ledger (file " + st.Path() + "): ", "lost 0, duplicated 0, misplaced 0, refused but recorded 0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "acknowledged  0 writes") || strings.Contains(out.String(), ": 0 acknowledged writes present") {
		t.Fatalf("no write was acknowledged:\n%s", out.String())
	}
	if strings.Count(out.String(), ": ok\n") != 2 {
		t.Fatalf("both ledger checks should pass:\n%s", out.String())
	}
	if code := run(ctx, []string{"--url", "http://192.0.2.1:8080", "--token", secret}, &out, &errb, func(string) string { return "" }); code != 2 {
		t.Fatalf("a non-loopback target was accepted (exit %d)", code)
	}
	if code := run(ctx, []string{"--url", hs.URL + ",http://192.0.2.1:8080", "--token", secret}, &out, &errb, func(string) string { return "" }); code != 2 {
		t.Fatalf("a non-loopback target among several was accepted (exit %d)", code)
	}

	// Two servers on the one ledger, as two instances: the clients share
	// the load and each server's log pages are checked. (Another treaty:
	// the first run's acts are in the Hanoi Convention.)
	def2 := def
	def2.ID, def2.ShortTitle = "XVIII-99", "Second Convention"
	if _, err := l.AddTreaty(ctx, def2, events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	hs2 := httptest.NewServer(srv.Handler())
	defer hs2.Close()
	out.Reset()
	code = run(ctx, []string{"--url", hs.URL + "," + hs2.URL, "--treaty", "XVIII-99", "--token", secret, "--clients", "8", "--duration", "2s"}, &out, &errb, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("two instances: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, u := range []string{hs.URL, hs2.URL} {
		if !strings.Contains(out.String(), "ledger (API log pages of "+u+"): ") {
			t.Fatalf("two instances: no check of %s's log:\n%s", u, out.String())
		}
	}
	if strings.Count(out.String(), ": ok\n") != 2 {
		t.Fatalf("two instances: both checks should pass:\n%s", out.String())
	}
}

// TestCheckFindsLostDuplicatedAndMisplacedWrites builds a real ledger file
// in which one acknowledged write is absent, one is recorded twice, one is
// at another position than acknowledged, and one refused write is
// recorded anyway, and checks that reading the file finds each.
func TestCheckFindsLostDuplicatedAndMisplacedWrites(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := events.NewRegistry()
	const prefix = "load 0123456789ab #"
	var recs []events.Record
	day := func(n string) string { return "2026-01-1" + n }
	for _, n := range []string{"0", "1", "1", "3", "4"} { // #1 twice, #2 never, #4 refused but recorded
		act := events.Act{Action: events.Declaration, Participant: "Austria", ISO3: "AUT", Date: events.MustDate(day(n)), Note: prefix + n}
		r, err := reg.NewRecord(&act, act.Date, events.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	es, err := st.Append(ctx, events.StreamAppend{Stream: events.TreatyStream("XVIII-16"), Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	last := es[len(es)-1].Position
	writes := []*write{
		{participant: "Austria", date: day("0"), note: prefix + "0", outcome: acked, position: es[0].Position}, // found
		{participant: "Austria", date: day("1"), note: prefix + "1", outcome: acked, position: es[1].Position}, // duplicated
		{participant: "Austria", date: day("2"), note: prefix + "2", outcome: acked, position: last + 1},       // lost
		{participant: "Austria", date: day("3"), note: prefix + "3", outcome: acked, position: last},           // misplaced
		{participant: "Austria", date: day("4"), note: prefix + "4", outcome: refused},                         // refused, recorded
		{participant: "Austria", date: day("5"), note: prefix + "5", outcome: unanswered},                      // unanswered, absent
	}
	found, err := logFromFile(ctx, st.Path(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	c := check("file", writes, found)
	want := ledgerCheck{source: "file", found: 1, lost: 1, duplicated: 1, misplaced: 1, refusedRecorded: 1, unanswered: 1}
	c.first = ""
	if c != want {
		t.Fatalf("check found %+v, want %+v", c, want)
	}
	if c.ok() {
		t.Fatal("a check with lost, duplicated and misplaced writes passed")
	}
}
