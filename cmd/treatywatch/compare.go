package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/cmd/internal/chart"
	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// comparison is one treaty's line in `compare`.
type comparison struct {
	Treaty string `json:"treaty"`
	Name   string `json:"name"`
	// Opened is projections.OpenedForSignature: the definition's
	// signature.opens, else the first signature recorded, else the
	// adoption.
	Opened      *events.Date `json:"opened_for_signature"`
	Required    int          `json:"required"`
	Counted     int          `json:"counted"`
	Percent     float64      `json:"percent"`
	Signatories int          `json:"signatories"`
	// Parties and InForceFor are the UNTC's parties (consented, less
	// withdrawals in effect) and the participants it is in force for.
	Parties        int          `json:"parties"`
	InForceFor     int          `json:"in_force_for"`
	ThresholdMetOn *events.Date `json:"threshold_met_on"`
	EntryIntoForce *events.Date `json:"entry_into_force"`
	// DaysToThreshold counts the days from Opened to the threshold.
	DaysToThreshold *int `json:"days_to_threshold"`
	// ByDay is the alignment on days since Opened: the instruments
	// counted at each of the --days marks (empty when Opened is unknown).
	ByDay []dayCount `json:"by_day"`
	// ToMarks gives, for 25, 50, 75, 90 and 100 % of Required, the date
	// it was reached and the days from Opened it took (null: not yet).
	ToMarks []markDays `json:"days_to_marks"`
}

// dayCount is how many instruments a treaty counted a number of days
// after it opened for signature.
type dayCount struct {
	Day  int         `json:"day"`
	Date events.Date `json:"date"`
	// Counted is null when Date lies after the as-of date: not yet known.
	Counted *int `json:"counted"`
	// Share is the weighted share on Date (a percentage) for a rule with
	// a share condition, else omitted.
	Share *float64 `json:"share,omitempty"`
}

// markDays is when a treaty reached a percentage of its threshold.
type markDays struct {
	Percent int          `json:"percent"`
	Target  int          `json:"target"`
	Date    *events.Date `json:"date"`
	Days    *int         `json:"days"`
}

// defaultCompareDays are the days since opening the alignment table
// shows unless --days says otherwise.
const defaultCompareDays = "30,90,180,365,730,1095,1825,3650"

