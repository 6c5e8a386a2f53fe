package projections_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/seed"
)

// The definitions below are real treaties' clauses. Where a test needs
// many early instruments whose identities do not matter, it uses
// fictional fillers (MustFillers) and says so; every date a test asserts
// is either a real date with its source beside it, or labelled
// hypothetical or synthetic.

// tpnwDef is the Treaty on the Prohibition of Nuclear Weapons, UNTC
// XXVI-9. Art. 15(1): in force "90 days after the fiftieth instrument of
// ratification, acceptance, approval or accession has been deposited";
// art. 15(2): for a later State, 90 days after its deposit; art. 17(2):
// withdrawal takes effect 12 months after the notification is received.
func tpnwDef(tb testing.TB) events.Definition {
	return events.Definition{
		ID: "XXVI-9", Title: "Treaty on the Prohibition of Nuclear Weapons", ShortTitle: "TPNW",
		Adopted:   events.MustDate("2017-07-07"),
		Signature: &events.Window{Opens: events.MustDate("2017-09-20")},
		EntryIntoForce: events.Rule{
			Instruments: 50, Counts: rataa, Delay: period(tb, "90 days"), LaterParties: periodPtr(tb, "90 days"),
		},
		Withdrawal: events.Withdrawal{TakesEffect: period(tb, "12 months")},
	}
}

// romeDef is the Rome Statute of the International Criminal Court, UNTC
// XVIII-10. Art. 126(1): in force "on the first day of the month after the
// 60th day following the date of the deposit of the 60th instrument of
// ratification, acceptance, approval or accession"; art. 126(2): the same
// for a later State from its own deposit; art. 127(1): withdrawal takes
// effect one year after the notification is received.
func romeDef(tb testing.TB) events.Definition {
	return events.Definition{
		ID: "XVIII-10", Title: "Rome Statute of the International Criminal Court", ShortTitle: "Rome Statute",
		Adopted:   events.MustDate("1998-07-17"),
		Signature: &events.Window{Opens: events.MustDate("1998-07-17"), Closes: events.MustDate("2000-12-31")},
		EntryIntoForce: events.Rule{
			Instruments: 60, Counts: rataa,
			Delay: period(tb, "first day of month after 60 days"), LaterParties: periodPtr(tb, "first day of month after 60 days"),
		},
		Withdrawal: events.Withdrawal{TakesEffect: period(tb, "1 year")},
	}
}

// romeActs: 56 fictional fillers before April 2002 (synthetic), then the
// real deposits the tests assert on.
func romeActs(tb testing.TB, dir *events.Directory) [][]act {
	return [][]act{
		spread(events.Ratification, "1999-01-01", MustFillers(tb, dir, "Rome filler", 56)...),
		// 11 April 2002: ten States deposited together at UN Headquarters,
		// taking the count from 56 to 66 (UNTC XVIII-10; Wikipedia "Rome
		// Statute", citing the UN).
		on("2002-04-11", events.Ratification, "Bosnia and Herzegovina", "Bulgaria", "Cambodia",
			"Democratic Republic of the Congo", "Ireland", "Jordan", "Mongolia", "Niger", "Romania", "Slovakia"),
		// Burundi: ratification 21 Sep 2004 (UNTC XVIII-10); notification
		// of withdrawal 27 Oct 2016, effective 27 Oct 2017 (UNTC XVIII-10;
		// ICC and press reports of 27 Oct 2017).
		{{"Burundi", events.Ratification, "2004-09-21"}},
		{{"Burundi", events.Denunciation, "2016-10-27"}},
		// Guatemala: accession 2 April 2012, in force for it 1 July 2012
		// (ICC-ASP press release ICC-CPI-20120403-PR783).
		{{"Guatemala", events.Accession, "2012-04-02"}},
	}
}

