package projections

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// ProgressPoint is how far a treaty had got toward its threshold from a
// date on: the least advanced of its conditions, as a fraction of what it
// needs.
type ProgressPoint struct {
	Date events.Date `json:"date"`
	// Fraction is the least advanced condition's Have / Need; 1 or more
	// when every condition holds.
	Fraction float64 `json:"fraction"`
	// Counted is the number of counted instruments from Date on.
	Counted int `json:"counted"`
}

// Progress is a treaty's progress toward its threshold over time, as one
// status (as of Progress.AsOf) shows it: what Forecast estimates from and
// what it compares with.
type Progress struct {
	Treaty string      `json:"treaty"`
	Name   string      `json:"name"`
	AsOf   events.Date `json:"as_of"`
	// Opened is OpenedForSignature: day 0 of the curve.
	Opened events.Date `json:"opened"`
	// Required is the count condition's number; 0 when unknown.
	Required int `json:"required"`
	// Weighted reports whether the clause has a group or share condition
	// besides the count (the Paris Agreement's 55 % of emissions).
	Weighted bool `json:"weighted"`
	// Delay and NotBefore turn a threshold date into a date of entry into
	// force, as the clause does.
	Delay     events.Period `json:"delay"`
	NotBefore events.Date   `json:"not_before,omitzero"`
	// Points is the progress over time, one point per date it changes.
	Points []ProgressPoint `json:"points"`
	// ThresholdMetOn and EntryIntoForce are the status's, zero if unknown.
	ThresholdMetOn events.Date `json:"threshold_met_on,omitzero"`
	EntryIntoForce events.Date `json:"entry_into_force,omitzero"`
	// Bottleneck names the least advanced condition on AsOf.
	Bottleneck string `json:"bottleneck"`
}

// NewProgress returns the progress curve of the treaty def as st (a status of
// it, from Compute or StatusFromLog) shows it: the consents with their
// withdrawals are swept day by day through the clause's conditions, as
// Evaluate does. It is a pure function.
func NewProgress(def events.Definition, st Status) Progress {
	rule := def.EntryIntoForce
	c := Progress{
		Treaty: st.Treaty, Name: def.Name(), AsOf: st.AsOf, Opened: OpenedForSignature(def, st),
		Required: st.Required, Weighted: rule.Group != nil || rule.Share != nil,
		Delay: rule.Delay, NotBefore: rule.NotBefore,
		ThresholdMetOn: deref(st.ThresholdMetOn), EntryIntoForce: deref(st.EntryIntoForce),
		Points: []ProgressPoint{},
	}
	if st.Required < 1 {
		return c
	}
	var changes []change
	push := func(p string, cons Consent, withdrawn *events.Date) {
		if !cons.Counts || cons.Date.After(st.AsOf) {
			return
		}
		if withdrawn != nil && !withdrawn.IsZero() && !withdrawn.After(cons.Date) {
			return
		}
		changes = append(changes, change{date: cons.Date, key: p, delta: +1})
		if withdrawn != nil && !withdrawn.IsZero() && !withdrawn.After(st.AsOf) {
			changes = append(changes, change{date: *withdrawn, key: p, delta: -1})
		}
	}
	for _, p := range st.Participants {
		for _, t := range p.Earlier {
			w := t.WithdrawalEffective
			push(p.Participant, t.Consent, &w)
		}
		if p.Consent != nil {
			push(p.Participant, *p.Consent, p.WithdrawalEffective)
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].date.Before(changes[j].date) })
	cl := newChecklist(rule, st.Required)
	last := -1.0
	for i := 0; i < len(changes); {
		d := changes[i].date
		for ; i < len(changes) && changes[i].date == d; i++ {
			cl.update(changes[i].key, changes[i].delta)
		}
		cl.check(d)
		f, _ := bottleneck(cl.conds)
		if f != last {
			c.Points = append(c.Points, ProgressPoint{Date: d, Fraction: f, Counted: cl.count})
			last = f
		}
	}
	_, c.Bottleneck = bottleneck(cl.conds)
	return c
}

