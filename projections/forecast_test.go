package projections_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// withKnownEntryIntoForce are the seeded treaties in force (as of the
// seeded ledger's today, 2026-12-02): UNCAC (14 Dec 2005), the BBNJ
// Agreement (17 Jan 2026), the ATT (24 Dec 2014), the TPNW (22 Jan 2021)
// and the Paris Agreement (4 Nov 2016). The Hanoi Convention has
// signatures only.
var withKnownEntryIntoForce = []string{"XVIII-14", "XXI-10", "XXVI-8", "XXVI-9", "XXVII-7-d"}

// TestBacktestOnSeededTreaties is the backtest README reports: every seeded
// treaty with a known entry into force, forecast leave-one-out as of the
// days it was 25, 50 and 75 % of the way to its threshold, against the
// date it entered into force; for the model and the straight line. It
// prints the table and checks the figures are what the cases say.
func TestBacktestOnSeededTreaties(t *testing.T) {
	s := mustSeededLedger(t)
	bt := projections.RunBacktest(s.curves(t))
	t.Logf("backtest on the seeded treaties:\n%s", bt.Table())

	if !slices.Equal(bt.Treaties, withKnownEntryIntoForce) {
		t.Fatalf("backtested treaties %v, want %v", bt.Treaties, withKnownEntryIntoForce)
	}
	perTreaty := map[string]int{}
	var me, ne []float64
	covered, naiveCovered := 0, 0
	for _, c := range bt.Cases {
		perTreaty[c.Treaty]++
		if !c.AsOf.Before(c.Actual) {
			t.Errorf("%s at %.0f %%: as of %s, not before the real date %s", c.Treaty, 100*c.Fraction, c.AsOf, c.Actual)
		}
		if c.Model.Earliest.After(c.Model.EntryIntoForce) || c.Model.Latest == nil || c.Model.Latest.Before(c.Model.EntryIntoForce) {
			t.Errorf("%s at %.0f %%: model range %+v does not hold its central date", c.Treaty, 100*c.Fraction, c.Model)
		}
		if got := absDays(c.Model.EntryIntoForce.DaysUntil(c.Actual)); got != c.ModelError {
			t.Errorf("%s: model error %d, want %d", c.Treaty, c.ModelError, got)
		}
		me, ne = append(me, float64(c.ModelError)), append(ne, float64(c.NaiveError))
		if c.ModelCovered {
			covered++
		}
		if c.NaiveCovered {
			naiveCovered++
		}
	}
	for _, id := range withKnownEntryIntoForce {
		if perTreaty[id] == 0 {
			t.Errorf("%s: no backtest case", id)
		}
	}
	if bt.Model.Cases != len(bt.Cases) || bt.Model.Covered != covered || bt.Naive.Covered != naiveCovered {
		t.Errorf("scores %+v %+v do not count the cases", bt.Model, bt.Naive)
	}
	if bt.Model.MedianAbsErrorDays != medianOf(me) || bt.Naive.MedianAbsErrorDays != medianOf(ne) {
		t.Errorf("medians %v %v, want %v %v", bt.Model.MedianAbsErrorDays, bt.Naive.MedianAbsErrorDays, medianOf(me), medianOf(ne))
	}
	if bt.ModelBeatsNaive != (bt.Model.MedianAbsErrorDays < bt.Naive.MedianAbsErrorDays) {
		t.Error("ModelBeatsNaive disagrees with the medians")
	}
}

