package events

import (
	"fmt"
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

// The range of dates a Date holds: 0001-01-01 to 9999-12-31, the dates
// YYYY-MM-DD can write. Arithmetic beyond them saturates at the ends.
const (
	minDays = 1       // 0001-01-01
	maxDays = 3652059 // 9999-12-31
)

// FirstDate returns 0001-01-01, the first date a Date holds.
func FirstDate() Date { return Date{n: minDays} }

// LastDate returns 9999-12-31, the last date a Date holds.
func LastDate() Date { return Date{n: maxDays} }

// DateOf returns the calendar date of t in t's location, saturated to
// 0001-01-01 … 9999-12-31.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	switch {
	case y < 1:
		return FirstDate()
	case y > 9999:
		return LastDate()
	}
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return Date{n: int32((u.Unix()-epoch.Unix())/86400) + 1}
}

// ParseDate parses an ISO 8601 calendar date written exactly YYYY-MM-DD:
// ten bytes, ASCII digits, a year from 0001 to 9999. No sign, space,
// underscore or extra digit is accepted anywhere, nor surrounding space
// (callers trim input where a field allows it). It refuses malformed text
// and impossible dates (2025-02-30) with an *InvalidDateError.
func ParseDate(s string) (Date, error) {
	bad := func(reason string) (Date, error) { return Date{}, &InvalidDateError{Value: clip(s), Reason: reason} }
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return bad("want YYYY-MM-DD")
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return bad("want YYYY-MM-DD with the digits 0-9 only")
	}
	if y < 1 {
		return bad("there is no year 0000")
	}
	if m < 1 || m > 12 {
		return bad(fmt.Sprintf("there is no month %d", m))
	}
	if d < 1 || d > daysIn(y, time.Month(m)) {
		return bad(fmt.Sprintf("%s %d has %d days", time.Month(m), y, daysIn(y, time.Month(m))))
	}
	return NewDate(y, time.Month(m), d), nil
}

// digits reads s as a number written with the ASCII digits 0-9 only.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
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
	return string(d.appendISO(make([]byte, 0, 10)))
}

// appendISO appends d as YYYY-MM-DD (years 0001–9999, four digits) to b:
// time.Format's result without its cost, for the millions of dates a
// status answer encodes.
func (d Date) appendISO(b []byte) []byte {
	y, m, day := d.YMD()
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-', byte('0'+day/10), byte('0'+day%10))
}

// AddDays returns d plus n calendar days, saturated to 0001-01-01 …
// 9999-12-31: no n overflows. The zero Date ("no date") stays zero.
func (d Date) AddDays(n int) Date {
	switch {
	case d.IsZero():
		return d
	case n > maxDays:
		return LastDate()
	case n < -maxDays:
		return FirstDate()
	}
	return Date{n: int32(min(max(int64(d.n)+int64(n), minDays), maxDays))}
}

