package main_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustWellFormedSVG reads an SVG file and fails the test unless it parses
// as XML with an <svg> root; it returns the file's text.
func mustWellFormedSVG(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root string
	for root == "" {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: no root element: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se.Name.Local
		}
	}
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q, want svg", path, root)
	}
	return string(b)
}

// `chart` writes the seeded Paris Agreement's chart as SVG and as PNG: the
// count, the share panel, the milestones and the withdrawals; --as-of
// cuts it.
func TestChartWritesTheSeededParisAgreement(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	dir := t.TempDir()
	svg := filepath.Join(dir, "paris.svg")
	out := c.ok("chart", "paris", "--out", svg)
	if !strings.HasPrefix(out, "wrote "+svg+" (svg, ") {
		t.Errorf("chart said %q", out)
	}
	text := mustWellFormedSVG(t, svg)
	for _, want := range []string{"<title>Paris Agreement: instruments counted towards entry into force, as of 27 Nov 2026</title>",
		"Share: per cent of total global greenhouse gas emissions", "Threshold met 5 Oct 2016", "Entry into force 4 Nov 2016",
		"Withdrawal takes effect: United States of America, 4 Nov 2020", "Threshold: 55 instruments and 55% of the share"} {
		if !strings.Contains(text, want) {
			t.Errorf("paris.svg lacks %q", want)
		}
	}
	pngPath := filepath.Join(dir, "paris-phone.png")
	c.ok("chart", "XXVII-7-d", "--out", pngPath, "--size", "phone")
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("paris-phone.png: %v", err)
	}
	if w := img.Bounds().Dx(); w != 576 {
		t.Errorf("phone PNG is %d px wide, want 576 (4 in at 144 dpi)", w)
	}

	early := filepath.Join(dir, "early.svg")
	c.ok("chart", "paris", "--out", early, "--as-of", "2016-10-01")
	text = mustWellFormedSVG(t, early)
	if strings.Contains(text, "Threshold met") || strings.Contains(text, "Withdrawal") || !strings.Contains(text, "as of 1 Oct 2016") {
		t.Errorf("the chart as of 1 Oct 2016 shows what came later, or not its date")
	}
}

// Bad input to `chart` is refused with exit 2 (or 4 for an unknown
// treaty), a message naming the problem, and no file written.
func TestChartRefusesBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no --out", []string{"chart", "ATT"}, 2, "--out FILE.svg or FILE.png is required"},
		{"PDF", []string{"chart", "ATT", "--out", filepath.Join(dir, "att.pdf")}, 2, "att.pdf"},
		{"size", []string{"chart", "ATT", "--out", filepath.Join(dir, "att.svg"), "--size", "tablet"}, 2, `"tablet"`},
		{"two treaties", []string{"chart", "ATT", "TPNW", "--out", filepath.Join(dir, "att.svg")}, 2, "exactly one treaty"},
		{"unknown treaty", []string{"chart", "XX-99", "--out", filepath.Join(dir, "x.svg")}, 4, "XX-99"},
		{"folder missing", []string{"chart", "ATT", "--out", filepath.Join(dir, "no", "such", "att.svg")}, 1, "cannot write in " + filepath.Join(dir, "no", "such") + ": no such file or directory"},
	}
	for _, tt := range tests {
		r := c.run("", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d naming %q", tt.name, r.code, r.stderr, tt.code, tt.msg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused charts left files: %v", entries)
	}
}

// `compare` aligns the seeded treaties on days since each opened for
// signature: the counts at day 30, 90, ... (null once past the as-of
// date), the days to each percentage of the threshold, the existing
// fields unchanged; --out draws the curves and keeps --json's standard
// output one JSON document.
func TestCompareAlignsOnDaysSinceOpening(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	var rows []struct {
		Treaty          string `json:"treaty"`
		Opened          string `json:"opened_for_signature"`
		Counted         int    `json:"counted"`
		DaysToThreshold *int   `json:"days_to_threshold"`
		ByDay           []struct {
			Day     int      `json:"day"`
			Date    string   `json:"date"`
			Counted *int     `json:"counted"`
			Share   *float64 `json:"share"`
		} `json:"by_day"`
		ToMarks []struct {
			Percent int  `json:"percent"`
			Days    *int `json:"days"`
		} `json:"days_to_marks"`
	}
	svg := filepath.Join(t.TempDir(), "cmp.svg")
	r := c.run("", "compare", "hanoi", "ATT", "paris", "--json", "--out", svg)
	if r.code != 0 {
		t.Fatalf("compare: exit %d\n%s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("compare --json --out: standard output is not JSON: %v\n%s", err, r.stdout)
	}
	if len(rows) != 3 || rows[1].Treaty != "XXVI-8" || rows[1].Opened != "2013-06-03" || rows[1].DaysToThreshold == nil || *rows[1].DaysToThreshold != 479 {
		t.Fatalf("compare = %+v", rows)
	}
	at := func(i, day int) (string, *int, *float64) {
		for _, b := range rows[i].ByDay {
			if b.Day == day {
				return b.Date, b.Counted, b.Share
			}
		}
		t.Fatalf("%s has no day %d: %+v", rows[i].Treaty, day, rows[i].ByDay)
		return "", nil, nil
	}
	// ATT opened 3 Jun 2013; 40 instruments counted a year later.
	if date, n, sh := at(1, 365); date != "2014-06-03" || n == nil || *n != 40 || sh != nil {
		t.Errorf("ATT day 365 = %s %v %v; want 2014-06-03, 40, no share", date, n, sh)
	}
	// Hanoi opened 25 Oct 2025: day 730 is after the as-of date.
	if date, n, _ := at(0, 730); date != "2027-10-25" || n != nil {
		t.Errorf("Hanoi day 730 = %s %v; want 2027-10-25 and null", date, n)
	}
	if _, n, sh := at(2, 180); n == nil || *n != 82 || sh == nil || *sh < 55 {
		t.Errorf("Paris day 180 = %v %v; want 82 instruments and the share past 55 %%", n, sh)
	}
	if m := rows[1].ToMarks; len(m) != 5 || m[4].Percent != 100 || m[4].Days == nil || *m[4].Days != 479 {
		t.Errorf("ATT days to marks = %+v; want 100 %% on day 479", m)
	}
	if !strings.Contains(r.stderr, "wrote "+svg) {
		t.Errorf("compare --out did not say on standard error what it wrote: %q", r.stderr)
	}
	if text := mustWellFormedSVG(t, svg); !strings.Contains(text, "ATT, opened 3 Jun 2013: ") || !strings.Contains(text, "threshold met on day 479") {
		t.Errorf("cmp.svg lacks the ATT's legend")
	}

	text := c.ok("compare", "ATT", "TPNW", "--days", "365,730")
	for _, want := range []string{"Instruments counted N days after opening for signature:", "DAY 365", "DAY 730", "XXVI-8  2013-06-03  40       69"} {
		if !strings.Contains(text, want) {
			t.Errorf("compare text lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range [][]string{{"--days", "30,x"}, {"--days", "90,30"}, {"--max-days", "-1"}, {"--out", "cmp.gif"}} {
		if r := c.run("", append([]string{"compare", "ATT"}, bad...)...); r.code != 2 {
			t.Errorf("compare %v: exit %d, want 2\n%s", bad, r.code, r.stderr)
		}
	}
}
