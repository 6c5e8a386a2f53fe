package projections_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// inst returns instruments of one kind deposited on one date.
func inst(date string, kind events.Action, who ...string) []projections.Instrument {
	out := make([]projections.Instrument, len(who))
	for i, w := range who {
		out[i] = projections.Instrument{Participant: w, Kind: kind, Date: events.MustDate(date)}
	}
	return out
}

// fill returns n fictional ratifications "<prefix> AA"..., a day apart from
// first on: synthetic early instruments whose identities do not matter.
func fill(prefix string, n int, first string) []projections.Instrument {
	d := events.MustDate(first)
	out := make([]projections.Instrument, n)
	for i := range out {
		out[i] = projections.Instrument{Participant: prefix + " " + code(i), Kind: events.Ratification, Date: d.AddDays(i)}
	}
	return out
}

func join(parts ...[]projections.Instrument) []projections.Instrument {
	var out []projections.Instrument
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func reio(in []projections.Instrument) []projections.Instrument {
	for i := range in {
		in[i].REIO = true
	}
	return in
}

func withdrawn(in []projections.Instrument, notified, effective string) []projections.Instrument {
	for i := range in {
		in[i].Notified, in[i].Withdrawn = events.MustDate(notified), events.MustDate(effective)
	}
	return in
}

// bound maps each participant to its date of entry into force ("" none).
func bound(ev projections.Evaluation) map[string]string {
	out := map[string]string{}
	for _, e := range ev.Instruments {
		out[e.Participant] = e.EntryIntoForce.String()
	}
	return out
}

func TestEvaluate(t *testing.T) {
	tpnw, rome, uncac, hanoi, kigali := tpnwDef(t), romeDef(t), uncacDef(t), hanoiDef(t), kigaliDef(t)
	tpnwInstruments := join(
		fill("TPNW filler", 49, "2018-01-01"), // synthetic
		// Honduras deposited the 50th instrument on 24 Oct 2020 (UN News,
		// 25 Oct 2020; UNTC XXVI-9).
		inst("2020-10-24", events.Ratification, "Honduras"),
		// Benin ratified 11 Dec 2020, the first after the threshold; a
		// party from 11 Mar 2021 (ICAN Ban Monitor, "Benin").
		inst("2020-12-11", events.Ratification, "Benin"),
	)
	romeInstruments := join(
		fill("Rome filler", 56, "1999-01-01"), // synthetic
		// 11 Apr 2002: ten deposits together, 56 → 66 (UNTC XVIII-10).
		inst("2002-04-11", events.Ratification, "Bosnia and Herzegovina", "Bulgaria", "Cambodia",
			"Democratic Republic of the Congo", "Ireland", "Jordan", "Mongolia", "Niger", "Romania", "Slovakia"),
		// Burundi ratified 21 Sep 2004; withdrawal notified 27 Oct 2016,
		// effective 27 Oct 2017 (UNTC XVIII-10).
		withdrawn(inst("2004-09-21", events.Ratification, "Burundi"), "2016-10-27", "2017-10-27"),
		// Guatemala acceded 2 Apr 2012; 2 Apr + 60 days is 1 June, itself
		// a first of the month, so the Statute entered into force for it
		// on the first day of the FOLLOWING month, 1 July 2012 (ICC-ASP
		// press release ICC-CPI-20120403-PR783).
		inst("2012-04-02", events.Accession, "Guatemala"),
	)

	tests := []struct {
		name        string
		rule        events.Rule
		required    int // 0: rule.Instruments
		instruments []projections.Instrument
		asOf        string
		threshold   string
		eif         string
		counted     int
		bound       map[string]string // participant → its date ("" none)
	}{
		{
			name: "TPNW: 50th instrument 24 Oct 2020, in force 22 Jan 2021 (UNTC XXVI-9)",
			rule: tpnw.EntryIntoForce, instruments: tpnwInstruments, asOf: "2021-03-11",
			threshold: "2020-10-24", eif: "2021-01-22", counted: 51,
			bound: map[string]string{
				"TPNW filler AA": "2021-01-22",
				"Honduras":       "2021-01-22", // UNTC XXVI-9
				"Benin":          "2021-03-11", // 11 Dec 2020 + 90 days; Ban Monitor
			},
		},
		{
			name: "TPNW the day before: 49, not met",
			rule: tpnw.EntryIntoForce, instruments: tpnwInstruments, asOf: "2020-10-23",
			counted: 49, bound: map[string]string{"Honduras": "", "TPNW filler BW": ""},
		},
		{
			name: "Rome Statute: 60th of ten same-day deposits 11 Apr 2002, in force 1 Jul 2002 (UNTC XVIII-10)",
			rule: rome.EntryIntoForce, instruments: romeInstruments, asOf: "2017-12-31",
			threshold: "2002-04-11", eif: "2002-07-01",
			counted: 67, // 66 + Guatemala; Burundi no longer counts from 27 Oct 2017
			bound: map[string]string{
				"Rome filler AA": "2002-07-01",
				"Ireland":        "2002-07-01", // the 61st-66th too: same day, same date
				"Slovakia":       "2002-07-01",
				"Burundi":        "2004-12-01", // 21 Sep + 60 = 20 Nov → 1 Dec 2004 (UNTC)
				"Guatemala":      "2012-07-01", // 2 Apr + 60 = 1 Jun → 1 Jul 2012 (ICC-ASP)
			},
		},
		{
			name: "Rome Statute the day before Burundi's withdrawal takes effect",
			rule: rome.EntryIntoForce, instruments: romeInstruments, asOf: "2017-10-26",
			threshold: "2002-04-11", eif: "2002-07-01", counted: 68,
			bound: map[string]string{"Burundi": "2004-12-01"},
		},
		{
			name: "Rome Statute before Burundi notified: a later notification is not known yet",
			rule: rome.EntryIntoForce, instruments: romeInstruments, asOf: "2016-10-26",
			threshold: "2002-04-11", eif: "2002-07-01", counted: 68,
		},
		{
			// UNESCO Convention for the Safeguarding of the Intangible
			// Cultural Heritage (2003), art. 34: "three months after the
			// date of the deposit of the thirtieth instrument"; in force
			// 20 Apr 2006 for the thirty States that had deposited by
			// 20 Jan 2006 (ich.unesco.org, "States Parties"). The first
			// 29 instruments and their dates are synthetic.
			name: "N months: UNESCO ICH 2003, 30th on 20 Jan 2006, in force 20 Apr 2006",
			rule: events.Rule{
				Instruments: 30, Counts: rataa, Delay: period(t, "3 months"), LaterParties: periodPtr(t, "3 months"),
			},
			instruments: join(fill("ICH filler", 29, "2004-06-01"), inst("2006-01-20", events.Ratification, "ICH 30th")),
			asOf:        "2006-04-20", threshold: "2006-01-20", eif: "2006-04-20", counted: 30,
		},
		{
			// HCCH Convention of 2 July 2019 on Foreign Judgments, art.
			// 28(1): "the first day of the month following the expiration
			// of the period of twelve months after the date of the deposit
			// of the second instrument". The EU acceded and Ukraine
			// ratified on 29 Aug 2022; in force 1 Sep 2023 (HCCH news,
			// 29 Aug 2022). A regional organization counts here.
			name: "first day of month after N months, REIO counted: HCCH Judgments 2019, in force 1 Sep 2023",
			rule: events.Rule{
				Instruments: 2, Counts: rataa, RegionalOrganizationsAdditional: true,
				Delay: period(t, "first day of month after 12 months"),
			},
			instruments: join(reio(inst("2022-08-29", events.Accession, "European Union")), inst("2022-08-29", events.Ratification, "Ukraine")),
			asOf:        "2023-09-01", threshold: "2022-08-29", eif: "2023-09-01", counted: 2,
		},
		{
			name:        "month clamping (synthetic rule '1 month'): 31 Jan 2023 → 28 Feb 2023",
			rule:        events.Rule{Instruments: 1, Delay: period(t, "1 month")},
			instruments: inst("2023-01-31", events.Accession, "A"),
			asOf:        "2023-12-31", threshold: "2023-01-31", eif: "2023-02-28", counted: 1,
		},
		{
			name:        "month clamping in a leap year (synthetic): 31 Jan 2024 → 29 Feb 2024",
			rule:        events.Rule{Instruments: 1, Delay: period(t, "1 month")},
			instruments: inst("2024-01-31", events.Accession, "A"),
			asOf:        "2024-12-31", threshold: "2024-01-31", eif: "2024-02-29", counted: 1,
		},
		{
			name:        "year clamping (synthetic rule '1 year'): 29 Feb 2024 → 28 Feb 2025",
			rule:        events.Rule{Instruments: 1, Delay: period(t, "1 year")},
			instruments: inst("2024-02-29", events.Accession, "A"),
			asOf:        "2025-12-31", threshold: "2024-02-29", eif: "2025-02-28", counted: 1,
		},
		{
			name:        "first day of month after a clamped month (synthetic): 31 Jan 2024 + 1 month = 29 Feb → 1 Mar 2024",
			rule:        events.Rule{Instruments: 1, Delay: period(t, "first day of month after 1 month")},
			instruments: inst("2024-01-31", events.Accession, "A"),
			asOf:        "2024-12-31", threshold: "2024-01-31", eif: "2024-03-01", counted: 1,
		},
		{
			// The 20th instrument was deposited 17 Nov 2017 (Sweden;
			// The New Times, "Kigali Amendment ... enters into force in
			// 2019"; UNTC XXVII-2-f): in force 1 Jan 2019, not 90 days
			// later. The first 19 are synthetic.
			name: "not_before: Kigali Amendment, 20th on 17 Nov 2017, in force 1 Jan 2019 (UNTC XXVII-2-f)",
			rule: kigali.EntryIntoForce,
			instruments: join(fill("Kigali filler", 19, "2017-01-01"), inst("2017-11-17", events.Ratification, "Sweden"),
				inst("2018-12-20", events.Ratification, "Kigali later")), // hypothetical later Party
			asOf: "2019-12-31", threshold: "2017-11-17", eif: "2019-01-01", counted: 21,
			bound: map[string]string{"Sweden": "2019-01-01", "Kigali later": "2019-03-20"}, // 20 Dec 2018 + 90 days
		},
		{
			name:        "not_before's other branch (hypothetical): 20th on 15 Dec 2018 → 90th day, 15 Mar 2019",
			rule:        kigali.EntryIntoForce,
			instruments: join(fill("Kigali filler", 19, "2017-01-01"), inst("2018-12-15", events.Ratification, "Kigali 20th")),
			asOf:        "2019-12-31", threshold: "2018-12-15", eif: "2019-03-15", counted: 20,
		},
		{
			name: "later parties: UNCAC, 30th 15 Sep 2005 (Ecuador), in force 14 Dec 2005 (UN press release L/T/4389)",
			rule: uncac.EntryIntoForce,
			instruments: join(
				fill("UNCAC filler", 29, "2004-01-01"), // synthetic
				inst("2005-09-15", events.Ratification, "Ecuador"),
				// hypothetical: 1 Nov 2005 + 30 days = 1 Dec, before the
				// general date, so the general date applies
				inst("2005-11-01", events.Ratification, "UNCAC later"),
				// China ratified 13 Jan 2006; in force for it 12 Feb 2006
				// (UNTC XVIII-14): 30 days, the general date being earlier
				inst("2006-01-13", events.Ratification, "China"),
			),
			asOf: "2006-12-31", threshold: "2005-09-15", eif: "2005-12-14", counted: 32,
			bound: map[string]string{"Ecuador": "2005-12-14", "UNCAC later": "2005-12-14", "China": "2006-02-12"},
		},
		{
			name: "REIO not additional: Hanoi Convention (hypothetical instruments), the EU's approval does not make 40",
			rule: hanoi.EntryIntoForce,
			instruments: join(
				fill("Hanoi State", 39, "2026-01-05"),
				reio(inst("2026-03-01", events.Approval, "European Union")),
			),
			asOf: "2026-03-31", counted: 39, bound: map[string]string{"European Union": ""},
		},
		{
			name: "REIO not additional: Hanoi Convention (hypothetical), the 40th State's instrument triggers it",
			rule: hanoi.EntryIntoForce,
			instruments: join(
				fill("Hanoi State", 39, "2026-01-05"),
				reio(inst("2026-03-01", events.Approval, "European Union")),
				inst("2026-04-01", events.Ratification, "Hanoi 40th"),
				inst("2026-05-01", events.Ratification, "Hanoi early later"), // +30 = 31 May < general
				inst("2026-06-15", events.Ratification, "Hanoi late later"),  // +30 = 15 Jul
				inst("2026-02-01", events.Signature, "Hanoi signatory"),      // a signature never counts
			),
			asOf: "2026-12-31", threshold: "2026-04-01", eif: "2026-06-30", counted: 42, // 1 Apr + 90 days
			bound: map[string]string{
				"European Union":    "2026-06-30", // not counted, but bound from the general date
				"Hanoi early later": "2026-06-30",
				"Hanoi late later":  "2026-07-15",
			},
		},
		{
			// Comprehensive Nuclear-Test-Ban Treaty, art. XIV(1): 180 days
			// after all States listed in Annex 2 have deposited, "but in
			// no case earlier than two years after its opening for
			// signature" (opened 24 Sep 1996). SYNTHETIC: a reduced Annex 2
			// of three fictional States and hypothetical dates; the CTBT is
			// not in force.
			name: "group condition with not-earlier-than (CTBT structure, synthetic)",
			rule: events.Rule{
				Instruments: 1, Counts: rataa,
				Group: &events.Group{Name: "Annex 2 (reduced)", AtLeast: 3, Members: []string{"Annex2 A", "Annex2 B", "Annex2 C"}},
				Delay: period(t, "180 days"), NotBefore: events.MustDate("1998-09-24"),
			},
			instruments: join(
				inst("1997-01-10", events.Ratification, "Annex2 A", "Other 1", "Other 2"),
				inst("1997-02-01", events.Ratification, "Annex2 B"),
				inst("1997-03-01", events.Ratification, "Annex2 C"),
			),
			asOf: "1999-12-31", threshold: "1997-03-01", eif: "1998-09-24", counted: 5,
		},
		{
			name: "unofficial steps and unknown requirement never count",
			rule: events.Rule{Fraction: &events.Fraction{Num: 3, Den: 4}, Delay: period(t, "90 days")},
			instruments: join(
				inst("2020-01-01", events.IntentAnnounced, "X"),
				inst("2020-01-02", events.ParliamentaryApproval, "Y"),
				inst("2020-01-03", events.Acceptance, "Z"),
			),
			asOf: "2021-01-01", counted: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			required := tt.required
			if required == 0 {
				required = tt.rule.Instruments
			}
			ev := projections.Evaluate(tt.rule, required, tt.instruments, events.MustDate(tt.asOf))
			if got := ev.Threshold.String(); got != tt.threshold {
				t.Errorf("threshold = %q, want %q", got, tt.threshold)
			}
			if got := ev.EntryIntoForce.String(); got != tt.eif {
				t.Errorf("entry into force = %q, want %q", got, tt.eif)
			}
			if ev.Counted != tt.counted {
				t.Errorf("counted = %d, want %d", ev.Counted, tt.counted)
			}
			got := bound(ev)
			for who, want := range tt.bound {
				if got[who] != want {
					t.Errorf("%s: entry into force = %q, want %q", who, got[who], want)
				}
			}
		})
	}
}

