package chart_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/chart"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func d(s string) events.Date { return events.MustDate(s) }

func dp(s string) *events.Date {
	v := events.MustDate(s)
	return &v
}

// parisCurve is the Paris Agreement's curve in outline: real dates of
// opening, threshold, entry into force and the two United States
// withdrawals taking effect; the counts and shares on those days as the
// seeded ledger gives them.
func parisCurve() projections.Curve {
	return projections.Curve{
		Treaty: "XXVII-7-d", Title: "Paris Agreement", AsOf: d("2026-11-27"), Opened: d("2016-04-22"),
		Required: 55, ShareName: "per cent of total global greenhouse gas emissions", ShareNeed: 55,
		Points: []projections.CurvePoint{
			{Date: d("2016-04-22"), Counted: 15, Share: 0.04},
			{Date: d("2016-09-03"), Counted: 29, Share: 39.08},
			{Date: d("2016-10-05"), Counted: 72, Share: 58.82},
			{Date: d("2017-10-05"), Counted: 167, Share: 87.4},
			{Date: d("2020-11-04"), Counted: 188, Share: 79.3},
			{Date: d("2021-01-20"), Counted: 189, Share: 97.2},
			{Date: d("2026-01-27"), Counted: 188, Share: 79.28},
		},
		Signatures:     []projections.Point{{Date: d("2016-04-22"), Counted: 175}, {Date: d("2017-04-21"), Counted: 195}},
		ThresholdMetOn: dp("2016-10-05"), EntryIntoForce: dp("2016-11-04"),
		Withdrawals: []projections.Withdrawal{
			{Participant: "United States of America", Date: d("2020-11-04")},
			{Participant: "United States of America", Date: d("2026-01-27")},
		},
	}
}

// hanoiCurve is the Hanoi Convention a year after it opened: signatures,
// no instrument counted yet.
func hanoiCurve() projections.Curve {
	return projections.Curve{
		Treaty: "XVIII-16", Title: "Hanoi Convention", AsOf: d("2026-11-27"), Opened: d("2025-10-25"), Required: 40,
		Points:      []projections.CurvePoint{},
		Signatures:  []projections.Point{{Date: d("2025-10-25"), Counted: 65}, {Date: d("2025-12-01"), Counted: 69}},
		Withdrawals: []projections.Withdrawal{},
	}
}

// svgText returns the character data of every element of an SVG
// document, failing the test unless the whole document parses as XML.
func svgText(t *testing.T, b []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = v.Name.Local
			}
		case xml.CharData:
			out.Write(v)
			out.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return out.String()
}

// countColour counts the pixels of img close to the colour 0xRRGGBB.
func countColour(img image.Image, rgb uint32) int {
	want := [3]int{int(rgb >> 16 & 0xff), int(rgb >> 8 & 0xff), int(rgb & 0xff)}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	}
	n := 0
	for i := 0; i+3 < len(rgba.Pix); i += 4 {
		close := true
		for c := range 3 {
			if diff := int(rgba.Pix[i+c]) - want[c]; diff < -8 || diff > 8 {
				close = false
				break
			}
		}
		if close {
			n++
		}
	}
	return n
}

// strokes reports whether an SVG document draws a line in the colour
// 0xRRGGBB.
func strokes(svg []byte, rgb uint32) bool {
	return bytes.Contains(svg, []byte(fmt.Sprintf("stroke:#%06X", rgb)))
}

func mustPNG(t *testing.T, dr *chart.Drawing) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := dr.Write(&buf, chart.PNG); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	return img
}

func mustSVG(t *testing.T, dr *chart.Drawing) string {
	t.Helper()
	var buf bytes.Buffer
	if err := dr.Write(&buf, chart.SVG); err != nil {
		t.Fatal(err)
	}
	return svgText(t, buf.Bytes())
}