// uncacDef is the United Nations Convention against Corruption, UNTC
// XVIII-14. Art. 68(1): in force on the ninetieth day after the thirtieth
// instrument, a regional organization's not counted as additional;
// art. 68(2): for a later State, the thirtieth day after its deposit or
// the general date, whichever is later; art. 70: withdrawal one year after
// notification.
func uncacDef(tb testing.TB) events.Definition {
	return events.Definition{
		ID: "XVIII-14", Title: "United Nations Convention against Corruption", ShortTitle: "UNCAC",
		Adopted: events.MustDate("2003-10-31"),
		EntryIntoForce: events.Rule{
			Instruments: 30, Counts: rataa, Delay: period(tb, "90 days"), LaterParties: periodPtr(tb, "30 days"),
		},
		Withdrawal: events.Withdrawal{TakesEffect: period(tb, "1 year")},
	}
}

// hanoiDef is the United Nations Convention against Cybercrime (the Hanoi
// Convention), UNTC XVIII-16, as shipped (seed/treaties/xviii-16-hanoi.yaml):
// adopted 24 Dec 2024, open for signature 25 Oct 2025 to 31 Dec 2026; in
// force on the ninetieth day after the fortieth instrument of
// ratification, acceptance, approval or accession, a regional
// organization's not counted as additional; for a later State the
// thirtieth day after its deposit (not verified: seed/README.md). No
// instrument has been deposited yet: every instrument in its tests is
// hypothetical.
func hanoiDef(tb testing.TB) events.Definition { return shipped(tb, seed.HanoiID) }

// shipped is the definition of treaty id as the seed ships it.
func shipped(tb testing.TB, id string) events.Definition {
	tb.Helper()
	def, err := seed.Definition(MustDirectory(tb), id)
	if err != nil {
		tb.Fatal(err)
	}
	return def
}

// kigaliDef is the Kigali Amendment to the Montreal Protocol, UNTC
// XXVII-2-f, art. IV(1): in force on 1 January 2019 provided at least
// twenty instruments have been deposited, otherwise on the ninetieth day
// after that condition is fulfilled; a regional organization's instrument
// is not counted as additional; for later Parties, the ninetieth day after
// deposit.
func kigaliDef(tb testing.TB) events.Definition {
	return events.Definition{
		ID: "XXVII-2-f", Title: "Amendment to the Montreal Protocol on Substances that Deplete the Ozone Layer", ShortTitle: "Kigali Amendment",
		Adopted: events.MustDate("2016-10-15"), Parent: "XXVII-2-a",
		EntryIntoForce: events.Rule{
			Instruments: 20, Counts: []events.Action{events.Ratification, events.Acceptance, events.Approval},
			Delay: period(tb, "90 days"), NotBefore: events.MustDate("2019-01-01"), LaterParties: periodPtr(tb, "90 days"),
		},
	}
}

// parisDef is the Paris Agreement, UNTC XXVII-7-d. Art. 21(1): in force
// on the thirtieth day after at least 55 Parties to the Convention
// accounting in total for at least an estimated 55 per cent of global
// greenhouse gas emissions have deposited; art. 21(3): for a later Party,
// the thirtieth day after its deposit; art. 21(4): a regional
// organization's instrument is not counted as additional; art. 28(2):
// withdrawal one year after the notification is received.
//
// The weights are a REDUCED SYNTHETIC table, not the UNFCCC's: they only
// reproduce its structure — the count was reached on 21 Sep 2016 and the
// share on 5 Oct 2016, when no single deposit of that day would have been
// enough. The EU is given a weight that must not count.
func parisDef(tb testing.TB, dir *events.Directory) events.Definition {
	w := map[string]float64{
		"United States of America": 17.89, "China": 20.09, "India": 4.10, // synthetic
		"European Union": 12.10, // never counted: not additional
		"Algeria":        0.1, "Afghanistan": 0.1, "Angola": 0.1,
	}
	for _, n := range parisEarly(tb, dir) {
		w[n] = 0.18 // 58 × 0.18 = 10.44; with the three above, 52.52 before 5 Oct
	}
	for _, n := range parisOct5 {
		w[n] = 0.3 // 10 × 0.3 = 3.0: 55.52, but 8 of them would not reach 55
	}
	return events.Definition{
		ID: "XXVII-7-d", Title: "Paris Agreement",
		Adopted:   events.MustDate("2015-12-12"),
		Signature: &events.Window{Opens: events.MustDate("2016-04-22"), Closes: events.MustDate("2017-04-21")},
		EntryIntoForce: events.Rule{
			Instruments: 55, Counts: rataa, RegionalOrganizationsAdditional: false,
			Share: &events.Share{Name: "emissions % (synthetic)", AtLeast: 55, Weights: w},
			Delay: period(tb, "30 days"), LaterParties: periodPtr(tb, "30 days"),
		},
		Withdrawal: events.Withdrawal{TakesEffect: period(tb, "1 year")},
	}
}

