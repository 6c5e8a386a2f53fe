package main_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// positionOf returns the position a record, correct or retract printed.
func positionOf(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`at position ([0-9]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no position in %q", out)
	}
	return m[1]
}

// richLedger seeds a ledger and adds what an archive must carry besides
// acts: a correction, a retraction, a token, a webhook subscription (its
// URL and secret sealed outside the log), and acts whose notes a
// spreadsheet would run as formulas.
func richLedger(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	c.ok("seed")
	sig := positionOf(t, c.ok("record", "signature", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-02", "--note", "=cmd|' /C calc'!A0"))
	c.ok("correct", sig, "--treaty", "XVIII-16", "--date", "2026-03-03", "--reason", "C.N. gives 3 March")
	decl := positionOf(t, c.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Côte d'Ivoire", "--date", "2026-03-04", "--note", "+1 <b>&</b> Türkiye"))
	c.ok("retract", decl, "--treaty", "XVIII-16", "--reason", "recorded in error")
	c.ok("token", "create", "--role", "officer", "--name", "J. Officer")
	c.ok("subscribe", "--sink", "webhook", "--url", "http://127.0.0.1:9/treatywatch-hook", "--treaty", "XVIII-16")
	return c
}

// TestArchiveRoundTripReproducesTheLedger: the archive of a seeded ledger
// with corrections, a retraction, a token and a subscription, imported
// into an empty ledger, gives the same events at the same positions with
// the same hash chain: verify passes on the copy with the same head, the
// copy's log, archive, statuses, tokens and subscriptions are the
// original's, and the copy goes on recording.
func TestArchiveRoundTripReproducesTheLedger(t *testing.T) {
	t.Parallel()
	orig := richLedger(t)
	archive := filepath.Join(t.TempDir(), "ledger.jsonl")
	orig.ok("export", "log", "--format", "jsonl", "--out", archive)
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the archive: %v, mode %v; want 0600", err, fi.Mode())
	}
	stdout := orig.ok("export", "log", "--format", "jsonl")
	if b, _ := os.ReadFile(archive); string(b) != stdout {
		t.Errorf("--out wrote other bytes than standard output")
	}

	cp := newCLI(t)
	out := cp.ok("import-log", archive)
	head := regexp.MustCompile(`head [0-9]+:[0-9a-f]{64}`)
	if !strings.Contains(out, "hash chain intact") || head.FindString(out) != head.FindString(orig.ok("verify")) {
		t.Errorf("import-log: %s\nverify on the original: %s", out, orig.ok("verify"))
	}
	if a, b := head.FindString(cp.ok("verify")), head.FindString(orig.ok("verify")); a == "" || a != b {
		t.Errorf("verify on the copy: %q, on the original %q", a, b)
	}
	for _, args := range [][]string{
		{"export", "log", "--format", "jsonl"},
		{"export", "log", "--format", "csv"},
		{"log", "--json"},
		{"status", "XVIII-16", "--json"},
		{"status", "XXVI-9", "--json", "--as-of", "2020-01-01"},
		{"token", "list", "--json"},
		{"subscriptions", "--json"},
		{"replay"},
	} {
		a, b := orig.ok(args...), cp.ok(args...)
		if args[0] == "replay" { // the last line has the time it took
			a, b = a[:strings.LastIndex(a, " in ")], b[:strings.LastIndex(b, " in ")]
		}
		if a != b {
			t.Errorf("%v differs on the copy:\n%s\nwant\n%s", args, b, a)
		}
	}
	// The copy records on, chained to the imported head.
	cp.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-04-01")
	cp.ok("verify")
}

// TestImportLogRefusesANonEmptyLedger: exit 3 (refused), a message that
// says why, and the ledger as it was.
func TestImportLogRefusesANonEmptyLedger(t *testing.T) {
	t.Parallel()
	orig := newCLI(t)
	orig.ok("seed")
	archive := filepath.Join(t.TempDir(), "ledger.jsonl")
	orig.ok("export", "log", "--format", "jsonl", "--out", archive)
	other := newCLI(t)
	other.ok("record", "--help") // nothing yet
	other.ok("treaty", "add", filepath.Join("..", "..", "seed", "treaties", "xviii-16-hanoi.yaml"))
	before := other.dbBytes()
	r := other.run("", "import-log", archive)
	if r.code != 3 || !strings.Contains(r.stderr, "already holds events (its head is position 1)") || !strings.Contains(r.stderr, "empty ledger") {
		t.Errorf("import-log into a ledger holding one event: exit %d\n%s", r.code, r.stderr)
	}
	if !bytes.Equal(before, other.dbBytes()) {
		t.Errorf("the refused import changed the ledger file")
	}
	if r := orig.run("", "import-log", "--json", archive); r.code != 3 || !strings.Contains(r.stderr, `"code":"refused"`) {
		t.Errorf("import-log --json into itself: exit %d\n%s", r.code, r.stderr)
	}
}

// TestImportLogRefusesABrokenArchive: an archive whose event was edited,
// that misses a line, or holds a line that is not an event is refused at
// the first such event, naming its position (and line), with exit 2; the
// new ledger stays empty.
func TestImportLogRefusesABrokenArchive(t *testing.T) {
	t.Parallel()
	orig := newCLI(t)
	orig.ok("seed")
	lines := strings.SplitAfter(orig.ok("export", "log", "--format", "jsonl"), "\n")
	edited := slices.Clone(lines)
	if !strings.Contains(lines[9], `"position":10,`) {
		t.Fatalf("line 10: %s", lines[9])
	}
	edited[9] = strings.Replace(lines[9], `"date":"`, `"date":"1`, 1)
	for _, tc := range []struct {
		name, archive, want string
	}{
		{"an edited payload", strings.Join(edited, ""), "import refused at position 10: the hash"},
		{"a line left out", strings.Join(append(slices.Clone(lines[:4]), lines[5:]...), ""), "import refused at position 6: position 6 follows position 4"},
		{"an edited hash", strings.Join(lines[:11], "") + regexp.MustCompile(`"hash":"[0-9a-f]`).ReplaceAllString(lines[11], `"hash":"x`), "line 12 (position 12): hash"},
		{"a line that is not an event", strings.Join(lines[:3], "") + "{\"position\":4,\"colour\":\"red\"}\n", `import refused at line 4 (position 4): not an event of a treatywatch archive (export log --format jsonl): json: unknown field "colour"`},
		{"a treaty's archive", orig.ok("export", "log", "--format", "jsonl", "--treaty", "XVIII-16"), "the log starts at position 2, not 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(t.TempDir(), "a.jsonl")
			if err := os.WriteFile(f, []byte(tc.archive), 0o600); err != nil {
				t.Fatal(err)
			}
			cp := newCLI(t)
			r := cp.run("", "import-log", f)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "nothing was imported") {
				t.Errorf("exit %d\n%s\nwant exit 2 and %q", r.code, r.stderr, tc.want)
			}
			if out := cp.ok("log", "--json"); out != "" {
				t.Errorf("the ledger holds events after a refused import:\n%s", out)
			}
		})
	}
}

// TestExportLogCSVParsesWithAStandardReader: the CSV export reads back
// with encoding/csv: one row per event under the header, UTF-8 names
// intact (Côte d'Ivoire, Türkiye), notes a spreadsheet would run as
// formulas neutralised with an apostrophe, quotes and commas kept; the
// JSON Lines export parses line by line with encoding/json, every line an
// event with a 64-digit hash, in position order.
func TestExportLogCSVParsesWithAStandardReader(t *testing.T) {
	t.Parallel()
	c := richLedger(t)
	head := len(strings.Split(strings.TrimSpace(c.ok("log", "--json")), "\n"))

	rows, err := csv.NewReader(strings.NewReader(c.ok("export", "log", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v", err)
	}
	if len(rows) != head+1 || rows[0][0] != "position" || rows[0][6] != "participant" || rows[0][14] != "note" {
		t.Fatalf("%d rows (header %v), want a header and %d events", len(rows), rows[0], head)
	}
	var names, notes []string
	for _, r := range rows[1:] {
		names, notes = append(names, r[6]), append(notes, r[14])
	}
	for _, n := range []string{"Côte d'Ivoire", "Türkiye", "Japan"} {
		if !slices.Contains(names, n) {
			t.Errorf("no row names %q", n)
		}
	}
	for _, n := range []string{"'=cmd|' /C calc'!A0", "'+1 <b>&</b> Türkiye"} {
		if !slices.Contains(notes, n) {
			t.Errorf("no note reads %q (neutralised); notes: %q", n, notes[len(notes)-8:])
		}
	}

	sc := bufio.NewScanner(strings.NewReader(c.ok("export", "log", "--format", "jsonl")))
	sc.Buffer(nil, 16<<20)
	n := 0
	for sc.Scan() {
		n++
		var e struct {
			Position      int64           `json:"position"`
			Stream        string          `json:"stream"`
			Version       int64           `json:"version"`
			Type          string          `json:"type"`
			SchemaVersion int             `json:"schema_version"`
			RecordedAt    string          `json:"recorded_at"`
			Metadata      json.RawMessage `json:"metadata"`
			Payload       json.RawMessage `json:"payload"`
			Hash          string          `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: encoding/json: %v", n, err)
		}
		if h, err := hex.DecodeString(e.Hash); e.Position != int64(n) || e.Stream == "" || e.Version < 1 || e.Type == "" || e.SchemaVersion < 1 ||
			e.RecordedAt == "" || len(e.Payload) == 0 || err != nil || len(h) != 32 {
			t.Errorf("line %d: %s", n, sc.Text())
		}
	}
	if n != head {
		t.Errorf("%d lines, want %d", n, head)
	}
	// --until POS is a prefix; --treaty one stream.
	if out := strings.Split(strings.TrimSpace(c.ok("export", "log", "--format", "jsonl", "--until", "3")), "\n"); len(out) != 3 {
		t.Errorf("--until 3: %d lines", len(out))
	}
	rows, err = csv.NewReader(strings.NewReader(c.ok("export", "log", "--format", "csv", "--treaty", "hanoi", "--until", "2099-01-01"))).ReadAll()
	if err != nil || len(rows) < 70 {
		t.Fatalf("--treaty hanoi: %d rows, %v", len(rows), err)
	}
	for _, r := range rows[1:] {
		if r[2] != "treaty-XVIII-16" {
			t.Errorf("--treaty hanoi exported %v", r)
		}
	}
	if out := c.ok("export", "log", "--format", "csv", "--until", "2000-01-01"); strings.Count(out, "\n") != 1 {
		t.Errorf("--until a date before the ledger: %q, want the header alone", out)
	}
}

