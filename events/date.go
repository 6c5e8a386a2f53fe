package events

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar date without a time of day or a zone, as a depositary
// writes it: the date of a deposit, a signature or an entry into force.
// The zero Date means "no date"; IsZero reports it. Dates compare with
// Before, After and Compare, and are comparable with ==.
type Date struct {
	// days since 0001-01-01, plus one, so that the zero value is "no date".
	n int32
}

var epoch = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)

// NewDate returns the date year-month-day. Out-of-range values are
// normalised the way time.Date normalises them; use ParseDate to validate
// text.
func NewDate(year int, month time.Month, day int) Date {
	return DateOf(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date{n: int32((u.Unix()-epoch.Unix())/86400) + 1}
}

// ParseDate parses an ISO 8601 calendar date, YYYY-MM-DD. It refuses
// malformed text and impossible dates (2025-02-30) with an *InvalidDateError.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, &InvalidDateError{Value: s, Reason: "want YYYY-MM-DD"}
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || y < 1 {
		return Date{}, &InvalidDateError{Value: s, Reason: "want YYYY-MM-DD"}
	}
	if m < 1 || m > 12 {
		return Date{}, &InvalidDateError{Value: s, Reason: fmt.Sprintf("there is no month %d", m)}
	}
	if d < 1 || d > daysIn(y, time.Month(m)) {
		return Date{}, &InvalidDateError{Value: s, Reason: fmt.Sprintf("%s %d has %d days", time.Month(m), y, daysIn(y, time.Month(m)))}
	}
	return NewDate(y, time.Month(m), d), nil
}

// MustDate is ParseDate for literals known to be valid (tests, tables);
// it panics on invalid input.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d.n == 0 }

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time {
	return time.Unix(epoch.Unix()+int64(d.n-1)*86400, 0).UTC()
}

// YMD returns the year, month and day of d.
func (d Date) YMD() (int, time.Month, int) { return d.Time().Date() }

// String formats d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format(time.DateOnly)
}

// AddDays returns d plus n calendar days.
func (d Date) AddDays(n int) Date { return Date{n: d.n + int32(n)} }

// AddMonths returns the same day n months later, clamped to the last day of
// that month (31 January + 1 month = 28 or 29 February).
func (d Date) AddMonths(n int) Date {
	y, m, day := d.YMD()
	total := int(m) - 1 + n
	ty := y + total/12
	tm := total % 12
	if tm < 0 {
		tm += 12
		ty--
	}
	month := time.Month(tm + 1)
	if last := daysIn(ty, month); day > last {
		day = last
	}
	return NewDate(ty, month, day)
}

// FirstOfNextMonth returns the first day of the month after d's month,
// strictly: for 1 March it is 1 April.
func (d Date) FirstOfNextMonth() Date {
	y, m, _ := d.YMD()
	return NewDate(y, m+1, 1)
}

// DaysUntil returns the number of days from d to e (negative if e is before d).
func (d Date) DaysUntil(e Date) int { return int(e.n - d.n) }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.n < e.n }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.n > e.n }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.n < e.n:
		return -1
	case d.n > e.n:
		return 1
	}
	return 0
}

// MaxDate returns the later of two dates; a zero Date loses to any other.
func MaxDate(a, b Date) Date {
	if a.After(b) {
		return a
	}
	return b
}

// MarshalText formats d as YYYY-MM-DD. The zero Date marshals as "".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD; empty text gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Unit is the unit of a Period.
type Unit string

// Period units.
const (
	Days   Unit = "days"
	Months Unit = "months"
	Years  Unit = "years"
)

// Period is a treaty's delay: "90 days", "6 months", "1 year", or "first
// day of month after 30 days". The zero Period adds nothing.
type Period struct {
	N    int  `json:"n"`
	Unit Unit `json:"unit"`
	// FirstOfMonthAfter: the result is the first day of the month strictly
	// after D + N units.
	FirstOfMonthAfter bool `json:"first_of_month_after,omitempty"`
}

// IsZero reports whether p is the zero Period.
func (p Period) IsZero() bool { return p == Period{} }

// ParsePeriod parses the delay grammar: "N days", "N months", "N years",
// "first day of month after N days" and "first day of month after N months".
// Singular units ("1 year", "1 day", "1 month") are accepted.
func ParsePeriod(s string) (Period, error) {
	text := strings.Join(strings.Fields(strings.ToLower(s)), " ")
	var p Period
	const fdom = "first day of month after "
	const fdom2 = "first day of the month after "
	switch {
	case strings.HasPrefix(text, fdom):
		p.FirstOfMonthAfter, text = true, strings.TrimPrefix(text, fdom)
	case strings.HasPrefix(text, fdom2):
		p.FirstOfMonthAfter, text = true, strings.TrimPrefix(text, fdom2)
	}
	num, unit, ok := strings.Cut(text, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 {
		return Period{}, fmt.Errorf("cannot parse period %q: want \"N days\", \"N months\", \"N years\" or \"first day of month after N days|months\"", s)
	}
	switch unit {
	case "day", "days":
		p.Unit = Days
	case "month", "months":
		p.Unit = Months
	case "year", "years":
		p.Unit = Years
	default:
		return Period{}, fmt.Errorf("cannot parse period %q: unknown unit %q (want days, months or years)", s, unit)
	}
	p.N = n
	return p, nil
}

// After returns the date the period ends when it starts on d: d + N days,
// d + N months (clamped to the month's end), or d + N years; with
// FirstOfMonthAfter, the first day of the month strictly after that.
func (p Period) After(d Date) Date {
	var e Date
	switch p.Unit {
	case Months:
		e = d.AddMonths(p.N)
	case Years:
		e = d.AddMonths(12 * p.N)
	default:
		e = d.AddDays(p.N)
	}
	if p.FirstOfMonthAfter {
		e = e.FirstOfNextMonth()
	}
	return e
}

// String formats p in the grammar ParsePeriod reads.
func (p Period) String() string {
	if p.IsZero() {
		return ""
	}
	unit := string(p.Unit)
	if p.N == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	s := fmt.Sprintf("%d %s", p.N, unit)
	if p.FirstOfMonthAfter {
		s = "first day of month after " + s
	}
	return s
}

// MarshalText formats p as ParsePeriod reads it.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses p with ParsePeriod; empty text gives the zero Period.
func (p *Period) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = Period{}
		return nil
	}
	q, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
