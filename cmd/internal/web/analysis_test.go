package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// The Paris Agreement between 1 October and 10 November 2016, through
// the API: the threshold met on 5 October 2016 and entry into force on
// 4 November 2016 (C.N.735.2016.TREATIES-XXVII.7.d).
func TestDiffAPIParisAgreement(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Get("/api/v1/treaties/paris/diff?from=2016-10-01&to=2016-11-10")
	wantStatus(t, r, http.StatusOK)
	var d projections.Diff
	r.JSON(t, &d)
	var threshold, inForce, eif bool
	for _, c := range d.Changes {
		switch {
		case c.Kind == projections.ChangeThresholdMet && c.Op == projections.Added:
			threshold = c.Date.String() == "2016-10-05"
		case c.Kind == projections.ChangeInForce && c.Op == projections.Added:
			inForce = c.Date.String() == "2016-11-04"
		case c.Kind == projections.ChangeEntryIntoForceDate:
			eif = c.ToDate != nil && c.ToDate.String() == "2016-11-04"
		}
	}
	if d.Treaty != "XXVII-7-d" || !threshold || !inForce || !eif || d.From.AsOf.String() != "2016-10-01" || d.To.AsOf.String() != "2016-11-10" {
		t.Errorf("diff: treaty %s, threshold %v, entry into force computed %v, in force %v", d.Treaty, threshold, eif, inForce)
	}
}

