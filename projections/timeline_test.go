package projections_test

import (
	"reflect"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func TestTimeline(t *testing.T) {
	dir := MustDirectory(t)
	paris := MustHistory(t, dir, parisDef(t, dir), parisActs(t, dir)...)
	rome := MustHistory(t, dir, romeDef(t), romeActs(t, dir)...)
	pt := func(d string, n int) projections.Point {
		return projections.Point{Date: events.MustDate(d), Counted: n}
	}
	tests := []struct {
		name string
		h    *events.History
		asOf string
		from string // compare the points from this date on
		want []projections.Point
	}{
		{
			name: "Paris: same-day deposits make one point; the US leaves and returns",
			h:    paris, asOf: "2026-12-31", from: "2016-09-03",
			want: []projections.Point{
				pt("2016-09-03", 29),
				pt("2016-09-21", 60), // 31 deposits that day
				pt("2016-10-02", 61),
				pt("2016-10-05", 71), // ten States; the EU's approval is not counted
				pt("2016-10-20", 72),
				pt("2017-02-15", 73),
				pt("2020-11-04", 72), // US withdrawal takes effect (notified 4 Nov 2019)
				pt("2020-11-16", 73),
				pt("2021-01-20", 74), // US accepts again
				pt("2026-01-27", 73), // second US withdrawal takes effect
			},
		},
		{
			name: "Paris as of 2026-01-26: the second withdrawal is notified but not yet effective",
			h:    paris, asOf: "2026-01-26", from: "2020-11-04",
			want: []projections.Point{pt("2020-11-04", 72), pt("2020-11-16", 73), pt("2021-01-20", 74)},
		},
		{
			name: "Rome Statute",
			h:    rome, asOf: "2018-01-01", from: "2002-04-11",
			want: []projections.Point{pt("2002-04-11", 66), pt("2004-09-21", 67), pt("2012-04-02", 68), pt("2017-10-27", 67)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []projections.Point
			for _, p := range projections.Timeline(tt.h, dir, events.MustDate(tt.asOf)) {
				if !p.Date.Before(events.MustDate(tt.from)) {
					got = append(got, p)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("timeline =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
	if got := projections.Timeline(rome, dir, events.MustDate("1998-01-01")); got == nil || len(got) != 0 {
		t.Errorf("timeline before any deposit = %v, want empty", got)
	}
}

func TestMilestones(t *testing.T) {
	h, dir := tpnwHistory(t)
	at := func(d string) projections.Status { return projections.Compute(h, dir, events.MustDate(d), nil) }
	eif := events.MustDate("2021-01-22")
	tests := []struct {
		name          string
		before, after projections.Status
		want          []projections.Milestone
	}{
		{
			name:   "first status: 25 % reached by the 13th instrument (synthetic fillers)",
			before: projections.Status{}, after: at("2018-01-13"),
			want: []projections.Milestone{{Kind: projections.PercentReached, Treaty: "XXVI-9", Date: events.MustDate("2018-01-13"), Percent: 25}},
		},
		{
			name:   "45th instrument: 90 % and 5 to go",
			before: at("2018-02-13"), after: at("2018-02-14"),
			want: []projections.Milestone{
				{Kind: projections.PercentReached, Treaty: "XXVI-9", Date: events.MustDate("2018-02-14"), Percent: 90},
				{Kind: projections.FewToGo, Treaty: "XXVI-9", Date: events.MustDate("2018-02-14"), Remaining: 5},
			},
		},
		{
			name:   "Honduras's 50th instrument, 24 Oct 2020: threshold met, in force 22 Jan 2021 (UNTC XXVI-9)",
			before: at("2020-10-23"), after: at("2020-10-24"),
			want: []projections.Milestone{
				{Kind: projections.PercentReached, Treaty: "XXVI-9", Date: events.MustDate("2020-10-24"), Percent: 100},
				{Kind: projections.ThresholdMet, Treaty: "XXVI-9", Date: events.MustDate("2020-10-24"), EntryIntoForce: &eif},
			},
		},
		{
			name:   "time-driven: the day of entry into force",
			before: at("2021-01-21"), after: at("2021-01-22"),
			want: []projections.Milestone{{Kind: projections.EnteredIntoForce, Treaty: "XXVI-9", Date: eif}},
		},
		{
			name:   "nothing new",
			before: at("2019-06-01"), after: at("2019-06-02"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := projections.Milestones(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("milestones =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