func TestEvaluateConditions(t *testing.T) {
	// Paris Agreement structure (synthetic weights, see parisDef): the
	// count was met on 21 Sep 2016 and the share on 5 Oct 2016.
	dir := MustDirectory(t)
	rule := parisDef(t, dir).EntryIntoForce
	var instruments []projections.Instrument
	for _, group := range parisActs(t, dir) {
		for _, a := range group {
			if !a.action.IsConsent() {
				continue
			}
			instruments = append(instruments, projections.Instrument{
				Participant: a.who, Kind: a.action, Date: events.MustDate(a.date), REIO: a.who == "European Union",
			})
		}
	}
	tests := []struct {
		asOf      string
		threshold string
		want      []projections.Condition
	}{
		{asOf: "2016-10-04", want: []projections.Condition{
			{Kind: projections.ConditionCount, Name: "instruments", Have: 61, Need: 55, Met: true, MetOn: dp("2016-09-21")},
			{Kind: projections.ConditionShare, Name: "emissions % (synthetic)", Have: 52.52, Need: 55},
		}},
		{asOf: "2016-10-05", threshold: "2016-10-05", want: []projections.Condition{
			{Kind: projections.ConditionCount, Name: "instruments", Have: 71, Need: 55, Met: true, MetOn: dp("2016-09-21")},
			{Kind: projections.ConditionShare, Name: "emissions % (synthetic)", Have: 55.52, Need: 55, Met: true, MetOn: dp("2016-10-05")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.asOf, func(t *testing.T) {
			ev := projections.Evaluate(rule, 55, instruments, events.MustDate(tt.asOf))
			if !reflect.DeepEqual(ev.Conditions, tt.want) {
				t.Errorf("conditions =\n%+v\nwant\n%+v", ev.Conditions, tt.want)
			}
			if got := ev.Threshold.String(); got != tt.threshold {
				t.Errorf("threshold = %q, want %q", got, tt.threshold)
			}
		})
	}
}

// TestEvaluateSameDayOrder: the order of deposits within a day is unknown
// and must not matter — nor must the order of the input at all.
func TestEvaluateSameDayOrder(t *testing.T) {
	rome := romeDef(t).EntryIntoForce
	base := join(
		fill("Rome filler", 56, "1999-01-01"),
		inst("2002-04-11", events.Ratification, "Bosnia and Herzegovina", "Bulgaria", "Cambodia",
			"Democratic Republic of the Congo", "Ireland", "Jordan", "Mongolia", "Niger", "Romania", "Slovakia"),
		withdrawn(inst("2004-09-21", events.Ratification, "Burundi"), "2016-10-27", "2017-10-27"),
	)
	asOf := events.MustDate("2018-01-01")
	want := projections.Evaluate(rome, 60, base, asOf)
	for seed := range uint64(20) {
		shuffled := append([]projections.Instrument(nil), base...)
		r := rand.New(rand.NewPCG(seed, 42))
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := projections.Evaluate(rome, 60, shuffled, asOf)
		if got.Threshold != want.Threshold || got.EntryIntoForce != want.EntryIntoForce || got.Counted != want.Counted ||
			!reflect.DeepEqual(got.Series, want.Series) || !reflect.DeepEqual(got.Conditions, want.Conditions) ||
			!reflect.DeepEqual(bound(got), bound(want)) {
			t.Fatalf("seed %d: evaluation depends on input order", seed)
		}
	}
}

func dp(s string) *events.Date {
	d := events.MustDate(s)
	return &d
}
