package main_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The seeded treaties, as `status --json` and the status text show them:
// the three UNTC figures, the withdrawal rule, and the published entry
// into force. TPNW (UNTC status of 3 Feb 2026): 95 signatories, 74
// parties, in force for all 74 on 27 Nov 2026; in force 22 Jan 2021.
func TestStatusOfSeededTreatiesShowsTheUNTCFigures(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	var s struct {
		Signatories    int     `json:"signatories"`
		Parties        int     `json:"parties"`
		InForceFor     int     `json:"in_force_for"`
		WithdrawalRule string  `json:"withdrawal_rule"`
		EntryIntoForce *string `json:"entry_into_force"`
	}
	out := c.ok("status", "XXVI-9", "--json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Signatories != 95 || s.Parties != 74 || s.InForceFor != 74 || s.EntryIntoForce == nil || *s.EntryIntoForce != "2021-01-22" {
		t.Errorf("TPNW: %+v; want 95 signatories, 74 parties, in force for 74, since 2021-01-22", s)
	}
	if s.WithdrawalRule != "Vienna Convention art. 56(2) default: 12 months" {
		t.Errorf("withdrawal rule %q", s.WithdrawalRule)
	}
	text := c.ok("status", "TPNW")
	for _, want := range []string{"Signatories:       95", "Parties:           74 (consented to be bound, less withdrawals in effect)", "In force for:      74", "Entry into force:  2021-01-22 (in force;"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text lacks %q:\n%s", want, text)
		}
	}
	var cmp []struct {
		Treaty      string `json:"treaty"`
		Signatories int    `json:"signatories"`
		Parties     int    `json:"parties"`
		InForceFor  int    `json:"in_force_for"`
	}
	if err := json.Unmarshal([]byte(c.ok("compare", "XXVI-9", "--json")), &cmp); err != nil {
		t.Fatal(err)
	}
	if len(cmp) != 1 || cmp[0].Signatories != 95 || cmp[0].Parties != 74 || cmp[0].InForceFor != 74 {
		t.Errorf("compare = %+v; want 95 signatories, 74 parties, in force for 74", cmp)
	}
	// ATT: Spain's declaration of provisional application (art. 23) is in
	// its row, and counts for nothing.
	att := c.ok("status", "XXVI-8")
	if !strings.Contains(att, "provisional application 2013-06-03") {
		t.Errorf("ATT status text does not show Spain's provisional application:\n%s", att)
	}
}

// --known-at before a treaty was registered answers what the ledger knew
// then — nothing — clearly, and exits 0: it is an answer, not an error.
func TestStatusKnownAtBeforeRegistration(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	r := c.run("", "status", "TPNW", "--known-at", "2020-01-01T00:00:00Z")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "As known at 2020-01-01T00:00:00Z, the ledger knew nothing of XXVI-9: it was registered at ") || strings.Contains(r.stdout+r.stderr, "unknown treaty") {
		t.Errorf("answer:\n%s%s", r.stdout, r.stderr)
	}
	var j struct {
		Treaty       string `json:"treaty"`
		Registered   *bool  `json:"registered"`
		RegisteredAt string `json:"registered_at"`
		KnownAt      string `json:"known_at"`
		Message      string `json:"message"`
	}
	out := c.ok("status", "XXVI-9", "--known-at", "2020-01-01", "--json")
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if j.Treaty != "XXVI-9" || j.Registered == nil || *j.Registered || j.RegisteredAt == "" || j.KnownAt != "2020-01-01T23:59:59.999999999Z" || !strings.Contains(j.Message, "knew nothing of it then") {
		t.Errorf("--json answer %+v", j)
	}
	if out := c.ok("timeline", "XXVI-9", "--known-at", "2020-01-01"); !strings.Contains(out, "the ledger knew nothing of XXVI-9") {
		t.Errorf("timeline --known-at before registration:\n%s", out)
	}
	// A treaty the ledger has never held is still unknown (exit 4).
	if r := c.run("", "status", "XXVII-99", "--known-at", "2020-01-01"); r.code != 4 || !strings.Contains(r.stderr, "unknown treaty") {
		t.Errorf("unknown treaty: exit %d\n%s", r.code, r.stderr)
	}
}
