package events_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

func TestParsePeriodBounds(t *testing.T) {
	const bounds = " (a period is at most 3660 days, 120 months or 10 years)"
	const grammar = `want "N days", "N months", "N years" or "first day of month after N days|months|years"`
	for _, tc := range []struct{ in, msg string }{
		{"2147483647 days", `invalid period "2147483647 days": 2147483647 has more than four digits; a period is at most 3660 days, 120 months or 10 years`},
		{"999999 years", `invalid period "999999 years": 999999 has more than four digits; a period is at most 3660 days, 120 months or 10 years`},
		{"3661 days", `invalid period "3661 days": 3661 days is too long: at most 3660 days` + bounds},
		{"121 months", `invalid period "121 months": 121 months is too long: at most 120 months` + bounds},
		{"11 years", `invalid period "11 years": 11 years is too long: at most 10 years` + bounds},
		{"first day of month after 3661 days", `invalid period "first day of month after 3661 days": 3661 days is too long: at most 3660 days` + bounds},
		{"first day of the month after 121 months", `invalid period "first day of the month after 121 months": 121 months is too long: at most 120 months` + bounds},
		{"+90 days", `invalid period "+90 days": "+90" is not a number written with the digits 0-9 (no sign, no separator); ` + grammar},
		{"-0 days", `invalid period "-0 days": "-0" is not a number written with the digits 0-9 (no sign, no separator); ` + grammar},
		{"9_0 days", `invalid period "9_0 days": "9_0" is not a number written with the digits 0-9 (no sign, no separator); ` + grammar},
		{"٩٠ days", `invalid period "٩٠ days": "٩٠" is not a number written with the digits 0-9 (no sign, no separator); ` + grammar},
		{"090 days", `invalid period "090 days": write 90 without leading zeros`},
		{"90 weeks", `invalid period "90 weeks": unknown unit "weeks" (want days, months or years)`},
		{"90", `invalid period "90": ` + grammar},
		{"90 days\x00", `invalid period "90 days\x00": control character U+0000 NULL at byte 7 is not allowed`},
		{"90\u202edays", `invalid period "90\u202edays": bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 2 is not allowed`},
	} {
		_, err := events.ParsePeriod(tc.in)
		var pe *events.InvalidPeriodError
		if !errors.As(err, &pe) || !errors.Is(err, events.ErrInvalid) || err.Error() != tc.msg {
			t.Errorf("ParsePeriod(%q) = %v\nwant %s", tc.in, err, tc.msg)
		}
	}
	// The bounds themselves are accepted, and every period reads back.
	for _, in := range []string{"3660 days", "120 months", "10 years", "0 days", "first day of month after 120 months", "1 year", "90 days"} {
		p, err := events.ParsePeriod(in)
		if err != nil {
			t.Errorf("ParsePeriod(%q): %v", in, err)
			continue
		}
		if q, err := events.ParsePeriod(p.String()); err != nil || q != p {
			t.Errorf("ParsePeriod(%q).String() = %q reads back as %+v, %v", in, p.String(), q, err)
		}
	}
}

// TestDateArithmeticSaturates: no period, stored or parsed, overflows the
// date arithmetic. Before the fix "2147483647 days" after any date wrapped
// int32 to a date before the threshold ("waiting for the parent treaty"),
// and "999999 years" printed the year 1002025.
func TestDateArithmeticSaturates(t *testing.T) {
	hanoiThreshold := events.MustDate("2026-03-03")
	last, first := events.LastDate(), events.FirstDate()
	if last.String() != "9999-12-31" || first.String() != "0001-01-01" {
		t.Fatalf("range %s … %s", first, last)
	}
	for _, tc := range []struct {
		name string
		got  events.Date
		want events.Date
	}{
		{"2147483647 days", events.Period{N: math.MaxInt32, Unit: events.Days}.After(hanoiThreshold), last},
		{"max int days", hanoiThreshold.AddDays(math.MaxInt), last},
		{"min int days", hanoiThreshold.AddDays(math.MinInt), first},
		{"one day past the end", last.AddDays(1), last},
		{"one day before the start", first.AddDays(-1), first},
		{"999999 years", events.Period{N: 999999, Unit: events.Years}.After(hanoiThreshold), last},
		{"max int years", events.Period{N: math.MaxInt, Unit: events.Years}.After(hanoiThreshold), last},
		{"min int years", events.Period{N: math.MinInt, Unit: events.Years}.After(hanoiThreshold), first},
		{"max int months", hanoiThreshold.AddMonths(math.MaxInt), last},
		{"min int months", hanoiThreshold.AddMonths(math.MinInt), first},
		{"first of the month after December 9999", events.Period{N: 0, Unit: events.Days, FirstOfMonthAfter: true}.After(events.MustDate("9999-12-15")), last},
		{"a time past year 9999", events.DateOf(time.Date(1002025, 1, 1, 0, 0, 0, 0, time.UTC)), last},
		{"a time before year 1", events.DateOf(time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)), first},
		{"the zero date stays zero", events.Date{}.AddDays(90), events.Date{}},
		{"ten years still works", events.Period{N: 10, Unit: events.Years}.After(hanoiThreshold), events.MustDate("2036-03-03")},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
	if d := hanoiThreshold.DaysUntil(last); d != 2912381 {
		t.Errorf("DaysUntil(9999-12-31) = %d", d)
	}
}

