package worldmap_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/worldmap"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

const hanoi = "XVIII-16"

// asOf is the date of the tests: after the seeded Hanoi signatures.
var asOf = events.MustDate("2026-06-15")

// MustLedger opens a new ledger in a temporary file, seeded with the
// shipped treaties and the Hanoi Convention's signatures.
func MustLedger(tb testing.TB) *events.Ledger {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return now }, Secrets: st})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := seed.Load(ctx, l); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return l
}

// MustStatus folds the Hanoi Convention as of asOf.
func MustStatus(tb testing.TB, l *events.Ledger) (projections.Status, *events.Directory) {
	tb.Helper()
	ctx := context.Background()
	h, err := l.History(ctx, hanoi, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return projections.Compute(h, dir, asOf, nil), dir
}

func MustRenderer(tb testing.TB) *worldmap.Renderer {
	tb.Helper()
	r, err := worldmap.New()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// element is a parsed XML element: its name, attributes and text.
type element struct {
	Name  string
	Attr  map[string]string
	Text  string
	Depth int
}

// mustParseXML parses b strictly as XML and returns its elements in order.
func mustParseXML(tb testing.TB, b []byte) []element {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var out []element
	var stack []int
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := element{Name: t.Name.Local, Attr: map[string]string{}, Depth: len(stack)}
			for _, a := range t.Attr {
				e.Attr[a.Name.Local] = a.Value
			}
			stack = append(stack, len(out))
			out = append(out, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].Text += string(t)
			}
		}
	}
	return out
}

// shapes returns the countries' paths and markers by M49 code, failing on a
// code drawn twice.
func shapes(tb testing.TB, els []element, name string) map[string]element {
	tb.Helper()
	out := map[string]element{}
	for i, e := range els {
		if e.Name != name {
			continue
		}
		// The <title> child follows its parent.
		if i+1 < len(els) && els[i+1].Name == "title" {
			e.Text = els[i+1].Text
		}
		m := e.Attr["data-m49"]
		if m != "-" {
			if _, dup := out[m]; dup {
				tb.Errorf("%s for M49 %s drawn twice", name, m)
			}
		}
		out[m] = e
	}
	return out
}

// TestSVGOfTheHanoiSignatures draws the real seed: 69 signatures as of
// 15 June 2026, among them Viet Nam's of 25 October 2025.
func TestSVGOfTheHanoiSignatures(t *testing.T) {
	st, dir := MustStatus(t, MustLedger(t))
	if st.Signatories != 69 {
		t.Fatalf("seed has %d signatories; the test expects the 69 shipped", st.Signatories)
	}
	r := MustRenderer(t)
	svg, err := r.SVG(worldmap.FromStatus("Hanoi Convention", st, dir))
	if err != nil {
		t.Fatal(err)
	}
	els := mustParseXML(t, svg)
	if els[0].Name != "svg" || els[0].Attr["role"] != "img" || els[0].Attr["aria-labelledby"] != "map-title map-desc" {
		t.Errorf("root = %+v; want an <svg role=img> labelled by its title and description", els[0])
	}
	paths := shapes(t, els, "path")
	if len(paths) < 170 {
		t.Errorf("%d country paths; want the 1:110m data's ~176 (Antarctica left out)", len(paths))
	}
	for _, tc := range []struct {
		m49, name, state, title string
	}{
		{"704", "Viet Nam", "signed", "Viet Nam: signed 25 Oct 2025"},
		{"250", "France", "signed", "France: signed"},
		{"356", "India", "none", "India: no signature or consent"},
		{"840", "United States of America", "none", "United States of America: no signature or consent"},
		{"304", "Greenland", "other", "Greenland: not a participant in the list"},
	} {
		p, ok := paths[tc.m49]
		if !ok {
			t.Errorf("%s (%s) is not drawn", tc.name, tc.m49)
			continue
		}
		if p.Attr["data-state"] != tc.state || !strings.HasPrefix(p.Text, tc.title) {
			t.Errorf("%s: state %q, title %q; want %q, %q…", tc.name, p.Attr["data-state"], p.Text, tc.state, tc.title)
		}
	}
	if paths["704"].Attr["fill"] == paths["356"].Attr["fill"] {
		t.Error("Viet Nam (signed) and India (no act) have the same fill")
	}
	if paths["304"].Attr["fill"] == paths["356"].Attr["fill"] || paths["304"].Attr["stroke"] == "" {
		t.Error("Greenland (not a participant) is drawn like India (no act)")
	}
	// Small signatories get a dot: Nauru (absent from 1:110m), Luxembourg (tiny).
	dots := shapes(t, els, "circle")
	for _, m := range []string{"520", "442", "462", "585"} {
		if dots[m].Attr["data-state"] != "signed" {
			t.Errorf("marker of M49 %s = %+v; want a signed dot", m, dots[m])
		}
	}
	if _, ok := dots["704"]; ok {
		t.Error("Viet Nam is big enough to see and has a dot")
	}
}

