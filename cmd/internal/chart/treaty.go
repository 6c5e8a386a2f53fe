package chart

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// Treaty draws a treaty's curve: the counted instruments over time as a
// step line that falls when a withdrawal takes effect, the signatories
// for comparison, the threshold line, and vertical lines at the opening
// for signature, the day the threshold was met, entry into force and each
// withdrawal taking effect; for a rule with a share condition, the
// weighted share in a second panel under the first, on the same dates,
// with its own threshold. The legend under the panels gives the dates.
func Treaty(c projections.Curve, l Layout) (*Drawing, error) {
	sz := sizesOf(l)
	start, end := span(c)
	x := func(d events.Date) float64 { return dayNumber(d) }
	asOf := c.AsOf

	top := max(c.Required, 1)
	for _, p := range c.Points {
		top = max(top, p.Counted)
	}
	if n := len(c.Signatures); n > 0 {
		top = max(top, c.Signatures[n-1].Counted)
	}
	ymax := niceCeil(float64(top) * 1.08)

	counted := 0
	if n := len(c.Points); n > 0 {
		counted = c.Points[n-1].Counted
	}
	title := fmt.Sprintf("%s: instruments counted towards entry into force, as of %s", c.Title, friendly(asOf))
	count := newPlot(sz, title)
	count.Y.Label.Text = "instruments counted"
	count.X.Tick.Marker = dateTicks{max: sz.maxDateTicks}
	count.Y.Tick.Marker = stepTicks{step: niceStep(ymax), format: "%.0f"}
	count.Add(grid{})

	var entries []entry
	if len(c.Signatures) > 0 {
		sig := make([]plotter.XY, 0, len(c.Signatures)+2)
		sig = append(sig, plotter.XY{X: x(start), Y: 0})
		for _, p := range c.Signatures {
			sig = append(sig, plotter.XY{X: x(p.Date), Y: float64(p.Counted)})
		}
		sig = append(sig, plotter.XY{X: x(asOf), Y: float64(c.Signatures[len(c.Signatures)-1].Counted)})
		sty := draw.LineStyle{Color: rgb(colSignature), Width: 1.5, Dashes: []vg.Length{5, 3}}
		if err := addStep(count, sig, sty); err != nil {
			return nil, err
		}
		entries = append(entries, entry{line: sty, text: fmt.Sprintf("Signatories: %d", c.Signatures[len(c.Signatures)-1].Counted)})
	}
	pts := []plotter.XY{{X: x(start), Y: 0}}
	for _, p := range c.Points {
		pts = append(pts, plotter.XY{X: x(p.Date), Y: float64(p.Counted)})
	}
	pts = append(pts, plotter.XY{X: x(asOf), Y: float64(counted)})
	countStyle := draw.LineStyle{Color: rgb(colCount), Width: 2.5}
	if err := addStep(count, pts, countStyle); err != nil {
		return nil, err
	}
	req := "required number unknown"
	if c.Required > 0 {
		req = fmt.Sprintf("%d required", c.Required)
	}
	entries = append([]entry{{line: countStyle, text: fmt.Sprintf("Counted instruments: %d (%s)", counted, req)}}, entries...)
	thresholdStyle := draw.LineStyle{Color: rgb(colThreshold), Width: 1.5, Dashes: []vg.Length{2, 2}}
	if c.Required > 0 {
		if err := addStep(count, []plotter.XY{{X: x(start), Y: float64(c.Required)}, {X: x(end), Y: float64(c.Required)}}, thresholdStyle); err != nil {
			return nil, err
		}
		th := fmt.Sprintf("Threshold: %d instruments", c.Required)
		if c.ShareNeed > 0 {
			th += fmt.Sprintf(" and %s%% of the share", trimFloat(c.ShareNeed))
		}
		entries = append(entries, entry{line: thresholdStyle, text: th})
	}

	marks := milestones(c)
	for _, m := range marks {
		if m.text != "" { // only the first of many withdrawals has one
			entries = append(entries, entry{line: m.style, text: m.text})
		}
	}

	panels := []*plot.Plot{count}
	heights := []vg.Length{sz.countH}
	if c.ShareNeed > 0 {
		share := newPlot(sz, "Share: "+c.ShareName)
		share.Title.TextStyle.Font = sans(sz.label)
		share.Y.Label.Text = "per cent"
		share.X.Tick.Marker = dateTicks{max: sz.maxDateTicks}
		share.Y.Tick.Marker = stepTicks{step: 25, format: "%.0f %%"}
		share.Add(grid{})
		sp := []plotter.XY{{X: x(start), Y: 0}}
		last := 0.0
		for _, p := range c.Points {
			sp = append(sp, plotter.XY{X: x(p.Date), Y: p.Share})
			last = p.Share
		}
		sp = append(sp, plotter.XY{X: x(asOf), Y: last})
		shareStyle := draw.LineStyle{Color: rgb(colShare), Width: 2.5}
		if err := addStep(share, sp, shareStyle); err != nil {
			return nil, err
		}
		if err := addStep(share, []plotter.XY{{X: x(start), Y: c.ShareNeed}, {X: x(end), Y: c.ShareNeed}}, thresholdStyle); err != nil {
			return nil, err
		}
		entries = append(entries[:1], append([]entry{{line: shareStyle, text: fmt.Sprintf("Share: %s%% (%s%% needed)", trimFloat(last), trimFloat(c.ShareNeed))}}, entries[1:]...)...)
		if err := addMarks(share, marks, 0, 100); err != nil {
			return nil, err
		}
		share.X.Min, share.X.Max, share.Y.Min, share.Y.Max = x(start), x(end), 0, 100
		panels = append(panels, share)
		heights = append(heights, sz.shareH)
	}
	if err := addMarks(count, marks, 0, ymax); err != nil {
		return nil, err
	}
	count.X.Min, count.X.Max, count.Y.Min, count.Y.Max = x(start), x(end), 0, ymax

	from := start
	if !c.Opened.IsZero() {
		from = c.Opened
	}
	desc := fmt.Sprintf("Step line of the instruments counted towards entry into force of %s from %s to %s: %d (%s).", c.Title, friendly(from), friendly(asOf), counted, req)
	if c.ShareNeed > 0 {
		desc += fmt.Sprintf(" A second panel shows the weighted share (%s), %s%% needed.", c.ShareName, trimFloat(c.ShareNeed))
	}
	for _, m := range marks {
		if m.text != "" {
			desc += " " + m.text + "."
		}
	}
	return compose(sz, panels, heights, entries, title, desc), nil
}