// TestExportStatusIsStatusCSVAndJSON: export status prints what status
// --csv and --json print, for the same dates, and the CSV parses.
func TestExportStatusIsStatusCSVAndJSON(t *testing.T) {
	t.Parallel()
	c := richLedger(t)
	for _, dates := range [][]string{{}, {"--as-of", "2026-03-02"}, {"--as-of", "2026-06-01", "--known-at", time.Now().UTC().Add(time.Minute).Format(time.RFC3339)}} {
		if a, b := c.ok(append([]string{"export", "status", "hanoi", "--format", "csv"}, dates...)...), c.ok(append([]string{"status", "hanoi", "--csv"}, dates...)...); a != b {
			t.Errorf("export status --format csv %v:\n%s\nstatus --csv:\n%s", dates, a, b)
		}
		if a, b := c.ok(append([]string{"export", "status", "hanoi", "--format", "json"}, dates...)...), c.ok(append([]string{"status", "hanoi", "--json"}, dates...)...); a != b {
			t.Errorf("export status --format json %v differs from status --json", dates)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(c.ok("export", "status", "hanoi", "--format", "csv"))).ReadAll()
	if err != nil || len(rows) < 70 || rows[0][0] != "participant" {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r[0])
	}
	if !slices.Contains(names, "Japan") || !slices.Contains(names, "Côte d'Ivoire") {
		t.Errorf("participants %q", names)
	}
	f := filepath.Join(t.TempDir(), "p.json")
	c.ok("export", "status", "XVIII-16", "--format", "json", "--out", f)
	var st struct {
		Participants []json.RawMessage `json:"participants"`
	}
	if b, err := os.ReadFile(f); err != nil || json.Unmarshal(b, &st) != nil || len(st.Participants) < 70 {
		t.Errorf("--out %s: %v, %d participants", f, err, len(st.Participants))
	}
}

