package projections_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// tpnwHistory: 49 fictional signatures and ratifications (synthetic), then
// Honduras's 50th instrument on 24 Oct 2020 (UNTC XXVI-9).
func tpnwHistory(tb testing.TB) (*events.History, *events.Directory) {
	dir := MustDirectory(tb)
	fillers := MustFillers(tb, dir, "TPNW filler", 49)
	h := MustHistory(tb, dir, tpnwDef(tb),
		spread(events.Signature, "2017-09-20", fillers...),
		spread(events.Ratification, "2018-01-01", fillers...),
		on("2020-10-24", events.Ratification, "Honduras"),
		on("2020-12-11", events.Ratification, "Benin"), // Ban Monitor: ratified 11 Dec 2020
	)
	return h, dir
}

func TestComputeTPNW(t *testing.T) {
	h, dir := tpnwHistory(t)
	tests := []struct {
		asOf       string
		counted    int
		remaining  int
		percent    float64
		threshold  string
		eif        string
		inForce    bool
		daysUntil  int // -1: null
		daysSince  int // -1: null
		parties    int // UNTC: consented, less withdrawals in effect
		inForceFor int
		milestones [5]string
	}{
		{
			asOf: "2020-10-23", counted: 49, remaining: 1, percent: 98, daysUntil: -1, daysSince: -1, parties: 49,
			// fillers ratify one a day from 1 Jan 2018: the 13th, 25th,
			// 38th and 45th reach 25, 50, 75 and 90 % of 50 (synthetic)
			milestones: [5]string{"2018-01-13", "2018-01-25", "2018-02-07", "2018-02-14", ""},
		},
		{
			// 50th instrument 24 Oct 2020 → in force 22 Jan 2021 (UNTC XXVI-9)
			asOf: "2020-10-24", counted: 50, percent: 100, threshold: "2020-10-24", eif: "2021-01-22",
			daysUntil: 90, daysSince: -1, parties: 50,
			milestones: [5]string{"2018-01-13", "2018-01-25", "2018-02-07", "2018-02-14", "2020-10-24"},
		},
		{
			asOf: "2021-01-21", counted: 51, percent: 100, threshold: "2020-10-24", eif: "2021-01-22",
			daysUntil: 1, daysSince: -1, parties: 51,
			milestones: [5]string{"2018-01-13", "2018-01-25", "2018-02-07", "2018-02-14", "2020-10-24"},
		},
		{
			// in force for the 50 that had deposited by 24 Oct; Benin only
			// from 11 Mar 2021
			asOf: "2021-01-22", counted: 51, percent: 100, threshold: "2020-10-24", eif: "2021-01-22",
			inForce: true, daysUntil: -1, daysSince: 0, parties: 51, inForceFor: 50,
			milestones: [5]string{"2018-01-13", "2018-01-25", "2018-02-07", "2018-02-14", "2020-10-24"},
		},
		{
			asOf: "2021-03-11", counted: 51, percent: 100, threshold: "2020-10-24", eif: "2021-01-22",
			inForce: true, daysUntil: -1, daysSince: 48, parties: 51, inForceFor: 51,
			milestones: [5]string{"2018-01-13", "2018-01-25", "2018-02-07", "2018-02-14", "2020-10-24"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.asOf, func(t *testing.T) {
			s := projections.Compute(h, dir, events.MustDate(tt.asOf), nil)
			if s.Treaty != "XXVI-9" || s.Required != 50 || s.Signatories != 49 {
				t.Errorf("treaty %q required %d signatories %d, want XXVI-9, 50, 49", s.Treaty, s.Required, s.Signatories)
			}
			if s.Counted != tt.counted || s.Remaining != tt.remaining || s.Percent != tt.percent {
				t.Errorf("counted/remaining/percent = %d/%d/%g, want %d/%d/%g", s.Counted, s.Remaining, s.Percent, tt.counted, tt.remaining, tt.percent)
			}
			if ds(s.ThresholdMetOn) != tt.threshold || ds(s.EntryIntoForce) != tt.eif || s.InForce != tt.inForce {
				t.Errorf("threshold %q eif %q in force %v, want %q %q %v", ds(s.ThresholdMetOn), ds(s.EntryIntoForce), s.InForce, tt.threshold, tt.eif, tt.inForce)
			}
			if got := intOr(s.DaysUntilEntryIntoForce); got != tt.daysUntil {
				t.Errorf("days until = %d, want %d", got, tt.daysUntil)
			}
			if got := intOr(s.DaysSinceEntryIntoForce); got != tt.daysSince {
				t.Errorf("days since = %d, want %d", got, tt.daysSince)
			}
			if s.Parties != tt.parties || s.InForceFor != tt.inForceFor {
				t.Errorf("parties %d, in force for %d; want %d, %d", s.Parties, s.InForceFor, tt.parties, tt.inForceFor)
			}
			for i, m := range s.Milestones {
				if ds(m.Date) != tt.milestones[i] {
					t.Errorf("milestone %d%% (target %d) = %q, want %q", m.Percent, m.Target, ds(m.Date), tt.milestones[i])
				}
			}
		})
	}
}

func intOr(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func TestComputeWithdrawal(t *testing.T) {
	dir := MustDirectory(t)
	paris := MustHistory(t, dir, parisDef(t, dir), parisActs(t, dir)...)
	rome := MustHistory(t, dir, romeDef(t), romeActs(t, dir)...)
	const usa = "United States of America"
	tests := []struct {
		name      string
		h         *events.History
		asOf      string
		counted   int
		threshold string
		eif       string
		who       string
		consent   string // "kind date"
		bound     string
		notified  string
		effective string
		earlier   int
	}{
		{
			name: "Paris, the day before the US withdrawal takes effect", h: paris, asOf: "2020-11-03",
			counted: 73, threshold: "2016-10-05", eif: "2016-11-04", // UNTC XXVII-7-d
			who: usa, consent: "acceptance 2016-09-03", bound: "2016-11-04", notified: "2019-11-04", effective: "2020-11-04",
		},
		{
			// from 4 Nov 2020 the US no longer counts; the entry into force stays
			name: "Paris, US withdrawal effective 4 Nov 2020", h: paris, asOf: "2020-11-04",
			counted: 72, threshold: "2016-10-05", eif: "2016-11-04",
			who: usa, consent: "acceptance 2016-09-03", bound: "2016-11-04", notified: "2019-11-04", effective: "2020-11-04",
		},
		{
			// acceptance 20 Jan 2021, in force for the US 19 Feb 2021 (UNTC)
			name: "Paris, US accepted again", h: paris, asOf: "2021-02-19",
			counted: 74, threshold: "2016-10-05", eif: "2016-11-04",
			who: usa, consent: "acceptance 2021-01-20", bound: "2021-02-19", earlier: 1,
		},
		{
			name: "Paris, second US withdrawal notified 27 Jan 2025", h: paris, asOf: "2026-01-26",
			counted: 74, threshold: "2016-10-05", eif: "2016-11-04",
			who: usa, consent: "acceptance 2021-01-20", bound: "2021-02-19", notified: "2025-01-27", effective: "2026-01-27", earlier: 1,
		},
		{
			name: "Paris, second US withdrawal effective 27 Jan 2026", h: paris, asOf: "2026-01-27",
			counted: 73, threshold: "2016-10-05", eif: "2016-11-04",
			who: usa, consent: "acceptance 2021-01-20", bound: "2021-02-19", notified: "2025-01-27", effective: "2026-01-27", earlier: 1,
		},
		{
			name: "Paris, the EU's approval is not counted but binds it from the general date", h: paris, asOf: "2016-12-31",
			counted: 72, threshold: "2016-10-05", eif: "2016-11-04",
			who: "European Union", consent: "approval 2016-10-05", bound: "2016-11-04",
		},
		{
			name: "Paris, a later Party: Algeria 20 Oct 2016 → 19 Nov 2016 (UNTC)", h: paris, asOf: "2016-12-31",
			counted: 72, threshold: "2016-10-05", eif: "2016-11-04",
			who: "Algeria", consent: "ratification 2016-10-20", bound: "2016-11-19",
		},
		{
			name: "Rome, Burundi before notifying", h: rome, asOf: "2016-10-26",
			counted: 68, threshold: "2002-04-11", eif: "2002-07-01",
			who: "Burundi", consent: "ratification 2004-09-21", bound: "2004-12-01",
		},
		{
			name: "Rome, Burundi notified 27 Oct 2016", h: rome, asOf: "2017-10-26",
			counted: 68, threshold: "2002-04-11", eif: "2002-07-01",
			who: "Burundi", consent: "ratification 2004-09-21", bound: "2004-12-01", notified: "2016-10-27", effective: "2017-10-27",
		},
		{
			name: "Rome, Burundi's withdrawal effective 27 Oct 2017", h: rome, asOf: "2017-10-27",
			counted: 67, threshold: "2002-04-11", eif: "2002-07-01",
			who: "Burundi", consent: "ratification 2004-09-21", bound: "2004-12-01", notified: "2016-10-27", effective: "2017-10-27",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := projections.Compute(tt.h, dir, events.MustDate(tt.asOf), nil)
			if s.Counted != tt.counted {
				t.Errorf("counted = %d, want %d", s.Counted, tt.counted)
			}
			if ds(s.ThresholdMetOn) != tt.threshold || ds(s.EntryIntoForce) != tt.eif {
				t.Errorf("threshold %q eif %q, want %q %q", ds(s.ThresholdMetOn), ds(s.EntryIntoForce), tt.threshold, tt.eif)
			}
			r := row(t, s, tt.who)
			consent := ""
			if r.Consent != nil {
				consent = string(r.Consent.Kind) + " " + r.Consent.Date.String()
			}
			if consent != tt.consent || ds(r.EntryIntoForce) != tt.bound {
				t.Errorf("%s: consent %q in force %q, want %q %q", tt.who, consent, ds(r.EntryIntoForce), tt.consent, tt.bound)
			}
			if ds(r.WithdrawalNotified) != tt.notified || ds(r.WithdrawalEffective) != tt.effective {
				t.Errorf("%s: withdrawal %q/%q, want %q/%q", tt.who, ds(r.WithdrawalNotified), ds(r.WithdrawalEffective), tt.notified, tt.effective)
			}
			if len(r.Earlier) != tt.earlier {
				t.Errorf("%s: %d earlier consents, want %d", tt.who, len(r.Earlier), tt.earlier)
			}
		})
	}

	t.Run("Paris, the share no longer holds after the US left, but the treaty stays in force", func(t *testing.T) {
		s := projections.Compute(paris, dir, events.MustDate("2020-11-04"), nil)
		share := s.Conditions[1]
		if share.Met || ds(share.MetOn) != "2016-10-05" || !s.InForce {
			t.Errorf("share %+v (met on %s), in force %v; want not met, met on 2016-10-05, in force", share, ds(share.MetOn), s.InForce)
		}
		usaRow := row(t, projections.Compute(paris, dir, events.MustDate("2021-02-19"), nil), usa)
		first := usaRow.Earlier[0]
		if first.Consent.Date.String() != "2016-09-03" || ds(first.EntryIntoForce) != "2016-11-04" || first.WithdrawalEffective.String() != "2020-11-04" {
			t.Errorf("US earlier consent = %+v", first)
		}
	})
}

func TestComputeREIONotAdditional(t *testing.T) {
	// Hanoi Convention (UNTC XVIII-16): real definition, HYPOTHETICAL
	// instruments — none had been deposited when this was written.
	dir := MustDirectory(t)
	states := MustFillers(t, dir, "Hanoi State", 40)
	h := MustHistory(t, dir, hanoiDef(t),
		on("2025-10-25", events.Signature, "European Union", "Viet Nam"),
		spread(events.Ratification, "2026-01-05", states[:39]...),
		on("2026-03-01", events.Approval, "European Union"),
		on("2026-04-01", events.Ratification, states[39]),
		on("2026-04-02", events.IntentAnnounced, "Viet Nam"),
	)
	before := projections.Compute(h, dir, events.MustDate("2026-03-31"), nil)
	if before.Counted != 39 || before.Remaining != 1 || before.ThresholdMetOn != nil {
		t.Errorf("31 Mar 2026: counted %d remaining %d threshold %s; want 39, 1, null (the EU does not count)", before.Counted, before.Remaining, ds(before.ThresholdMetOn))
	}
	eu := row(t, before, "European Union")
	if eu.Consent == nil || eu.Consent.Counts || eu.ISO3 != "EUU" || ds(eu.Signature) != "2025-10-25" {
		t.Errorf("EU row = %+v", eu)
	}
	after := projections.Compute(h, dir, events.MustDate("2026-04-02"), nil)
	if ds(after.ThresholdMetOn) != "2026-04-01" || ds(after.EntryIntoForce) != "2026-06-30" || intOr(after.DaysUntilEntryIntoForce) != 89 {
		t.Errorf("2 Apr 2026: threshold %s eif %s days %d; want 2026-04-01, 2026-06-30 (1 Apr + 90 days), 89",
			ds(after.ThresholdMetOn), ds(after.EntryIntoForce), intOr(after.DaysUntilEntryIntoForce))
	}
	vn := row(t, after, "Viet Nam")
	if vn.Consent != nil || len(vn.Unofficial) != 1 || after.Signatories != 2 {
		t.Errorf("Viet Nam row %+v, signatories %d; want an unofficial step only, 2 signatories", vn, after.Signatories)
	}
	if !strings.Contains(after.Rule, "regional organizations not additional") {
		t.Errorf("rule %q does not say regional organizations are not additional", after.Rule)
	}
}

// TestComputeProtocol: amendments and protocols. SYNTHETIC parents: the
// real Kyoto Protocol had 192 Parties; a reduced one keeps the arithmetic
// readable while the amendment's own dates stay real.
func TestComputeProtocol(t *testing.T) {
	t.Run("Doha Amendment: 3/4 of the Kyoto Parties on the adoption date", func(t *testing.T) {
		dir := MustDirectory(t)
		k := MustFillers(t, dir, "Kyoto Party", 6) // AA..AC: Parties in 2012; AD..AF: joined later
		kyoto := events.Definition{
			ID: "XXVII-7-a", Title: "Kyoto Protocol (reduced, synthetic Parties)", Adopted: events.MustDate("1997-12-11"),
			EntryIntoForce: events.Rule{Instruments: 5, Counts: rataa, Delay: period(t, "90 days")},
			Withdrawal:     events.Withdrawal{TakesEffect: period(t, "1 year")},
		}
		parentHist := MustHistory(t, dir, kyoto,
			spread(events.Ratification, "2002-03-01", k[:3]...), // synthetic
			on("2002-05-31", events.Approval, "European Union"), // not additional
			on("2002-12-17", events.Ratification, "Canada"),
			// Russia's ratification of 18 Nov 2004 brought the Protocol into
			// force on 16 Feb 2005, the 90th day (UNTC XXVII-7-a)
			on("2004-11-18", events.Ratification, "Russian Federation"),
			on("2005-04-01", events.Accession, "Albania"), // date illustrative
			// Canada notified its withdrawal 15 Dec 2011, effective 15 Dec
			// 2012 (UNTC XXVII-7-a): still a Party on 8 Dec 2012
			on("2011-12-15", events.Denunciation, "Canada"),
			// acceded before the adoption, but not yet bound on 8 Dec 2012
			// (in force for it 18 Feb 2013): not counted
			on("2012-11-20", events.Accession, k[3]),
			spread(events.Accession, "2013-03-25", k[4:]...),
		)
		doha := events.Definition{
			ID: "XXVII-7-c", Title: "Doha Amendment to the Kyoto Protocol", Parent: "XXVII-7-a",
			Adopted: events.MustDate("2012-12-08"), // UNTC XXVII-7-c
			// Kyoto art. 20(4): in force on the 90th day after instruments of
			// acceptance by three fourths of the Parties; UNFCCC: "144
			// instruments of acceptance (excluding the European Union)"
			EntryIntoForce: events.Rule{
				Fraction: &events.Fraction{Num: 3, Den: 4}, Counts: []events.Action{events.Acceptance},
				Delay: period(t, "90 days"), LaterParties: periodPtr(t, "90 days"),
			},
		}
		h := MustHistory(t, dir, doha,
			spread(events.Acceptance, "2014-06-02", k[:5]...),     // synthetic
			on("2017-12-21", events.Acceptance, "European Union"), // UNTC; not counted
			// the last required instrument: 2 Oct 2020 → 31 Dec 2020 (UNTC XXVII-7-c)
			on("2020-10-02", events.Acceptance, k[5]),
			// Albania 22 Oct 2020 → 20 Jan 2021 (UNTC XXVII-7-c status table)
			on("2020-10-22", events.Acceptance, "Albania"),
		)
		for _, tt := range []struct {
			asOf, threshold, eif string
			counted              int
		}{
			{"2020-10-01", "", "", 5},
			{"2020-10-02", "2020-10-02", "2020-12-31", 6},
			{"2021-01-20", "2020-10-02", "2020-12-31", 7},
		} {
			asOf := events.MustDate(tt.asOf)
			parent := projections.Compute(parentHist, dir, asOf, nil)
			if ds(parent.EntryIntoForce) != "2005-02-16" {
				t.Fatalf("reduced Kyoto in force %s, want 2005-02-16", ds(parent.EntryIntoForce))
			}
			s := projections.Compute(h, dir, asOf, &parent)
			// Parties on 8 Dec 2012: AA, AB, AC, EU, Canada, Russia, Albania
			// = 7; ceil(7 × 3/4) = 6
			if s.Required != 6 {
				t.Fatalf("%s: required = %d, want 6", tt.asOf, s.Required)
			}
			if s.Counted != tt.counted || ds(s.ThresholdMetOn) != tt.threshold || ds(s.EntryIntoForce) != tt.eif {
				t.Errorf("%s: counted %d threshold %q eif %q; want %d %q %q", tt.asOf, s.Counted, ds(s.ThresholdMetOn), ds(s.EntryIntoForce), tt.counted, tt.threshold, tt.eif)
			}
		}
		s := projections.Compute(h, dir, events.MustDate("2021-01-20"), ptr(projections.Compute(parentHist, dir, events.MustDate("2021-01-20"), nil)))
		for who, want := range map[string]string{"Albania": "2021-01-20", "European Union": "2020-12-31", k[0]: "2020-12-31"} {
			if got := ds(row(t, s, who).EntryIntoForce); got != want {
				t.Errorf("%s: in force %q, want %q", who, got, want)
			}
		}
		if orphan := projections.Compute(h, dir, events.MustDate("2021-01-20"), nil); orphan.Required != 0 || orphan.ThresholdMetOn != nil {
			t.Errorf("without its parent the fraction is unknown: required %d threshold %s", orphan.Required, ds(orphan.ThresholdMetOn))
		}
	})

	t.Run("never before the parent (synthetic convention and protocol)", func(t *testing.T) {
		// Structure of e.g. the Optional Protocol to the CRPD, art. 13(1):
		// "Subject to the entry into force of the Convention". All
		// participants and dates are synthetic.
		dir := MustDirectory(t)
		p := MustFillers(t, dir, "Party", 4)
		convention := events.Definition{
			ID: "conv", Title: "Convention (synthetic)", Adopted: events.MustDate("2009-01-01"),
			EntryIntoForce: events.Rule{Instruments: 3, Delay: period(t, "30 days")},
		}
		protocol := events.Definition{
			ID: "conv-op", Title: "Optional Protocol (synthetic)", Parent: "conv", Adopted: events.MustDate("2009-01-01"),
			EntryIntoForce: events.Rule{Instruments: 2, Delay: period(t, "30 days"), LaterParties: periodPtr(t, "10 days")},
		}
		ch := MustHistory(t, dir, convention,
			on("2010-01-10", events.Ratification, p[0]),
			on("2010-03-01", events.Ratification, p[1]),
			on("2010-06-01", events.Ratification, p[2]), // threshold → 1 Jul 2010
			on("2010-08-01", events.Ratification, p[3]), // later: 31 Aug 2010
		)
		ph := MustHistory(t, dir, protocol,
			on("2010-01-10", events.Ratification, p[0]),
			on("2010-02-01", events.Ratification, p[1]), // own threshold → 3 Mar 2010
			on("2010-08-01", events.Ratification, p[3]), // own later date 11 Aug 2010
		)
		for _, tt := range []struct {
			asOf, threshold, eif, p3 string
		}{
			{asOf: "2010-05-01", threshold: "2010-02-01", eif: ""}, // convention not in force: neither is the protocol
			{asOf: "2010-06-01", threshold: "2010-02-01", eif: "2010-07-01"},
			{asOf: "2010-09-01", threshold: "2010-02-01", eif: "2010-07-01", p3: "2010-08-31"}, // not before the convention binds it
		} {
			asOf := events.MustDate(tt.asOf)
			parent := projections.Compute(ch, dir, asOf, nil)
			s := projections.Compute(ph, dir, asOf, &parent)
			if ds(s.ThresholdMetOn) != tt.threshold || ds(s.EntryIntoForce) != tt.eif {
				t.Errorf("%s: threshold %q eif %q, want %q %q", tt.asOf, ds(s.ThresholdMetOn), ds(s.EntryIntoForce), tt.threshold, tt.eif)
			}
			if tt.eif == "" && (s.InForce || row(t, s, p[0]).EntryIntoForce != nil) {
				t.Errorf("%s: protocol in force before its parent", tt.asOf)
			}
			if tt.p3 != "" {
				if got := ds(row(t, s, p[3]).EntryIntoForce); got != tt.p3 {
					t.Errorf("%s: %s in force %q, want %q", tt.asOf, p[3], got, tt.p3)
				}
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestComputeSameDayOrder: shuffling the log order of the acts — and so
// the order of same-day deposits — changes nothing in any status.
func TestComputeSameDayOrder(t *testing.T) {
	dir := MustDirectory(t)
	def := parisDef(t, dir)
	acts := parisActs(t, dir)
	want := statusesJSON(t, MustHistory(t, dir, def, acts...), dir)
	var flat []act
	for _, g := range acts {
		flat = append(flat, g...)
	}
	for seed := range uint64(10) {
		shuffled := append([]act(nil), flat...)
		r := rand.New(rand.NewPCG(seed, 7))
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := statusesJSON(t, MustHistory(t, dir, def, shuffled), dir); got != want {
			t.Fatalf("seed %d: status depends on the order of the log", seed)
		}
	}
}

func statusesJSON(tb testing.TB, h *events.History, dir *events.Directory) string {
	tb.Helper()
	var out []projections.Status
	for _, d := range []string{"2016-09-21", "2016-10-04", "2016-10-05", "2020-11-04", "2021-02-19", "2026-12-31"} {
		out = append(out, projections.Compute(h, dir, events.MustDate(d), nil))
	}
	b, err := json.Marshal(out)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// TestComputeAsOfAndKnownAt: the valid-time axis (as of) and the
// transaction-time axis (the caller folds as known at T) combine.
func TestComputeAsOfAndKnownAt(t *testing.T) {
	dir := MustDirectory(t)
	def := romeDef(t)
	acts := romeActs(t, dir)
	// Guatemala's accession first recorded with a wrong date, 2 May 2012
	// (hypothetical clerical error), then corrected to 2 Apr 2012.
	for i, g := range acts {
		if len(g) == 1 && g[0].who == "Guatemala" {
			acts[i] = []act{{"Guatemala", events.Accession, "2012-05-02"}}
		}
	}
	envs := MustEnvelopes(t, dir, def, acts...)
	var wrong events.Envelope
	for _, e := range envs {
		if strings.Contains(string(e.Payload), "Guatemala") {
			wrong = e
		}
	}
	reg := events.NewRegistry()
	gt, _ := dir.Resolve("Guatemala")
	fixed := events.MustDate("2012-04-02")
	rec, err := reg.NewRecord(&events.ActCorrected{Supersedes: wrong.Position, Reason: "date of deposit is 2 April 2012",
		Act: events.Act{Action: events.Accession, Participant: gt.Name, ISO3: gt.ISO3, Date: fixed}}, fixed, events.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(envs) + 1)
	envs = append(envs, events.Envelope{Position: n, Stream: wrong.Stream, Version: n, Type: rec.Type, SchemaVersion: rec.SchemaVersion,
		ValidDate: rec.ValidDate, RecordedAt: recordedAt(n), Payload: rec.Payload})

	tests := []struct {
		name    string
		knownAt time.Time
		asOf    string
		want    string // Guatemala's entry into force; "-" absent
	}{
		{"as known before the correction", recordedAt(n - 1), "2012-12-31", "2012-08-01"}, // 2 May + 60 = 1 Jul → 1 Aug
		{"as known after the correction", time.Time{}, "2012-12-31", "2012-07-01"},
		{"as of the day before the corrected deposit", time.Time{}, "2012-04-01", "-"},
		{"as of 1 May 2012, known before the correction", recordedAt(n - 1), "2012-05-01", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := projections.Compute(MustFold(t, envs, tt.knownAt), dir, events.MustDate(tt.asOf), nil)
			got := "-"
			for _, p := range s.Participants {
				if p.Participant == "Guatemala" {
					got = ds(p.EntryIntoForce)
				}
			}
			if got != tt.want {
				t.Errorf("Guatemala in force %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStatusJSON(t *testing.T) {
	h, dir := tpnwHistory(t)
	before := projections.Compute(h, dir, events.MustDate("2020-10-23"), nil)
	b, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"threshold_met_on", "entry_into_force", "days_until_entry_into_force", "days_since_entry_into_force"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if _, ok := m["known_at"]; ok {
		t.Errorf("known_at present though not set")
	}
	if m["as_of"] != "2020-10-23" || m["treaty"] != "XXVI-9" || m["required"] != 50.0 {
		t.Errorf("as_of %v treaty %v required %v", m["as_of"], m["treaty"], m["required"])
	}
	first := m["participants"].([]any)[0].(map[string]any)
	if first["consent"].(map[string]any)["kind"] != "ratification" || first["withdrawal_effective"] != nil ||
		first["declarations"] == nil || first["entry_into_force"] != nil {
		t.Errorf("participant = %v", first)
	}

	after := projections.Compute(h, dir, events.MustDate("2021-01-22"), nil)
	known := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	after.KnownAt = &known
	b, _ = json.Marshal(after)
	for _, want := range []string{`"entry_into_force":"2021-01-22"`, `"threshold_met_on":"2020-10-24"`, `"in_force":true`,
		`"days_since_entry_into_force":0`, `"known_at":"2025-03-01T12:00:00Z"`, `"participant":"Honduras","iso3":"HND"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

func TestComputeSortsLikeUNTC(t *testing.T) {
	dir := MustDirectory(t)
	// dates illustrative: only the order of names matters here
	h := MustHistory(t, dir, romeDef(t),
		on("1998-07-17", events.Signature, "Croatia", "Côte d'Ivoire", "Costa Rica", "Cuba"))
	s := projections.Compute(h, dir, events.MustDate("1998-12-31"), nil)
	var got []string
	for _, p := range s.Participants {
		got = append(got, p.Participant)
	}
	if want := "Costa Rica|Côte d'Ivoire|Croatia|Cuba"; strings.Join(got, "|") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
}