// One drawing of the Paris Agreement gives an SVG and a PNG: the SVG is
// well-formed, titled, and says in text what the chart marks (threshold,
// milestones, withdrawals, the share panel); the PNG has the drawing's
// size at 144 dpi and shows both the count's and the share's colours.
func TestTreatyChartOfAWeightedConditionHasTheSharePanel(t *testing.T) {
	dr, err := chart.Treaty(parisCurve(), chart.Desktop)
	if err != nil {
		t.Fatal(err)
	}
	text := mustSVG(t, dr)
	for _, want := range []string{
		"Paris Agreement: instruments counted towards entry into force, as of 27 Nov 2026",
		"Counted instruments: 188 (55 required)",
		"Share: 79.28% (55% needed)",
		"Threshold: 55 instruments and 55% of the share",
		"Opened for signature 22 Apr 2016",
		"Threshold met 5 Oct 2016",
		"Entry into force 4 Nov 2016",
		"Withdrawal takes effect: United States of America, 4 Nov 2020",
		"Withdrawal takes effect: United States of America, 27 Jan 2026",
		"Share: per cent of total global greenhouse gas emissions",
		"Signatories: 195",
		"2018", "2024",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the SVG's text lacks %q:\n%s", want, text)
		}
	}
	// The PNG (the phone layout's, smaller: rasterising is slow under the
	// race detector) is the same drawing.
	phone, err := chart.Treaty(parisCurve(), chart.Phone)
	if err != nil {
		t.Fatal(err)
	}
	w, h := phone.Size()
	img := mustPNG(t, phone)
	if got, want := img.Bounds().Dx(), int(w.Dots(144)+0.5); got != want {
		t.Errorf("PNG width %d px, want %d", got, want)
	}
	if got, want := img.Bounds().Dy(), int(h.Dots(144)+0.5); got != want {
		t.Errorf("PNG height %d px, want %d", got, want)
	}
	if n := countColour(img, 0x0072B2); n < 500 {
		t.Errorf("%d pixels of the count's blue, want the count's line", n)
	}
	if n := countColour(img, 0xCC79A7); n < 500 {
		t.Errorf("%d pixels of the share's purple, want the share's line", n)
	}

	plain := parisCurve()
	plain.ShareNeed, plain.ShareName = 0, ""
	one, err := chart.Treaty(plain, chart.Phone)
	if err != nil {
		t.Fatal(err)
	}
	_, h1 := one.Size()
	if h1 >= h {
		t.Errorf("a chart without a share condition is %v high, the one with it %v: want the share panel to add height", h1, h)
	}
	var with, without bytes.Buffer
	if err := phone.WriteSVG(&with); err != nil {
		t.Fatal(err)
	}
	if err := one.WriteSVG(&without); err != nil {
		t.Fatal(err)
	}
	if !strokes(with.Bytes(), 0xCC79A7) || strokes(without.Bytes(), 0xCC79A7) {
		t.Errorf("the share's purple line: drawn with a share condition %v, without %v; want only with", strokes(with.Bytes(), 0xCC79A7), strokes(without.Bytes(), 0xCC79A7))
	}
}

// The Hanoi Convention's first year: nothing counted yet, month labels on
// a span under two years, the threshold, and no milestone it has not
// reached. A phone chart is half as wide as a desktop one.
func TestTreatyChartOfAYoungTreaty(t *testing.T) {
	dr, err := chart.Treaty(hanoiCurve(), chart.Desktop)
	if err != nil {
		t.Fatal(err)
	}
	text := mustSVG(t, dr)
	for _, want := range []string{"Counted instruments: 0 (40 required)", "Threshold: 40 instruments", "Opened for signature 25 Oct 2025", "Signatories: 69", "Jan 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("the SVG's text lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"Threshold met", "Entry into force", "Withdrawal", "Share"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("the SVG's text has %q for a treaty that has none:\n%s", unwanted, text)
		}
	}
	phone, err := chart.Treaty(hanoiCurve(), chart.Phone)
	if err != nil {
		t.Fatal(err)
	}
	dw, _ := dr.Size()
	pw, _ := phone.Size()
	if pw*2 != dw {
		t.Errorf("phone width %v, desktop %v: want half", pw, dw)
	}
}