// legend returns the legend's count per state, from the figure's HTML.
func legend(tb testing.TB, els []element) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, e := range els {
		if e.Name == "li" && e.Attr["data-count"] != "" {
			n, err := strconv.Atoi(e.Attr["data-count"])
			if err != nil {
				tb.Fatal(err)
			}
			out[e.Attr["data-state"]] = n
		}
	}
	return out
}

// TestFigureLegendCountsAreTheStatus's: the legend counts each state once
// per participant, and they agree with the status's figures, before and
// after a ratification.
func TestFigureLegendCountsAreTheStatus(t *testing.T) {
	l := MustLedger(t)
	r := MustRenderer(t)
	st, dir := MustStatus(t, l)
	html, err := r.Render(worldmap.FromStatus("Hanoi Convention", st, dir))
	if err != nil {
		t.Fatal(err)
	}
	got := legend(t, mustParseXML(t, []byte(html)))
	total := len(dir.All())
	want := map[string]int{"in-force": 0, "party": 0, "signed": st.Signatories, "withdrawn": 0, "none": total - st.Signatories}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("legend %s = %d; want %d (legend %v)", k, got[k], v, got)
		}
	}

	if _, err := l.Record(context.Background(), events.RecordInput{Treaty: hanoi, Action: "ratification", Participant: "Viet Nam", Date: "2026-06-01",
		Meta: events.Metadata{Actor: "test"}}); err != nil {
		t.Fatal(err)
	}
	st, dir = MustStatus(t, l)
	m := worldmap.FromStatus("Hanoi Convention", st, dir)
	html, err = r.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	els := mustParseXML(t, []byte(html))
	got = legend(t, els)
	// The UNTC's "parties" (consented, withdrawal not in effect) are the
	// map's in force plus party; the treaty is not in force, so none is in
	// force for any participant.
	consented := 0
	for _, p := range st.Participants {
		if p.Consent != nil && (p.WithdrawalEffective == nil || p.WithdrawalEffective.After(st.AsOf)) {
			consented++
		}
	}
	if consented != 1 || got["party"] != 1 || got["in-force"] != 0 || got["signed"] != st.Signatories-1 {
		t.Errorf("after Viet Nam's ratification legend = %v (%d consented); want 1 party, 0 in force, %d signed only", got, consented, st.Signatories-1)
	}
	vn := shapes(t, els, "path")["704"]
	if vn.Attr["data-state"] != "party" || !strings.Contains(vn.Text, "ratification 1 Jun 2026") {
		t.Errorf("Viet Nam = %q %q; want party by ratification of 1 Jun 2026", vn.Attr["data-state"], vn.Text)
	}
	sum := 0
	for _, n := range got {
		sum += n
	}
	if sum != len(m.Participants) || sum != total {
		t.Errorf("legend counts sum to %d; want every participant once (%d)", sum, total)
	}
}

// TestFigureListsTheParticipantsTooSmallToSee: the microstates and the
// participants absent from the 1:110m data are listed beside the map with
// their state, and the text alternative lists everyone.
func TestFigureListsTheParticipantsTooSmallToSee(t *testing.T) {
	st, dir := MustStatus(t, MustLedger(t))
	html, err := MustRenderer(t).Render(worldmap.FromStatus("Hanoi Convention", st, dir))
	if err != nil {
		t.Fatal(err)
	}
	els := mustParseXML(t, []byte(html))
	small := map[string]string{} // name → state
	list := map[string]string{}
	var state, in string
	for _, e := range els {
		switch {
		case strings.Contains(e.Attr["class"], "map-small"): // the <dl>, and the <details> of those without an act
			in = "small"
			state = e.Attr["data-state"]
		case e.Name == "details":
			in = "list"
		case e.Attr["data-state"] != "" && (e.Name == "div" || e.Name == "h4"):
			state = e.Attr["data-state"]
		case e.Name == "span" && e.Attr["class"] == "name" && in == "small":
			small[e.Text] = state
		case e.Name == "li" && in == "list":
			list[e.Text] = state
		}
	}
	for name, want := range map[string]string{
		"Tuvalu": "none", "Nauru": "signed", "Monaco": "none", "Liechtenstein": "none", "San Marino": "none", "Andorra": "none",
		"Holy See": "none", "European Union": "signed", "Maldives": "signed", "Luxembourg": "signed", "Singapore": "none",
	} {
		if small[name] != want {
			t.Errorf("beside the map %s is %q; want %q", name, small[name], want)
		}
	}
	for _, name := range []string{"Viet Nam", "India", "Brazil"} {
		if _, ok := small[name]; ok {
			t.Errorf("%s is listed as too small to see", name)
		}
	}
	if len(list) != len(dir.All()) || list["Viet Nam"] != "signed" || list["India"] != "none" {
		t.Errorf("the text alternative lists %d participants (Viet Nam %q, India %q); want all %d", len(list), list["Viet Nam"], list["India"], len(dir.All()))
	}
	desc := regexp.MustCompile(`<desc id="map-desc">([^<]*)</desc>`).FindStringSubmatch(string(html))
	if desc == nil || !strings.Contains(desc[1], "Signed: 69") {
		t.Errorf("the SVG's description = %q; want a summary with the 69 signatures", desc)
	}
}

