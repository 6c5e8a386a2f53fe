package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the treatywatch binary the harness measures in these tests,
// built once.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "treatywatch-scale-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "treatywatch")
	if out, err := exec.Command("go", "build", "-o", binary, "../treatywatch").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestMeasureSmallLedgers runs the whole harness on the Hanoi-only ledger
// and a 2,000-event one against the real binary, and checks what it
// measured and reported; a second run reuses the cached ledgers.
func TestMeasureSmallLedgers(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "samples.json")
	args := []string{"--bin", binary, "--cache", cache, "--scale", "2k", "--treaties", "100", "--runs", "2", "--warmup", "0", "--settle", "20s", "--json", out}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "built and verified") {
		t.Fatalf("the ledgers were not built and verified:\n%s", stderr.String())
	}
	var res results
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Ledgers) != 2 {
		t.Fatalf("%d ledgers measured, want 2 (hanoi, 2k)", len(res.Ledgers))
	}
	// The Hanoi-only ledger: the definition, 69 signatures, 7 more acts.
	if l := res.Ledgers[0]; l.Name != "hanoi" || l.Events != 77 {
		t.Fatalf("first ledger %s with %d events, want hanoi with 77", l.Name, l.Events)
	}
	if l := res.Ledgers[1]; l.Name != "2k" || l.Events != 2077 {
		t.Fatalf("second ledger %s with %d events, want 2k with 2,077", l.Name, l.Events)
	}
	for _, l := range res.Ledgers {
		for _, name := range []string{"status", "status-json", "log", "record", "verify", "replay"} {
			ss := l.Commands[name]
			if len(ss) != 2 {
				t.Fatalf("%s %s: %d samples, want 2", l.Name, name, len(ss))
			}
			for _, s := range ss {
				if s.Wall <= 0 || s.MaxRSS < 1<<20 || s.User+s.Sys <= 0 {
					t.Fatalf("%s %s: implausible sample %+v", l.Name, name, s)
				}
			}
		}
		if len(l.First) != 2 || len(l.Restart) != 2 {
			t.Fatalf("%s: %d first starts and %d restarts, want 2 and 2", l.Name, len(l.First), len(l.Restart))
		}
		for _, s := range append(append([]serveSample(nil), l.First...), l.Restart...) {
			if s.Ready <= 0 || s.RSS < 1<<20 || s.Settled < s.Ready || s.SettledOffset != s.SettledHead {
				t.Fatalf("%s serve: implausible sample %+v", l.Name, s)
			}
		}
	}
	for _, want := range []string{"| status XVIII-16 — wall |", "| record declaration --treaty XVIII-16 … — max RSS |", "| restart (served before) → ready |", "hanoi-only", " ×"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("the report lacks %q:\n%s", want, stdout.String())
		}
	}

	// Again, serve only: the cached ledgers are reused, not rebuilt.
	stdout.Reset()
	stderr.Reset()
	args = []string{"--bin", binary, "--cache", cache, "--scale", "2k", "--treaties", "100", "--runs", "1", "--warmup", "0", "--settle", "0", "--commands", "status"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stderr.String(), "building") {
		t.Fatalf("the second run rebuilt a cached ledger:\n%s", stderr.String())
	}
	if strings.Contains(stdout.String(), "serve") || !strings.Contains(stdout.String(), "| status XVIII-16 — wall |") {
		t.Fatalf("--commands status measured something else:\n%s", stdout.String())
	}
}

// TestBadArguments checks that unusable arguments are refused with exit 2
// and a message naming the problem.
func TestBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bin", binary, "--scale", "ten"}, `scale "ten": want a size`},
		{[]string{"--bin", binary, "--scale", "1001", "--treaties", "1000"}, "do not split into 1000 treaties"},
		{[]string{"--bin", binary, "--commands", "status,dance"}, `unknown command "dance"`},
		{[]string{"--bin", filepath.Join(t.TempDir(), "absent")}, "build it with make build"},
		{[]string{"--bin", binary, "--runs", "0"}, "must be 1 or more"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
