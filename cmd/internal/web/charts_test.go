package web_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// svgOf fails the test unless r is a well-formed SVG document and returns
// its text.
func svgOf(tb testing.TB, r response) string {
	tb.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" {
		tb.Fatalf("Content-Type %q, want image/svg+xml", ct)
	}
	dec := xml.NewDecoder(bytes.NewReader(r.Body))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed SVG: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		tb.Fatalf("root element %q, want svg", root)
	}
	return string(r.Body)
}

// The treaty chart routes answer the chart `treatywatch chart` writes, as
// SVG to show in place or to download, and as PNG, for as_of and size;
// bad parameters are 400 and an unknown treaty 404.
func TestTreatyChartRoutes(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Get("/treaties/paris/chart.svg")
	wantStatus(t, r, http.StatusOK)
	text := svgOf(t, r)
	for _, want := range []string{"Paris Agreement: instruments counted towards entry into force, as of 15 Jun 2026", "Threshold met 5 Oct 2016",
		"Share: per cent of total global greenhouse gas emissions", "Withdrawal takes effect: United States of America, 27 Jan 2026"} {
		if !strings.Contains(text, want) {
			t.Errorf("chart.svg lacks %q", want)
		}
	}
	if cd := r.Header.Get("Content-Disposition"); cd != "" {
		t.Errorf("the chart to show in place is an attachment: %q", cd)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'unsafe-inline'") {
		t.Errorf("chart.svg's policy %q: want nothing but its inline styles", csp)
	}

	r = e.Get("/treaties/XXVII-7-d/chart.svg?as_of=2016-10-01&download=1")
	wantStatus(t, r, http.StatusOK)
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="XXVII-7-d-chart-2016-10-01.svg"` {
		t.Errorf("download: Content-Disposition %q", cd)
	}
	if text := svgOf(t, r); strings.Contains(text, "Threshold met") || !strings.Contains(text, "as of 1 Oct 2016") {
		t.Errorf("the chart as of 1 Oct 2016 shows a later threshold, or not its date")
	}

	// One PNG, the phone's: rasterising is slow under the race detector.
	for path, width := range map[string]int{"/treaties/hanoi/chart.png?size=phone&download=1": 576} {
		r := e.Get(path)
		wantStatus(t, r, http.StatusOK)
		if ct, cd := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"); ct != "image/png" || !strings.HasSuffix(cd, `.png"`) {
			t.Errorf("%s: Content-Type %q, Content-Disposition %q", path, ct, cd)
		}
		img, err := png.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got := img.Bounds().Dx(); got != width {
			t.Errorf("%s is %d px wide, want %d", path, got, width)
		}
	}

	for path, status := range map[string]int{
		"/treaties/hanoi/chart.svg?size=tablet":   http.StatusBadRequest,
		"/treaties/hanoi/chart.png?as_of=someday": http.StatusBadRequest,
		"/treaties/XX-99/chart.svg":               http.StatusNotFound,
	} {
		if r := e.Get(path); r.Status != status {
			t.Errorf("%s: status %d, want %d", path, r.Status, status)
		}
	}
}

var imgSrc = regexp.MustCompile(`<img id="treaty-chart" src="([^"]+)"`)