// TestExportBadUsage: each mistake is exit 2 (4 for an unknown treaty)
// with a message that names it, and --out is not written.
func TestExportBadUsage(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	out := filepath.Join(t.TempDir(), "x.csv")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"export", "log"}, 2, "missing --format (jsonl or csv)"},
		{[]string{"export", "log", "--format", "xlsx"}, 2, `--format "xlsx": want jsonl or csv`},
		{[]string{"export", "log", "--format", "csv", "--until", "soon", "--out", out}, 2, `--until: until: "soon": want a log position`},
		{[]string{"export", "log", "--format", "csv", "--until", "0"}, 2, "position 0: want 1 or more"},
		{[]string{"export", "log", "--format", "csv", "--include-legacy-secrets"}, 2, "goes with --format jsonl only"},
		{[]string{"export", "log", "--format", "csv", "--treaty", "XXVII-99", "--out", out}, 4, `unknown treaty "XXVII-99"`},
		{[]string{"export", "status", "hanoi"}, 2, "missing --format (csv or json)"},
		{[]string{"export", "status", "--format", "csv"}, 2, "want exactly one treaty"},
		{[]string{"export", "status", "hanoi", "--format", "csv", "--as-of", "2026-02-30", "--out", out}, 2, "February 2026 has 28 days"},
		{[]string{"export", "frobnicate"}, 2, `export: unknown subcommand "frobnicate" (want log, status)`},
		{[]string{"import-log"}, 2, "want the archive FILE.jsonl"},
		{[]string{"import-log", filepath.Join(t.TempDir(), "missing.jsonl")}, 1, "no such file"},
	} {
		r := c.run("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d\n%s\nwant exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused export wrote --out (%v)", err)
	}
}