// parseDays parses --days: a comma-separated list of whole numbers of
// days, at least 0, in increasing order.
func parseDays(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, usagef("--days %q: want whole numbers of days, 0 or more, separated by commas (e.g. %s)", s, defaultCompareDays)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, usagef("--days %q: want the days in increasing order", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// alignment returns a treaty's counts at the given days since opening and
// the days it took to reach its percentage marks.
func alignment(c projections.Curve, st projections.Status, days []int) ([]dayCount, []markDays) {
	byDay := []dayCount{}
	if !c.Opened.IsZero() {
		for _, n := range days {
			d := c.Opened.AddDays(n)
			dc := dayCount{Day: n, Date: d}
			if !d.After(c.AsOf) {
				v := c.CountedOn(d)
				dc.Counted = &v
				if c.ShareNeed > 0 {
					sh := math.Round(c.ShareOn(d)*100) / 100
					dc.Share = &sh
				}
			}
			byDay = append(byDay, dc)
		}
	}
	marks := []markDays{}
	for _, mk := range st.Milestones {
		md := markDays{Percent: mk.Percent, Target: mk.Target, Date: mk.Date}
		if mk.Date != nil && !c.Opened.IsZero() {
			n := c.Opened.DaysUntil(*mk.Date)
			md.Days = &n
		}
		marks = append(marks, md)
	}
	return byDay, marks
}

func runCompare(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	asOf, knownAt := timeFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	daysFlag := fs.String("days", defaultCompareDays, "the days since opening for signature at which to align the treaties")
	out := fs.String("out", "", "also draw each treaty's curve against days since opening to FILE.svg or FILE.png")
	size := fs.String("size", "desktop", "the chart's shape: desktop (wide) or phone (narrow, larger type)")
	maxDays := fs.Int("max-days", 0, "cut the chart's days axis at this many days (0: as far as the longest curve)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	days, err := parseDays(*daysFlag)
	if err != nil {
		return err
	}
	if *maxDays < 0 {
		return usagef("--max-days %d: want 0 (no limit) or a positive number of days", *maxDays)
	}
	var format chart.Format
	var layout chart.Layout
	if *out != "" {
		if format, err = chart.FormatOf(*out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if layout, err = chart.ParseLayout(*size); err != nil {
			return fmt.Errorf("--size: %w", err)
		}
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		defs, err := l.Treaties(ctx)
		if err != nil {
			return err
		}
		for _, d := range defs {
			pos = append(pos, d.ID)
		}
	}
	d, k, err := m.timeAxes(l, *asOf, *knownAt)
	if err != nil {
		return err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return err
	}
	var rows []comparison
	var curves []projections.Curve
	for _, name := range pos {
		id, err := l.ResolveTreaty(ctx, name)
		if err != nil {
			return err
		}
		st, err := m.statusAt(ctx, l, id, d, k)
		if err != nil {
			return err
		}
		h, err := l.History(ctx, id, k)
		if err != nil {
			return err
		}
		c := comparison{Treaty: id, Name: h.Definition.Name(), Required: st.Required, Counted: st.Counted, Percent: st.Percent,
			Signatories: st.Signatories, Parties: st.Parties, InForceFor: st.InForceFor, ThresholdMetOn: st.ThresholdMetOn, EntryIntoForce: st.EntryIntoForce}
		if start := projections.OpenedForSignature(h.Definition, st); !start.IsZero() {
			c.Opened = &start
			if st.ThresholdMetOn != nil {
				days := start.DaysUntil(*st.ThresholdMetOn)
				c.DaysToThreshold = &days
			}
		}
		curve := projections.CurveOf(h, dir, st)
		c.ByDay, c.ToMarks = alignment(curve, st, days)
		curves = append(curves, curve)
		rows = append(rows, c)
	}
	if *out != "" {
		drawing, err := chart.Compare(curves, layout, *maxDays)
		if err != nil {
			return err
		}
		w := m.stdout
		if *asJSON {
			w = m.stderr // standard output stays one JSON document
		}
		if err := writeChartFile(w, *out, drawing, format); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TREATY\tNAME\tOPENED\tCOUNTED\tSIGNATORIES\tPARTIES\tIN FORCE FOR\tTHRESHOLD MET\tDAYS TO THRESHOLD\tENTRY INTO FORCE\n")
	for _, c := range rows {
		days := "—"
		if c.DaysToThreshold != nil {
			days = fmt.Sprint(*c.DaysToThreshold)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d (%.1f%%)\t%d\t%d\t%d\t%s\t%s\t%s\n", c.Treaty, c.Name, dateOrDash(c.Opened), c.Counted, c.Required, c.Percent,
			c.Signatories, c.Parties, c.InForceFor, dateOrDash(c.ThresholdMetOn), days, dateOrDash(c.EntryIntoForce))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeAlignment(m.stdout, rows, days)
}

// writeAlignment prints the instruments each treaty counted at each day
// since it opened for signature ("—": not reached by the as-of date, or
// the opening is unknown), then the days each took to reach 25, 50, 75,
// 90 and 100 % of its threshold.
func writeAlignment(w io.Writer, rows []comparison, days []int) error {
	fmt.Fprintf(w, "\nInstruments counted N days after opening for signature:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TREATY\tOPENED")
	for _, n := range days {
		fmt.Fprintf(tw, "\tDAY %d", n)
	}
	fmt.Fprintln(tw)
	for _, c := range rows {
		fmt.Fprintf(tw, "%s\t%s", c.Treaty, dateOrDash(c.Opened))
		for i := range days {
			cell := "—"
			if i < len(c.ByDay) && c.ByDay[i].Counted != nil {
				cell = fmt.Sprint(*c.ByDay[i].Counted)
				if sh := c.ByDay[i].Share; sh != nil {
					cell += fmt.Sprintf(" (%.1f%%)", *sh)
				}
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDays from opening for signature to 25, 50, 75, 90 and 100 %% of the required number of instruments:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TREATY\tREQUIRED\t25%%\t50%%\t75%%\t90%%\t100%%\n")
	for _, c := range rows {
		fmt.Fprintf(tw, "%s\t%d", c.Treaty, c.Required)
		cells := map[int]string{}
		for _, mk := range c.ToMarks {
			if mk.Days != nil {
				cells[mk.Percent] = fmt.Sprint(*mk.Days)
			}
		}
		for _, p := range []int{25, 50, 75, 90, 100} {
			cell, ok := cells[p]
			if !ok {
				cell = "—"
			}
			fmt.Fprintf(tw, "\t%s", cell)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func dateOrDash(d *events.Date) string {
	if d == nil || d.IsZero() {
		return "—"
	}
	return d.String()
}

// writeParticipantsCSV writes a status's participant table as CSV
// (export.ParticipantsCSV, which the dashboard's download uses too).
func writeParticipantsCSV(w io.Writer, st projections.Status) error {
	return export.ParticipantsCSV(w, st)
}
