package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pngDPI is the resolution of PNG output: 1.5 pixels per CSS pixel, so a
// desktop chart is 1152 pixels wide and stays sharp on dense screens.
const pngDPI = 144

// Drawing is a chart, drawn the same way whichever format it is written
// in. Write it from one goroutine at a time.
type Drawing struct {
	width, height vg.Length
	paint         func(draw.Canvas)
	// Title is the chart's title, for alt text and file names.
	Title string
	// Description says in words what the chart shows, for alt text.
	Description string
}

// Size returns the drawing's width and height in points.
func (d *Drawing) Size() (w, h vg.Length) { return d.width, d.height }

// Write writes the drawing in format f.
func (d *Drawing) Write(w io.Writer, f Format) error {
	if f == PNG {
		return d.WritePNG(w)
	}
	return d.WriteSVG(w)
}

// WriteSVG writes the drawing as an SVG document with a title and a
// description for screen readers.
func (d *Drawing) WriteSVG(w io.Writer) error {
	c := vgsvg.New(d.width, d.height)
	d.paint(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	// vgsvg writes no title: add one (and a description) after the root
	// element's opening tag, escaped.
	out := buf.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i >= 0 {
		if j := bytes.IndexByte(out[i:], '>'); j >= 0 {
			at := i + j + 1
			var meta bytes.Buffer
			meta.WriteString(`<title>`)
			escapeXML(&meta, d.Title)
			meta.WriteString(`</title><desc>`)
			escapeXML(&meta, d.Description)
			meta.WriteString("</desc>\n")
			out = append(out[:at:at], append(meta.Bytes(), out[at:]...)...)
		}
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

// WritePNG writes the drawing as a PNG image on a white background.
func (d *Drawing) WritePNG(w io.Writer) error {
	c := vgimg.NewWith(vgimg.UseWH(d.width, d.height), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	d.paint(draw.New(c))
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("write png: %w", err)
	}
	return nil
}

func escapeXML(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	b.WriteString(r.Replace(s))
}

// Colours (0xRRGGBB), chosen to stay apart for the common colour-vision
// deficiencies (Okabe–Ito); dashes tell the lines apart in grey too.
const (
	colCount     = 0x0072B2 // blue
	colShare     = 0xCC79A7 // reddish purple
	colSignature = 0x888888
	colThreshold = 0xD55E00 // vermillion
	colOpened    = 0x555555
	colMet       = 0xE69F00 // orange
	colInForce   = 0x009E73 // bluish green
	colWithdrawn = 0xB00020
	colGrid      = 0xE4E4E4
	colText      = 0x222222
)

// rgb is an opaque colour from 0xRRGGBB.
func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// palette colours the treaties of a comparison, in order.
func palette(i int) color.Color {
	p := []uint32{colCount, colThreshold, colInForce, colShare, colMet, 0x56B4E9, 0x444444, colWithdrawn}
	return rgb(p[i%len(p)])
}

// sizes are a layout's dimensions and type sizes, in points.
type sizes struct {
	width, countH, shareH vg.Length
	title, label, tick    vg.Length
	legend                vg.Length
	maxDateTicks          int
}

func sizesOf(l Layout) sizes {
	if l == Phone {
		return sizes{width: 4 * vg.Inch, countH: 3.4 * vg.Inch, shareH: 2.3 * vg.Inch, title: 12, label: 10, tick: 10, legend: 10, maxDateTicks: 5}
	}
	return sizes{width: 8 * vg.Inch, countH: 4.5 * vg.Inch, shareH: 2.6 * vg.Inch, title: 14, label: 11, tick: 10.5, legend: 11, maxDateTicks: 9}
}

// sans is the typeface of every text at a size: Liberation Sans, shipped
// inside the plot module, so PNGs need no system font and SVGs name a
// common one.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot returns a plot with the layout's type sizes, a light grid and
// no legend of its own (the chart draws one legend under its panels).
func newPlot(sz sizes, title string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.White
	p.Title.Text = wrap(title, textStyle(sz.title), sz.width-12)
	p.Title.TextStyle.Font = sans(sz.title)
	p.Title.TextStyle.Color = rgb(colText)
	p.Title.Padding = 6
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(sz.label)
		a.Label.TextStyle.Color = rgb(colText)
		a.Tick.Label.Font = sans(sz.tick)
		a.Tick.Label.Color = rgb(colText)
		a.LineStyle.Color = rgb(colText)
		a.Tick.LineStyle.Color = rgb(colText)
		a.Padding = 0
	}
	return p
}

// textStyle is a plain text style of the given size.
func textStyle(size vg.Length) text.Style {
	return text.Style{Color: rgb(colText), Font: sans(size), Handler: plot.DefaultTextHandler, XAlign: draw.XLeft, YAlign: draw.YBottom}
}

// wrap breaks s into lines no wider than width in style sty.
func wrap(s string, sty text.Style, width vg.Length) string {
	words := strings.Fields(s)
	var lines []string
	cur := ""
	for _, w := range words {
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if cur != "" && sty.Width(try) > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return strings.Join(lines, "\n")
}

// entry is a legend line: a sample of a line style (or a glyph) and text.
type entry struct {
	line  draw.LineStyle
	glyph *draw.GlyphStyle
	text  string
}

// legend lays out entries under the panels, one per row, wrapped to the
// width; it returns its height and a function that draws it into a
// canvas of that height.
func legend(sz sizes, entries []entry) (vg.Length, func(draw.Canvas)) {
	sty := textStyle(sz.legend)
	thumb := vg.Length(28)
	gap := vg.Length(6)
	lineH := sty.Height("Mg") * 1.15
	type laid struct {
		e     entry
		lines []string
	}
	var rows []laid
	var h vg.Length = 6
	for _, e := range entries {
		ls := strings.Split(wrap(e.text, sty, sz.width-thumb-gap-24), "\n")
		rows = append(rows, laid{e, ls})
		h += lineH*vg.Length(len(ls)) + 3
	}
	return h, func(c draw.Canvas) {
		x := c.Min.X + 12
		y := c.Max.Y - 6
		for _, r := range rows {
			mid := y - lineH/2
			if r.e.glyph != nil {
				c.DrawGlyph(*r.e.glyph, vg.Point{X: x + thumb/2, Y: mid})
			} else if r.e.line.Color != nil {
				c.StrokeLine2(r.e.line, x, mid, x+thumb, mid)
			}
			for _, l := range r.lines {
				c.FillText(sty, vg.Point{X: x + thumb + gap, Y: y - lineH*0.85}, l)
				y -= lineH
			}
			y -= 3
		}
	}
}

// niceCeil rounds v up to a round number at a multiple of a grid step.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	s := niceStep(v)
	n := float64(int(v/s)) * s
	if n < v {
		n += s
	}
	return n
}

// niceStep is a 1, 2 or 5 times a power of ten giving about five steps
// up to v.
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

// stepTicks marks 0 and every step up to max, labelled with format.
type stepTicks struct {
	step   float64
	format string
}

// Ticks implements plot.Ticker.
func (t stepTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for v := 0.0; v <= hi+1e-9; v += t.step {
		if v >= lo-1e-9 {
			out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf(t.format, v)})
		}
	}
	return out
}

// grid draws horizontal grid lines at the Y ticks of a plot.
type grid struct{}

// Plot implements plot.Plotter.
func (grid) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: rgb(colGrid), Width: 0.7}
	for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if t.Label == "" {
			continue
		}
		y := trY(t.Value)
		c.StrokeLine2(sty, trX(p.X.Min), y, trX(p.X.Max), y)
	}
}