func TestDefinitionValidateBounds(t *testing.T) {
	base := func() events.Definition {
		return events.Definition{ID: "XVIII-16", Title: "United Nations Convention against Cybercrime", Adopted: events.MustDate("2024-12-24"),
			EntryIntoForce: events.Rule{Instruments: 40, Delay: events.Period{N: 90, Unit: events.Days}}}
	}
	for _, tc := range []struct {
		name string
		edit func(*events.Definition)
		msg  string
	}{
		{"instruments over the bound", func(d *events.Definition) { d.EntryIntoForce.Instruments = 1_000_000 },
			`entry_into_force.instruments: is 1000000; want a whole number from 1 to 1000, or "N/M of parent parties"`},
		{"a period in weeks from JSON", func(d *events.Definition) { d.EntryIntoForce.Delay = events.Period{N: 2, Unit: "weeks"} },
			`entry_into_force.delay: unknown unit "weeks" (want days, months or years)`},
		{"a negative withdrawal period", func(d *events.Definition) { d.Withdrawal.TakesEffect = events.Period{N: -1, Unit: events.Years} },
			`withdrawal.takes_effect: -1 years is negative`},
		{"later parties beyond ten years", func(d *events.Definition) {
			d.EntryIntoForce.LaterParties = &events.Period{N: 121, Unit: events.Months}
		}, `entry_into_force.later_parties: 121 months is too long: at most 120 months (a period is at most 3660 days, 120 months or 10 years)`},
		{"a share of NaN", func(d *events.Definition) {
			d.EntryIntoForce.Share = &events.Share{Name: "emissions", AtLeast: math.NaN(), Weights: map[string]float64{"China": 20.09}}
		}, `entry_into_force.share.at_least: is NaN; want a percentage above 0 and at most 100`},
		{"a share of infinity", func(d *events.Definition) {
			d.EntryIntoForce.Share = &events.Share{Name: "emissions", AtLeast: math.Inf(1), Weights: map[string]float64{"China": 20.09}}
		}, `entry_into_force.share.at_least: is +Inf; want a percentage above 0 and at most 100`},
		{"a weight of infinity", func(d *events.Definition) {
			d.EntryIntoForce.Share = &events.Share{Name: "emissions", AtLeast: 10, Weights: map[string]float64{"China": math.Inf(1)}}
		}, `entry_into_force.share.weights.China: weight +Inf is not a percentage from 0 to 100`},
		{"a group of nobody", func(d *events.Definition) {
			d.EntryIntoForce.Group = &events.Group{Name: "Annex 2 States", AtLeast: 1}
		}, `entry_into_force.group.at_least: is 1; want between 1 and the 0 members listed`},
		{"a fraction of a thousandth", func(d *events.Definition) {
			d.Parent = "XVIII-14"
			d.EntryIntoForce.Instruments, d.EntryIntoForce.Fraction = 0, &events.Fraction{Num: 1, Den: 1000}
		}, `entry_into_force.instruments: 1/1000 is not a fraction N/M with 1 <= N <= M <= 100`},
		{"a title of spaces around", func(d *events.Definition) { d.Title = " Hanoi " }, `title: has spaces around it`},
		{"an empty source", func(d *events.Definition) { d.Sources = []string{"https://treaties.un.org/", " "} }, `sources[1]: is empty`},
		{"a counted kind twice", func(d *events.Definition) {
			d.EntryIntoForce.Counts = []events.Action{events.Ratification, events.Ratification}
		}, `entry_into_force.counts[1]: "ratification" is listed twice`},
	} {
		d := base()
		tc.edit(&d)
		err := d.Validate()
		if err == nil || !errors.Is(err, events.ErrInvalid) || err.Error() != tc.msg {
			t.Errorf("%s: Validate() = %v\nwant %s", tc.name, err, tc.msg)
		}
	}
}