func absDays(d int) int {
	if d < 0 {
		return -d
	}
	return d
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// The TPNW as of 6 August 2019 (25 instruments of the 50 art. 15(1)
// needs): estimated from the four other treaties, never from itself.
func TestForecastTPNWHalfWay(t *testing.T) {
	s := mustSeededLedger(t)
	fc := projections.ForecastProgress(s.curve(t, "XXVI-9", "2019-08-06"), s.curves(t))

	if fc.Outcome != projections.Estimated || !fc.Estimate || fc.Method != projections.ForecastMethod {
		t.Fatalf("outcome %s (estimate %v, method %q): %s", fc.Outcome, fc.Estimate, fc.Method, fc.Reason)
	}
	if fc.Counted != 25 || fc.Required != 50 || math.Abs(fc.Progress-0.5) > 1e-9 {
		t.Errorf("progress: %d of %d (%v)", fc.Counted, fc.Required, fc.Progress)
	}
	var refs []string
	for _, r := range fc.References {
		refs = append(refs, r.Treaty)
		if r.EntryIntoForce.Before(fc.AsOf) {
			t.Errorf("reference %s estimates %s, before the as-of date", r.Treaty, r.EntryIntoForce)
		}
	}
	if want := []string{"XVIII-14", "XXI-10", "XXVI-8", "XXVII-7-d"}; !slices.Equal(refs, want) {
		t.Errorf("references %v, want %v (leave-one-out: never the TPNW itself)", refs, want)
	}
	if fc.Earliest.After(*fc.EntryIntoForce) || fc.Latest.Before(*fc.EntryIntoForce) {
		t.Errorf("range %s – %s does not hold the central date %s", fc.Earliest, fc.Latest, fc.EntryIntoForce)
	}
	if fc.Naive == nil || fc.NaiveMethod == "" {
		t.Error("no straight-line comparison")
	}
	if fc.Backtest == nil || slices.Contains(fc.Backtest.Treaties, "XXVI-9") || len(fc.Backtest.Cases) == 0 || fc.ModelBeatsNaive == nil {
		t.Fatalf("backtest %+v: want one over the references only, with a verdict", fc.Backtest)
	}
	if *fc.ModelBeatsNaive != fc.Backtest.ModelBeatsNaive {
		t.Error("the forecast's verdict is not its backtest's")
	}
}

// The Paris Agreement's art. 21(1) needs 55 Parties and 55 % of
// emissions: the progress is the least advanced of the two. On
// 31 August 2016 the 23 Parties (42 % of 55) had 1.08 % of emissions —
// too little to estimate from, though the count alone would do; from
// 3 September 2016 (China and the United States) the count is behind.
func TestForecastParisAgreementWeightedCondition(t *testing.T) {
	s := mustSeededLedger(t)
	refs := s.curves(t)
	for _, c := range []struct {
		asOf       string
		bottleneck string
		outcome    projections.ForecastOutcome
	}{
		{"2016-08-31", projections.ConditionShare, projections.TooFew},
		{"2016-09-15", projections.ConditionCount, projections.Estimated},
	} {
		st := s.status(t, "XXVII-7-d", c.asOf, zeroTime)
		fc := projections.ForecastProgress(s.curve(t, "XXVII-7-d", c.asOf), refs)
		least := st.Conditions[0]
		for _, cond := range st.Conditions {
			if cond.Have/cond.Need < least.Have/least.Need {
				least = cond
			}
		}
		if least.Kind != c.bottleneck || fc.Bottleneck != least.Name || math.Abs(fc.Progress-least.Have/least.Need) > 1e-9 {
			t.Errorf("%s: bottleneck %q at %v, want the %s condition %q at %v", c.asOf, fc.Bottleneck, fc.Progress, c.bottleneck, least.Name, least.Have/least.Need)
		}
		if fc.Outcome != c.outcome {
			t.Errorf("%s: %s (%s), want %s", c.asOf, fc.Outcome, fc.Reason, c.outcome)
		}
	}
}

func TestForecastKnownDatesAreNotEstimated(t *testing.T) {
	s := mustSeededLedger(t)
	refs := s.curves(t)
	cases := []struct {
		name, treaty, asOf string
		outcome            projections.ForecastOutcome
		eif                string
	}{
		// Paris: in force since 4 November 2016.
		{"in force", "XXVII-7-d", "2026-01-01", projections.InForce, "2016-11-04"},
		// BBNJ: the sixtieth instrument on 19 September 2025, in force
		// 120 days later, 17 January 2026 (art. 68(1)).
		{"threshold met, entry into force pending", "XXI-10", "2025-10-01", projections.Pending, "2026-01-17"},
	}
	for _, c := range cases {
		fc := projections.ForecastProgress(s.curve(t, c.treaty, c.asOf), refs)
		if fc.Outcome != c.outcome || fc.Estimate || ds(fc.EntryIntoForce) != c.eif || fc.Earliest != nil || fc.Backtest != nil {
			t.Errorf("%s: %+v, want %s on %s, not estimated", c.name, fc, c.outcome, c.eif)
		}
	}
}

// The Hanoi Convention has signatures and no instrument yet: nothing to
// estimate from.
func TestForecastTooFewInstruments(t *testing.T) {
	s := mustSeededLedger(t)
	fc := projections.ForecastProgress(s.curve(t, "XVIII-16", ""), s.curves(t))
	if fc.Outcome != projections.TooFew || fc.Estimate || fc.EntryIntoForce != nil || fc.Reason == "" {
		t.Fatalf("%+v, want too few to estimate, with the reason", fc)
	}
	// UNCAC as of the day of its second instrument (hypothetical as-of:
	// the history's second deposit) is still too early.
	uncac := s.curve(t, "XVIII-14", "")
	second := uncac.Points[1].Date
	if fc := projections.ForecastProgress(uncac.Until(second), s.curves(t)); fc.Outcome != projections.TooFew {
		t.Errorf("UNCAC with %d instruments: %s", fc.Counted, fc.Outcome)
	}
}

func TestForecastWithoutReferences(t *testing.T) {
	s := mustSeededLedger(t)
	target := s.curve(t, "XXVI-9", "2019-08-06")
	fc := projections.ForecastProgress(target, []projections.Progress{s.curve(t, "XXVI-9", "")})
	if fc.Outcome != projections.Unknowable || fc.Reason == "" {
		t.Errorf("%+v, want no estimate: the only reference is the treaty itself", fc)
	}
}

var zeroTime time.Time

// A protocol past its threshold whose parent is not in force yet has no
// date of entry into force: no estimate either (the curve is synthetic).
func TestForecastThresholdMetWaitingForTheParent(t *testing.T) {
	s := mustSeededLedger(t)
	c := projections.Progress{Treaty: "TEST-1", Name: "Synthetic protocol", AsOf: events.MustDate("2026-06-01"), Opened: events.MustDate("2025-01-01"),
		Required: 3, ThresholdMetOn: events.MustDate("2026-03-01"),
		Points: []projections.ProgressPoint{{Date: events.MustDate("2025-06-01"), Fraction: 1.0 / 3, Counted: 1}, {Date: events.MustDate("2026-03-01"), Fraction: 1, Counted: 3}}}
	fc := projections.ForecastProgress(c, s.curves(t))
	if fc.Outcome != projections.Unknowable || fc.Estimate || !strings.Contains(fc.Reason, "waits for the parent treaty") {
		t.Errorf("%+v", fc)
	}
}
