package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeExample is one command of README.md's Commands section: a line of
// its ```sh block (continuation lines joined), and where it starts.
type readmeExample struct {
	lineNo int
	line   string
}

// readmeCommandExamples returns the commands of the ```sh blocks of
// README.md's "## Commands" section, in order, comment lines left out.
func readmeCommandExamples(t *testing.T) []readmeExample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []readmeExample
	in, block := false, false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "## "):
			in = l == "## Commands"
			continue
		case !in:
			continue
		case strings.HasPrefix(l, "```"):
			block = !block && strings.TrimPrefix(l, "```") == "sh"
			continue
		case !block || strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#"):
			continue
		}
		ex := readmeExample{lineNo: i + 1, line: strings.TrimSpace(l)}
		for strings.HasSuffix(ex.line, `\`) && i+1 < len(lines) {
			i++
			ex.line = strings.TrimSuffix(ex.line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		t.Fatal("README.md's Commands section has no sh examples")
	}
	return out
}

// shellWords splits a command line as sh would: words separated by
// blanks, 'single' and "double" quotes, $NAME from env (outside single
// quotes), and the comment from an unquoted #.
func shellWords(line string, env map[string]string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	expand := func(s string, i int) (string, int) {
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		return env[s[i+1:j]], j
	}
	for i := 0; i < len(line); {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
			i++
		case ch == '#' && !inWord:
			return words
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			cur.WriteString(line[i+1 : i+1+j])
			i, inWord = i+j+2, true
		case ch == '"':
			i++
			for i < len(line) && line[i] != '"' {
				if line[i] == '$' {
					v, j := expand(line, i)
					cur.WriteString(v)
					i = j
					continue
				}
				cur.WriteByte(line[i])
				i++
			}
			i, inWord = i+1, true
		case ch == '$':
			v, j := expand(line, i)
			cur.WriteString(v)
			i, inWord = j, true
		default:
			cur.WriteByte(ch)
			i, inWord = i+1, true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// optional matches an optional part of a synopsis, [ ... ] (not nested).
var optional = regexp.MustCompile(`\s*\[[^\]]*\]`)

// placeholder is a word that stands for a value: ID, FILE, D, T, POS,
// QUERY, POS:HASH.
var placeholder = regexp.MustCompile(`(^|\s)(ID|FILE|D|T|POS|QUERY|POS:HASH|\.\.\.)(\s|$)`)

// readmeForms returns the command lines a README example stands for:
// without its optional parts, and, when they hold concrete values only
// (no placeholder, no "a | b" choice), with them too.
func readmeForms(line string) []string {
	code := line
	if i := strings.Index(code, " # "); i >= 0 {
		code = code[:i]
	}
	min := strings.TrimSpace(optional.ReplaceAllString(code, ""))
	full := strings.TrimSpace(optional.ReplaceAllStringFunc(code, func(s string) string {
		inner := strings.Trim(strings.TrimSpace(s), "[]")
		if strings.Contains(inner, "|") || placeholder.MatchString(inner) {
			return ""
		}
		return " " + inner
	}))
	if full == min {
		return []string{min}
	}
	return []string{full, min} // a --dry-run first, then the import
}

// TestReadmeCommandsWorkAsWritten runs the examples of README.md's
// Commands section in order, in process, on a fresh seeded ledger — what
// `make run` leaves (treatywatch seed) — and checks each exits 0. Each
// example runs with those of its optional [parts] that hold concrete
// values (no placeholder, no choice), then without any. What the test supplies, and what it skips:
//
//   - the environment: SLACK_BOT_TOKEN (the slack sink needs one),
//     SLACK_WEBHOOK_URL (an incoming webhook of the fake Slack) and
//     WEBHOOK_URL (a loopback receiver), as a reader sets them;
//   - files: paths resolve against the repository (seed/...), and
//     deposits.csv is the Import CSV section's example; backup and the
//     charts' --out write into a temporary folder;
//   - ID: the id that an earlier example printed (the subscription's for
//     unsubscribe, the token's for token revoke); POS in correct and
//     retract: the position the first record example printed;
//   - skipped: `serve` and `notify run`, which run until stopped (the
//     serve and notifier tests run them).
func TestReadmeCommandsWorkAsWritten(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	csv := "participant,action,date,reference,source\nJapan,signature,2026-03-02,,\nJapan,ratification,2026-03-02,C.N.50.2026.TREATIES-XVIII.16,https://treaties.un.org/...\n"
	if err := os.WriteFile(filepath.Join(tmp, "deposits.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN":   "xoxb-readme",
		"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/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",
		"WEBHOOK_URL":       "http://127.0.0.1:9/treatywatch-hook",
	}
	c := newCLI(t).with("SLACK_BOT_TOKEN=" + env["SLACK_BOT_TOKEN"])
	c.ok("seed")
	ids := map[string]string{}
	idRE := regexp.MustCompile(`^(subscription|token) ([0-9a-zA-Z_-]+)[: ]`)
	posRE := regexp.MustCompile(`at position ([0-9]+)`)
	ran := 0
	for _, ex := range readmeCommandExamples(t) {
		for _, form := range readmeForms(ex.line) {
			words := shellWords(form, env)
			if len(words) < 2 || words[0] != "treatywatch" {
				t.Errorf("README line %d: %q is not a treatywatch command", ex.lineNo, form)
				continue
			}
			args := words[1:]
			if args[0] == "serve" || (args[0] == "notify" && len(args) > 1 && args[1] == "run") {
				t.Logf("README line %d: skipped (runs until stopped): %s", ex.lineNo, form)
				continue
			}
			for i, a := range args {
				switch {
				case a == "ID" && args[0] == "unsubscribe":
					args[i] = ids["subscription"]
				case a == "ID" && args[0] == "token":
					args[i] = ids["token"]
				case a == "POS" && (args[0] == "correct" || args[0] == "retract"):
					args[i] = ids["position"] // the first act an example recorded
				case a == "deposits.csv":
					args[i] = filepath.Join(tmp, a)
				case i == 1 && args[0] == "backup":
					args[i] = filepath.Join(tmp, a)
				case i > 0 && args[i-1] == "--out": // charts: chart, compare
					args[i] = filepath.Join(tmp, filepath.Base(a))
				case strings.HasPrefix(a, "seed/"):
					args[i] = filepath.Join(root, a)
				}
			}
			r := c.run("", args...)
			ran++
			if r.code != 0 {
				t.Errorf("README line %d: treatywatch %s: exit %d\n%s%s", ex.lineNo, strings.Join(args, " "), r.code, r.stdout, r.stderr)
				continue
			}
			if m := idRE.FindStringSubmatch(r.stdout); m != nil {
				ids[m[1]] = m[2]
			}
			if m := posRE.FindStringSubmatch(r.stdout); m != nil && args[0] == "record" && ids["position"] == "" {
				ids["position"] = m[1]
			}
		}
	}
	t.Logf("%d README command lines run", ran)
}
