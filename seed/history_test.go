package seed_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// MustSeeded is a ledger into which seed.Load has loaded the shipped seed.
func MustSeeded(tb testing.TB) *events.Ledger {
	tb.Helper()
	l := MustLedger(tb)
	if _, err := seed.Load(context.Background(), l); err != nil {
		tb.Fatalf("seed.Load: %v", err)
	}
	return l
}

// status computes a treaty's status from the ledger as of asOf.
func status(tb testing.TB, l *events.Ledger, treaty, asOf string) projections.Status {
	tb.Helper()
	ctx := context.Background()
	h, err := l.History(ctx, treaty, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return projections.Compute(h, dir, events.MustDate(asOf), nil)
}

func ds(d *events.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// The seeded history of each shipped treaty computes, through its own
// entry-into-force clause, the date the depositary published (sources in
// ../shared/data/treaties/README.md and each YAML's header).
func TestSeededTreatiesEnterIntoForceOnTheirPublishedDates(t *testing.T) {
	l := MustSeeded(t)
	tests := []struct {
		name, treaty       string
		threshold, inForce string
	}{
		// art. 15: 50th instrument 24 Oct 2020, in force 22 Jan 2021
		{"TPNW", "XXVI-9", "2020-10-24", "2021-01-22"},
		// art. 22: 50th ratification/acceptance/approval 25 Sep 2014 (accessions do not count), 24 Dec 2014
		{"ATT", "XXVI-8", "2014-09-25", "2014-12-24"},
		// art. 68: 30th instrument 15 Sep 2005, in force 14 Dec 2005
		{"UNCAC", "XVIII-14", "2005-09-15", "2005-12-14"},
		// art. 21: 55 Parties and 55 % of emissions both first met 5 Oct 2016, in force 4 Nov 2016
		{"Paris Agreement", "XXVII-7-d", "2016-10-05", "2016-11-04"},
		// art. 68: 60th instrument 19 Sep 2025, in force 120 days later, 17 Jan 2026
		{"BBNJ Agreement", "XXI-10", "2025-09-19", "2026-01-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := status(t, l, tt.treaty, "2026-11-27")
			if ds(s.ThresholdMetOn) != tt.threshold || ds(s.EntryIntoForce) != tt.inForce || !s.InForce {
				t.Errorf("threshold %s, entry into force %s, in force %v; want %s, %s, in force", ds(s.ThresholdMetOn), ds(s.EntryIntoForce), s.InForce, tt.threshold, tt.inForce)
			}
			before := status(t, l, tt.treaty, events.MustDate(tt.inForce).AddDays(-1).String())
			if before.InForce || ds(before.EntryIntoForce) != tt.inForce {
				t.Errorf("the day before: in force %v, entry into force %s; want not yet, %s", before.InForce, ds(before.EntryIntoForce), tt.inForce)
			}
		})
	}
}

// Every seeded act keeps the source its row names, and is recorded by the
// seed.
func TestSeededActsCarryTheirSources(t *testing.T) {
	l := MustSeeded(t)
	ctx := context.Background()
	for _, id := range []string{"XVIII-14", "XXI-10", "XXVI-8", "XXVI-9", "XXVII-7-d", seed.HanoiID} {
		h, err := l.History(ctx, id, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		facts := h.Facts()
		if len(facts) == 0 {
			t.Errorf("%s: no seeded act", id)
		}
		for _, f := range facts {
			if f.Source == "" {
				t.Errorf("%s: the %s by %s of %s has no source", id, f.Action, f.Participant, f.Date)
			}
		}
	}
}

// The Paris Agreement's seeded history holds the United States' first
// withdrawal (notified 4 Nov 2019, effective 4 Nov 2020), its acceptance
// of 20 Jan 2021 (in force for it 19 Feb 2021) and its second withdrawal
// (notified 27 Jan 2025, effective 27 Jan 2026), as the UN spokesperson
// announced each.
func TestSeededParisUnitedStates(t *testing.T) {
	l := MustSeeded(t)
	const usa = "United States of America"
	row := func(s projections.Status) projections.Participation {
		for _, p := range s.Participants {
			if p.Participant == usa {
				return p
			}
		}
		t.Fatalf("no row for %s as of %s", usa, s.AsOf)
		return projections.Participation{}
	}
	out := status(t, l, "XXVII-7-d", "2020-11-04")
	if r := row(out); ds(r.WithdrawalNotified) != "2019-11-04" || ds(r.WithdrawalEffective) != "2020-11-04" {
		t.Errorf("first withdrawal %s → %s; want 2019-11-04 → 2020-11-04", ds(r.WithdrawalNotified), ds(r.WithdrawalEffective))
	}
	back := status(t, l, "XXVII-7-d", "2021-02-19")
	if r := row(back); r.Consent == nil || r.Consent.Date.String() != "2021-01-20" || ds(r.EntryIntoForce) != "2021-02-19" || len(r.Earlier) != 1 {
		t.Errorf("re-acceptance row %+v; want acceptance 2021-01-20, in force 2021-02-19, one earlier tenure", r)
	}
	gone := status(t, l, "XXVII-7-d", "2026-01-27")
	if r := row(gone); ds(r.WithdrawalNotified) != "2025-01-27" || ds(r.WithdrawalEffective) != "2026-01-27" {
		t.Errorf("second withdrawal %s → %s; want 2025-01-27 → 2026-01-27", ds(r.WithdrawalNotified), ds(r.WithdrawalEffective))
	}
	// UNTC parties: the US counts until its withdrawal takes effect.
	if eve := status(t, l, "XXVII-7-d", "2026-01-26"); eve.Parties != gone.Parties+1 || eve.InForceFor != gone.InForceFor+1 {
		t.Errorf("parties %d → %d, in force for %d → %d on 27 Jan 2026; want one fewer each", eve.Parties, gone.Parties, eve.InForceFor, gone.InForceFor)
	}
}

// The ATT's 22 declarations of provisional application (art. 23, UNTC
// mark "n") are seeded, shown as such, and never counted.
func TestSeededATTProvisionalApplication(t *testing.T) {
	l := MustSeeded(t)
	s := status(t, l, "XXVI-8", "2026-11-27")
	n := 0
	for _, p := range s.Participants {
		if p.ProvisionalApplication != nil {
			n++
			if p.ProvisionalApplication.Kind != events.ProvisionalApplication {
				t.Errorf("%s: provisional application of kind %s", p.Participant, p.ProvisionalApplication.Kind)
			}
		}
	}
	if n != 22 {
		t.Errorf("%d participants with a provisional application, want 22", n)
	}
	// Spain declared provisional application at signature, 3 Jun 2013,
	// and ratified 2 Apr 2014: on 1 Jan 2014 it is a signatory applying
	// the Treaty provisionally, not a party, and counts toward nothing.
	early := status(t, l, "XXVI-8", "2014-01-01")
	for _, p := range early.Participants {
		if p.Participant != "Spain" {
			continue
		}
		if p.ProvisionalApplication == nil || p.ProvisionalApplication.Date.String() != "2013-06-03" || p.Consent != nil {
			t.Errorf("Spain on 2014-01-01: %+v; want provisional application of 2013-06-03 and no consent", p)
		}
	}
	onlyDeposits := 0
	for _, p := range early.Participants {
		if p.Consent != nil && p.Consent.Counts {
			onlyDeposits++
		}
	}
	if early.Counted != onlyDeposits {
		t.Errorf("counted %d, but %d counted deposits: provisional application must not count", early.Counted, onlyDeposits)
	}
}

// A ledger seeded by an earlier version — the shipped definitions,
// registered by the seed, and no history — gets the missing history from
// a new Load, once; acts it already holds are not recorded again, and an
// act a user retracted is not brought back.
func TestLoadImportsTheHistoryAnEarlierSeedLacked(t *testing.T) {
	ctx := context.Background()
	l := MustLedger(t)
	dir := MustDirectory(t)
	defs, err := seed.Definitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if _, err := l.AddTreaty(ctx, d, events.Metadata{Actor: "seed", Source: "seed/treaties"}); err != nil {
			t.Fatal(err)
		}
	}
	// Two TPNW acts already there: one the user retracted since.
	if _, err := l.Record(ctx, events.RecordInput{Treaty: "XXVI-9", Participant: "Austria", Action: "signature", Date: "2017-09-20"}); err != nil {
		t.Fatal(err)
	}
	gone, err := l.Record(ctx, events.RecordInput{Treaty: "XXVI-9", Participant: "Algeria", Action: "signature", Date: "2017-09-20"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Retract(ctx, "XXVI-9", gone.Position, "checking", events.Metadata{Actor: "user"}); err != nil {
		t.Fatal(err)
	}
	n, err := seed.Load(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	fresh := MustLedger(t)
	all, err := seed.Load(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	// The fresh ledger recorded the definitions too; this one holds them
	// and two of the TPNW rows.
	if want := all - len(defs) - 2; n != want {
		t.Errorf("Load recorded %d events into the earlier seed's ledger, want %d", n, want)
	}
	h, err := l.History(ctx, "XXVI-9", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	austria, algeria := 0, 0
	for _, f := range h.Facts() {
		switch {
		case f.Participant == "Austria" && f.Action == events.Signature:
			austria++
		case f.Participant == "Algeria" && f.Action == events.Signature:
			algeria++
		}
	}
	if austria != 1 || algeria != 0 {
		t.Errorf("Austria's signature %d times, Algeria's %d; want 1 (recorded once) and 0 (retracted by the user)", austria, algeria)
	}
	if again, err := seed.Load(ctx, l); err != nil || again != 0 {
		t.Errorf("Load again recorded %d events (%v), want none", again, err)
	}
	if s := status(t, l, "XXVI-9", "2026-11-27"); ds(s.EntryIntoForce) != "2021-01-22" {
		t.Errorf("TPNW entry into force %s, want 2021-01-22", ds(s.EntryIntoForce))
	}
}

// A row dated after the ledger's today waits: a ledger whose today is
// 1 Jan 2025 gets the histories up to then — the Paris Agreement with the
// United States bound again since 20 Jan 2021 — and not the United
// States' second notification of withdrawal (27 Jan 2025) nor the Hanoi
// signatures (25 Oct 2025); a Load once those dates have passed adds
// exactly the rows dated after 1 Jan 2025.
func TestLoadLeavesRowsAfterTodayForLater(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	cut := events.MustDate("2025-01-01")
	early := MustLedgerAt(t, path, time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC))
	if _, err := seed.Load(ctx, early); err != nil {
		t.Fatal(err)
	}
	for _, hf := range seed.Histories() {
		h, err := early.History(ctx, hf.Treaty, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range h.Facts() {
			if f.Date.After(cut) {
				t.Errorf("%s: the %s by %s of %s was recorded on 1 Jan 2025", hf.Treaty, f.Action, f.Participant, f.Date)
			}
		}
	}
	usa := func(s projections.Status) projections.Participation {
		for _, p := range s.Participants {
			if p.Participant == "United States of America" {
				return p
			}
		}
		t.Fatal("no United States row")
		return projections.Participation{}
	}
	if r := usa(status(t, early, "XXVII-7-d", "2025-01-01")); r.WithdrawalNotified != nil || ds(r.EntryIntoForce) != "2021-02-19" {
		t.Errorf("US on 1 Jan 2025: notified %s, in force %s; want no notification, in force since 2021-02-19", ds(r.WithdrawalNotified), ds(r.EntryIntoForce))
	}

	later := MustLedgerAt(t, path, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	n, err := seed.Load(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if want := rowsAfter(t, cut); n != want {
		t.Errorf("the second Load recorded %d events, want the %d rows dated after %s", n, want, cut)
	}
	if r := usa(status(t, later, "XXVII-7-d", "2026-11-27")); ds(r.WithdrawalNotified) != "2025-01-27" {
		t.Errorf("US withdrawal notified %s, want 2025-01-27", ds(r.WithdrawalNotified))
	}
}

// rowsAfter counts the shipped history rows dated after d.
func rowsAfter(tb testing.TB, d events.Date) int {
	tb.Helper()
	n := 0
	for _, hf := range seed.Histories() {
		f, err := seed.Files().Open(hf.Path)
		if err != nil {
			tb.Fatal(err)
		}
		rows, err := events.ParseImportCSV(f)
		f.Close()
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rows {
			if events.MustDate(r.Date).After(d) {
				n++
			}
		}
	}
	return n
}
