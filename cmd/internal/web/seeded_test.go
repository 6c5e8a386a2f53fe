package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// The API's treaty list and status carry the UN Treaty Collection's three
// figures for the seeded treaties, and the dashboard shows them. TPNW
// (UNTC status as at 3 Feb 2026): 95 signatories, 74 parties, in force for
// 74 as of 15 Jun 2026; ATT (same snapshot): 130 signatories, 117 parties
// — the 12 accessions among them, which do not count toward art. 22's 50.
func TestSeededTreatiesShowTheUNTCFigures(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Get("/api/v1/treaties")
	wantStatus(t, r, http.StatusOK)
	var body struct {
		Treaties []struct {
			ID             string  `json:"id"`
			Signatories    int     `json:"signatories"`
			Parties        *int    `json:"parties"`
			InForceFor     *int    `json:"in_force_for"`
			WithdrawalRule string  `json:"withdrawal_rule"`
			EntryIntoForce *string `json:"entry_into_force"`
			InForce        bool    `json:"in_force"`
		} `json:"treaties"`
	}
	r.JSON(t, &body)
	want := map[string]struct {
		sig, parties, inForce int
		eif                   string
	}{
		"XXVI-9": {95, 74, 74, "2021-01-22"},
		"XXVI-8": {130, 117, 117, "2014-12-24"},
	}
	seen := 0
	for _, tr := range body.Treaties {
		w, ok := want[tr.ID]
		if !ok {
			continue
		}
		seen++
		if tr.Signatories != w.sig || tr.Parties == nil || *tr.Parties != w.parties || tr.InForceFor == nil || *tr.InForceFor != w.inForce ||
			tr.EntryIntoForce == nil || *tr.EntryIntoForce != w.eif || !tr.InForce {
			t.Errorf("%s: %+v; want %d signatories, %d parties, in force for %d since %s", tr.ID, tr, w.sig, w.parties, w.inForce, w.eif)
		}
		if tr.WithdrawalRule != "Vienna Convention art. 56(2) default: 12 months" {
			t.Errorf("%s: withdrawal rule %q", tr.ID, tr.WithdrawalRule)
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of the %d treaties", seen, len(want))
	}
	page := e.Get("/treaties/XXVI-9")
	wantStatus(t, page, http.StatusOK)
	for _, frag := range []string{`<dd id="signatories">95</dd>`, `<dd id="parties">74</dd>`, `<dd id="in-force-for">74</dd>`} {
		if !strings.Contains(string(page.Body), frag) {
			t.Errorf("treaty page lacks %s", frag)
		}
	}
	home := e.Get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(string(home.Body), "<dt>In force for</dt><dd>74</dd>") {
		t.Error("home page lacks the TPNW's in force for 74")
	}
}

// known_at before a treaty's registration: 404 with the specific code
// not_yet_registered and a message saying the ledger knew nothing of it
// then — not "unknown treaty".
func TestStatusKnownAtBeforeRegistration(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for _, path := range []string{"/api/v1/treaties/XXVI-9/status?known_at=2000-01-01", "/api/v1/treaties/XXVI-9?known_at=2000-01-01T00:00:00Z"} {
		r := e.Get(path)
		wantStatus(t, r, http.StatusNotFound)
		er := r.Err(t)
		if er.Code != "not_yet_registered" || !strings.Contains(er.Message, "XXVI-9 was not yet registered in this ledger at 2000-01-") || !strings.Contains(er.Message, "the ledger knew nothing of it then") {
			t.Errorf("%s: %+v", path, er)
		}
	}
	r := e.Get("/api/v1/treaties/XXVII-99/status?known_at=2000-01-01")
	wantStatus(t, r, http.StatusNotFound)
	if er := r.Err(t); er.Code != "unknown_treaty" {
		t.Errorf("a treaty never registered: code %q, want unknown_treaty", er.Code)
	}
}
