package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events/sqlite"
)

// commandLines returns the commands the top-level usage lists, each with
// its subcommands ("treaty add", "treaty list", ...) or alone ("record").
func commandLines(t *testing.T, c *cli) []string {
	t.Helper()
	r := c.run("", "--help")
	_, list, ok := strings.Cut(r.stdout, "\ncommands:\n")
	if r.code != 0 || !ok {
		t.Fatalf("--help: exit %d\n%s", r.code, r.stdout)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		parts := strings.Split(strings.TrimSpace(line), " | ")
		name := strings.Fields(parts[0])[0]
		group := len(parts) > 1
		for _, p := range parts[1:] {
			if p = strings.TrimPrefix(p, name+" "); p == "" || p[0] < 'a' || p[0] > 'z' {
				group = false // "[--json | --csv]" is a choice of flags
			}
		}
		if !group {
			out = append(out, name)
			continue
		}
		for _, p := range parts {
			p = strings.TrimPrefix(p, name+" ")
			out = append(out, name+" "+strings.Fields(p)[0])
		}
	}
	return out
}

// TestEveryCommandPrintsItsUsage: every command and subcommand the usage
// lists — and each command with subcommands as a whole (`treaty --help`)
// — answers --help, -h and help CMD with its usage on standard output and
// exit 0, opening no ledger; and every flag the README's Commands section
// gives a command appears in its usage.
func TestEveryCommandPrintsItsUsage(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	cmds := commandLines(t, c)
	if len(cmds) < 25 {
		t.Fatalf("the usage lists %d commands: %v", len(cmds), cmds)
	}
	usage := map[string]string{}
	groups := map[string]bool{}
	for _, name := range cmds {
		words := strings.Fields(name)
		if len(words) == 2 {
			groups[words[0]] = true
		}
		forms := [][]string{append(words, "--help"), append(words, "-h"), append([]string{"help"}, words...)}
		for _, args := range forms {
			r := c.run("", slicesClone(args)...)
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: treatywatch [--db PATH] [-v] "+name) {
				t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
			}
			usage[name] = r.stdout
		}
	}
	for g := range groups {
		for _, args := range [][]string{{g, "--help"}, {g, "-h"}, {"help", g}, {g, "help"}} {
			r := c.run("", args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			for _, name := range cmds {
				if strings.HasPrefix(name, g+" ") && !strings.Contains(r.stdout, usage[name]) {
					t.Errorf("%v does not hold the usage of %s:\n%s", args, name, r.stdout)
				}
			}
		}
	}
	if _, err := os.Stat(c.db); !os.IsNotExist(err) {
		t.Errorf("asking for help created the ledger (%v)", err)
	}
	// Every flag of the README's examples is in its command's usage.
	flagRE := regexp.MustCompile(`(?:^|\s|\[|\|)--([a-z][a-z-]*)`)
	for _, ex := range readmeCommandExamples(t) {
		words := strings.Fields(ex.line)
		if len(words) < 2 || words[0] != "treatywatch" || strings.HasPrefix(words[1], "-") {
			continue // --help, --version: TestVersionPrintsTheSchemaVersion
		}
		name := words[1]
		if len(words) > 2 && groups[name] {
			name += " " + words[2]
		}
		u, ok := usage[name]
		if !ok {
			t.Errorf("README line %d: %q is not a command the usage lists", ex.lineNo, name)
			continue
		}
		for _, m := range flagRE.FindAllStringSubmatch(strings.SplitN(ex.line, " #", 2)[0], -1) {
			if f := m[1]; f != "db" && !strings.Contains(u, "  -"+f+" ") && !strings.Contains(u, "  -"+f+"\n") {
				t.Errorf("README line %d: %s --%s is not in `%s --help`:\n%s", ex.lineNo, name, f, name, u)
			}
		}
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// TestVersionPrintsTheSchemaVersion: --version prints the version and the
// highest schema version this binary understands — the number of the last
// migration in events/sqlite/migrations — and exits 0, in process and from
// the shipped binary.
func TestVersionPrintsTheSchemaVersion(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "sqlite", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	last, err := strconv.Atoi(filepath.Base(files[len(files)-1])[:4])
	if err != nil {
		t.Fatal(err)
	}
	if v, err := sqlite.SchemaVersion(); err != nil || v != last {
		t.Fatalf("sqlite.SchemaVersion() = %d, %v; want %d", v, err, last)
	}
	want := regexp.MustCompile(`^treatywatch \S+ \(schema version ` + strconv.Itoa(last) + `, go[0-9.]+\S*\)\n$`)
	c := newCLI(t)
	r := c.run("", "--version")
	if r.code != 0 || r.stderr != "" || !want.MatchString(r.stdout) {
		t.Fatalf("--version: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	out, err := c.command(shippedBinary(t), "--version").Output()
	if err != nil || !want.MatchString(string(out)) {
		t.Fatalf("the shipped binary's --version: %q %v", out, err)
	}
	if _, err := os.Stat(c.db); !os.IsNotExist(err) {
		t.Errorf("--version created the ledger (%v)", err)
	}
}
