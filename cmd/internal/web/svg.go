package web

import (
	"fmt"
	"html"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH                     = 720, 300
	marginL, marginR, marginT, marginB = 52, 20, 28, 44
)

// renderCurve draws the cumulative curve of counted instruments over
// time (a step line), the signatures for comparison, and the threshold
// line, from start to end. Only numbers and escaped text go into it.
func renderCurve(points []projections.Point, signatures []events.Date, required int, start, end events.Date) template.HTML {
	if start.IsZero() || !start.Before(end) {
		start = end.AddDays(-365)
		if len(points) > 0 && points[0].Date.Before(start) {
			start = points[0].Date
		}
	}
	sort.Slice(signatures, func(i, j int) bool { return signatures[i].Before(signatures[j]) })
	for _, d := range signatures {
		if d.Before(start) {
			start = d
			break
		}
	}
	if len(points) > 0 && points[0].Date.Before(start) {
		start = points[0].Date
	}
	span := float64(start.DaysUntil(end))
	if span < 1 {
		span = 1
	}
	top := max(required, len(signatures), 1)
	for _, p := range points {
		top = max(top, p.Counted)
	}
	ymax := niceCeil(float64(top) * 1.1)
	plotW, plotH := float64(chartW-marginL-marginR), float64(chartH-marginT-marginB)
	x := func(d events.Date) float64 { return marginL + float64(start.DaysUntil(d))/span*plotW }
	y := func(v float64) float64 { return marginT + plotH - v/ymax*plotH }

	counted := 0
	if len(points) > 0 {
		counted = points[len(points)-1].Counted
	}
	var b strings.Builder
	title := fmt.Sprintf("Counted instruments over time: %d of %d required as of %s", counted, required, friendly(end))
	desc := fmt.Sprintf("Step line of counted instruments from %s to %s; %d signatures; threshold %d.", friendly(start), friendly(end), len(signatures), required)
	fmt.Fprintf(&b, `<svg id="curve" class="curve" viewBox="0 0 %d %d" role="img" aria-labelledby="curve-title curve-desc" data-counted="%d" data-required="%d" data-points="%d">`,
		chartW, chartH, counted, required, len(points))
	fmt.Fprintf(&b, `<title id="curve-title">%s</title><desc id="curve-desc">%s</desc>`, html.EscapeString(title), html.EscapeString(desc))

	// Grid and y axis labels.
	step := niceStep(ymax)
	for v := 0.0; v <= ymax+1e-9; v += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, marginL, chartW-marginR, y(v), y(v))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%g</text>`, marginL-6, y(v)+4, v)
	}
	// X axis: the ends and each 1 January (or quarter, for short spans).
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, marginL, chartW-marginR, y(0), y(0))
	// Every other label is "minor": a phone, where the labels are drawn
	// twice as large (style.css), shows half of them.
	ticks := xTicks(start, end)
	for i, t := range ticks {
		class := "tick"
		if len(ticks) > 3 && i%2 == 1 {
			class = "tick minor"
		}
		fmt.Fprintf(&b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x(t), x(t), y(0), y(0)+5)
		fmt.Fprintf(&b, `<text class="%s" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, class, x(t), y(0)+24, monthYear(t))
	}

	// Threshold.
	if required > 0 {
		fmt.Fprintf(&b, `<line class="threshold" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, marginL, chartW-marginR, y(float64(required)), y(float64(required)))
		fmt.Fprintf(&b, `<text class="threshold-label" x="%d" y="%.1f" text-anchor="end">threshold %d</text>`, chartW-marginR-4, y(float64(required))-6, required)
	}

	// Signatures, cumulative, then the counted instruments: step lines.
	if len(signatures) > 0 {
		var sig []projections.Point
		for i, d := range signatures {
			if d.After(end) {
				break
			}
			if n := len(sig); n > 0 && sig[n-1].Date == d {
				sig[n-1].Counted = i + 1
				continue
			}
			sig = append(sig, projections.Point{Date: d, Counted: i + 1})
		}
		fmt.Fprintf(&b, `<polyline class="signatures" points="%s"/>`, stepPoints(sig, start, end, x, y))
	}
	fmt.Fprintf(&b, `<polyline class="counted" points="%s"/>`, stepPoints(points, start, end, x, y))
	for _, p := range points {
		fmt.Fprintf(&b, `<circle class="counted-dot" cx="%.1f" cy="%.1f" r="3"><title>%s: %d</title></circle>`, x(p.Date), y(float64(p.Counted)), friendly(p.Date), p.Counted)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and escaped text only
}

// monthYear is a tick label: "Jan 2026".
func monthYear(d events.Date) string {
	y, m, _ := d.YMD()
	return fmt.Sprintf("%s %d", m.String()[:3], y)
}

// stepPoints is the polyline of a step function that starts at zero.
func stepPoints(series []projections.Point, start, end events.Date, x func(events.Date) float64, y func(float64) float64) string {
	pts := []string{fmt.Sprintf("%.1f,%.1f", x(start), y(0))}
	prev := 0
	for _, p := range series {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Date), y(float64(prev))), fmt.Sprintf("%.1f,%.1f", x(p.Date), y(float64(p.Counted))))
		prev = p.Counted
	}
	pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(end), y(float64(prev))))
	return strings.Join(pts, " ")
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, or a multiple
// of the step.
func niceCeil(v float64) float64 {
	s := niceStep(v)
	n := float64(int(v/s+0.999999)) * s
	if n < v {
		n += s
	}
	return max(n, 1)
}

// niceStep is a grid step giving about five lines up to v.
func niceStep(v float64) float64 {
	raw := v / 5
	p := 1.0
	for p*10 <= raw {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// xTicks are the first days of years (or of quarters, over spans shorter
// than two years) strictly inside (start, end).
func xTicks(start, end events.Date) []events.Date {
	var out []events.Date
	sy, _, _ := start.YMD()
	ey, _, _ := end.YMD()
	months := 12
	if start.DaysUntil(end) < 730 {
		months = 3
	}
	for y := sy; y <= ey; y++ {
		for m := 1; m <= 12; m += months {
			d := events.NewDate(y, time.Month(m), 1)
			if d.After(start) && d.Before(end) {
				out = append(out, d)
			}
		}
	}
	return out
}