// The treaty page shows its chart (an image from the chart route, a
// phone-sized one on narrow screens) and links its SVG and PNG downloads,
// for the page's own as_of.
func TestTreatyPageShowsTheChart(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Get("/treaties/hanoi?as_of=2026-06-01")
	wantStatus(t, r, http.StatusOK)
	page := string(r.Body)
	for _, want := range []string{
		`srcset="/treaties/XVIII-16/chart.svg?as_of=2026-06-01&amp;size=phone"`,
		`id="download-chart-svg" href="/treaties/XVIII-16/chart.svg?as_of=2026-06-01&amp;download=1"`,
		`id="download-chart-png" href="/treaties/XVIII-16/chart.png?as_of=2026-06-01&amp;download=1"`,
		`href="/compare?as_of=2026-06-01&amp;ids=XVIII-16"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the treaty page lacks %s", want)
		}
	}
	m := imgSrc.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no chart image on the treaty page")
	}
	src := html.UnescapeString(m[1])
	if src != "/treaties/XVIII-16/chart.svg?as_of=2026-06-01" {
		t.Errorf("chart src %q", src)
	}
	if text := svgOf(t, e.Get(src)); !strings.Contains(text, "Hanoi Convention") || !strings.Contains(text, "as of 1 Jun 2026") {
		t.Errorf("the page's chart is not the Hanoi Convention's as of 1 Jun 2026")
	}
}

// The compare page lines the chosen treaties up on days since opening for
// signature — a chart and a table — and the compare chart routes answer
// it as SVG and PNG; bad choices are refused.
func TestComparePageAndChart(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Get("/compare?ids=hanoi,XXVI-8&ids=paris")
	wantStatus(t, r, http.StatusOK)
	page := string(r.Body)
	for _, want := range []string{"<th scope=\"col\">Day 365</th>", ">ATT</a></th>", `id="compare-chart" src="/compare/chart.svg?ids=XVIII-16%2CXXVI-8%2CXXVII-7-d"`,
		`id="download-compare-png" href="/compare/chart.png?download=1&amp;ids=XVIII-16%2CXXVI-8%2CXXVII-7-d"`, `value="XXVI-9">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the compare page lacks %s", want)
		}
	}
	// ATT opened 3 Jun 2013: 1, 4, 8, 40 and 69 instruments at day 30, 90, 180, 365, 730.
	if !strings.Contains(page, "<td>1</td><td>4</td><td>8</td><td>40</td><td>69</td>") {
		t.Errorf("the compare table lacks the ATT's counts at day 30 to 730:\n%s", page)
	}
	text := svgOf(t, e.Get("/compare/chart.svg?ids=hanoi,XXVI-8&max_days=900"))
	if !strings.Contains(text, "ATT, opened 3 Jun 2013: ") || !strings.Contains(text, "threshold met on day 479") || !strings.Contains(text, "Hanoi Convention, opened 25 Oct 2025") {
		t.Errorf("the compare chart lacks the legend of its treaties:\n%s", text)
	}
	r = e.Get("/compare/chart.png?size=phone")
	wantStatus(t, r, http.StatusOK)
	if _, err := png.Decode(bytes.NewReader(r.Body)); err != nil {
		t.Fatalf("compare chart.png: %v", err)
	}
	many := make([]string, 13)
	for i := range many {
		many[i] = fmt.Sprintf("X-%d", i)
	}
	for path, status := range map[string]int{
		"/compare?ids=" + strings.Join(many, ","): http.StatusBadRequest,
		"/compare/chart.svg?max_days=-1":          http.StatusBadRequest,
		"/compare/chart.svg?ids=hanoi,XX-99":      http.StatusNotFound,
		"/compare/chart.svg?ids=hanoi&size=watch": http.StatusBadRequest,
	} {
		if r := e.Get(path); r.Status != status {
			t.Errorf("%s: status %d, want %d", path, r.Status, status)
		}
	}
}

// On a private instance the charts, like every read, need a session.
func TestChartsArePrivateOnAPrivateInstance(t *testing.T) {
	e := MustEnv(t, envOptions{private: true})
	for _, path := range []string{"/treaties/hanoi/chart.svg", "/treaties/hanoi/chart.png", "/compare", "/compare/chart.svg"} {
		if r := e.Get(path); r.Status != http.StatusSeeOther {
			t.Errorf("%s without a session: status %d, want 303 to sign in", path, r.Status)
		}
	}
	b := newBrowser(e)
	b.signIn(t, e.Viewer)
	wantStatus(t, b.get("/treaties/hanoi/chart.svg"), http.StatusOK)
}