// bottleneck returns the least advanced condition's fraction and name.
func bottleneck(conds []Condition) (float64, string) {
	f, name := math.Inf(1), ""
	for _, c := range conds {
		if c.Need <= 0 {
			continue
		}
		if v := c.Have / c.Need; v < f {
			f, name = v, c.Name
		}
	}
	if math.IsInf(f, 1) {
		return 0, ""
	}
	return f, name
}

// Progress returns the curve's fraction on d: the last point on or before
// d, 0 before the first.
func (c Progress) Progress(d events.Date) float64 {
	return stepOn(c.Points, d, func(p ProgressPoint) (events.Date, float64) { return p.Date, p.Fraction })
}

// counted returns the counted instruments on d.
func (c Progress) counted(d events.Date) int {
	return stepOn(c.Points, d, func(p ProgressPoint) (events.Date, int) { return p.Date, p.Counted })
}

// Reached returns the first date the curve reached fraction f, zero if it
// never did by AsOf.
func (c Progress) Reached(f float64) events.Date {
	for _, p := range c.Points {
		if p.Fraction >= f {
			return p.Date
		}
	}
	return events.Date{}
}

// Until returns the curve as of an earlier date d: what it showed then.
// The threshold and entry into force are kept only when reached by d.
func (c Progress) Until(d events.Date) Progress {
	out := c
	out.AsOf = d
	out.Points = nil
	for _, p := range c.Points {
		if !p.Date.After(d) {
			out.Points = append(out.Points, p)
		}
	}
	if c.ThresholdMetOn.IsZero() || c.ThresholdMetOn.After(d) {
		out.ThresholdMetOn, out.EntryIntoForce = events.Date{}, events.Date{}
	}
	return out
}

// entryIntoForce turns a threshold date into the clause's date of entry
// into force.
func (c Progress) entryIntoForce(threshold events.Date) events.Date {
	return events.MaxDate(c.Delay.After(threshold), c.NotBefore)
}

// usable reports whether the curve can serve as a reference: the
// threshold was met and the date of entry into force is known.
func (c Progress) usable() bool {
	return c.Required > 0 && !c.Opened.IsZero() && !c.ThresholdMetOn.IsZero() && !c.EntryIntoForce.IsZero() &&
		c.Opened.Before(c.ThresholdMetOn)
}

// ForecastOutcome says what kind of answer a Forecast is.
type ForecastOutcome string

// Forecast outcomes.
const (
	// InForce: the treaty is in force on the as-of date; nothing to forecast.
	InForce ForecastOutcome = "in-force"
	// Pending: the threshold is met and the date of entry into force
	// follows from the clause: it is known, not estimated.
	Pending ForecastOutcome = "pending"
	// Estimated: an estimated range (Earliest–Latest, central date
	// EntryIntoForce).
	Estimated ForecastOutcome = "estimate"
	// TooFew: too few instruments (or too little progress) to estimate.
	TooFew ForecastOutcome = "too-few"
	// Unknowable: the required number is unknown, the treaty has not
	// opened for signature yet, or no comparable treaty has a known entry
	// into force.
	Unknowable ForecastOutcome = "unknowable"
)

// Thresholds of "too few to estimate".
const (
	// MinCounted is the fewest counted instruments Forecast estimates from.
	MinCounted = 3
	// MinFraction is the least progress (least advanced condition, as a
	// fraction of its need) Forecast estimates from.
	MinFraction = 0.05
)

// BacktestFractions are the points of the way to the threshold at which
// Backtest pretends to stand: 25, 50 and 75 %.
var BacktestFractions = []float64{0.25, 0.50, 0.75}

// ReferenceEstimate is what one comparable treaty's curve says.
type ReferenceEstimate struct {
	Treaty string `json:"treaty"`
	// DaysToFraction is the reference's days from opening to reaching the
	// target's fraction; DaysToThreshold its days to the threshold.
	DaysToFraction  int `json:"days_to_fraction"`
	DaysToThreshold int `json:"days_to_threshold"`
	// Threshold and EntryIntoForce are the target's estimated dates on
	// this reference's pace.
	Threshold      events.Date `json:"threshold"`
	EntryIntoForce events.Date `json:"entry_into_force"`
}