// TestStateOf covers every state from a participant's row.
func TestStateOf(t *testing.T) {
	d := func(s string) *events.Date { x := events.MustDate(s); return &x }
	sig := d("2025-10-25")
	rat := &projections.Consent{Kind: events.Ratification, Date: events.MustDate("2026-06-01"), Counts: true}
	for _, tc := range []struct {
		name   string
		p      projections.Participation
		state  worldmap.State
		detail string
	}{
		{"nothing", projections.Participation{}, worldmap.NoAct, ""},
		{"signed", projections.Participation{Signature: sig}, worldmap.Signed, "signed 25 Oct 2025"},
		{"party, in force later", projections.Participation{Signature: sig, Consent: rat, EntryIntoForce: d("2026-09-01")}, worldmap.Party,
			"party, not yet in force (ratification 1 Jun 2026; in force for it from 1 Sep 2026)"},
		{"party, treaty not in force", projections.Participation{Signature: sig, Consent: rat}, worldmap.Party, "party, not yet in force (ratification 1 Jun 2026)"},
		{"in force", projections.Participation{Signature: sig, Consent: rat, EntryIntoForce: d("2026-06-10")}, worldmap.InForce, "in force since 10 Jun 2026"},
		{"withdrawal notified", projections.Participation{Consent: rat, EntryIntoForce: d("2026-06-10"), WithdrawalNotified: d("2026-06-12"), WithdrawalEffective: d("2027-06-12")},
			worldmap.InForce, "in force since 10 Jun 2026; withdrawal notified, effective 12 Jun 2027"},
		{"withdrawn", projections.Participation{Consent: rat, EntryIntoForce: d("2026-01-10"), WithdrawalEffective: d("2026-06-15")}, worldmap.Withdrawn,
			"withdrawn: its withdrawal took effect 15 Jun 2026"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, detail := worldmap.StateOf(tc.p, asOf)
			if s != tc.state || detail != tc.detail {
				t.Errorf("StateOf = %q, %q; want %q, %q", s, detail, tc.state, tc.detail)
			}
		})
	}
}

// TestMapDataPlacesEveryParticipant: every participant of the reference
// list with an M49 code has a shape or a marker point, and the embedded
// file stays small.
func TestMapDataPlacesEveryParticipant(t *testing.T) {
	dir, err := events.NewDirectory()
	if err != nil {
		t.Fatal(err)
	}
	r := MustRenderer(t)
	for _, p := range dir.All() {
		if p.M49 == "" {
			if !p.IsREIO() {
				t.Errorf("%s has no M49 code", p.Name)
			}
			continue
		}
		if !r.Has(p.M49) {
			t.Errorf("%s (M49 %s) is neither drawn nor placed", p.Name, p.M49)
		}
	}
	for _, m := range []string{"076", "704", "356", "840", "643"} {
		if !r.Drawn(m) {
			t.Errorf("M49 %s is not drawn big enough to see", m)
		}
	}
	fi, err := os.Stat("countries.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 150<<10 {
		t.Errorf("countries.tsv is %d bytes; keep it under 150 KB", fi.Size())
	}
}

// BenchmarkRender measures one treaty page's map (the seeded Hanoi
// Convention): the figure is rendered on every page view.
func BenchmarkRender(b *testing.B) {
	st, dir := MustStatus(b, MustLedger(b))
	r := MustRenderer(b)
	m := worldmap.FromStatus("Hanoi Convention", st, dir)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(m); err != nil {
			b.Fatal(err)
		}
	}
}
