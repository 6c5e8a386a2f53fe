package events_test

import (
	"errors"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/seed"
)

// A treaty whose definition has no withdrawal clause gets the Vienna
// Convention's default (art. 56(2): not less than twelve months' notice):
// a denunciation notified 1 Mar 2027 takes effect 1 Mar 2028, not the
// same day, and the participant stays bound until then. The Hanoi
// Convention's shipped definition is used with its withdrawal clause
// removed; its deposits here are HYPOTHETICAL (none is deposited yet).
func TestWithdrawalWithoutAClauseTakesTheViennaDefault(t *testing.T) {
	dir, err := events.NewDirectory()
	if err != nil {
		t.Fatal(err)
	}
	def, err := seed.Definition(dir, seed.HanoiID)
	if err != nil {
		t.Fatal(err)
	}
	def.Withdrawal = events.Withdrawal{}
	if got := def.Withdrawal.Rule(); got != "Vienna Convention art. 56(2) default: 12 months" {
		t.Errorf("rule = %q", got)
	}
	h := historyOf(t, def, "Viet Nam,signature,2025-10-25", "Viet Nam,ratification,2026-06-01", "Viet Nam,denunciation,2027-03-01")
	if got := h.WithdrawalEffective(events.MustDate("2027-03-01")); got != events.MustDate("2028-03-01") {
		t.Errorf("effective %s, want 2028-03-01", got)
	}
	for _, tt := range []struct {
		date  string
		bound bool
	}{{"2027-03-01", true}, {"2028-02-29", true}, {"2028-03-01", false}} {
		if got := h.BoundOn("Viet Nam", events.MustDate(tt.date)); got != tt.bound {
			t.Errorf("bound on %s = %v, want %v", tt.date, got, tt.bound)
		}
	}
	// Bound until the default period is over: a new consent before it is
	// refused, one after it is accepted.
	today := events.MustDate("2030-01-01")
	vn, _ := dir.Resolve("Viet Nam")
	_, err = events.DecideRecord(h, nil, events.RecordAct{Treaty: def.ID, Participant: vn, Action: events.Accession, Date: events.MustDate("2027-06-01")}, today)
	if !errors.Is(err, events.ErrRefused) {
		t.Errorf("accession while the denunciation is pending: %v, want a refusal", err)
	}
	if _, err := events.DecideRecord(h, nil, events.RecordAct{Treaty: def.ID, Participant: vn, Action: events.Accession, Date: events.MustDate("2028-03-01")}, today); err != nil {
		t.Errorf("accession once the withdrawal took effect: %v", err)
	}
	// The treaty's own clause still wins when there is one.
	def.Withdrawal = events.Withdrawal{TakesEffect: events.Period{N: 6, Unit: events.Months}}
	if got := def.Withdrawal.Rule(); got != "treaty clause: 6 months after notification" {
		t.Errorf("rule = %q", got)
	}
}

// Provisional application (ATT art. 23) is declared at signature or at
// the deposit of an instrument: refused before either, with a reason;
// accepted after a signature; it makes nobody bound.
func TestDecideProvisionalApplication(t *testing.T) {
	dir, err := events.NewDirectory()
	if err != nil {
		t.Fatal(err)
	}
	def := hanoi(t)
	today := events.MustDate("2026-11-27")
	es, _ := dir.Resolve("Spain")
	pa := events.RecordAct{Treaty: def.ID, Participant: es, Action: events.ProvisionalApplication, Date: events.MustDate("2025-10-25")}

	_, err = events.DecideRecord(historyOf(t, def), nil, pa, today)
	var re *events.RefusedError
	if !errors.As(err, &re) || !errors.Is(err, events.ErrRefused) {
		t.Fatalf("provisional application without a signature: %v, want a *RefusedError", err)
	}
	if want := "Spain has neither signed XVIII-16 nor consented to be bound by it on or before 2025-10-25, so it cannot declare provisional application; record its signature or its instrument first"; err.Error() != want {
		t.Errorf("message\n  %s\nwant\n  %s", err, want)
	}
	signed := historyOf(t, def, "Spain,signature,2025-10-25")
	act, err := events.DecideRecord(signed, nil, pa, today)
	if err != nil || act.Action != events.ProvisionalApplication || act.EventType() != "act.provisional-application" {
		t.Fatalf("after signature: %+v, %v", act, err)
	}
	h := historyOf(t, def, "Spain,signature,2025-10-25", "Spain,provisional-application,2025-10-25")
	if h.BoundOn("Spain", today) {
		t.Error("provisional application made Spain bound")
	}
	if events.ProvisionalApplication.IsConsent() || events.ProvisionalApplication.IsUnofficial() {
		t.Error("provisional application is neither a consent nor an unofficial step")
	}
	if _, err := events.ParseAction("provisional-application"); err != nil {
		t.Error(err)
	}
}