// Range is an estimated date of entry into force: a central date and a
// range. Latest is nil when the range has no end (the pace has stalled).
type Range struct {
	EntryIntoForce events.Date  `json:"entry_into_force"`
	Earliest       events.Date  `json:"earliest"`
	Latest         *events.Date `json:"latest"`
}

// covers reports whether d lies in the range.
func (r Range) covers(d events.Date) bool {
	return !d.Before(r.Earliest) && (r.Latest == nil || !d.After(*r.Latest))
}

// ForecastMethod states how Forecast estimates, for people.
const ForecastMethod = "time-to-threshold scaled from comparable treaties: for each reference treaty " +
	"(another treaty in the ledger with a known entry into force; never the treaty forecast), the ratio of its days " +
	"from opening for signature to its threshold over its days to reach the fraction of the way this treaty has " +
	"reached (the least advanced condition), applied to this treaty's days since opening; the central date is the " +
	"median over the references, the range their earliest and latest; the treaty's own delay after the threshold is added"

// NaiveMethod states how the straight line the model is compared with
// extrapolates.
const NaiveMethod = "straight line: the average pace since opening for signature continued until the threshold " +
	"(central date); the range runs to the pace of the most recent half of that time (no end when it has stalled)"

// Forecast is an estimate of when a treaty enters into force, or the
// reason there is none.
type Forecast struct {
	Treaty  string          `json:"treaty"`
	AsOf    events.Date     `json:"as_of"`
	Outcome ForecastOutcome `json:"outcome"`
	// Estimate reports whether the dates below are estimated (Outcome
	// Estimated) rather than known.
	Estimate bool `json:"estimate"`
	// Reason says, for TooFew and Unknowable, why there is no estimate.
	Reason string `json:"reason,omitempty"`
	// EntryIntoForce is the known date (InForce, Pending) or the central
	// estimate; Earliest and Latest the estimated range.
	EntryIntoForce *events.Date `json:"entry_into_force"`
	Earliest       *events.Date `json:"earliest"`
	Latest         *events.Date `json:"latest"`
	// Progress is the fraction of the way on AsOf (the least advanced
	// condition, Bottleneck); Counted the counted instruments, of Required.
	Progress   float64 `json:"progress"`
	Bottleneck string  `json:"bottleneck,omitempty"`
	Counted    int     `json:"counted"`
	Required   int     `json:"required"`
	// DaysSinceOpening is AsOf − Opened.
	DaysSinceOpening int `json:"days_since_opening"`
	// Method states the model; References what each reference said.
	Method     string              `json:"method,omitempty"`
	References []ReferenceEstimate `json:"references,omitempty"`
	// Naive is the straight-line extrapolation, for comparison.
	NaiveMethod string `json:"naive_method,omitempty"`
	Naive       *Range `json:"naive,omitempty"`
	// Backtest is the model and the straight line tried on the references
	// themselves, computed with this forecast; ModelBeatsNaive is its
	// verdict (a smaller median absolute error).
	Backtest        *Backtest `json:"backtest,omitempty"`
	ModelBeatsNaive *bool     `json:"model_beats_naive,omitempty"`
}

// ForecastProgress estimates the date of entry into force of the treaty
// whose curve is target (as of target.AsOf) from the pace so far, against
// the reference curves refs: every curve of another treaty whose threshold
// and date of entry into force are known (the target itself, and unusable
// curves, are skipped). Method: ForecastMethod, compared with NaiveMethod;
// the forecast carries the Backtest of both on the references and says
// whether the model beat the straight line there. A treaty in force, or
// past its threshold, gets its known date and no estimate; too little
// progress (MinCounted, MinFraction) gets none either. It is pure.
func ForecastProgress(target Progress, refs []Progress) Forecast {
	others := references(refs, target.Treaty)
	fc := estimate(target, others)
	if fc.Outcome != Estimated {
		return fc
	}
	bt := RunBacktest(others)
	fc.Backtest = &bt
	if len(bt.Cases) > 0 {
		beats := bt.ModelBeatsNaive
		fc.ModelBeatsNaive = &beats
	}
	return fc
}

