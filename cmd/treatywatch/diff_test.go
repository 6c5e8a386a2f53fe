package main_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// lastRecordedAt is the recorded_at of the ledger's last event.
func lastRecordedAt(t *testing.T, c *cli) string {
	t.Helper()
	lines := c.logLines()
	var e struct {
		RecordedAt string `json:"recorded_at"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
		t.Fatal(err)
	}
	return e.RecordedAt
}

// position returns the log position of a treaty's act by a participant.
func position(t *testing.T, c *cli, treaty, typ, participant string) string {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(c.ok("log", "--treaty", treaty, "--json")), "\n") {
		var e struct {
			Position int64  `json:"position"`
			Type     string `json:"type"`
			Payload  struct {
				Participant string `json:"participant"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == typ && e.Payload.Participant == participant {
			return itoa(e.Position)
		}
	}
	t.Fatalf("%s: no %s by %s", treaty, typ, participant)
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The Paris Agreement between 1 October and 10 November 2016: the
// threshold met on 5 October 2016, entry into force on 4 November 2016
// (C.N.735.2016.TREATIES-XXVII.7.d); the US withdrawal taking effect on
// 4 November 2020 (art. 28(2)).
func TestDiffCommandParisAgreement(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	text := c.ok("diff", "paris", "--from", "2016-10-01", "--to", "2016-11-10")
	for _, want := range []string{
		"Paris Agreement (XXVII-7-d): what changed from 2016-10-01 to 2016-11-10",
		"2016-10-05  deposit             European Union: Ratification",
		"2016-10-05  threshold met       every condition of the clause holds",
		"2016-10-05  entry into force    date computed: 2016-11-04",
		"2016-11-04  entered into force  the treaty is in force from this day",
		"2016-11-04  in force for        74 participants: Albania, ",
		"In force for:         0 → 77",
		"Condition, per cent of total global greenhouse gas emissions (Art. 21 list): 47.79 → 75.26 (met on 2016-10-05)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diff text lacks %q:\n%s", want, text)
		}
	}
	var d struct {
		Treaty  string `json:"treaty"`
		Changes []struct {
			Kind        string  `json:"kind"`
			Op          string  `json:"op"`
			Participant string  `json:"participant"`
			Date        *string `json:"date"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(c.ok("diff", "XXVII-7-d", "--from", "2020-11-01", "--to", "2020-11-10", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ch := range d.Changes {
		found = found || ch.Kind == "withdrawal-effective" && ch.Participant == "United States of America" && ch.Date != nil && *ch.Date == "2020-11-04"
	}
	if d.Treaty != "XXVII-7-d" || !found {
		t.Errorf("diff --json 2020-11-01..10: %+v, want the US withdrawal taking effect on 2020-11-04", d)
	}
}

// A correction (the TPNW's fiftieth instrument, Honduras's of 24 October
// 2020, moved to a HYPOTHETICAL 2 November 2020) between two known-at
// moments, at one as-of date.
func TestDiffCommandKnownAt(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	a := lastRecordedAt(t, c)
	pos := position(t, c, "XXVI-9", "act.ratification", "Honduras")
	c.ok("correct", pos, "--treaty", "XXVI-9", "--reason", "test: hypothetical date", "--date", "2020-11-02")
	b := lastRecordedAt(t, c)
	text := c.ok("diff", "TPNW", "--known-at", a, "--known-at", b, "--as-of", "2021-06-01")
	for _, want := range []string{
		"what changed from 2021-06-01 as known at ",
		"deposit corrected",
		"Honduras: Ratification, dated 2020-10-24 → 2020-11-02",
		"threshold moved",
		"date changed: 2021-01-22 → 2021-01-31",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diff --known-at text lacks %q:\n%s", want, text)
		}
	}
	// Nothing corrected between the same two moments on another treaty.
	if out := c.ok("diff", "ATT", "--known-at", a, "--known-at", b); !strings.Contains(out, "Nothing changed.") {
		t.Errorf("ATT between the same moments:\n%s", out)
	}
}

// Bad input gets a specific message and exit 2 (4 for an unknown treaty);
// diff only reads, so the ledger is as it was.
func TestDiffCommandBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	before := c.logLines()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"backwards", []string{"diff", "paris", "--from", "2016-11-10", "--to", "2016-10-01"}, 2, "as_of: the earlier side, 2016-11-10, is after the later side, 2016-10-01"},
		{"bad date", []string{"diff", "paris", "--from", "2016-13-10", "--to", "2016-11-01"}, 2, `--from: invalid date "2016-13-10"`},
		{"bad to", []string{"diff", "paris", "--from", "2016-10-01", "--to", "soon"}, 2, "--to: "},
		{"three known-at", []string{"diff", "paris", "--known-at", "2026-01-01", "--known-at", "2026-01-02", "--known-at", "2026-01-03"}, 2, "--known-at given 3 times"},
		{"as-of with from", []string{"diff", "paris", "--as-of", "2016-10-01", "--from", "2016-10-01", "--to", "2016-11-01"}, 2, "--as-of is the date of both sides"},
		{"known-at backwards", []string{"diff", "paris", "--known-at", "2026-01-02T00:00:00Z", "--known-at", "2026-01-01T00:00:00Z"}, 2, "known_at: the earlier side, 2026-01-02T00:00:00Z"},
		{"bad known-at", []string{"diff", "paris", "--known-at", "yesterday", "--known-at", "2026-01-01"}, 2, `--known-at "yesterday"`},
		{"unknown treaty", []string{"diff", "no-such-treaty", "--from", "2016-10-01", "--to", "2016-11-01"}, 4, "no-such-treaty"},
	} {
		r := c.run("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, r.code, r.stderr, tc.code, tc.want)
		}
	}
	// No span: the last week up to today (TREATYWATCH_NOW, 2026-11-27).
	if out := c.ok("diff", "paris"); !strings.HasPrefix(out, "Paris Agreement (XXVII-7-d): what changed from 2026-11-20 to 2026-11-27\n") {
		t.Errorf("diff without dates:\n%s", out)
	}
	if after := c.logLines(); len(after) != len(before) {
		t.Errorf("the log grew from %d to %d events", len(before), len(after))
	}
}
