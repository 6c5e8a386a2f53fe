package projections_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// The curve of the Paris Agreement (a weighted condition) carries the count
// Timeline gives, the share of emissions beside it, the withdrawals of the
// United States and the milestones of the status it was computed with.
func TestCurveOfParisCarriesCountShareAndWithdrawals(t *testing.T) {
	dir := MustDirectory(t)
	h := MustHistory(t, dir, parisDef(t, dir), parisActs(t, dir)...)
	asOf := events.MustDate("2026-12-31")
	st := projections.Compute(h, dir, asOf, nil)
	c := projections.CurveOf(h, dir, st)

	var counts []projections.Point
	for _, p := range c.Points {
		if n := len(counts); n == 0 || counts[n-1].Counted != p.Counted {
			counts = append(counts, projections.Point{Date: p.Date, Counted: p.Counted})
		}
	}
	if want := projections.Timeline(h, dir, asOf); !reflect.DeepEqual(counts, want) {
		t.Errorf("counts of the curve =\n%v\nwant the timeline\n%v", counts, want)
	}
	if c.ShareNeed != 55 || c.ShareName == "" || c.Required != 55 {
		t.Errorf("share condition = %q %v, required %d; want the rule's 55 %% and 55 instruments", c.ShareName, c.ShareNeed, c.Required)
	}
	if ds(c.ThresholdMetOn) != "2016-10-05" || ds(c.EntryIntoForce) != "2016-11-04" {
		t.Errorf("threshold %s, entry into force %s; want 2016-10-05 and 2016-11-04", ds(c.ThresholdMetOn), ds(c.EntryIntoForce))
	}
	before, on := c.ShareOn(events.MustDate("2016-10-04")), c.ShareOn(events.MustDate("2016-10-05"))
	if before >= 55 || on < 55 {
		t.Errorf("share on 4 Oct 2016 = %.2f, on 5 Oct = %.2f; want the 55 %% crossed on 5 Oct", before, on)
	}
	drop := c.ShareOn(events.MustDate("2020-11-03")) - c.ShareOn(events.MustDate("2020-11-04"))
	if math.Abs(drop-17.89) > 1e-9 {
		t.Errorf("share drop when the US withdrawal takes effect = %.4f, want the US weight 17.89", drop)
	}
	wantW := []projections.Withdrawal{
		{Participant: "United States of America", Date: events.MustDate("2020-11-04")},
		{Participant: "United States of America", Date: events.MustDate("2026-01-27")},
	}
	if !reflect.DeepEqual(c.Withdrawals, wantW) {
		t.Errorf("withdrawals = %v, want %v", c.Withdrawals, wantW)
	}
	if got := c.CountedOn(asOf); got != st.Counted {
		t.Errorf("CountedOn(as of) = %d, want the status's %d", got, st.Counted)
	}
	if got := c.CountedOn(events.MustDate("2016-01-01")); got != 0 {
		t.Errorf("CountedOn before any deposit = %d, want 0", got)
	}
	if n := len(c.Signatures); n == 0 || c.Signatures[n-1].Counted != st.Signatories {
		t.Errorf("signatures curve ends at %v, want the status's %d signatories", c.Signatures, st.Signatories)
	}
	if c.Opened != events.MustDate("2016-04-22") {
		t.Errorf("opened = %s, want 2016-04-22", c.Opened)
	}
}

// A curve as of a date before a withdrawal takes effect does not show it,
// and a rule without a share condition has no share.
func TestCurveOfIsCutAtItsDate(t *testing.T) {
	dir := MustDirectory(t)
	paris := MustHistory(t, dir, parisDef(t, dir), parisActs(t, dir)...)
	c := projections.CurveOf(paris, dir, projections.Compute(paris, dir, events.MustDate("2026-01-26"), nil))
	if len(c.Withdrawals) != 1 {
		t.Errorf("withdrawals as of 2026-01-26 = %v, want only the first", c.Withdrawals)
	}
	rome := MustHistory(t, dir, romeDef(t), romeActs(t, dir)...)
	r := projections.CurveOf(rome, dir, projections.Compute(rome, dir, events.MustDate("2018-01-01"), nil))
	if r.ShareNeed != 0 || len(r.Points) == 0 {
		t.Fatalf("Rome curve: share need %v, %d points; want no share and some points", r.ShareNeed, len(r.Points))
	}
	for _, p := range r.Points {
		if p.Share != 0 {
			t.Fatalf("Rome point %v has a share", p)
		}
	}
	empty := projections.CurveOf(rome, dir, projections.Compute(rome, dir, events.MustDate("1998-01-01"), nil))
	if empty.Points == nil || len(empty.Points) != 0 || empty.Withdrawals == nil {
		t.Errorf("curve before any deposit = %+v, want empty lists, not nil", empty)
	}
}