// A correction between two known-at moments: the TPNW's fiftieth
// instrument (Honduras, 24 October 2020) moved to a HYPOTHETICAL
// 2 November 2020.
func TestDiffAPIKnownAt(t *testing.T) {
	e := MustEnv(t, envOptions{})
	ctx := context.Background()
	h, err := e.Ledger.History(ctx, "XXVI-9", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var pos int64
	for _, f := range h.Facts() {
		if f.Participant == "Honduras" && f.Action == events.Ratification {
			pos = f.Position
		}
	}
	a := time.Now().UTC()
	if _, err := e.Ledger.Correct(ctx, events.CorrectInput{Treaty: "XXVI-9", Position: pos, Reason: "test: hypothetical date", Date: "2020-11-02"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Runner.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.Get("/api/v1/treaties/XXVI-9/diff?as_of=2021-06-01&known_at_a=" + a.Format(time.RFC3339Nano))
	wantStatus(t, r, http.StatusOK)
	var d projections.Diff
	r.JSON(t, &d)
	found := false
	for _, c := range d.Changes {
		if c.Kind == projections.ChangeEntryIntoForceDate {
			found = c.Op == projections.Changed && c.FromDate.String() == "2021-01-22" && c.ToDate.String() == "2021-01-31"
		}
	}
	if !found || d.From.KnownAt == nil || d.To.KnownAt != nil {
		t.Errorf("diff known_at_a → now: %+v; want entry into force moved from 2021-01-22 to 2021-01-31", d)
	}
}

func TestDiffAPIBadInput(t *testing.T) {
	e := MustEnv(t, envOptions{})
	head := e.Head()
	for _, c := range []struct {
		query  string
		status int
		code   string
		want   string
	}{
		{"?from=2016-13-01&to=2016-11-10", http.StatusBadRequest, "bad_request", "from: "},
		{"?from=2016-10-01&to=later", http.StatusBadRequest, "bad_request", "to: "},
		{"?as_of=2016-10-01&from=2016-10-01&to=2016-11-01", http.StatusBadRequest, "bad_request", "as_of is the date of both sides"},
		{"?known_at=2026-01-01&known_at_a=2026-01-01", http.StatusBadRequest, "bad_request", "known_at is the moment of both sides"},
		{"?known_at_a=soon", http.StatusBadRequest, "bad_request", `known_at_a "soon"`},
		{"?from=2016-11-10&to=2016-10-01", http.StatusUnprocessableEntity, "invalid", "as_of: the earlier side, 2016-11-10, is after the later side, 2016-10-01"},
		{"?known_at_a=2026-01-02T00:00:00Z&known_at_b=2026-01-01T00:00:00Z", http.StatusUnprocessableEntity, "invalid", "known_at: the earlier side"},
	} {
		r := e.Get("/api/v1/treaties/paris/diff" + c.query)
		if r.Status != c.status {
			t.Errorf("%q: status %d, want %d: %s", c.query, r.Status, c.status, r.Body)
			continue
		}
		if er := r.Err(t); er.Code != c.code || !strings.Contains(er.Message, c.want) {
			t.Errorf("%q: %+v, want code %s and %q", c.query, er, c.code, c.want)
		}
	}
	// No span: the last week up to today (2026-06-15).
	var week projections.Diff
	r := e.Get("/api/v1/treaties/paris/diff")
	wantStatus(t, r, http.StatusOK)
	r.JSON(t, &week)
	if week.From.AsOf.String() != "2026-06-08" || week.To.AsOf.String() != "2026-06-15" {
		t.Errorf("default span %s – %s, want the last week", week.From.AsOf, week.To.AsOf)
	}
	wantStatus(t, e.Get("/api/v1/treaties/no-such-treaty/diff?from=2016-10-01&to=2016-11-01"), http.StatusNotFound)
	if e.Head() != head {
		t.Error("a diff wrote to the log")
	}
}

func TestForecastAPI(t *testing.T) {
	e := MustEnv(t, envOptions{})
	var fc projections.Forecast
	r := e.Get("/api/v1/treaties/tpnw/forecast?as_of=2019-08-06")
	wantStatus(t, r, http.StatusOK)
	r.JSON(t, &fc)
	if fc.Outcome != projections.Estimated || !fc.Estimate || fc.Earliest == nil || fc.Latest == nil || fc.Method == "" || fc.Backtest == nil || fc.ModelBeatsNaive == nil {
		t.Fatalf("TPNW as of 2019-08-06: %+v", fc)
	}
	for _, ref := range fc.References {
		if ref.Treaty == "XXVI-9" {
			t.Error("the TPNW is among its own references")
		}
	}
	if *fc.ModelBeatsNaive != (fc.Backtest.Model.MedianAbsErrorDays < fc.Backtest.Naive.MedianAbsErrorDays) {
		t.Error("model_beats_naive is not the backtest's verdict")
	}
	for _, c := range []struct {
		path    string
		outcome projections.ForecastOutcome
	}{
		{"/api/v1/treaties/paris/forecast", projections.InForce},
		{"/api/v1/treaties/XXI-10/forecast?as_of=2025-10-01", projections.Pending},
		{"/api/v1/treaties/hanoi/forecast", projections.TooFew},
	} {
		var got projections.Forecast
		r := e.Get(c.path)
		wantStatus(t, r, http.StatusOK)
		r.JSON(t, &got)
		if got.Outcome != c.outcome || got.Estimate {
			t.Errorf("%s: %s (estimate %v), want %s", c.path, got.Outcome, got.Estimate, c.outcome)
		}
	}
	bad := e.Get("/api/v1/treaties/paris/forecast?as_of=2016-02-30")
	wantStatus(t, bad, http.StatusBadRequest)
	if er := bad.Err(t); !strings.Contains(er.Message, "as_of: ") {
		t.Errorf("bad as_of: %+v", er)
	}
	wantStatus(t, e.Get("/api/v1/treaties/no-such-treaty/forecast"), http.StatusNotFound)
}

// The treaty page's forecast section: an estimate labelled so, with its
// method and its backtest's verdict; the known date past the threshold;
// the reason when there is none; nothing for a treaty in force.
func TestTreatyPageForecastSection(t *testing.T) {
	e := MustEnv(t, envOptions{})
	tpnw := e.Get("/treaties/XXVI-9?as_of=2019-08-06")
	wantStatus(t, tpnw, http.StatusOK)
	contains(t, tpnw, `<h2 id="forecast-heading">Forecast</h2>`)
	contains(t, tpnw, "<strong>Estimate, not a known date:</strong> entry into force between ")
	contains(t, tpnw, "Method: time-to-threshold scaled from comparable treaties")
	contains(t, tpnw, "Backtest on 4 reference treaties")
	var fc projections.Forecast
	e.Get("/api/v1/treaties/XXVI-9/forecast?as_of=2019-08-06").JSON(t, &fc)
	if *fc.ModelBeatsNaive {
		contains(t, tpnw, "The model beat the straight line.")
	} else {
		contains(t, tpnw, "The model did NOT beat the straight line")
	}

	bbnj := e.Get("/treaties/XXI-10?as_of=2025-10-01")
	contains(t, bbnj, "enters into force on <time datetime=\"2026-01-17\">17 January 2026</time> under its clause — a known date, not an estimate")
	contains(t, e.Get("/treaties/hanoi"), "No forecast: too little to estimate from")
	if paris := e.Get("/treaties/XXVII-7-d"); strings.Contains(string(paris.Body), "forecast-heading") {
		t.Error("the Paris Agreement is in force: its page has no forecast")
	}
	past := e.Get("/treaties/XXVI-9?as_of=2019-08-06&known_at=" + time.Now().UTC().Format(time.RFC3339Nano))
	wantStatus(t, past, http.StatusOK)
	if strings.Contains(string(past.Body), "forecast-heading") {
		t.Error("a page as known at a past moment shows a forecast made with what the ledger knows now")
	}
}
