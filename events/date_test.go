package events_test

import (
	"errors"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in, want, reason string
	}{
		{in: "2025-10-25", want: "2025-10-25"},
		{in: "1969-05-23", want: "1969-05-23"}, // Vienna Convention on the Law of Treaties, adopted
		{in: "2024-02-29", want: "2024-02-29"},
		{in: "2025-02-29", reason: "February 2025 has 28 days"},
		{in: "2025-13-01", reason: "there is no month 13"},
		{in: "25/10/2025", reason: "want YYYY-MM-DD"},
		{in: "2025-1-5", reason: "want YYYY-MM-DD"},
		{in: "", reason: "want YYYY-MM-DD"},
	} {
		d, err := events.ParseDate(tc.in)
		if tc.reason != "" {
			var de *events.InvalidDateError
			if !errors.As(err, &de) || de.Reason != tc.reason || !errors.Is(err, events.ErrInvalid) {
				t.Errorf("ParseDate(%q) = %v, %v; want reason %q", tc.in, d, err, tc.reason)
			}
			continue
		}
		if err != nil || d.String() != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v", tc.in, d, err)
		}
	}
}

func TestPeriodAfter(t *testing.T) {
	for _, tc := range []struct {
		name, period, from, want string
	}{
		// TPNW (UNTC XXVI-9) art. 15(1): 50th instrument deposited 24 Oct 2020 (Honduras), in force 22 Jan 2021.
		{"TPNW ninetieth day", "90 days", "2020-10-24", "2021-01-22"},
		// Hanoi Convention art. 65(1): ninetieth day after the fortieth instrument.
		{"Hanoi ninetieth day", "90 days", "2026-03-03", "2026-06-01"},
		// Month arithmetic clamps to the month's end.
		{"one month from 31 January, leap year", "1 month", "2024-01-31", "2024-02-29"},
		{"one month from 31 January", "1 months", "2025-01-31", "2025-02-28"},
		{"twelve months across a year", "12 months", "2025-10-25", "2026-10-25"},
		{"one year (withdrawal)", "1 year", "2019-11-04", "2020-11-04"}, // US notified withdrawal from the Paris Agreement; effective 4 Nov 2020
		// Rome Statute art. 126(1): "first day of the month after the 60th day following" the 60th deposit (11 Apr 2002) → 1 Jul 2002.
		{"Rome Statute", "first day of month after 60 days", "2002-04-11", "2002-07-01"},
		// Strictly following: D+P on the 1st of a month gives the 1st of the next month.
		{"strictly the following month", "first day of month after 30 days", "2025-03-02", "2025-05-01"},
		{"first day after months", "first day of month after 3 months", "2025-01-15", "2025-05-01"},
	} {
		p, err := events.ParsePeriod(tc.period)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := p.After(events.MustDate(tc.from)).String(); got != tc.want {
			t.Errorf("%s: %s after %s = %s, want %s", tc.name, tc.period, tc.from, got, tc.want)
		}
	}
	for _, bad := range []string{"90", "ninety days", "90 weeks", "first day of month after", "-3 days"} {
		if _, err := events.ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}

func TestDirectoryResolve(t *testing.T) {
	dir, err := events.NewDirectory()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(dir.All()); n != 198 {
		t.Fatalf("reference list has %d participants, want 198", n)
	}
	for in, want := range map[string]string{
		"Turkey": "Türkiye", "turkiye": "Türkiye", "TÜRKIYE": "Türkiye", "Swaziland": "Eswatini", "Czech Republic": "Czechia",
		"The former Yugoslav Republic of Macedonia": "North Macedonia", "St. Lucia": "Saint Lucia", "St. Kitts and Nevis": "Saint Kitts and Nevis",
		"St. Vincent and the Grenadines": "Saint Vincent and the Grenadines", "Bahamas (The)": "Bahamas", "Vietnam": "Viet Nam",
		"Cote d’Ivoire": "Côte d'Ivoire", "Netherlands (Kingdom of the)1": "Netherlands (Kingdom of the)", "Netherlands": "Netherlands (Kingdom of the)",
		"VNM": "Viet Nam", "  viet   nam ": "Viet Nam", "European Union": "European Union",
	} {
		p, err := dir.Resolve(in)
		if err != nil || p.Name != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, p.Name, err, want)
		}
	}
	_, err = dir.Resolve("Viet Namm")
	var ue *events.UnknownParticipantError
	if !errors.As(err, &ue) || len(ue.Closest) == 0 || ue.Closest[0] != "Viet Nam" {
		t.Fatalf("Resolve(Viet Namm) = %v; want closest Viet Nam first", err)
	}
	if eu := dir.EUMembers(); len(eu) != 27 {
		t.Fatalf("EU members = %d, want 27", len(eu))
	}
}

func TestCanonicalHashIgnoresWhitespace(t *testing.T) {
	e := events.Envelope{Position: 1, Stream: "treaty-XVIII-16", Version: 1, Type: "act.signature", SchemaVersion: 1,
		ValidDate: events.MustDate("2025-10-25"), Payload: []byte(`{"action":"signature","participant":"Viet Nam"}`)}
	a := events.NewChain(nil).Next(e)
	e.Payload = []byte("{\n  \"action\": \"signature\",\n  \"participant\": \"Viet Nam\"\n}")
	b := events.NewChain(nil).Next(e)
	if string(a) != string(b) {
		t.Fatal("same event with other JSON whitespace hashes differently")
	}
	e.Payload = []byte(`{"action":"signature","participant":"Viet  Nam"}`)
	if string(events.NewChain(nil).Next(e)) == string(a) {
		t.Fatal("whitespace inside a string was ignored")
	}
}

// String and MarshalText format every date as time.Format would, from
// 0001-01-01 to 9999-12-31.
func TestDateStringEqualsTimeFormat(t *testing.T) {
	first, last := events.NewDate(1, time.January, 1), events.NewDate(9999, time.December, 31)
	for d := first; d.Before(last); d = d.AddDays(97) {
		want := d.Time().Format(time.DateOnly)
		text, _ := d.MarshalText()
		if d.String() != want || string(text) != want {
			t.Fatalf("date %d days after 0001-01-01: String %q, MarshalText %q, want %q", first.DaysUntil(d), d.String(), text, want)
		}
	}
	for _, d := range []events.Date{first, last, events.MustDate("2025-10-25"), events.MustDate("2000-02-29")} {
		if d.String() != d.Time().Format(time.DateOnly) {
			t.Fatalf("%v: String %q", d.Time(), d.String())
		}
	}
	if text, _ := (events.Date{}).MarshalText(); len(text) != 0 || (events.Date{}).String() != "" {
		t.Fatalf("the zero Date formats as %q", text)
	}
}

// IsConsent's switch agrees with the vocabulary's table and ConsentKinds.
func TestIsConsentAgreesWithTheVocabulary(t *testing.T) {
	kinds := map[events.Action]bool{}
	for _, k := range events.ConsentKinds() {
		kinds[k] = true
	}
	for _, a := range events.AllActions() {
		if a.IsConsent() != kinds[a] {
			t.Errorf("%s: IsConsent %v, ConsentKinds says %v", a, a.IsConsent(), kinds[a])
		}
	}
}
