package chart

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/treatywatch/treatywatch/projections"
)

// Compare draws several treaties' counted instruments against the days
// since each opened for signature, one colour each, with a dot where a
// treaty met its threshold; maxDays > 0 cuts the days axis there (0: as
// far as the longest curve goes). A treaty whose opening date is unknown
// is not drawn, and the legend says so.
func Compare(cs []projections.Curve, l Layout, maxDays int) (*Drawing, error) {
	sz := sizesOf(l)
	longest, top := 1, 1
	for _, c := range cs {
		if !c.Opened.IsZero() {
			longest = max(longest, c.Opened.DaysUntil(c.AsOf))
		}
	}
	if maxDays > 0 {
		longest = maxDays
	}
	for _, c := range cs {
		if c.Opened.IsZero() {
			continue
		}
		top = max(top, c.Required)
		for _, p := range c.Points {
			if c.Opened.DaysUntil(p.Date) <= longest {
				top = max(top, p.Counted)
			}
		}
	}
	ymax := niceCeil(float64(top) * 1.08)
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Title)
	}
	title := "Instruments counted by days since opening for signature: " + strings.Join(names, ", ")
	p := newPlot(sz, title)
	p.X.Label.Text = "days since opened for signature"
	p.Y.Label.Text = "instruments counted"
	p.Y.Tick.Marker = stepTicks{step: niceStep(ymax), format: "%.0f"}
	p.X.Tick.Marker = dayTicks{max: sz.maxDateTicks}
	p.Add(grid{})

	var entries []entry
	var skipped []string
	dots := false
	desc := title + "."
	for i, c := range cs {
		if c.Opened.IsZero() {
			skipped = append(skipped, c.Title)
			continue
		}
		col := palette(i)
		pts := []plotter.XY{{X: 0, Y: 0}}
		last := 0
		for _, pt := range c.Points {
			pts = append(pts, plotter.XY{X: float64(max(c.Opened.DaysUntil(pt.Date), 0)), Y: float64(pt.Counted)})
			last = pt.Counted
		}
		pts = append(pts, plotter.XY{X: float64(c.Opened.DaysUntil(c.AsOf)), Y: float64(last)})
		sty := draw.LineStyle{Color: col, Width: 2.2}
		if i%2 == 1 {
			sty.Dashes = []vg.Length{7, 2}
		}
		if err := addStep(p, pts, sty); err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%s, opened %s: %d of %d", c.Title, friendly(c.Opened), last, c.Required)
		if d := c.ThresholdMetOn; d != nil {
			n := c.Opened.DaysUntil(*d)
			text += fmt.Sprintf(", threshold met on day %d", n)
			s, err := plotter.NewScatter(plotter.XYs{{X: float64(n), Y: float64(c.Required)}})
			if err != nil {
				return nil, fmt.Errorf("chart threshold dot: %w", err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 4, Shape: draw.CircleGlyph{}}
			p.Add(s)
			dots = true
		} else {
			text += fmt.Sprintf(" after %d days", c.Opened.DaysUntil(c.AsOf))
		}
		entries = append(entries, entry{line: sty, text: text})
		desc += " " + text + "."
	}
	if dots {
		dot := draw.GlyphStyle{Color: rgb(colText), Radius: 4, Shape: draw.CircleGlyph{}}
		entries = append(entries, entry{glyph: &dot, text: "threshold met (the dot is at the treaty's required number)"})
	}
	if len(skipped) > 0 {
		entries = append(entries, entry{line: draw.LineStyle{}, text: "Not drawn, date of opening for signature unknown: " + strings.Join(skipped, ", ")})
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, float64(longest)*1.02, 0, ymax
	return compose(sz, []*plot.Plot{p}, []vg.Length{sz.countH}, entries, title, desc), nil
}

// dayTicks marks days since opening at whole years (every 1, 2, 5 or 10)
// over two years or more, else at round numbers of days.
type dayTicks struct{ max int }

// Ticks implements plot.Ticker.
func (t dayTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi-lo >= 730 {
		for _, years := range []int{1, 2, 5, 10, 20} {
			step := float64(365 * years)
			if (hi-lo)/step <= float64(t.max) {
				return stepTicks{step: step, format: "%.0f"}.Ticks(lo, hi)
			}
		}
	}
	return stepTicks{step: niceStep(hi - lo), format: "%.0f"}.Ticks(lo, hi)
}
