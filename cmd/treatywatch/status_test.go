package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type statusJSON struct {
	Treaty         string  `json:"treaty"`
	AsOf           string  `json:"as_of"`
	KnownAt        *string `json:"known_at"`
	Required       int     `json:"required"`
	Counted        int     `json:"counted"`
	Remaining      int     `json:"remaining"`
	ThresholdMetOn *string `json:"threshold_met_on"`
	EntryIntoForce *string `json:"entry_into_force"`
	InForce        bool    `json:"in_force"`
	Conditions     []any   `json:"conditions"`
	Milestones     []struct {
		Percent int     `json:"percent"`
		Date    *string `json:"date"`
	} `json:"milestones"`
	Participants []struct {
		Participant string  `json:"participant"`
		Signature   *string `json:"signature"`
		Consent     *struct {
			Kind string `json:"kind"`
			Date string `json:"date"`
		} `json:"consent"`
		EntryIntoForce      *string `json:"entry_into_force"`
		WithdrawalEffective *string `json:"withdrawal_effective"`
	} `json:"participants"`
}

func (c *cli) status(args ...string) statusJSON {
	c.t.Helper()
	var s statusJSON
	out := c.ok(append([]string{"status"}, append(args, "--json")...)...)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		c.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

func TestStatusOfTheHanoiConvention(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	s := c.status("XVIII-16")
	if s.Treaty != "XVIII-16" || s.AsOf != "2026-11-27" || s.Required != 40 || s.Counted != 0 || s.Remaining != 40 || s.ThresholdMetOn != nil || s.EntryIntoForce != nil || s.InForce {
		t.Fatalf("status = %+v", s)
	}
	if len(s.Participants) != 69 || s.Participants[0].Participant != "Algeria" || s.Participants[0].Consent != nil || s.Participants[0].EntryIntoForce != nil {
		t.Fatalf("participants = %d, first %+v", len(s.Participants), s.Participants[0])
	}
	text := c.ok("status", "hanoi")
	if !strings.HasPrefix(text, "Hanoi Convention — United Nations Convention against Cybercrime") || !strings.Contains(text, "░ 0/40") || !strings.Contains(text, "Viet Nam") {
		t.Fatalf("status text:\n%s", text)
	}
	// As of the day before Hanoi, nobody had signed.
	if s := c.status("XVIII-16", "--as-of", "2025-10-24"); len(s.Participants) != 0 {
		t.Fatalf("as of 2025-10-24: %d participants", len(s.Participants))
	}
	if r := c.run("", "status", "XVIII-16", "--as-of", "2025-13-01"); r.code != 2 || !strings.Contains(r.stderr, "there is no month 13") {
		t.Fatalf("bad --as-of: %d %q", r.code, r.stderr)
	}
}

// TestEntryIntoForceFromRecordedDeposits records forty hypothetical
// instruments (none is deposited in reality yet) and checks the computed
// dates against Article 65: the ninetieth day after the fortieth
// instrument; a later State thirty days after its own deposit.
func TestEntryIntoForceFromRecordedDeposits(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	var csv strings.Builder
	csv.WriteString("participant,action,date\n")
	// 39 of the seeded signatories ratify on 2026-03-02, the EU approves
	// (not counted: regional organizations are not additional).
	n := 0
	for _, p := range c.status("XVIII-16").Participants {
		if p.Participant == "European Union" {
			csv.WriteString("European Union,approval,2026-03-02\n")
			continue
		}
		if n < 39 {
			csv.WriteString("\"" + p.Participant + "\",ratification,2026-03-02\n")
			n++
		}
	}
	c.run(csv.String(), "import", "--treaty", "XVIII-16", "-")
	s := c.status("XVIII-16")
	if s.Counted != 39 || s.ThresholdMetOn != nil {
		t.Fatalf("after 39 States and the EU: counted %d, threshold %v", s.Counted, s.ThresholdMetOn)
	}
	c.ok("record", "accession", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-03", "--ref", "C.N.77.2026.TREATIES-XVIII.16")
	s = c.status("XVIII-16")
	if s.Counted != 40 || deref(s.ThresholdMetOn) != "2026-03-03" || deref(s.EntryIntoForce) != "2026-06-01" || !s.InForce {
		t.Fatalf("after the 40th: counted %d, threshold %s, entry into force %s, in force %v", s.Counted, deref(s.ThresholdMetOn), deref(s.EntryIntoForce), s.InForce)
	}
	c.ok("record", "accession", "--treaty", "XVIII-16", "--participant", "Canada", "--date", "2026-07-01")
	for _, p := range c.status("XVIII-16").Participants {
		switch p.Participant {
		case "Japan":
			if deref(p.EntryIntoForce) != "2026-06-01" {
				t.Errorf("Japan: in force %s, want the general date 2026-06-01", deref(p.EntryIntoForce))
			}
		case "Canada":
			if deref(p.EntryIntoForce) != "2026-07-31" {
				t.Errorf("Canada: in force %s, want 2026-07-31 (deposit + 30 days)", deref(p.EntryIntoForce))
			}
		}
	}
	// As the ledger knew it before Japan's accession was recorded, the
	// threshold was not met.
	lines := c.logLines()
	var japan struct {
		RecordedAt time.Time `json:"recorded_at"`
	}
	for _, l := range lines {
		if strings.Contains(l, "C.N.77.2026") {
			_ = json.Unmarshal([]byte(l), &japan)
		}
	}
	before := japan.RecordedAt.Add(-time.Nanosecond).Format(time.RFC3339Nano)
	if s := c.status("XVIII-16", "--known-at", before); s.Counted != 39 || s.ThresholdMetOn != nil || s.KnownAt == nil {
		t.Fatalf("known at %s: counted %d threshold %v", before, s.Counted, s.ThresholdMetOn)
	}
	// Milestones carry their dates.
	for _, m := range s.Milestones {
		if m.Percent == 25 && deref(m.Date) != "2026-03-02" {
			t.Errorf("25%% milestone on %s, want 2026-03-02", deref(m.Date))
		}
	}
	// Exports and comparisons for analysts.
	var cmp []struct {
		Treaty          string  `json:"treaty"`
		DaysToThreshold *int    `json:"days_to_threshold"`
		EntryIntoForce  *string `json:"entry_into_force"`
	}
	if err := json.Unmarshal([]byte(c.ok("compare", "hanoi", "XXVI-9", "--json")), &cmp); err != nil {
		t.Fatal(err)
	}
	// Opened 25 Oct 2025, threshold 3 Mar 2026: 129 days.
	if len(cmp) != 2 || cmp[0].Treaty != "XVIII-16" || cmp[0].DaysToThreshold == nil || *cmp[0].DaysToThreshold != 129 || deref(cmp[0].EntryIntoForce) != "2026-06-01" || cmp[1].Treaty != "XXVI-9" {
		t.Fatalf("compare = %+v", cmp)
	}
	csvOut := c.ok("status", "XVIII-16", "--csv")
	if !strings.HasPrefix(csvOut, "participant,iso3,signature,consent_kind,consent_date,entry_into_force,") || !strings.Contains(csvOut, "Japan,JPN,,accession,2026-03-03,2026-06-01,") {
		t.Fatalf("status --csv:\n%s", csvOut)
	}
	// Every event of the log (the seeded histories included) is folded.
	if out := c.ok("replay"); !strings.Contains(out, "XVIII-16   41/40") || !strings.Contains(out, fmt.Sprintf("folded %d events of 6 treaties", len(c.logLines()))) {
		t.Fatalf("replay: %q", out)
	}
	if out := c.ok("timeline", "XVIII-16"); !strings.Contains(out, "2026-03-03  40") {
		t.Fatalf("timeline:\n%s", out)
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func TestTreatyAddValidatesAndAmends(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("id: XXVI-99\ntitle: A test treaty\nentry_into_force:\n  instruments: 40\n  delai: 90 days\n"), 0o644)
	r := c.run("", "treaty", "add", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "line 5") || !strings.Contains(r.stderr, "delai") {
		t.Fatalf("bad definition: exit %d %q", r.code, r.stderr)
	}
	_ = os.WriteFile(bad, []byte("id: XXVI-99\ntitle: A test treaty\nentry_into_force:\n  instruments: 40\n  delay: 90 days\n  group: {name: G, at_least: 1, members: [Atlantis]}\n"), 0o644)
	if r := c.run("", "treaty", "add", bad); r.code != 2 || !strings.Contains(r.stderr, `unknown participant "Atlantis"`) || !strings.Contains(r.stderr, "line 6") {
		t.Fatalf("unknown group member: exit %d %q", r.code, r.stderr)
	}
	// Amend the Hanoi Convention: the same file with a changed delay is a
	// definition-amended event, and the status follows it.
	yaml := c.ok("treaty", "show", "XVIII-16")
	if out := c.ok("treaty", "add", writeFile(t, dir, "same.yaml", yaml)); !strings.Contains(out, "unchanged") {
		t.Fatalf("re-adding the same definition: %q", out)
	}
	amended := strings.Replace(yaml, "instruments: 40", "instruments: 30", 1)
	if out := c.ok("treaty", "add", writeFile(t, dir, "amended.yaml", amended)); !strings.Contains(out, "definition of XVIII-16 amended") {
		t.Fatalf("amending: %q", out)
	}
	if s := c.status("XVIII-16"); s.Required != 30 {
		t.Fatalf("required after the amendment = %d", s.Required)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
