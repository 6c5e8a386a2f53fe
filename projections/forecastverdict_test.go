package projections_test

import (
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/projections"
)

// The verdict is the backtest's: a forecast whose model lost to the
// straight line says so, one whose model won says that, one without a
// backtest says it is not known.
func TestBacktestVerdictFollowsTheBacktest(t *testing.T) {
	lost, won := false, true
	bt := &projections.Backtest{Treaties: []string{"A", "B"}, Cases: make([]projections.BacktestCase, 6),
		Model: projections.Score{MedianAbsErrorDays: 120, Covered: 2, Cases: 6}, Naive: projections.Score{MedianAbsErrorDays: 80, Covered: 3, Cases: 6}}
	if v := (projections.Forecast{Backtest: bt, ModelBeatsNaive: &lost}).BacktestVerdict(); !strings.Contains(v, "did NOT beat the straight line") ||
		!strings.Contains(v, "model median absolute error 120 days, real date inside the range in 2 of 6; straight line 80 days, 3 of 6") {
		t.Errorf("lost: %s", v)
	}
	if v := (projections.Forecast{Backtest: bt, ModelBeatsNaive: &won}).BacktestVerdict(); !strings.HasSuffix(v, "The model beat the straight line.") {
		t.Errorf("won: %s", v)
	}
	if v := (projections.Forecast{}).BacktestVerdict(); !strings.Contains(v, "not known whether this model beats a straight line") {
		t.Errorf("none: %s", v)
	}
}
