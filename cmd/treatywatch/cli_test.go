package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	treatywatch "github.com/treatywatch/treatywatch/cmd/treatywatch"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/seed"
)

func TestSeedLoadsTheRealHanoiConvention(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	out := c.ok("seed")
	if !strings.Contains(out, "events recorded") {
		t.Fatalf("seed printed %q", out)
	}
	lines := c.logLines()
	again := c.ok("seed")
	if !strings.Contains(again, "seed: nothing to do") || len(c.logLines()) != len(lines) {
		t.Fatalf("second seed was not a no-op: %q", again)
	}
	list := c.ok("treaty", "list", "--json")
	var defs []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(list), &defs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range defs {
		found = found || d.ID == "XVIII-16" && d.Title == "United Nations Convention against Cybercrime"
	}
	if !found {
		t.Fatalf("treaty list lacks the Hanoi Convention: %s", list)
	}
	// 69 dated signatures in the shipped CSV, each with its source.
	sigs := 0
	for _, l := range lines {
		var e struct {
			Type, Stream string
			Metadata     struct{ Source string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "act.signature" && e.Stream == "treaty-XVIII-16" {
			sigs++
			if e.Metadata.Source == "" {
				t.Fatalf("signature without its source: %s", l)
			}
		}
	}
	if sigs != 69 {
		t.Fatalf("seed recorded %d Hanoi signatures, want 69", sigs)
	}
}

func TestRefusedCommandsChangeNothing(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	before := c.logLines()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown treaty", []string{"record", "ratification", "--treaty", "XXVII-99", "--participant", "Viet Nam", "--date", "2026-03-01"}, 4, `unknown treaty "XXVII-99"`},
		{"unknown participant", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Namm", "--date", "2026-03-01"}, 4, "closest known names: Viet Nam"},
		{"impossible date", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-02-30"}, 2, `invalid date "2026-02-30": February 2026 has 28 days`},
		{"malformed date", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "01/03/2026"}, 2, "want YYYY-MM-DD"},
		{"date after today", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-11-28"}, 2, "after today"},
		{"before adoption", []string{"record", "declaration", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2024-01-01"}, 2, "before the treaty's adoption (2024-12-24)"},
		{"signature after the window", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2025-10-01"}, 3, "opens for signature on 2025-10-25"},
		{"ratification without signature", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-01"}, 3, "Japan has not signed XVIII-16"},
		{"duplicate signature", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Vietnam", "--date", "2025-10-25"}, 5, "already recorded at position"},
		{"unknown action", []string{"record", "ratify", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-03-01"}, 2, `unknown action "ratify"`},
		{"missing flag", []string{"record", "ratification", "--participant", "Viet Nam", "--date", "2026-03-01"}, 2, "missing --treaty"},
		{"retract nothing", []string{"retract", "9999", "--treaty", "XVIII-16", "--reason", "x"}, 4, "position 9999 is not an act of treaty XVIII-16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run("", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
	if after := c.logLines(); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("refused commands changed the ledger: %d events before, %d after", len(before), len(after))
	}
}

func TestRecordCorrectRetract(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	out := c.ok("record", "ratification", "--treaty", "hanoi", "--participant", "vietnam", "--date", "2026-06-01", "--ref", "C.N.100.2026.TREATIES-XVIII.16", "--json")
	var e struct {
		Position int64
		Type     string
		Payload  struct{ Participant, ISO3 string }
		Metadata struct{ Actor, Reference string }
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	if e.Type != "act.ratification" || e.Payload.Participant != "Viet Nam" || e.Payload.ISO3 != "VNM" || e.Metadata.Actor != "test-officer" || e.Metadata.Reference != "C.N.100.2026.TREATIES-XVIII.16" {
		t.Fatalf("recorded %s", out)
	}
	// The same depositary reference again is a duplicate.
	r := c.run("", "record", "declaration", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-06-02", "--ref", "C.N.100.2026.TREATIES-XVIII.16")
	if r.code != 5 || !strings.Contains(r.stderr, "already recorded at position") {
		t.Fatalf("duplicate reference: exit %d %q", r.code, r.stderr)
	}
	pos := strconv.FormatInt(e.Position, 10)
	out = c.ok("correct", pos, "--treaty", "XVIII-16", "--date", "2026-06-02", "--reason", "depositary notification gives 2 June")
	if !strings.Contains(out, "correction of position "+pos) {
		t.Fatalf("correct printed %q", out)
	}
	out = c.ok("retract", pos, "--treaty", "XVIII-16", "--reason", "recorded in error")
	if !strings.Contains(out, "retraction of position "+pos) {
		t.Fatalf("retract printed %q", out)
	}
	// The log keeps all three.
	if n := len(c.logLines()); n < 3 {
		t.Fatalf("log has %d events", n)
	}
}

func TestImportValidatesTheWholeFileFirst(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	before := c.logLines()
	bad := "participant,action,date,reference\n" +
		"Japan,signature,2025-10-25,\n" +
		"Atlantis,ratification,2026-01-01,\n" +
		"Japan,ratification,2026-02-30,\n" +
		"Canada,ratification,2026-03-01,\n"
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.csv")
	_ = os.WriteFile(file, []byte(bad), 0o644)
	r := c.run("", "import", "--treaty", "XVIII-16", file)
	for _, want := range []string{"line 3: unknown participant \"Atlantis\"", "line 4: invalid date \"2026-02-30\"", "line 5: Canada has not signed", "nothing was written"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	_ = os.WriteFile(file, []byte("participant,action,date,colour\nJapan,signature,2025-10-25,red\n"), 0o644)
	r = c.run("", "import", "--treaty", "XVIII-16", file)
	if r.code != 2 || !strings.Contains(r.stderr, `unknown column "colour"`) {
		t.Fatalf("unknown column: exit %d %q", r.code, r.stderr)
	}
	if after := c.logLines(); len(after) != len(before) {
		t.Fatalf("refused import wrote %d events", len(after)-len(before))
	}
	// Sign and ratify at one ceremony, rows in any order; unknown names are
	// registered with --add-participants.
	good := "participant,action,date,reference,source\n" +
		"Japan,ratification,2026-03-02,C.N.50.2026.TREATIES-XVIII.16,https://treaties.un.org\n" +
		"Japan,signature,2026-03-02,,\n" +
		"Niue,accession,2026-04-01,,\n" +
		"Sovereign Order of Malta,declaration,2026-04-02,,\n"
	_ = os.WriteFile(file, []byte(good), 0o644)
	out := c.ok("import", "--treaty", "XVIII-16", file, "--add-participants", "--dry-run")
	if !strings.Contains(out, "would import 4 acts") || len(c.logLines()) != len(before) {
		t.Fatalf("dry run: %q", out)
	}
	out = c.ok("import", "--treaty", "XVIII-16", file, "--add-participants")
	if !strings.Contains(out, "imported 4 acts") || !strings.Contains(out, "new participant: Sovereign Order of Malta") {
		t.Fatalf("import: %q", out)
	}
	if n := len(c.logLines()); n != len(before)+5 {
		t.Fatalf("import wrote %d events, want 5 (4 acts and 1 participant)", n-len(before))
	}
	// Importing the same file again is refused row by row as duplicates.
	r = c.run("", "import", "--treaty", "XVIII-16", file)
	if r.code != 2 || !strings.Contains(r.stderr, "already recorded at position") {
		t.Fatalf("re-import: exit %d %q", r.code, r.stderr)
	}
}

func TestVerifyNamesTheTamperedPosition(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	if out := c.ok("verify"); !strings.Contains(out, "hash chain intact") {
		t.Fatalf("verify: %q", out)
	}
	// Change a payload behind the store's back.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, c.db, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = st.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP TRIGGER events_no_update`); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE events SET payload = replace(payload, 'Algeria', 'Atlantis') WHERE position = 7`)
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "hash chain broken at position 7") {
		t.Fatalf("verify after tampering: exit %d %q", r.code, r.stderr)
	}
}

// TestVerifyAfterEveryKindOfStream is the first-run defect: after the
// seed, a token, a subscription and a treaty registered after dated acts,
// verify reported a broken chain on an intact ledger.
func TestVerifyAfterEveryKindOfStream(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-01-05")
	c.ok("token", "create", "--role", "officer", "--name", "smoke")
	c.ok("subscribe", "--sink", "console", "--treaty", "XVIII-16")
	def := filepath.Join(t.TempDir(), "t.yaml")
	_ = os.WriteFile(def, []byte(strings.Replace(mustReadSeed(t, "treaties/xviii-16-hanoi.yaml"), "id: XVIII-16", "id: XVIII-99", 1)), 0o600)
	c.ok("treaty", "add", def)
	out := c.ok("verify")
	if !strings.Contains(out, "hash chain intact") {
		t.Fatalf("verify: %q", out)
	}
}

// TestVerifyFindsANullDate is the tampering verify missed: a valid date
// set to NULL behind the store's back.
func TestVerifyFindsANullDate(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	headFile := filepath.Join(t.TempDir(), "head")
	c.ok("verify", "--head", headFile)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, c.db, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = st.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range []string{`DROP TRIGGER events_no_update`, `UPDATE events SET valid_date = NULL WHERE position = 9`,
			`CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END`} {
			if _, err := tx.Exec(stmt); err != nil {
				return err
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "hash chain broken at position 9") {
		t.Fatalf("verify after tampering: exit %d %q", r.code, r.stderr)
	}
}

// TestVerifyWithAKeptHeadFindsATruncatedTail keeps the head in a file and
// finds the tail removed later.
func TestVerifyWithAKeptHeadFindsATruncatedTail(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	headFile := filepath.Join(t.TempDir(), "head")
	out := c.ok("verify", "--head", headFile)
	kept, err := os.ReadFile(headFile)
	if err != nil || !strings.Contains(out, "head "+strings.TrimSpace(string(kept))) {
		t.Fatalf("verify --head: %q; file %q, %v", out, kept, err)
	}
	if fi, err := os.Stat(headFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("head file mode: %v %v", fi.Mode(), err)
	}
	head, _, _ := strings.Cut(string(kept), ":")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, c.db, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = st.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DROP TRIGGER events_no_delete`); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM events WHERE position > 70`)
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.ok("verify") // without the kept head, a shorter log is a valid chain
	r := c.run("", "verify", "--head", headFile)
	if r.code != 1 || !strings.Contains(r.stderr, "hash chain broken at position 71") || !strings.Contains(r.stderr, "before the kept head at "+head) {
		t.Fatalf("verify --head after truncation: exit %d %q", r.code, r.stderr)
	}
	r = c.run("", "verify", "--expect", strings.TrimSpace(string(kept)))
	if r.code != 1 || !strings.Contains(r.stderr, "position 71") {
		t.Fatalf("verify --expect after truncation: exit %d %q", r.code, r.stderr)
	}
}

// mustReadSeed returns a shipped seed file.
func mustReadSeed(tb testing.TB, name string) string {
	tb.Helper()
	b, err := fs.ReadFile(seed.Files(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestHelpExitsZero: --help, -h, help CMD and CMD --help print the usage
// on standard output and exit 0.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "record"}, {"record", "--help"}, {"verify", "-h"}} {
		r := c.run("", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "usage: treatywatch") {
			t.Errorf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := c.run("", "record", "--help"); !strings.Contains(r.stdout, "-participant") {
		t.Errorf("record --help lists no flags:\n%s", r.stdout)
	}
}

// TestShippedBinaryExitCodes: the exit status of the real process is the
// exit code Run returns in process, for each kind of outcome (README,
// "Exit codes"; 6, a concurrent writer winning three times, is left to
// events' conflict tests), with the message on standard error and nothing
// on standard output.
func TestShippedBinaryExitCodes(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"done", []string{"status", "XVIII-16"}, 0, ""},
		{"help", []string{"record", "--help"}, 0, ""},
		{"an operation failed", []string{"--db", filepath.Join(notADir, "ledger.db"), "status", "XVIII-16"}, 1, "not a directory"},
		{"bad usage", []string{"record", "ratify", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-01"}, 2, `unknown action "ratify"`},
		{"refused", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-01"}, 3, "Japan has not signed XVIII-16"},
		{"not found", []string{"status", "XXVII-99"}, 4, `unknown treaty "XXVII-99"`},
		{"duplicate", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2025-10-25"}, 5, "already recorded at position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := c.run("", tc.args...)
			cmd := c.command("", tc.args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || in.code != tc.code {
				t.Fatalf("exit status %d, in process %d; want %d\n%s%s", code, in.code, tc.code, out.String(), errb.String())
			}
			if tc.code == 0 {
				if out.String() != in.stdout || errb.Len() != 0 {
					t.Errorf("the process printed\n%s%s\nin process:\n%s", out.String(), errb.String(), in.stdout)
				}
				return
			}
			if out.Len() != 0 || !strings.HasPrefix(errb.String(), "treatywatch: ") || !strings.Contains(errb.String(), tc.msg) || errb.String() != in.stderr {
				t.Errorf("stdout %q, stderr %q; want nothing, and %q as in process (%q)", out.String(), errb.String(), tc.msg, in.stderr)
			}
		})
	}
}

// openFiles counts this process's open file descriptors.
func openFiles(tb testing.TB) int {
	tb.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(fds)
}

// TestInProcessRunsLeaveNothingOpen: every in-process run gets a fresh
// Main that RunAndClose closes: after many runs — reads, writes, refusals,
// a serve started and stopped — no file (the ledger, its -wal and -shm,
// the secrets key) and no goroutine is left over.
func TestInProcessRunsLeaveNothingOpen(t *testing.T) {
	c := newCLI(t)
	c.ok("seed")
	rounds := 0
	round := func() {
		rounds++
		c.ok("status", "XVIII-16", "--json")
		c.ok("log", "--since", "60")
		c.ok("subscriptions")
		c.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", fmt.Sprintf("2026-01-%02d", rounds), "--note", "round "+strconv.Itoa(rounds))
		if r := c.run("", "record", "ratification", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-01"); r.code != 3 {
			t.Fatalf("refusal: exit %d %s", r.code, r.stderr)
		}
	}
	round() // the runtime's own first files (the network poller, ...)
	srv, _ := c.serve("--no-seed")
	srv.mustStop(t)
	// The client's idle connections to the stopped server are this
	// test's, not the runs'.
	http.DefaultClient.CloseIdleConnections()
	files, goroutines := openFiles(t), runtime.NumGoroutine()
	for range 10 {
		round()
	}
	srv, _ = c.serve("--no-seed")
	srv.mustStop(t)
	http.DefaultClient.CloseIdleConnections()
	// Connections and goroutines end asynchronously: wait for the counts
	// to come back, and fail if they do not.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, g := openFiles(t), runtime.NumGoroutine()
		if n <= files && g <= goroutines {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 51 runs: %d files open (%d before), %d goroutines (%d before): a Main was not closed", n, files, g, goroutines)
		}
	}
}

// TestTheCommandLineReadsOnlyTheEnvironmentItIsGiven: nothing in the
// command line reads the process's environment: a TREATYWATCH_NOW,
// TREATYWATCH_ACTOR or TREATYWATCH_DB of the test process does not reach
// an in-process run, which sees only what its getenv gives.
func TestTheCommandLineReadsOnlyTheEnvironmentItIsGiven(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.db")
	t.Setenv("TREATYWATCH_NOW", "2030-01-01")
	t.Setenv("TREATYWATCH_ACTOR", "the test process")
	t.Setenv("TREATYWATCH_DB", other)
	c := newCLI(t)
	c.ok("seed")
	var e struct{ Metadata struct{ Actor string } }
	if err := json.Unmarshal([]byte(c.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-01-05", "--json")), &e); err != nil {
		t.Fatal(err)
	}
	if e.Metadata.Actor != "test-officer" {
		t.Errorf("actor %q, want the given TREATYWATCH_ACTOR", e.Metadata.Actor)
	}
	if s := c.status("XVIII-16"); s.AsOf != "2026-11-27" {
		t.Errorf("as of %s, want the given TREATYWATCH_NOW's 2026-11-27", s.AsOf)
	}
	// Without --db: the given TREATYWATCH_DB, not the process's.
	given := filepath.Join(t.TempDir(), "given.db")
	var out, errb bytes.Buffer
	env := map[string]string{"TREATYWATCH_DB": given}
	m := treatywatch.NewMain(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	if code := m.RunAndClose(t.Context(), []string{"seed", "--quiet"}); code != 0 {
		t.Fatalf("seed: exit %d %s", code, errb.String())
	}
	if _, err := os.Stat(given); err != nil {
		t.Errorf("the given TREATYWATCH_DB was not used: %v", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the process's TREATYWATCH_DB was used: %v", err)
	}
}