// parisOct5 are the States that deposited on 5 October 2016 together with
// the European Union (UN press release of 5 Oct 2016: "Austria, Bolivia,
// Canada, France, Germany, Hungary, Malta, Nepal, Portugal and Slovakia,
// as well as the European Union").
var parisOct5 = []string{"Austria", "Bolivia (Plurinational State of)", "Canada", "France", "Germany",
	"Hungary", "Malta", "Nepal", "Portugal", "Slovakia"}

// parisSep21Real are real deposits of 21 Sep 2016 (UNTC XXVII-7-d status
// table: Albania, Antigua and Barbuda, Argentina, Bangladesh ratification,
// Belarus acceptance, all in force 4 Nov 2016).
var parisSep21Real = []string{"Albania", "Antigua and Barbuda", "Argentina", "Bangladesh"}

// parisEarly lists the 58 small early Parties: 3 + 5 real, 50 fillers.
func parisEarly(tb testing.TB, dir *events.Directory) []string {
	out := []string{"Barbados", "Belize", "Bahamas", "Belarus"}
	out = append(out, parisSep21Real...)
	return append(out, MustFillers(tb, dir, "Paris filler", 50)...)
}

// parisActs is the Paris history the tests use.
func parisActs(tb testing.TB, dir *events.Directory) [][]act {
	fill := MustFillers(tb, dir, "Paris filler", 50)
	return [][]act{
		// Barbados and Belize ratified 22 Apr 2016, the Bahamas 22 Aug 2016
		// (UNTC XXVII-7-d status table).
		on("2016-04-22", events.Ratification, "Barbados", "Belize"),
		on("2016-08-22", events.Ratification, "Bahamas"),
		spread(events.Ratification, "2016-05-01", fill[:24]...), // synthetic
		{{"United States of America", events.Signature, "2016-04-22"}},
		// China and the United States deposited on 3 Sep 2016 (UNTC).
		on("2016-09-03", events.Acceptance, "United States of America"),
		on("2016-09-03", events.Ratification, "China"),
		// 21 Sep 2016: 31 deposits took the count past 55 (UNTC; 26 of
		// them fillers here).
		on("2016-09-21", events.Ratification, parisSep21Real...),
		on("2016-09-21", events.Acceptance, "Belarus"),
		on("2016-09-21", events.Ratification, fill[24:]...),
		on("2016-10-02", events.Ratification, "India"), // UNTC
		on("2016-10-05", events.Ratification, parisOct5...),
		on("2016-10-05", events.Approval, "European Union"),
		// Later Parties (UNTC status table: date of deposit → date of effect):
		on("2016-10-20", events.Ratification, "Algeria"),     // → 19/11/2016
		on("2017-02-15", events.Ratification, "Afghanistan"), // → 17/03/2017
		on("2020-11-16", events.Ratification, "Angola"),      // → 16/12/2020
		// The United States: notification of withdrawal 4 Nov 2019,
		// effective 4 Nov 2020; acceptance 20 Jan 2021, in force for it
		// 19 Feb 2021; notification 27 Jan 2025, effective 27 Jan 2026
		// (UNTC XXVII-7-d; UN spokesperson's briefing of 28 Jan 2025).
		{{"United States of America", events.Denunciation, "2019-11-04"}},
		{{"United States of America", events.Acceptance, "2021-01-20"}},
		{{"United States of America", events.Denunciation, "2025-01-27"}},
	}
}