// A treaty whose threshold is met but whose date of entry into force is
// still ahead gets an "entry into force due" line, inside the chart.
func TestTreatyChartShowsAnEntryIntoForceStillAhead(t *testing.T) {
	c := hanoiCurve()
	c.Points = []projections.CurvePoint{{Date: d("2026-09-01"), Counted: 40}}
	c.ThresholdMetOn, c.EntryIntoForce = dp("2026-09-01"), dp("2026-11-30")
	c.AsOf = d("2026-10-01")
	dr, err := chart.Treaty(c, chart.Desktop)
	if err != nil {
		t.Fatal(err)
	}
	if text := mustSVG(t, dr); !strings.Contains(text, "Entry into force due 30 Nov 2026") {
		t.Errorf("the SVG's text lacks the coming entry into force:\n%s", text)
	}
}

// The comparison draws each treaty on days since it opened, says in its
// legend on which day each met its threshold, and names the treaty it
// could not draw for want of an opening date.
func TestCompareChart(t *testing.T) {
	unknown := hanoiCurve()
	unknown.Title, unknown.Opened = "Unopened Treaty", events.Date{}
	dr, err := chart.Compare([]projections.Curve{hanoiCurve(), parisCurve(), unknown}, chart.Desktop, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := mustSVG(t, dr)
	for _, want := range []string{
		"Hanoi Convention, opened 25 Oct 2025: 0 of 40 after 398 days",
		"Paris Agreement, opened 22 Apr 2016: 188 of 55, threshold met on day 166",
		"Not drawn, date of opening for signature unknown: Unopened Treaty",
		"days since opened for signature", "3650",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the SVG's text lacks %q:\n%s", want, text)
		}
	}
	var raw bytes.Buffer
	if err := dr.WriteSVG(&raw); err != nil {
		t.Fatal(err)
	}
	if !strokes(raw.Bytes(), 0x0072B2) || !strokes(raw.Bytes(), 0xD55E00) {
		t.Errorf("the comparison does not draw its first two treaties in blue and vermillion")
	}
	alone, err := chart.Compare([]projections.Curve{hanoiCurve()}, chart.Desktop, 0)
	if err != nil {
		t.Fatal(err)
	}
	if text := mustSVG(t, alone); strings.Contains(text, "threshold met") {
		t.Errorf("a comparison where no treaty met its threshold explains the threshold dots:\n%s", text)
	}
	cut, err := chart.Compare([]projections.Curve{hanoiCurve(), parisCurve()}, chart.Phone, 400)
	if err != nil {
		t.Fatal(err)
	}
	if text := mustSVG(t, cut); strings.Contains(text, "3650") || !strings.Contains(text, "400") {
		t.Errorf("a comparison cut at 400 days has a tick at 3650 or none at 400:\n%s", text)
	}
}

// File names choose the format by extension, in any case; anything else
// is refused as invalid input, naming the file.
func TestFormatOf(t *testing.T) {
	for name, want := range map[string]chart.Format{"paris.svg": chart.SVG, "out/PARIS.PNG": chart.PNG, "a.b.png": chart.PNG} {
		if got, err := chart.FormatOf(name); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"paris.pdf", "paris", "paris.svg.gz"} {
		_, err := chart.FormatOf(name)
		if !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), name) {
			t.Errorf("FormatOf(%q) = %v; want an invalid-input error naming the file", name, err)
		}
	}
	if _, err := chart.ParseLayout("tablet"); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("ParseLayout(tablet) = %v, want invalid input", err)
	}
}

// A title with markup characters stays text in the SVG.
func TestSVGTitleIsEscaped(t *testing.T) {
	c := hanoiCurve()
	c.Title = `A <b>"bold"</b> & treaty`
	dr, err := chart.Treaty(c, chart.Phone)
	if err != nil {
		t.Fatal(err)
	}
	if text := mustSVG(t, dr); !strings.Contains(text, `A <b>"bold"</b> & treaty`) {
		t.Errorf("the title did not survive as text:\n%s", text)
	}
}