// TestImportedCopyDoesNotNotifyTheLogAgain: the notifier of an imported
// copy starts at the imported head: a subscription in the archive hears
// of the acts recorded on the copy, not again of the acts its original
// ledger's notifier already delivered. The later act's notice is the
// sentinel that the notifier ran past the imported ones.
func TestImportedCopyDoesNotNotifyTheLogAgain(t *testing.T) {
	t.Parallel()
	orig := newCLI(t)
	orig.ok("seed")
	orig.ok("subscribe", "--sink", "console", "--treaty", "XVIII-16", "--on", "all")
	orig.ok("record", "signature", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-02")
	archive := filepath.Join(t.TempDir(), "ledger.jsonl")
	orig.ok("export", "log", "--format", "jsonl", "--out", archive)
	cp := newCLI(t)
	cp.ok("import-log", archive)
	n := cp.start("notify", "run")
	cp.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-05", "--note", "Sentinel note")
	waitFor(t, 30*time.Second, "the notice of the act recorded on the copy", func() bool { return strings.Contains(n.stdout.String(), "Sentinel note") })
	n.mustStop(t)
	if out := n.stdout.String(); strings.Contains(out, "Signature by Japan") {
		t.Errorf("the copy's notifier notified the imported signature again:\n%s", out)
	}
}
