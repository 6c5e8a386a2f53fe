package projections_test

import (
	"encoding/csv"
	"io/fs"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// shippedHanoiSignatures are the 69 dated signatures of the Hanoi
// Convention the seed ships (seed/hanoi-convention.csv), as act rows.
func shippedHanoiSignatures(tb testing.TB) []act {
	tb.Helper()
	b, err := fs.ReadFile(seed.Files(), seed.HanoiCSV)
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []act
	for _, r := range rows[1:] {
		out = append(out, act{who: r[0], action: events.Action(r[1]), date: r[2]})
	}
	return out
}

// TestParticipantViewsAcrossShippedTreaties builds the cross-treaty view
// from the statuses of two shipped treaties: the Hanoi Convention with its
// 69 shipped signatures, and UNCAC (XVIII-14) with HYPOTHETICAL acts of
// Viet Nam and Austria (the view's logic, not their real dates, is under
// test).
func TestParticipantViewsAcrossShippedTreaties(t *testing.T) {
	dir := MustDirectory(t)
	hanoi := MustHistory(t, dir, hanoiDef(t), shippedHanoiSignatures(t),
		on("2026-03-02", events.Ratification, "Viet Nam")) // hypothetical
	uncac := MustHistory(t, dir, shipped(t, "XVIII-14"),
		on("2003-12-10", events.Signature, "Viet Nam", "Austria"),
		on("2009-08-19", events.Ratification, "Viet Nam"))
	asOf := events.MustDate("2026-11-27")
	sts := []projections.Status{projections.Compute(hanoi, dir, asOf, nil), projections.Compute(uncac, dir, asOf, nil)}
	views := projections.ParticipantViews(sts)
	if len(views) != 69 { // Austria signed both
		t.Fatalf("%d participants, want 69 (every Hanoi signatory; Austria and Viet Nam are among them)", len(views))
	}
	for i := 1; i < len(views); i++ {
		if events.Normalize(views[i-1].Participant) > events.Normalize(views[i].Participant) {
			t.Errorf("%q before %q: not in UNTC order", views[i-1].Participant, views[i].Participant)
		}
	}
	vn := projections.ParticipantViewOf(sts, "Viet Nam")
	if len(vn.Treaties) != 2 {
		t.Fatalf("Viet Nam in %d treaties, want 2: %+v", len(vn.Treaties), vn)
	}
	h, u := vn.Treaties[0], vn.Treaties[1]
	if h.Treaty != "XVIII-16" || h.Title != "Hanoi Convention" || ds(h.Signature) != "2025-10-25" || h.Consent == nil ||
		h.Consent.Kind != events.Ratification || ds(&h.Consent.Date) != "2026-03-02" || h.EntryIntoForce != nil {
		t.Errorf("Viet Nam's Hanoi row = %+v", h)
	}
	if u.Treaty != "XVIII-14" || u.Title != "UNCAC" || ds(u.Signature) != "2003-12-10" || u.Consent == nil || ds(&u.Consent.Date) != "2009-08-19" {
		t.Errorf("Viet Nam's UNCAC row = %+v", u)
	}
	for _, v := range views {
		if v.Participant == "Viet Nam" && len(v.Treaties) != 2 {
			t.Errorf("ParticipantViews has Viet Nam in %d treaties, ParticipantViewOf in 2", len(v.Treaties))
		}
	}
	// A participant with no act: listed nowhere, an empty record.
	if jp := projections.ParticipantViewOf(sts, "Japan"); jp.Treaties == nil || len(jp.Treaties) != 0 {
		t.Errorf("Japan = %+v, want no treaty (and a non-nil empty list)", jp)
	}
	// As of the day before the Hanoi ceremony only the UNCAC acts count.
	early := events.MustDate("2025-10-24")
	before := projections.ParticipantViews([]projections.Status{projections.Compute(hanoi, dir, early, nil), projections.Compute(uncac, dir, early, nil)})
	if len(before) != 2 || before[0].Participant != "Austria" || before[1].Participant != "Viet Nam" || len(before[1].Treaties) != 1 || before[1].Treaties[0].Treaty != "XVIII-14" {
		t.Errorf("as of %s: %+v", early, before)
	}
}

// TestOpenedForSignature: one precedence, on the shipped Hanoi Convention
// (adopted 24 Dec 2024 in New York, opened for signature in Hanoi on 25 Oct
// 2025): the definition's window opening, else the first signature
// recorded as of the date, else the adoption. The dashboard used to take
// the adoption first (24 Dec 2024) and `compare` the window.
func TestOpenedForSignature(t *testing.T) {
	dir := MustDirectory(t)
	def := hanoiDef(t)
	noWindow := def
	noWindow.Signature = nil // hypothetical: a definition that does not say
	sigs := shippedHanoiSignatures(t)
	var late []act // the signatures after the ceremony day: Mali, Rwanda, Saudi Arabia, Mauritius
	for _, a := range sigs {
		if a.date > "2025-10-25" {
			late = append(late, a)
		}
	}
	asOf := events.MustDate("2026-11-27")
	for _, tc := range []struct {
		name string
		def  events.Definition
		acts []act
		asOf events.Date
		want string
	}{
		{"the window's opening, with the shipped signatures", def, sigs, asOf, "2025-10-25"},
		{"the window's opening, before any signature", def, nil, asOf, "2025-10-25"},
		{"no window: the first signature", noWindow, sigs, asOf, "2025-10-25"},
		{"no window: the first of the later signatures", noWindow, late, asOf, "2025-10-26"},
		{"no window: a signature after the date is not known yet", noWindow, late, events.MustDate("2025-10-25"), "2024-12-24"},
		{"no window, no signature: the adoption", noWindow, nil, asOf, "2024-12-24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := projections.Compute(MustHistory(t, dir, tc.def, tc.acts), dir, tc.asOf, nil)
			if got := projections.OpenedForSignature(tc.def, st); got.String() != tc.want {
				t.Errorf("OpenedForSignature = %s, want %s", got, tc.want)
			}
		})
	}
	if got := projections.OpenedForSignature(events.Definition{ID: "X-1"}, projections.Status{}); !got.IsZero() {
		t.Errorf("nothing known: %s, want the zero date", got)
	}
}