// AddMonths returns the same day n months later, clamped to the last day of
// that month (31 January + 1 month = 28 or 29 February), and saturated to
// 0001-01-01 … 9999-12-31: no n overflows. The zero Date stays zero.
func (d Date) AddMonths(n int) Date {
	const span = 12 * 10000
	switch {
	case d.IsZero():
		return d
	case n > span:
		return LastDate()
	case n < -span:
		return FirstDate()
	}
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
// strictly: for 1 March it is 1 April (in December 9999, the last date,
// 9999-12-31). The zero Date stays zero.
func (d Date) FirstOfNextMonth() Date {
	if d.IsZero() {
		return d
	}
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
func (d Date) MarshalText() ([]byte, error) { return d.AppendText(nil) }

// AppendText appends d as MarshalText formats it to b (encoding.TextAppender).
func (d Date) AppendText(b []byte) ([]byte, error) {
	if d.IsZero() {
		return b, nil
	}
	return d.appendISO(b), nil
}

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

// Bounds of a Period, whatever its use (a delay, later parties, a
// withdrawal): no treaty waits longer than ten years, and a longer period
// in a definition is a mistake.
const (
	MaxPeriodDays   = 3660
	MaxPeriodMonths = 120
	MaxPeriodYears  = 10
)

const periodGrammar = `want "N days", "N months", "N years" or "first day of month after N days|months|years"`

// ParsePeriod parses the delay grammar: "N days", "N months", "N years",
// "first day of month after N days", "first day of month after N months"
// (also "first day of the month after ..."). Case and runs of spaces do
// not matter; singular units ("1 year", "1 day", "1 month") are accepted.
// N is written with the digits 0-9, without sign or leading zero, and is
// at most MaxPeriodDays days, MaxPeriodMonths months or MaxPeriodYears
// years. It returns an *InvalidPeriodError, wrapping ErrInvalid, for
// anything else.
func ParsePeriod(s string) (Period, error) {
	bad := func(reason string) (Period, error) {
		return Period{}, &InvalidPeriodError{Value: clip(s), Reason: reason}
	}
	if err := CheckText("", s, NameText); err != nil {
		return bad(err.Error())
	}
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
	if !ok {
		return bad(periodGrammar)
	}
	n, isNum := digits(num)
	switch {
	case !isNum:
		return bad(fmt.Sprintf("%q is not a number written with the digits 0-9 (no sign, no separator); %s", clip(num), periodGrammar))
	case len(num) > 4:
		return bad(fmt.Sprintf("%s has more than four digits; a period is at most %d days, %d months or %d years", clip(num), MaxPeriodDays, MaxPeriodMonths, MaxPeriodYears))
	case len(num) > 1 && num[0] == '0':
		return bad(fmt.Sprintf("write %d without leading zeros", n))
	}
	switch unit {
	case "day", "days":
		p.Unit = Days
	case "month", "months":
		p.Unit = Months
	case "year", "years":
		p.Unit = Years
	default:
		return bad(fmt.Sprintf("unknown unit %q (want days, months or years)", clip(unit)))
	}
	p.N = n
	if err := p.Validate(); err != nil {
		return bad(err.Error())
	}
	return p, nil
}

// Validate checks a Period built in code or read from JSON: a known unit
// and N between 0 and the unit's bound. The zero Period is valid.
func (p Period) Validate() error {
	if p.IsZero() {
		return nil
	}
	limit := 0
	switch p.Unit {
	case Days:
		limit = MaxPeriodDays
	case Months:
		limit = MaxPeriodMonths
	case Years:
		limit = MaxPeriodYears
	default:
		return fmt.Errorf("unknown unit %q (want days, months or years)", clip(string(p.Unit)))
	}
	if p.N < 0 {
		return fmt.Errorf("%d %s is negative", p.N, p.Unit)
	}
	if p.N > limit {
		return fmt.Errorf("%d %s is too long: at most %d %s (a period is at most %d days, %d months or %d years)", p.N, p.Unit, limit, p.Unit, MaxPeriodDays, MaxPeriodMonths, MaxPeriodYears)
	}
	return nil
}

// InvalidPeriodError is text that is not a period of the delay grammar,
// or a period beyond its bounds (see ParsePeriod). It wraps ErrInvalid.
type InvalidPeriodError struct {
	Value  string
	Reason string
}

func (e *InvalidPeriodError) Error() string {
	return fmt.Sprintf("invalid period %q: %s", e.Value, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *InvalidPeriodError) Unwrap() error { return ErrInvalid }

// After returns the date the period ends when it starts on d: d + N days,
// d + N months (clamped to the month's end), or d + N years; with
// FirstOfMonthAfter, the first day of the month strictly after that.
// Like Date's arithmetic it saturates at 9999-12-31 and never overflows,
// even for a Period beyond its bounds.
func (p Period) After(d Date) Date {
	n := min(max(p.N, -maxDays), maxDays)
	var e Date
	switch p.Unit {
	case Months:
		e = d.AddMonths(n)
	case Years:
		e = d.AddMonths(12 * min(max(n, -20000), 20000))
	default:
		e = d.AddDays(n)
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
