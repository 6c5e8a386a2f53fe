package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// jsonErr decodes the one JSON error a --json run printed on standard
// error, checking it has exactly code, message and details and that
// standard output holds nothing.
func jsonErr(t *testing.T, r result) (code, message string, details map[string]any) {
	t.Helper()
	if r.stdout != "" {
		t.Errorf("standard output is not empty: %q", r.stdout)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("standard error holds more than one line: %q", r.stderr)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&raw); err != nil || dec.More() {
		t.Fatalf("standard error is not one JSON object: %q (%v)", r.stderr, err)
	}
	if len(raw) != 3 || raw["code"] == nil || raw["message"] == nil || raw["details"] == nil {
		t.Fatalf("want exactly code, message and details: %s", line)
	}
	var v struct {
		Code, Message string
		Details       map[string]any
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil || v.Details == nil {
		t.Fatalf("decode %s: %v (details must be an object)", line, err)
	}
	return v.Code, v.Message, v.Details
}

// TestJSONErrors: with --json, every kind of error is one JSON object
// {code, message, details} on standard error — the HTTP API's codes —
// with the exit code of the text form; flags that cannot go together are
// refused with exit 2, in either form.
func TestJSONErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	bad := writeTemp(t, "bad.csv", "participant,action,date\nViet Namm,ratification,2026-03-02\nJapan,ratification,2026-02-30\n")
	for _, tc := range []struct {
		name    string
		args    []string
		exit    int
		code    string
		message string
		detail  string // a key of details, "" for none
	}{
		{"unknown treaty", []string{"status", "XXVII-99", "--json"}, 4, "unknown_treaty", `unknown treaty "XXVII-99"`, "known"},
		{"unknown participant", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Viet Namm", "--date", "2026-03-02", "--json"}, 4, "unknown_participant", `unknown participant "Viet Namm"`, "closest"},
		{"bad date", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-02-30", "--json"}, 2, "invalid", "February 2026 has 28 days", ""},
		{"refused", []string{"record", "ratification", "--treaty", "XVIII-16", "--participant", "Japan", "--date", "2026-03-02", "--json"}, 3, "refused", "Japan has not signed XVIII-16", ""},
		{"duplicate", []string{"record", "signature", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2025-10-25", "--json"}, 5, "duplicate", "already recorded at position", "position"},
		{"refused import", []string{"import", "--treaty", "XVIII-16", bad, "--json"}, 2, "import_rejected", "2 of the rows cannot be imported", "rows"},
		{"unknown flag", []string{"log", "--json", "--bogus"}, 2, "usage", "flag provided but not defined: -bogus", ""},
		{"missing flag", []string{"record", "signature", "--json"}, 2, "usage", "missing", ""},
		{"--json and --csv", []string{"status", "XVIII-16", "--json", "--csv"}, 2, "usage", "status: --json and --csv cannot go together", ""},
		{"unknown flag after --json", []string{"subscriptions", "--json", "--bogus"}, 2, "usage", "-bogus", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ledgerState(t, c.db)
			r := c.run("", tc.args...)
			if r.code != tc.exit {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.exit, r.stderr)
			}
			code, msg, details := jsonErr(t, r)
			if code != tc.code || !strings.Contains(msg, tc.message) || strings.Contains(msg, "usage: treatywatch") {
				t.Errorf("code %q message %q; want %q and %q", code, msg, tc.code, tc.message)
			}
			if _, ok := details[tc.detail]; tc.detail != "" && !ok {
				t.Errorf("details %v lack %q", details, tc.detail)
			}
			if after := ledgerState(t, c.db); after != before {
				t.Errorf("the ledger changed")
			}
			// The text form: the same exit code, a line of text.
			var text []string
			for _, a := range tc.args {
				if a != "--json" {
					text = append(text, a)
				}
			}
			if tc.name == "--json and --csv" {
				return
			}
			if tr := c.run("", text...); tr.code != tc.exit || !strings.HasPrefix(tr.stderr, "treatywatch: ") {
				t.Errorf("without --json: exit %d %q", tr.code, tr.stderr)
			}
		})
	}
	// Flags that cannot go together, without --json too.
	if r := c.run("", "status", "XVIII-16", "--csv", "--json=false"); r.code != 0 {
		t.Errorf("--csv --json=false: exit %d %s", r.code, r.stderr)
	}
	if r := c.run("", "notify", "redrive", "D1", "--all"); r.code != 2 || !strings.Contains(r.stderr, "--all and a dead-letter ID (D1) cannot go together") {
		t.Errorf("redrive D1 --all: exit %d %q", r.code, r.stderr)
	}
	// The shipped binary exits with the same code and prints the same.
	var out, errb bytes.Buffer
	cmd := c.command(shippedBinary(t), "status", "XXVII-99", "--json")
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("shipped binary: %v", err)
	}
	if code, _, _ := jsonErr(t, result{stdout: out.String(), stderr: errb.String()}); code != "unknown_treaty" {
		t.Fatalf("shipped binary: code %q", code)
	}
}