// compose stacks panels of the given heights, their data areas aligned
// left and right, above a legend of entries.
func compose(sz sizes, panels []*plot.Plot, heights []vg.Length, entries []entry, title, desc string) *Drawing {
	legendH, drawLegend := legend(sz, entries)
	total := legendH
	for _, h := range heights {
		total += h
	}
	return &Drawing{
		width: sz.width, height: total, Title: title, Description: desc,
		paint: func(dc draw.Canvas) {
			dc.SetColor(rgb(0xFFFFFF))
			dc.Fill(dc.Rectangle.Path())
			top := dc.Max.Y
			cs := make([]draw.Canvas, len(panels))
			var left, right vg.Length
			for i, h := range heights {
				c := dc
				c.Max.Y = top
				c.Min.Y = top - h
				c = draw.Crop(c, 6, -10, 6, -4)
				cs[i] = c
				d := panels[i].DataCanvas(c)
				left = max(left, d.Min.X-c.Min.X)
				right = max(right, c.Max.X-d.Max.X)
				top -= h
			}
			for i, c := range cs {
				d := panels[i].DataCanvas(c)
				c = draw.Crop(c, left-(d.Min.X-c.Min.X), -(right - (c.Max.X - d.Max.X)), 0, 0)
				panels[i].Draw(c)
			}
			lc := dc
			lc.Max.Y = top
			drawLegend(lc)
		},
	}
}

// mark is a vertical line at a milestone.
type mark struct {
	at    float64
	style draw.LineStyle
	text  string
}

// milestones returns the vertical lines of a curve: opened for
// signature, threshold met, entry into force (due, when after the as-of
// date) and withdrawals taking effect.
func milestones(c projections.Curve) []mark {
	var out []mark
	if !c.Opened.IsZero() {
		out = append(out, mark{at: dayNumber(c.Opened), style: draw.LineStyle{Color: rgb(colOpened), Width: 1.2, Dashes: []vg.Length{1, 3}},
			text: "Opened for signature " + friendly(c.Opened)})
	}
	if d := c.ThresholdMetOn; d != nil {
		out = append(out, mark{at: dayNumber(*d), style: draw.LineStyle{Color: rgb(colMet), Width: 1.5, Dashes: []vg.Length{6, 3}},
			text: "Threshold met " + friendly(*d)})
	}
	if d := c.EntryIntoForce; d != nil {
		label := "Entry into force " + friendly(*d)
		if d.After(c.AsOf) {
			label = "Entry into force due " + friendly(*d)
		}
		out = append(out, mark{at: dayNumber(*d), style: draw.LineStyle{Color: rgb(colInForce), Width: 1.5}, text: label})
	}
	wd := draw.LineStyle{Color: rgb(colWithdrawn), Width: 1, Dashes: []vg.Length{3, 2}}
	switch n := len(c.Withdrawals); {
	case n > 0 && n <= 3:
		for _, w := range c.Withdrawals {
			out = append(out, mark{at: dayNumber(w.Date), style: wd, text: fmt.Sprintf("Withdrawal takes effect: %s, %s", w.Participant, friendly(w.Date))})
		}
	case n > 3:
		for i, w := range c.Withdrawals {
			m := mark{at: dayNumber(w.Date), style: wd}
			if i == 0 {
				m.text = fmt.Sprintf("Withdrawals taking effect: %d, %s to %s", n, friendly(w.Date), friendly(c.Withdrawals[n-1].Date))
			}
			out = append(out, m)
		}
	}
	return out
}