// references returns the usable curves in refs other than the treaty
// excluded, in order of treaty id.
func references(refs []Progress, excluded string) []Progress {
	var out []Progress
	for _, r := range refs {
		if r.Treaty != excluded && r.usable() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Treaty < out[j].Treaty })
	return out
}

// estimate is ForecastProgress without the backtest; others are usable
// references, none of them the target.
func estimate(target Progress, others []Progress) Forecast {
	fc := Forecast{Treaty: target.Treaty, AsOf: target.AsOf, Required: target.Required,
		Counted: target.counted(target.AsOf), Bottleneck: target.Bottleneck}
	fc.Progress = target.Progress(target.AsOf)
	if !target.Opened.IsZero() {
		fc.DaysSinceOpening = target.Opened.DaysUntil(target.AsOf)
	}
	switch {
	case !target.EntryIntoForce.IsZero() && !target.EntryIntoForce.After(target.AsOf):
		fc.Outcome, fc.EntryIntoForce = InForce, ptr(target.EntryIntoForce)
		return fc
	case !target.EntryIntoForce.IsZero():
		fc.Outcome, fc.EntryIntoForce = Pending, ptr(target.EntryIntoForce)
		return fc
	case !target.ThresholdMetOn.IsZero():
		fc.Outcome = Unknowable
		fc.Reason = "the threshold was met on " + target.ThresholdMetOn.String() + ", but the date of entry into force is not known yet (it waits for the parent treaty)"
		return fc
	case target.Required < 1:
		fc.Outcome, fc.Reason = Unknowable, "the number of instruments required is not known"
		return fc
	case target.Opened.IsZero() || fc.DaysSinceOpening < 1:
		fc.Outcome, fc.Reason = Unknowable, "the treaty has not been open for signature for a day yet"
		return fc
	case fc.Counted < MinCounted || fc.Progress < MinFraction:
		fc.Outcome = TooFew
		fc.Reason = fmt.Sprintf("too little to estimate from: %d instruments counted, and the least advanced condition (%s) is %.0f %% of the way; an estimate needs at least %d instruments and %.0f %%",
			fc.Counted, fc.Bottleneck, 100*fc.Progress, MinCounted, 100*MinFraction)
		return fc
	case len(others) == 0:
		fc.Outcome, fc.Reason = Unknowable, "no comparable treaty in the ledger has a known entry into force"
		return fc
	}

	e := float64(fc.DaysSinceOpening)
	var ests []events.Date
	for _, r := range others {
		reached := r.Reached(fc.Progress)
		a := max(r.Opened.DaysUntil(reached), 1)
		b := r.Opened.DaysUntil(r.ThresholdMetOn)
		t := target.Opened.AddDays(int(math.Round(e * float64(b) / float64(a))))
		t = events.MaxDate(t, target.AsOf)
		eif := target.entryIntoForce(t)
		fc.References = append(fc.References, ReferenceEstimate{Treaty: r.Treaty, DaysToFraction: a, DaysToThreshold: b, Threshold: t, EntryIntoForce: eif})
		ests = append(ests, eif)
	}
	sort.Slice(ests, func(i, j int) bool { return ests[i].Before(ests[j]) })
	mid := medianDate(ests)
	fc.Outcome, fc.Estimate, fc.Method = Estimated, true, ForecastMethod
	fc.EntryIntoForce, fc.Earliest, fc.Latest = &mid, ptr(ests[0]), ptr(ests[len(ests)-1])
	naive := straightLine(target, fc.Progress)
	fc.Naive, fc.NaiveMethod = &naive, NaiveMethod
	return fc
}

