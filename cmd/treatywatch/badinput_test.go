package main_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ledgerState is what a refusal must leave exactly as it was: the number
// of rows of every table of the ledger file and the last event's hash —
// but for the tables a running service writes by itself as time passes
// (schedules' last runs, leases, offsets, checkpoints), which no request
// writes.
func ledgerState(tb testing.TB, path string) string {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		AND name NOT IN ('notify_schedules', 'notify_state', 'notify_sender_lease', 'watermill_offsets', 'projection_checkpoints') ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	var head sql.NullString
	if err := db.QueryRow(`SELECT hex(hash) FROM events ORDER BY position DESC LIMIT 1`).Scan(&head); err != nil {
		tb.Fatal(err)
	}
	return b.String() + "head=" + head.String
}

// badInput is one malformed or hostile input: through the command line
// (args, with stdin), or through the HTTP API (method, path, content
// type, body, with the officer's token unless token says otherwise).
type badInput struct {
	name  string
	args  []string
	stdin string

	method, path, contentType, body string
	token                           string // "" officer, "none", "viewer", "revoked", "malformed"

	code int    // exit code, or HTTP status
	msg  string // in standard error, or in the response body
}

// writeTemp writes a file for a case and returns its path.
func writeTemp(tb testing.TB, name, content string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestBadInputCatalogue tries malformed and hostile inputs through the
// command line, the importers, the definition parser and the HTTP API.
// Each must be refused with its specific error, a non-zero exit or a 4xx,
// and leave every table of the ledger as it was.
func TestBadInputCatalogue(t *testing.T) {
	t.Parallel()
	// A bot token, so that the slack sink's cases reach their own refusal
	// (nothing is posted: Slack's address here refuses connections).
	c := newCLI(t).with("SLACK_BOT_TOKEN=xoxb-test", "SLACK_API_URL=http://127.0.0.1:9/")
	c.ok("seed")
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO", "--treaty", "XVIII-16", "--on", "deposits")
	hanoi := mustReadSeed(t, "treaties/xviii-16-hanoi.yaml")
	yaml := func(name string, edit func(string) string) string { return writeTemp(t, name+".yaml", edit(hanoi)) }
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("the Hanoi definition has no %q", old)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	asNew := func(edit func(string) string) func(string) string {
		return func(s string) string { return edit(strings.Replace(s, "id: XVIII-16", "id: XVIII-77", 1)) }
	}
	csv := func(name, content string) string { return writeTemp(t, name+".csv", content) }
	rec := func(args ...string) []string {
		return append([]string{"record"}, args...)
	}
	existing := filepath.Join(t.TempDir(), "existing.db")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []badInput{
		// Dates.
		{name: "signed month", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-+6-01"), code: 2, msg: `invalid date "2026-+6-01": want YYYY-MM-DD with the digits 0-9 only`},
		{name: "signed year", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "+2026-06-01"), code: 2, msg: `invalid date "+2026-06-01"`},
		{name: "negative day", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06--1"), code: 2, msg: `invalid date "2026-06--1"`},
		{name: "underscores", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026_06_01"), code: 2, msg: `invalid date "2026_06_01"`},
		{name: "impossible day", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-02-30"), code: 2, msg: "February 2026 has 28 days"},
		{name: "year zero", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "0000-06-01"), code: 2, msg: "there is no year 0000"},
		{name: "date after today", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-11-28"), code: 2, msg: "is after today (2026-11-27)"},
		{name: "date before adoption", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2024-01-01"), code: 2, msg: "before the treaty's adoption (2024-12-24)"},
		{name: "a time, not a date", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01T00:00"), code: 2, msg: `invalid date "2026-06-01T00:00"`},
		// Text.
		{name: "right-to-left override in a name", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Alg\u202eeria", "--date", "2026-06-01"), code: 2, msg: "U+202E RIGHT-TO-LEFT OVERRIDE at byte 3"},
		{name: "left-to-right mark in a name", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "\u200eAlgeria", "--date", "2026-06-01"), code: 2, msg: "U+200E LEFT-TO-RIGHT MARK at byte 0"},
		{name: "invalid UTF-8 in a name", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Alg\xf4eria", "--date", "2026-06-01"), code: 2, msg: "participant: invalid UTF-8"},
		{name: "zero-width space in a name", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Alge\u200bria", "--date", "2026-06-01"), code: 2, msg: "U+200B ZERO WIDTH SPACE"},
		{name: "name too long", args: rec("ratification", "--treaty", "XVIII-16", "--participant", strings.Repeat("Algeria ", 26), "--date", "2026-06-01"), code: 2, msg: "at most 200 are allowed"},
		{name: "escape in a note", args: rec("declaration", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01", "--note", "see \x1b[31mred"), code: 2, msg: "note: control character U+001B ESCAPE"},
		{name: "line break in a reference", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01", "--ref", "C.N.1.2026\nTREATIES"), code: 2, msg: "reference: control character U+000A LINE FEED at byte 10 is not allowed in a one-line field"},
		{name: "isolate in a source", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01", "--source", "https://example.org/\u2067x"), code: 2, msg: "source: bidirectional formatting character U+2067"},
		{name: "escape in an actor", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01", "--actor", "J. Officer\x1b"), code: 2, msg: "actor: control character U+001B ESCAPE"},
		{name: "byte-order mark as the action", args: rec("\ufeffratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: "U+FEFF"},
		{name: "an empty participant", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "  ", "--date", "2026-06-01"), code: 2, msg: "participant"},
		// Actions and participants.
		{name: "unknown action", args: rec("ratify", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: `unknown action "ratify"`},
		{name: "action in capitals", args: rec("Ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: `did you mean "ratification"?`},
		{name: "unknown participant", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Atlantis", "--date", "2026-06-01"), code: 4, msg: `unknown participant "Atlantis"`},
		{name: "objection without a subject", args: rec("objection", "--treaty", "XVIII-16", "--participant", "Austria", "--date", "2026-06-01"), code: 2, msg: "an objection needs a subject"},
		{name: "objection against itself", args: rec("objection", "--treaty", "XVIII-16", "--participant", "Austria", "--subject", "Austria", "--date", "2026-06-01"), code: 2, msg: "Austria cannot object to itself"},
		{name: "objection against an unknown participant", args: rec("objection", "--treaty", "XVIII-16", "--participant", "Austria", "--subject", "Atlantis", "--date", "2026-06-01"), code: 4, msg: `unknown participant "Atlantis"`},
		{name: "objection to a participant with no act", args: rec("objection", "--treaty", "XVIII-16", "--participant", "Austria", "--subject", "Japan", "--date", "2026-06-01"), code: 3, msg: "Japan has no act recorded in XVIII-16"},
		{name: "withdrawing a reservation never made", args: rec("reservation-withdrawn", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01"), code: 3, msg: "so there is none to withdraw"},
		{name: "ratification without signature", args: rec("ratification", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-06-01"), code: 3, msg: "Japan has not signed XVIII-16"},
		{name: "the same signature again", args: rec("signature", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2025-10-25"), code: 5, msg: "already recorded at position"},
		{name: "denunciation by a non-party", args: rec("denunciation", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01"), code: 3, msg: "Algeria"},
		// Treaty ids.
		{name: "path traversal as a treaty", args: rec("ratification", "--treaty", "../../etc/passwd", "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: `invalid treaty id "../../etc/passwd"`},
		{name: "slash in a treaty", args: rec("ratification", "--treaty", "a/b", "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: `invalid treaty id "a/b"`},
		{name: "quote in a treaty", args: rec("ratification", "--treaty", `XVIII-16"`, "--participant", "Algeria", "--date", "2026-06-01"), code: 2, msg: "invalid treaty id"},
		{name: "unknown treaty", args: rec("ratification", "--treaty", "XXVII-99", "--participant", "Algeria", "--date", "2026-06-01"), code: 4, msg: `unknown treaty "XXVII-99"`},
		// Corrections and retractions.
		{name: "correcting a position that is no act", args: []string{"correct", "99999", "--treaty", "XVIII-16", "--reason", "typo", "--date", "2025-10-26"}, code: 4, msg: "99999"},
		{name: "correcting with a signed date", args: []string{"correct", "7", "--treaty", "XVIII-16", "--reason", "typo", "--date", "2025-+1-26"}, code: 2, msg: `invalid date "2025-+1-26"`},
		{name: "retracting with an override in the reason", args: []string{"retract", "7", "--treaty", "XVIII-16", "--reason", "error \u202e"}, code: 2, msg: "reason: bidirectional formatting character U+202E"},
		{name: "position zero", args: []string{"retract", "0", "--treaty", "XVIII-16", "--reason", "x"}, code: 2, msg: `position "0" is not a positive number`},
		// Treaty definitions.
		{name: "a delay that overflows", args: []string{"treaty", "add", yaml("overflow", asNew(replace("delay: 90 days", "delay: 2147483647 days")))}, code: 2, msg: `invalid period "2147483647 days"`},
		{name: "an absurd delay", args: []string{"treaty", "add", yaml("absurd", asNew(replace("delay: 90 days", "delay: 999999 years")))}, code: 2, msg: `invalid period "999999 years"`},
		{name: "a delay with a sign", args: []string{"treaty", "add", yaml("signed", asNew(replace("delay: 90 days", "delay: +90 days")))}, code: 2, msg: `"+90" is not a number`},
		{name: "a second YAML document", args: []string{"treaty", "add", yaml("two", func(s string) string { return asNew(replace("x", "x"))(s) + "\n---\nid: XVIII-78\n" })}, code: 2, msg: "a second YAML document"},
		{name: "an unknown parent", args: []string{"treaty", "add", yaml("parent", asNew(replace("adopted: 2024-12-24", "adopted: 2024-12-24\nparent: XVIII-99")))}, code: 2, msg: `names the parent "XVIII-99", which is not a registered treaty`},
		{name: "adopted after today", args: []string{"treaty", "add", yaml("future", asNew(func(s string) string {
			return strings.NewReplacer("adopted: 2024-12-24", "adopted: 2026-11-28", "opens: 2025-10-25", "opens: 2026-11-28").Replace(s)
		}))}, code: 2, msg: "adopted: 2026-11-28 is after today (2026-11-27)"},
		{name: "a share over 100 %", args: []string{"treaty", "add", yaml("share", asNew(replace("  delay: 90 days", "  delay: 90 days\n  share: {name: global emissions, at_least: 150, weights: {Algeria: 1}}")))}, code: 2, msg: "share.at_least: is 150"},
		{name: "no instruments", args: []string{"treaty", "add", yaml("zero", asNew(replace("instruments: 40", "instruments: 0")))}, code: 2, msg: "entry_into_force.instruments: is 0"},
		{name: "instruments in hexadecimal", args: []string{"treaty", "add", yaml("hex", asNew(replace("instruments: 40", "instruments: 0x28")))}, code: 2, msg: "got the number 0x28"},
		{name: "a treaty id that is a path", args: []string{"treaty", "add", yaml("path", replace("id: XVIII-16", `id: "../../etc/passwd"`))}, code: 2, msg: `invalid treaty id "../../etc/passwd"`},
		{name: "an anchor", args: []string{"treaty", "add", yaml("anchor", asNew(replace("instruments: 40", "instruments: &n 40")))}, code: 2, msg: "anchors and aliases are not allowed"},
		{name: "a tab", args: []string{"treaty", "add", yaml("tab", asNew(replace("  instruments: 40", "\tinstruments: 40")))}, code: 2, msg: "tab character (U+0009)"},
		{name: "an override in a comment", args: []string{"treaty", "add", yaml("bidi", asNew(replace("instruments: 40", "instruments: 40 # \u202e")))}, code: 2, msg: "not allowed anywhere in a treaty definition, not even in a comment"},
		{name: "an unknown key", args: []string{"treaty", "add", yaml("key", asNew(replace("delay: 90 days", "delai: 90 days")))}, code: 2, msg: "entry_into_force.delai: unknown key"},
		{name: "an explicit tag", args: []string{"treaty", "add", yaml("tag", asNew(replace("instruments: 40", "instruments: !!str 40")))}, code: 2, msg: "explicit tag"},
		// Subscriptions and tokens.
		{name: "a cron spec out of range", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "61 9 * * *"}, code: 2, msg: `invalid cron spec "61 9 * * *"`},
		{name: "a cron spec that never fires", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "0 0 30 2 *"}, code: 2, msg: "never fires"},
		{name: "a digest every second", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "@every 1s"}, code: 2, msg: "more often than once a minute"},
		{name: "an unknown zone", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "0 9 * * 1", "--tz", "Europe/Atlantis"}, code: 2, msg: `unknown time zone "Europe/Atlantis"`},
		{name: "the server's zone", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "0 9 * * 1", "--tz", "Local"}, code: 2, msg: `"Local" is whatever zone the server runs in`},
		{name: "a webhook over ftp", args: []string{"subscribe", "--sink", "webhook", "--url", "ftp://ngo.example/x", "--treaty", "XVIII-16"}, code: 2, msg: "needs --url with an http(s) URL"},
		{name: "a Slack sink with a URL", args: []string{"subscribe", "--sink", "slack", "--channel", "C1", "--url", "https://hooks.slack.com/services/T/B/X", "--treaty", "XVIII-16"}, code: 2, msg: "takes no --url"},
		{name: "a channel that is no channel", args: []string{"subscribe", "--sink", "slack", "--channel", "general; DROP TABLE", "--treaty", "XVIII-16"}, code: 2, msg: "is not a Slack channel"},
		{name: "the README's placeholder Slack webhook", args: []string{"subscribe", "--sink", "slack-webhook", "--url", "https://hooks.slack.com/services/...", "--treaty", "XVIII-16"}, code: 2, msg: "the --url of the slack-webhook sink is a placeholder (it holds ...)"},
		{name: "Slack's documentation webhook", args: []string{"subscribe", "--sink", "slack-webhook", "--url", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "--treaty", "XVIII-16"}, code: 2, msg: "the placeholder of Slack's documentation"},
		{name: "a Slack webhook that is no webhook", args: []string{"subscribe", "--sink", "slack-webhook", "--url", "https://hooks.slack.com/hello", "--treaty", "XVIII-16"}, code: 2, msg: "is not a Slack incoming webhook URL"},
		{name: "a webhook on a documentation domain", args: []string{"subscribe", "--sink", "webhook", "--url", "https://ngo.example/hook", "--treaty", "XVIII-16"}, code: 2, msg: "is on ngo.example, a name reserved"},
		{name: "a webhook URL template", args: []string{"subscribe", "--sink", "webhook", "--url", "https://hooks.ngo.org/<your-hook>", "--treaty", "XVIII-16"}, code: 2, msg: "is a placeholder (it holds <)"},
		{name: "the same subscription again", args: []string{"subscribe", "--sink", "slack", "--channel", "C0NGO", "--treaty", "hanoi", "--on", "deposits"}, code: 5, msg: "already subscribed as"},
		{name: "an unknown role", args: []string{"token", "create", "--role", "root", "--name", "x"}, code: 2, msg: `unknown role "root"`},
		{name: "a token name with an override", args: []string{"token", "create", "--role", "officer", "--name", "J. \u202eOfficer"}, code: 2, msg: "U+202E"},
		// The CSV importer.
		{name: "an unknown column", args: []string{"import", "--treaty", "XVIII-16", csv("col", "participant,action,date,treaty\nAlgeria,ratification,2026-06-01,x\n")}, code: 2, msg: `unknown column "treaty"`},
		{name: "a NUL in a cell", args: []string{"import", "--treaty", "XVIII-16", csv("nul", "participant,action,date,note\nAlgeria,declaration,2026-06-01,a\x00b\n")}, code: 2, msg: "U+0000 NULL"},
		{name: "invalid UTF-8 in a cell", args: []string{"import", "--treaty", "XVIII-16", csv("utf8", "participant,action,date\nC\xf4te d'Ivoire,signature,2025-10-25\n")}, code: 2, msg: "invalid UTF-8"},
		{name: "a signed date in a row", args: []string{"import", "--treaty", "XVIII-16", csv("date", "participant,action,date\nAlgeria,ratification,2026-+6-01\n")}, code: 2, msg: `line 2: invalid date "2026-+6-01"`},
		{name: "one bad row among good ones", args: []string{"import", "--treaty", "XVIII-16", csv("mixed", "participant,action,date\nAngola,declaration,2026-06-01\nAtlantis,ratification,2026-06-01\n")}, code: 2, msg: "line 3"},
		{name: "a misspelt new participant", args: []string{"import", "--treaty", "XVIII-16", "--add-participants", csv("misspelt", "participant,action,date\nViet Namm,accession,2026-06-01\n")}, code: 2, msg: "is one letter away from Viet Nam"},
		{name: "a participant without a letter", args: []string{"import", "--treaty", "XVIII-16", "--add-participants", csv("digits", "participant,action,date\n12345,accession,2026-06-01\n")}, code: 2, msg: `name "12345" has no letter`},
		{name: "an empty file", args: []string{"import", "--treaty", "XVIII-16", csv("empty", "")}, code: 2, msg: "the file is empty"},
		{name: "an objection row without a subject", args: []string{"import", "--treaty", "XVIII-16", csv("objection", "participant,action,date\nAustria,objection,2026-06-01\n")}, code: 2, msg: "an objection needs a subject"},
		{name: "an import from standard input with an override", args: []string{"import", "--treaty", "XVIII-16", "-"}, stdin: "participant,action,date,note\nAlgeria,declaration,2026-06-01,\u202e\n", code: 2, msg: "U+202E"},
		// Other commands.
		{name: "a kept head that is no head", args: []string{"verify", "--expect", "seven"}, code: 2, msg: "want POSITION:HASH"},
		{name: "a backup over a file", args: []string{"backup", existing}, code: 2, msg: "exists: a backup goes to a new file"},
		{name: "an unknown flag", args: []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-06-01", "--force"}, code: 2, msg: "flag provided but not defined: -force"},
	}

	cases = append(cases, apiBadInputs()...)
	var (
		base   string
		tokens map[string]string
	)
	if hasAPICases(cases) {
		var stop func()
		base, tokens, stop = serveForCatalogue(t, c)
		defer stop()
	}
	tried := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ledgerState(t, c.db)
			var got string
			var code int
			if tc.method != "" {
				code, got = callAPI(t, base, tokens, tc)
			} else {
				r := c.run(tc.stdin, tc.args...)
				code, got = r.code, r.stderr
			}
			tried++
			if code != tc.code || !strings.Contains(got, tc.msg) {
				t.Errorf("got %d %q\nwant %d and %q", code, strings.TrimSpace(got), tc.code, tc.msg)
			}
			if after := ledgerState(t, c.db); after != before {
				t.Errorf("the ledger changed:\n before %s\n after  %s", before, after)
			}
		})
	}
	t.Logf("%d bad inputs tried (%d through the API)", tried, countAPI(cases))
}

func hasAPICases(cases []badInput) bool { return countAPI(cases) > 0 }

func countAPI(cases []badInput) int {
	n := 0
	for _, c := range cases {
		if c.method != "" {
			n++
		}
	}
	return n
}

// serveForCatalogue starts serve (in process) on the ledger with officer, viewer and
// revoked tokens, and returns its base URL, the tokens by role, and a
// function that stops it.
func serveForCatalogue(t *testing.T, c *cli) (string, map[string]string, func()) {
	t.Helper()
	last := func(out string) string {
		out = strings.TrimSpace(out)
		return out[strings.LastIndex(out, "\n")+1:]
	}
	tokens := map[string]string{
		"":       last(c.ok("token", "create", "--role", "officer", "--name", "catalogue officer")),
		"viewer": last(c.ok("token", "create", "--role", "viewer", "--name", "catalogue viewer")),
	}
	out := c.ok("token", "create", "--role", "officer", "--name", "catalogue revoked")
	tokens["revoked"] = last(out)
	var list []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(c.ok("token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tok := range list {
		if tok.Name == "catalogue revoked" {
			id = tok.ID
		}
	}
	c.ok("token", "revoke", id)
	tokens["malformed"] = "not-a-token"
	srv, base := c.serve()
	return base, tokens, func() {
		srv.mustStop(t)
	}
}

// callAPI sends a case's request and returns the status and body.
func callAPI(t *testing.T, base string, tokens map[string]string, tc badInput) (int, string) {
	t.Helper()
	req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	if tc.token != "none" {
		req.Header.Set("Authorization", "Bearer "+tokens[tc.token])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiBadInputs are the catalogue's cases through the HTTP API.
func apiBadInputs() []badInput {
	const actions = "/api/v1/treaties/XVIII-16/actions"
	const ctJSON = "application/json"
	act := func(name, body string, code int, msg string) badInput {
		return badInput{name: "API: " + name, method: http.MethodPost, path: actions, contentType: ctJSON, body: body, code: code, msg: msg}
	}
	return []badInput{
		act("signed month", `{"action":"ratification","participant":"Algeria","date":"2026-+6-01"}`, 422, `invalid date \"2026-+6-01\"`),
		act("NUL in a name", `{"action":"ratification","participant":"Alg\u0000eria","date":"2026-06-01"}`, 422, "U+0000 NULL"),
		act("override in a name", `{"action":"ratification","participant":"Alg\u202eeria","date":"2026-06-01"}`, 422, "U+202E"),
		act("lone surrogate", `{"action":"ratification","participant":"Alg\ud800eria","date":"2026-06-01"}`, 400, "surrogate"),
		act("duplicate key", `{"action":"ratification","participant":"Algeria","participant":"Japan","date":"2026-06-01"}`, 400, "participant"),
		act("duplicate key deep", `{"action":"declaration","participant":"Algeria","date":"2026-06-01","note":"x","note":"y"}`, 400, "note"),
		act("trailing data", `{"action":"ratification","participant":"Algeria","date":"2026-06-01"} {"x":1}`, 400, "trailing"),
		act("unknown field", `{"action":"ratification","participant":"Algeria","date":"2026-06-01","force":true}`, 400, "force"),
		act("not JSON", `action=ratification`, 400, "JSON"),
		act("an array", `[{"action":"ratification"}]`, 400, "object"),
		act("objection without a subject", `{"action":"objection","participant":"Austria","date":"2026-06-01"}`, 422, "an objection needs a subject"),
		act("unknown participant", `{"action":"ratification","participant":"Atlantis","date":"2026-06-01"}`, 404, "Atlantis"),
		act("the same signature again", `{"action":"signature","participant":"Algeria","date":"2025-10-25"}`, 409, "already recorded"),
		{name: "API: text/plain body", method: http.MethodPost, path: actions, contentType: "text/plain", body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 415, msg: "application/json"},
		{name: "API: no content type", method: http.MethodPost, path: actions, body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 415, msg: "application/json"},
		{name: "API: no token", method: http.MethodPost, path: actions, contentType: ctJSON, token: "none", body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 401, msg: ""},
		{name: "API: malformed token", method: http.MethodPost, path: actions, contentType: ctJSON, token: "malformed", body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 401, msg: ""},
		{name: "API: revoked token", method: http.MethodPost, path: actions, contentType: ctJSON, token: "revoked", body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 401, msg: ""},
		{name: "API: viewer writes", method: http.MethodPost, path: actions, contentType: ctJSON, token: "viewer", body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 403, msg: ""},
		{name: "API: officer creates a token", method: http.MethodPost, path: "/api/v1/tokens", contentType: ctJSON, body: `{"role":"admin","name":"me"}`, code: 403, msg: ""},
		{name: "API: oversized body", method: http.MethodPost, path: actions, contentType: ctJSON, body: `{"action":"declaration","participant":"Algeria","date":"2026-06-01","note":"` + strings.Repeat("x", 2<<20) + `"}`, code: 413, msg: ""},
		{name: "API: a path as the treaty id", method: http.MethodPost, path: "/api/v1/treaties/..%2F..%2Fetc%2Fpasswd/actions", contentType: ctJSON, body: `{"action":"ratification","participant":"Algeria","date":"2026-06-01"}`, code: 422, msg: "invalid treaty id"},
		{name: "API: correction of no act", method: http.MethodPost, path: "/api/v1/treaties/XVIII-16/events/99999/correction", contentType: ctJSON, body: `{"reason":"typo","date":"2025-10-26"}`, code: 404, msg: "99999"},
		{name: "API: import with a NUL", method: http.MethodPost, path: "/api/v1/treaties/XVIII-16/imports", contentType: "text/csv", body: "participant,action,date,note\nAlgeria,declaration,2026-06-01,a\x00b\n", code: 422, msg: "U+0000"},
		{name: "API: import of a bad row", method: http.MethodPost, path: "/api/v1/treaties/XVIII-16/imports", contentType: "text/csv", body: "participant,action,date\nAtlantis,ratification,2026-06-01\n", code: 422, msg: "import_rejected"},
		{name: "API: definition with two documents", method: http.MethodPut, path: "/api/v1/treaties", contentType: "application/yaml", body: "id: XVIII-77\n---\nid: XVIII-78\n", code: 422, msg: "second YAML document"},
		{name: "API: method not allowed", method: http.MethodDelete, path: actions, code: 405, msg: ""},
	}
}