// addMarks adds the vertical lines of marks from lo to hi.
func addMarks(p *plot.Plot, marks []mark, lo, hi float64) error {
	for _, m := range marks {
		if err := addStep(p, []plotter.XY{{X: m.at, Y: lo}, {X: m.at, Y: hi}}, m.style); err != nil {
			return err
		}
	}
	return nil
}

// addStep adds a step line (each value holds until the next point).
func addStep(p *plot.Plot, pts plotter.XYs, sty draw.LineStyle) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("chart line: %w", err)
	}
	l.StepStyle = plotter.PostStep
	l.LineStyle = sty
	p.Add(l)
	return nil
}

// span returns the dates a treaty's chart runs between: from the opening
// for signature (or the first act, if earlier), to the as-of date or the
// date of entry into force when that is later, with a little room on
// either side.
func span(c projections.Curve) (events.Date, events.Date) {
	end := c.AsOf
	if d := c.EntryIntoForce; d != nil && d.After(end) {
		end = *d
	}
	start := c.Opened
	early := func(d events.Date) {
		if !d.IsZero() && (start.IsZero() || d.Before(start)) {
			start = d
		}
	}
	if len(c.Points) > 0 {
		early(c.Points[0].Date)
	}
	if len(c.Signatures) > 0 {
		early(c.Signatures[0].Date)
	}
	if start.IsZero() || !start.Before(end) {
		start = end.AddDays(-365)
	}
	pad := max(start.DaysUntil(end)/40, 3)
	return start.AddDays(-pad), end.AddDays(pad)
}

// dayNumber is a date as a number of days since 1 January 1970, the X
// coordinate of dated charts.
func dayNumber(d events.Date) float64 {
	return float64(events.NewDate(1970, time.January, 1).DaysUntil(d))
}

// dateOf is the inverse of dayNumber, rounded down.
func dateOf(x float64) events.Date {
	return events.NewDate(1970, time.January, 1).AddDays(int(math.Floor(x)))
}

// friendly is a date as "4 Nov 2016".
func friendly(d events.Date) string {
	y, m, day := d.YMD()
	return fmt.Sprintf("%d %s %d", day, m.String()[:3], y)
}

// trimFloat formats a share: at most two decimals, no trailing zeros.
func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// dateTicks marks years (every 1, 2, 5, 10 or 20) over spans of two years
// or more, else months (every 1, 2, 3 or 6), with at most max labels.
type dateTicks struct{ max int }

// Ticks implements plot.Ticker.
func (t dateTicks) Ticks(lo, hi float64) []plot.Tick {
	from, to := dateOf(lo), dateOf(hi)
	var out []plot.Tick
	fy, _, _ := from.YMD()
	ty, _, _ := to.YMD()
	if from.DaysUntil(to) >= 730 {
		for _, step := range []int{1, 2, 5, 10, 20, 50} {
			out = out[:0]
			for y := fy; y <= ty+1; y++ {
				d := events.NewDate(y, time.January, 1)
				if y%step != 0 || d.Before(from) || d.After(to) {
					continue
				}
				out = append(out, plot.Tick{Value: dayNumber(d), Label: fmt.Sprint(y)})
			}
			if len(out) <= t.max {
				return out
			}
		}
		return out
	}
	for _, step := range []int{1, 2, 3, 6, 12} {
		out = out[:0]
		for y := fy; y <= ty; y++ {
			for m := 1; m <= 12; m++ {
				d := events.NewDate(y, time.Month(m), 1)
				if (m-1)%step != 0 || d.Before(from) || d.After(to) {
					continue
				}
				out = append(out, plot.Tick{Value: dayNumber(d), Label: fmt.Sprintf("%s %d", time.Month(m).String()[:3], y)})
			}
		}
		if len(out) <= max(t.max-1, 2) {
			return out
		}
	}
	return out
}