// straightLine extrapolates the target's pace: since opening (central
// date) and over the most recent half of that time (the other end of the
// range; none when it made no progress then).
func straightLine(target Progress, f float64) Range {
	e := target.Opened.DaysUntil(target.AsOf)
	whole := target.entryIntoForce(target.Opened.AddDays(int(math.Round(float64(e) / f))))
	r := Range{EntryIntoForce: whole, Earliest: whole, Latest: ptr(whole)}
	half := e / 2
	gain := f - target.Progress(target.AsOf.AddDays(-half))
	if half < 1 || gain <= 0 {
		r.Latest = nil
		return r
	}
	recent := target.entryIntoForce(target.AsOf.AddDays(int(math.Round((1 - f) * float64(half) / gain))))
	if recent.Before(whole) {
		r.Earliest = recent
	} else {
		r.Latest = ptr(recent)
	}
	return r
}

// medianDate is the median of sorted dates (the earlier middle day plus
// half the gap, for an even number).
func medianDate(sorted []events.Date) events.Date {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	a, b := sorted[n/2-1], sorted[n/2]
	return a.AddDays(a.DaysUntil(b) / 2)
}

// BacktestCase is one forecast made in a Backtest.
type BacktestCase struct {
	Treaty string `json:"treaty"`
	// Fraction is the point of the way pretended (0.25, 0.5, 0.75); AsOf
	// the date the treaty first reached it.
	Fraction float64     `json:"fraction"`
	AsOf     events.Date `json:"as_of"`
	// Actual is the date the treaty entered into force.
	Actual events.Date `json:"actual"`
	// Model and Naive are the two estimates; the errors are absolute, in
	// days, of their central dates.
	Model        Range `json:"model"`
	ModelError   int   `json:"model_error_days"`
	ModelCovered bool  `json:"model_covered"`
	Naive        Range `json:"naive"`
	NaiveError   int   `json:"naive_error_days"`
	NaiveCovered bool  `json:"naive_covered"`
}

// Score sums up a method's cases in a Backtest.
type Score struct {
	// MedianAbsErrorDays is the median of the absolute errors, in days.
	MedianAbsErrorDays float64 `json:"median_abs_error_days"`
	// Covered counts the cases whose real date lay inside the range.
	Covered int `json:"covered"`
	Cases   int `json:"cases"`
}

// Coverage is Covered / Cases, 0 without cases.
func (s Score) Coverage() float64 {
	if s.Cases == 0 {
		return 0
	}
	return float64(s.Covered) / float64(s.Cases)
}

// Backtest is the forecast tried on treaties whose entry into force is
// known: each one, leave-one-out (its own curve never in its model),
// forecast as of the date it reached each of BacktestFractions, compared
// with what happened.
type Backtest struct {
	Treaties []string       `json:"treaties"`
	Cases    []BacktestCase `json:"cases"`
	Model    Score          `json:"model"`
	Naive    Score          `json:"naive"`
	// ModelBeatsNaive reports whether the model's median absolute error
	// is smaller than the straight line's.
	ModelBeatsNaive bool `json:"model_beats_naive"`
}

