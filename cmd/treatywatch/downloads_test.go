package main_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDashboardDownloadsAreTheCLIExports checks that the dashboard's
// download buttons give byte for byte what the command line prints on the
// same ledger: the participant table (status --csv, status --json, for
// today and for an as-of date) and the treaty's event log (log --csv,
// log --json), formula neutralisation included.
func TestDashboardDownloadsAreTheCLIExports(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-06-01", "--ref", "C.N.100.2026.TREATIES-XVIII.16")
	c.ok("record", "reservation", "--treaty", "XVIII-16", "--participant", "Austria", "--date", "2026-06-02",
		"--note", `=HYPERLINK("http://evil.example","click")`, "--source", "+1 555 0100")
	c.ok("record", "accession", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-07-01")
	_, base := c.serve()

	get := func(path string) (string, http.Header) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, b)
		}
		return string(b), res.Header
	}
	cases := []struct {
		path, contentType, filename string
		cli                         []string
	}{
		{"/treaties/XVIII-16/participants.csv", "text/csv; charset=utf-8", "XVIII-16-participants-2026-11-27.csv", []string{"status", "XVIII-16", "--csv"}},
		{"/treaties/hanoi/participants.json", "application/json", "XVIII-16-participants-2026-11-27.json", []string{"status", "hanoi", "--json"}},
		{"/treaties/XVIII-16/participants.csv?as_of=2026-06-15", "text/csv; charset=utf-8", "XVIII-16-participants-2026-06-15.csv", []string{"status", "XVIII-16", "--csv", "--as-of", "2026-06-15"}},
		{"/treaties/XVIII-16/participants.json?as_of=2026-06-15", "application/json", "XVIII-16-participants-2026-06-15.json", []string{"status", "XVIII-16", "--json", "--as-of", "2026-06-15"}},
		{"/treaties/XVIII-16/events.csv", "text/csv; charset=utf-8", "XVIII-16-events.csv", []string{"log", "--treaty", "XVIII-16", "--csv"}},
		{"/treaties/XVIII-16/events.jsonl", "application/jsonl; charset=utf-8", "XVIII-16-events.jsonl", []string{"log", "--treaty", "XVIII-16", "--json"}},
	}
	for _, tc := range cases {
		got, h := get(tc.path)
		want := c.ok(tc.cli...)
		if got != want {
			t.Errorf("GET %s differs from treatywatch %s:\n--- download\n%s\n--- CLI\n%s", tc.path, strings.Join(tc.cli, " "), got, want)
		}
		if h.Get("Content-Type") != tc.contentType || h.Get("Content-Disposition") != `attachment; filename="`+tc.filename+`"` {
			t.Errorf("GET %s: Content-Type %q, Content-Disposition %q", tc.path, h.Get("Content-Type"), h.Get("Content-Disposition"))
		}
	}
	logCSV, _ := get("/treaties/XVIII-16/events.csv")
	if !strings.Contains(logCSV, `"'=HYPERLINK(""http://evil.example"",""click"")"`) || !strings.Contains(logCSV, ",'+1 555 0100,") {
		t.Errorf("the event log CSV does not neutralise formulas:\n%s", logCSV)
	}
	if !strings.HasPrefix(logCSV, "position,recorded_at,stream,version,type,valid_date,participant,action,subject,supersedes,reason,actor,reference,source,note,payload\n") {
		t.Errorf("event log CSV header: %q", logCSV[:strings.Index(logCSV, "\n")])
	}
	csv, _ := get("/treaties/XVIII-16/participants.csv")
	if !strings.Contains(csv, "Japan,JPN,,accession,2026-07-01,") || !strings.Contains(csv, "Austria,AUT,2025-10-25,,,,,,0,1") {
		t.Errorf("participant CSV lacks Japan's accession or Austria's reservation:\n%s", csv)
	}
}

// TestLogCSVAndJSONCannotGoTogether checks the refusal of log --json --csv.
func TestLogCSVAndJSONCannotGoTogether(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	r := c.run("", "log", "--json", "--csv")
	if r.code != 2 || !strings.Contains(r.stderr, "--json and --csv cannot go together") {
		t.Errorf("log --json --csv: exit %d, %q", r.code, r.stderr)
	}
}
