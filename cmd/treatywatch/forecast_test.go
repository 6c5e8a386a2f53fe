package main_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The TPNW as of 6 August 2019 (25 of the 50 instruments art. 15(1)
// needs): an estimate, labelled so, with its method, its references (the
// four other seeded treaties in force, never the TPNW), the straight line
// and the backtest's verdict — which the text states as the backtest has
// it, computed with the forecast.
func TestForecastCommandEstimate(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	var fc struct {
		Outcome         string  `json:"outcome"`
		Estimate        bool    `json:"estimate"`
		EntryIntoForce  *string `json:"entry_into_force"`
		Earliest        *string `json:"earliest"`
		Latest          *string `json:"latest"`
		Method          string  `json:"method"`
		ModelBeatsNaive *bool   `json:"model_beats_naive"`
		References      []struct {
			Treaty string `json:"treaty"`
		} `json:"references"`
		Backtest struct {
			Treaties []string `json:"treaties"`
			Model    struct {
				Median float64 `json:"median_abs_error_days"`
			} `json:"model"`
			Naive struct {
				Median float64 `json:"median_abs_error_days"`
			} `json:"naive"`
		} `json:"backtest"`
	}
	if err := json.Unmarshal([]byte(c.ok("forecast", "XXVI-9", "--as-of", "2019-08-06", "--json")), &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Outcome != "estimate" || !fc.Estimate || fc.EntryIntoForce == nil || fc.Earliest == nil || fc.Latest == nil || fc.Method == "" || fc.ModelBeatsNaive == nil {
		t.Fatalf("forecast --json: %+v", fc)
	}
	for _, r := range fc.References {
		if r.Treaty == "XXVI-9" {
			t.Error("the TPNW is among its own references")
		}
	}
	if len(fc.References) != 4 || len(fc.Backtest.Treaties) != 4 {
		t.Errorf("references %v, backtest over %v: want the four other treaties in force", fc.References, fc.Backtest.Treaties)
	}
	if *fc.ModelBeatsNaive != (fc.Backtest.Model.Median < fc.Backtest.Naive.Median) {
		t.Errorf("model_beats_naive %v, but medians %v vs %v", *fc.ModelBeatsNaive, fc.Backtest.Model.Median, fc.Backtest.Naive.Median)
	}

	text := c.ok("forecast", "tpnw", "--as-of", "2019-08-06")
	verdict := "The model beat the straight line."
	if !*fc.ModelBeatsNaive {
		verdict = "The model did NOT beat the straight line"
	}
	for _, want := range []string{
		"TPNW (XXVI-9), as of 2019-08-06",
		"ESTIMATE, not a known date: entry into force between " + *fc.Earliest + " and " + *fc.Latest + ", most likely around " + *fc.EntryIntoForce,
		"25 of 50 instruments counted",
		"Method: time-to-threshold scaled from comparable treaties",
		"REFERENCE", "XVIII-14", "XXVII-7-d",
		"For comparison, a straight line",
		"Backtest on 4 reference treaties",
		verdict,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("forecast text lacks %q:\n%s", want, text)
		}
	}
}

func TestForecastCommandWithoutEstimate(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"forecast", "paris"}, "In force since 2016-11-04: nothing to forecast."},
		// BBNJ: sixtieth instrument 19 September 2025, in force 17 January 2026.
		{[]string{"forecast", "XXI-10", "--as-of", "2025-10-01"}, "enters into force on 2026-01-17 under its clause (a known date, not an estimate)"},
		// The Hanoi Convention has signatures only.
		{[]string{"forecast", "hanoi"}, "No forecast: too little to estimate from: 0 instruments counted"},
	} {
		if out := c.ok(tc.args...); !strings.Contains(out, tc.want) || strings.Contains(out, "ESTIMATE") {
			t.Errorf("%v:\n%s\nwant %q and no estimate", tc.args, out, tc.want)
		}
	}
}

func TestForecastCommandBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"forecast", "paris", "--as-of", "2016-02-30"}, 2, "--as-of: "},
		{[]string{"forecast"}, 2, "want exactly one treaty"},
		{[]string{"forecast", "paris", "tpnw"}, 2, "want exactly one treaty"},
		{[]string{"forecast", "no-such-treaty"}, 4, "no-such-treaty"},
	} {
		r := c.run("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}