// RunBacktest backtests the forecast on every usable curve in refs, each
// against the others. A fraction a treaty jumped past on its way (or at
// which it had too little to estimate from) gives no case. It is pure.
func RunBacktest(refs []Progress) Backtest {
	refs = references(refs, "")
	bt := Backtest{Treaties: []string{}, Cases: []BacktestCase{}}
	for _, r := range refs {
		bt.Treaties = append(bt.Treaties, r.Treaty)
		others := references(refs, r.Treaty)
		for _, f := range BacktestFractions {
			d := r.Reached(f)
			if d.IsZero() || !d.Before(r.ThresholdMetOn) {
				continue
			}
			fc := estimate(r.Until(d), others)
			if fc.Outcome != Estimated {
				continue
			}
			c := BacktestCase{Treaty: r.Treaty, Fraction: f, AsOf: d, Actual: r.EntryIntoForce,
				Model: Range{EntryIntoForce: *fc.EntryIntoForce, Earliest: *fc.Earliest, Latest: fc.Latest}, Naive: *fc.Naive}
			c.ModelError = absDays(c.Model.EntryIntoForce, c.Actual)
			c.NaiveError = absDays(c.Naive.EntryIntoForce, c.Actual)
			c.ModelCovered, c.NaiveCovered = c.Model.covers(c.Actual), c.Naive.covers(c.Actual)
			bt.Cases = append(bt.Cases, c)
		}
	}
	var me, ne []int
	for _, c := range bt.Cases {
		me, ne = append(me, c.ModelError), append(ne, c.NaiveError)
		if c.ModelCovered {
			bt.Model.Covered++
		}
		if c.NaiveCovered {
			bt.Naive.Covered++
		}
	}
	bt.Model.Cases, bt.Naive.Cases = len(bt.Cases), len(bt.Cases)
	bt.Model.MedianAbsErrorDays, bt.Naive.MedianAbsErrorDays = medianInt(me), medianInt(ne)
	bt.ModelBeatsNaive = len(bt.Cases) > 0 && bt.Model.MedianAbsErrorDays < bt.Naive.MedianAbsErrorDays
	return bt
}

// Table formats the backtest as a plain-text table (one row per case,
// then the scores) for people: tests print it and README quotes it.
func (bt Backtest) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %4s  %-10s  %-10s  %-10s %6s %-3s  %-10s %6s %-3s\n", "treaty", "at", "as of", "actual", "model", "error", "in", "naive", "error", "in")
	yes := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	for _, c := range bt.Cases {
		fmt.Fprintf(&b, "%-10s %3.0f%%  %-10s  %-10s  %-10s %6d %-3s  %-10s %6d %-3s\n", c.Treaty, 100*c.Fraction, c.AsOf, c.Actual,
			c.Model.EntryIntoForce, c.ModelError, yes(c.ModelCovered), c.Naive.EntryIntoForce, c.NaiveError, yes(c.NaiveCovered))
	}
	fmt.Fprintf(&b, "model:         median absolute error %.0f days, real date inside the range in %d of %d cases (%.0f %%)\n",
		bt.Model.MedianAbsErrorDays, bt.Model.Covered, bt.Model.Cases, 100*bt.Model.Coverage())
	fmt.Fprintf(&b, "straight line: median absolute error %.0f days, real date inside the range in %d of %d cases (%.0f %%)\n",
		bt.Naive.MedianAbsErrorDays, bt.Naive.Covered, bt.Naive.Cases, 100*bt.Naive.Coverage())
	return b.String()
}

func absDays(a, b events.Date) int {
	d := a.DaysUntil(b)
	if d < 0 {
		return -d
	}
	return d
}

func medianInt(v []int) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int(nil), v...)
	sort.Ints(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// BacktestVerdict says, in a sentence for people, how the model did
// against the straight line in the backtest computed with f: the figures,
// and whether the model beat the line — the fact, never a stored claim.
// The CLI, the treaty page and the API give it as it is.
func (f Forecast) BacktestVerdict() string {
	bt := f.Backtest
	if bt == nil || len(bt.Cases) == 0 {
		return "Backtest: no reference treaty could be backtested, so it is not known whether this model beats a straight line."
	}
	s := fmt.Sprintf("Backtest on %d reference treaties (each forecast without itself as of the days it was 25, 50 and 75 %% of the way, %d cases): "+
		"model median absolute error %.0f days, real date inside the range in %d of %d; straight line %.0f days, %d of %d. ",
		len(bt.Treaties), len(bt.Cases), bt.Model.MedianAbsErrorDays, bt.Model.Covered, bt.Model.Cases,
		bt.Naive.MedianAbsErrorDays, bt.Naive.Covered, bt.Naive.Cases)
	if f.ModelBeatsNaive != nil && *f.ModelBeatsNaive {
		return s + "The model beat the straight line."
	}
	return s + "The model did NOT beat the straight line: this estimate is no better than extrapolating the pace so far."
}
