package projections_test

import (
	"io"
	"testing"

	"github.com/treatywatch/treatywatch/events/benchratio"
)

// ratios is the book of this test binary's benchmark pairs: benchmarks run
// one at a time, and TestMain prints it once they are done.
var ratios = benchratio.New("the fastest plain go-sqlite3 loop for the same rows")

// measure is ratios.Measure: op run in b.Loop, perOp events each, as side
// ("raw" for a baseline) of pair, with target (a fraction, 0 for none).
func measure(b *testing.B, pair, side string, perOp int, target float64, op func()) benchratio.Result {
	b.Helper()
	return ratios.Measure(b, pair, side, perOp, target, op)
}

// printRatios writes the summary of the pairs measured.
func printRatios(w io.Writer) { ratios.Print(w) }
