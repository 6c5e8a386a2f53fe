package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// runForecast prints an estimated range for a treaty's entry into force
// from the pace so far (projections.ForecastProgress), labelled as an
// estimate, with its method, the straight line it is compared with and
// the backtest that says which of the two did better.
func runForecast(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "forecast as things stood on this date, YYYY-MM-DD (default today)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("forecast: want exactly one treaty ID (or name)")
	}
	l, id, err := m.openTreaty(ctx, pos[0])
	if err != nil {
		return err
	}
	d, _, err := m.timeAxes(l, *asOf, "")
	if err != nil {
		return err
	}
	fc, name, err := m.forecast(ctx, l, id, d)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(fc)
	}
	return writeForecastText(m.stdout, name, fc)
}

// forecast computes a treaty's forecast as of d against the curves of
// every treaty in the ledger as of today (the references; the treaty
// itself is left out of its own model).
func (m *Main) forecast(ctx context.Context, l *events.Ledger, id string, d events.Date) (projections.Forecast, string, error) {
	defs, err := l.Treaties(ctx)
	if err != nil {
		return projections.Forecast{}, "", err
	}
	var refs []projections.Progress
	var target *projections.Progress
	name := id
	for _, def := range defs {
		st, err := m.statusAt(ctx, l, def.ID, l.Today(), time.Time{})
		if err != nil {
			return projections.Forecast{}, "", err
		}
		refs = append(refs, projections.NewProgress(def, st))
		if def.ID != id {
			continue
		}
		name = def.Name()
		if d != l.Today() {
			if st, err = m.statusAt(ctx, l, def.ID, d, time.Time{}); err != nil {
				return projections.Forecast{}, "", err
			}
		}
		c := projections.NewProgress(def, st)
		target = &c
	}
	if target == nil {
		return projections.Forecast{}, "", &events.UnknownTreatyError{Treaty: id}
	}
	return projections.ForecastProgress(*target, refs), name, nil
}

// writeForecastText prints a forecast for people.
func writeForecastText(w io.Writer, name string, fc projections.Forecast) error {
	p := &printer{w: w}
	p.printf("%s (%s), as of %s\n", name, fc.Treaty, fc.AsOf)
	switch fc.Outcome {
	case projections.InForce:
		p.printf("In force since %s: nothing to forecast.\n", dateOrDash(fc.EntryIntoForce))
		return p.err
	case projections.Pending:
		p.printf("The threshold is met: the treaty enters into force on %s under its clause (a known date, not an estimate).\n", dateOrDash(fc.EntryIntoForce))
		return p.err
	case projections.TooFew, projections.Unknowable:
		p.printf("No forecast: %s.\n", fc.Reason)
		return p.err
	case projections.Estimated: // below
	}
	p.printf("ESTIMATE, not a known date: entry into force between %s and %s, most likely around %s.\n",
		dateOrDash(fc.Earliest), dateOrDash(fc.Latest), dateOrDash(fc.EntryIntoForce))
	p.printf("Progress: %d of %d instruments counted; the least advanced condition (%s) is %.0f %% of the way, %s after opening for signature.\n",
		fc.Counted, fc.Required, fc.Bottleneck, 100*fc.Progress, plural(fc.DaysSinceOpening, "day"))
	p.printf("Method: %s.\n\n", fc.Method)
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REFERENCE\tDAYS TO %.0f %%\tDAYS TO THRESHOLD\tESTIMATED THRESHOLD\tESTIMATED ENTRY INTO FORCE\n", 100*fc.Progress)
	for _, r := range fc.References {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.Treaty, r.DaysToFraction, r.DaysToThreshold, r.Threshold, r.EntryIntoForce)
	}
	p.flush(tw)
	if n := fc.Naive; n != nil {
		p.printf("\nFor comparison, a %s: %s (range %s – %s).\n", fc.NaiveMethod, n.EntryIntoForce, n.Earliest, dateOrDash(n.Latest))
	}
	p.printf("\n%s\n", fc.BacktestVerdict())
	return p.err
}
