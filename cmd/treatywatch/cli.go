package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/notifiers"
)

// Exit codes. They are part of the command-line contract (README).
const (
	exitOK        = 0
	exitFailure   = 1 // an operation failed (I/O, a broken hash chain)
	exitUsage     = 2 // bad flags or malformed input (bad date, unknown column, ...)
	exitRefused   = 3 // the ledger refused the act (not signed, already bound, window closed)
	exitNotFound  = 4 // unknown treaty, participant or event
	exitDuplicate = 5 // the act is already recorded
	exitConflict  = 6 // a concurrent writer won; try again
)

// usageError is a command-line mistake: unknown command, missing flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// exitCode maps an error to the process exit code: the one place where
// domain errors become exit codes.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, events.ErrDuplicate):
		return exitDuplicate
	case errors.Is(err, events.ErrConflict):
		return exitConflict
	case errors.Is(err, events.ErrNotFound):
		return exitNotFound
	case errors.Is(err, events.ErrRefused):
		return exitRefused
	case errors.Is(err, events.ErrInvalid):
		return exitUsage
	}
	return exitFailure
}

// Main is the program: its I/O, its environment, and what it opened.
type Main struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	dbPath string
	logger *slog.Logger
	store  ledgerStore
	ledger *events.Ledger

	// afterSend is the notifier's SenderConfig.AfterSend: nil in the
	// shipped binary; the test binary sets it (export_test.go) to crash
	// the process inside the send window.
	afterSend func(notifiers.Delivery)
}

// NewMain returns a Main that reads its input from stdin, writes its
// output to stdout and its errors and logs to stderr, and reads the
// environment through getenv only: nothing in the command line reads the
// process's environment, arguments or standard streams itself, so tests
// run it in process with their own.
func NewMain(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
}

// RunAndClose runs the command line args (Run), then closes what the run
// opened (Close), and returns the exit code: what the process does, and
// what tests call to run a command line in process. A Close that fails is
// reported on standard error and makes a run that succeeded exit 1.
func (m *Main) RunAndClose(ctx context.Context, args []string) int {
	code := m.Run(ctx, args)
	if err := m.Close(); err != nil {
		fmt.Fprintln(m.stderr, "treatywatch: close: "+err.Error())
		if code == exitOK {
			code = exitFailure
		}
	}
	return code
}

// Close closes what Run opened. A Main runs one command line: after
// Close, make a new one (NewMain) for the next.
func (m *Main) Close() error {
	m.ledger = nil
	if m.store != nil {
		err := m.store.Close()
		m.store = nil
		return err
	}
	return nil
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

func commands() []command {
	return []command{
		{"treaty", "treaty add FILE.yaml | treaty list [--json] | treaty show ID", runTreaty},
		{"record", "record ACTION --treaty ID --participant NAME --date YYYY-MM-DD [--ref REF] [--source URL] [--actor WHO] [--note TEXT]", runRecord},
		{"correct", "correct POSITION --treaty ID --reason TEXT [--date D] [--participant P] [--action A] [--ref REF]", runCorrect},
		{"retract", "retract POSITION --treaty ID --reason TEXT", runRetract},
		{"import", "import --treaty ID FILE.csv [--add-participants] [--dry-run]", runImport},
		{"import-untc", "import-untc --treaty ID FILE.xml | --url URL [--dry-run] [--json] [--source S]  (record what a UN Treaty Collection status file shows and the ledger lacks)", runImportUntc},
		{"watch-untc", "watch-untc --treaty ID --url URL --every 'CRON SPEC' [--source S]  (poll a UNTC status file and record what it adds)", runWatchUntc},
		{"log", "log [--treaty ID] [--since POS] [--json | --csv]", runLog},
		{"export", "export log --format jsonl|csv [--treaty ID] [--until POS|DATE] [--out FILE] [--include-legacy-secrets] | export status ID --format csv|json [--as-of YYYY-MM-DD] [--known-at RFC3339] [--out FILE]", runExport},
		{"import-log", "import-log FILE.jsonl [--json]  (an archive from export log --format jsonl into an empty ledger: the same events, positions and hash chain, verified)", runImportLog},
		{"verify", "verify [--head FILE] [--expect POSITION:HASH]  (walk the hash chain; a kept head also finds a truncated tail)", runVerify},
		{"backup", "backup FILE  (a consistent copy of the ledger while it is in use, verified)", runBackup},
		{"grant-service", "grant-service ROLE  (--db postgres://OWNER@…: the PostgreSQL role the instances connect as may insert events, never change them)", runGrantService},
		{"migrate-db", "migrate-db --from PATH.db --to postgres://…  (copy an SQLite ledger into an empty PostgreSQL database, hash chain verified)", runMigrateDB},
		{"seed", "seed  (register the shipped treaties and the Hanoi Convention's signatures; idempotent)", runSeed},
		{"participants", "participants [--json] [QUERY]", runParticipants},
		{"status", "status ID [--as-of YYYY-MM-DD] [--known-at RFC3339] [--json | --csv]", runStatus},
		{"compare", "compare [ID ...] [--as-of YYYY-MM-DD] [--known-at RFC3339] [--json] [--days 30,90,...] [--out FILE.svg|FILE.png [--size desktop|phone] [--max-days N]]  (treaties side by side, and aligned on days since opening for signature)", runCompare},
		{"chart", "chart ID --out FILE.svg|FILE.png [--as-of YYYY-MM-DD] [--known-at RFC3339] [--size desktop|phone]  (the count over time, threshold, milestones)", runChart},
		{"diff", "diff ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--known-at T [--known-at T2]] [--as-of YYYY-MM-DD] [--json]  (what changed in the status: between two dates, default the last 7 days; or, with two --known-at, what corrections changed)", runDiff},
		{"forecast", "forecast ID [--as-of YYYY-MM-DD] [--json]  (an estimated range for the entry into force, with its method and backtest)", runForecast},
		{"timeline", "timeline ID [--as-of YYYY-MM-DD] [--known-at RFC3339] [--json]", runTimeline},
		{"replay", "replay [--until POS]  (fold every treaty from position 0 and show each one's count: checks the whole log decodes and folds)", runReplay},
		{"subscribe", "subscribe --sink slack|slack-webhook|webhook|console [--channel C] [--url URL] --treaty ID[,ID...] [--participant NAME] [--on deposits,signatures,milestones,countdown,protocols,corrections,all] [--digest 'CRON SPEC'] [--tz ZONE]", runSubscribe},
		{"subscriptions", "subscriptions [--json]", runSubscriptions},
		{"unsubscribe", "unsubscribe ID", runUnsubscribe},
		{"token", "token create --role officer|viewer|admin --name NAME | token list [--json] | token revoke ID", runToken},
		{"serve", "serve [--addr HOST:PORT] [--private] [--no-seed] [--watch-untc ID=URL@SPEC ...]  (the service: HTTP API, dashboard, projections, notifier, scheduler)", runServe},
		{"notify", "notify run | dead-letters | redrive ID|--all | preview --treaty ID [--event POS]", runNotify},
	}
}

// helpRequest is -h or --help given to a command: its usage is printed on
// standard output and the exit code is 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }

// usage returns the command's usage: its summary line (for a subcommand,
// its part of the command's summary) and its flags.
func (h *helpRequest) usage() string {
	var b strings.Builder
	name := h.fs.Name()
	if line := summaryOf(name); line != "" {
		fmt.Fprintf(&b, "usage: treatywatch [--db PATH] [-v] %s\n", line)
	}
	h.fs.SetOutput(&b)
	h.fs.PrintDefaults()
	return b.String()
}

// summaryOf returns the usage line of a command ("record") or subcommand
// ("treaty add"): the command's summary, or the part of it, separated by
// " | ", that the subcommand's is.
func summaryOf(name string) string {
	cmd, sub, _ := strings.Cut(name, " ")
	for _, c := range commands() {
		if c.name != cmd {
			continue
		}
		if sub == "" {
			return c.summary
		}
		for _, part := range subcommandsOf(c) {
			if w, _, _ := strings.Cut(part, " "); w == sub {
				return cmd + " " + part
			}
		}
	}
	return ""
}

// subcommandsOf returns the parts of a command's summary, one per
// subcommand, without the command's name ("add FILE.yaml", "list
// [--json]"); nil for a command without subcommands (each part starts
// with a lower-case word).
func subcommandsOf(c command) []string {
	parts := strings.Split(c.summary, " | ")
	if len(parts) < 2 {
		return nil
	}
	for i, p := range parts {
		parts[i] = strings.TrimPrefix(p, c.name+" ")
		if parts[i] == "" || parts[i][0] < 'a' || parts[i][0] > 'z' {
			return nil // a choice of flags ("[--json | --csv]"), not subcommands
		}
	}
	return parts
}

// helpText is help that is already written out (a command with
// subcommands, --version): printed on standard output, exit 0.
type helpText struct{ text string }

func (h *helpText) Error() string { return "help requested" }

// subcommandHelp answers a command with subcommands given an argument
// that is not one of them: for -h, --help or help, the usage of every
// subcommand with its flags (each subcommand's own --help, which opens
// nothing); otherwise a usage error naming the subcommands.
func subcommandHelp(ctx context.Context, m *Main, name string, run func(context.Context, *Main, []string) error, arg string) error {
	var c command
	for _, x := range commands() {
		if x.name == name {
			c = x
		}
	}
	var subs []string
	for _, part := range subcommandsOf(c) {
		w, _, _ := strings.Cut(part, " ")
		subs = append(subs, w)
	}
	if arg != "-h" && arg != "--help" && arg != "-help" && arg != "help" {
		return usagef("%s: unknown subcommand %q (want %s)", name, arg, strings.Join(subs, ", "))
	}
	var b strings.Builder
	for i, sub := range subs {
		if i > 0 {
			b.WriteString("\n")
		}
		err := run(ctx, m, []string{sub, "--help"})
		hr, ok := errors.AsType[*helpRequest](err)
		if !ok {
			return fmt.Errorf("%s %s --help: %w", name, sub, err)
		}
		b.WriteString(hr.usage())
	}
	return &helpText{text: b.String()}
}

// Run runs the command line args and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	err := m.run(ctx, args)
	if hr, ok := errors.AsType[*helpRequest](err); ok {
		fmt.Fprint(m.stdout, hr.usage())
		return exitOK
	}
	if ht, ok := errors.AsType[*helpText](err); ok {
		fmt.Fprint(m.stdout, ht.text)
		return exitOK
	}
	if err != nil && wantsJSON(args) {
		writeJSONError(m.stderr, err)
	} else if err != nil {
		fmt.Fprintln(m.stderr, "treatywatch: "+err.Error())
	}
	return exitCode(err)
}

func (m *Main) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("treatywatch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	db := fs.String("db", "", "SQLite ledger file, or a postgres:// URL (default $TREATYWATCH_DB, then ./data/treatywatch.db)")
	verbose := fs.Bool("v", false, "log to standard error")
	version := fs.Bool("version", false, "print the version and the schema version, and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(m.stdout, m.usage())
		return nil
	} else if err != nil {
		return usagef("%v\n%s", err, m.usage())
	}
	if *version {
		return m.printVersion()
	}
	m.dbPath = *db
	if m.dbPath == "" {
		m.dbPath = m.getenv("TREATYWATCH_DB")
	}
	if m.dbPath == "" {
		m.dbPath = filepath.Join("data", "treatywatch.db")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	m.logger = slog.New(slog.NewTextHandler(m.stderr, &slog.HandlerOptions{Level: level}))
	rest := fs.Args()
	if len(rest) >= 2 && rest[0] == "help" {
		rest = append(rest[1:], "--help") // help CMD [SUB] is CMD [SUB] --help
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		fmt.Fprint(m.stdout, m.usage())
		return nil
	}
	for _, c := range commands() {
		if c.name == rest[0] {
			return c.run(ctx, m, rest[1:])
		}
	}
	return usagef("unknown command %q\n%s", rest[0], m.usage())
}

func (m *Main) usage() string {
	var b strings.Builder
	b.WriteString("usage: treatywatch [--db PATH] [-v] COMMAND ...\n       treatywatch --version | --help | help COMMAND\n\n" +
		"flags (before the command):\n" +
		"  --db PATH    SQLite ledger file, or a postgres://… URL for PostgreSQL (default $TREATYWATCH_DB,\n" +
		"               then ./data/treatywatch.db)\n" +
		"  -v           log to standard error\n" +
		"  --version    print the version and the schema version, and exit\n" +
		"  -h, --help   print this usage; COMMAND --help (or help COMMAND) prints a command's, with every flag\n\ncommands:\n")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %s\n", c.summary)
	}
	return b.String()
}

// now is the clock that says what "today" is for the ledger's date checks
// and the default --as-of: the wall clock, or TREATYWATCH_NOW (RFC 3339 or
// a date) when set, so that scripted runs and tests can fix "today".
// Recorded times always come from the wall clock.
func (m *Main) now() time.Time {
	if s := m.getenv("TREATYWATCH_NOW"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
		if d, err := events.ParseDate(s); err == nil {
			return d.Time().Add(12 * time.Hour)
		}
	}
	return time.Now()
}

// open opens the ledger file (creating it and its folder) and the Ledger.
func (m *Main) open(ctx context.Context) (*events.Ledger, error) {
	if m.ledger != nil {
		return m.ledger, nil
	}
	if dir := filepath.Dir(m.dbPath); dir != "" && !postgres.IsURL(m.dbPath) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// Recorded times are real: the ledger learns things now.
	st, err := m.openStore(ctx)
	if err != nil {
		return nil, err
	}
	m.store = st
	l, err := events.NewLedger(st, m.ledgerConfig(nil))
	if err != nil {
		return nil, err
	}
	m.ledger = l
	return l, nil
}

// ledgerConfig is the configuration of every Ledger this process makes:
// the clock, the secret store, the digest-schedule and sink checks (a
// slack subscription needs SLACK_BOT_TOKEN here), and a hook called after
// each append (nil for none).
func (m *Main) ledgerConfig(onAppend func()) events.LedgerConfig {
	sinks := notifiers.SinkCheck{SlackBotToken: m.getenv("SLACK_BOT_TOKEN") != ""}
	return events.LedgerConfig{Now: m.now, Logger: m.logger, Secrets: m.store, OnAppend: onAppend,
		ValidateSchedule: notifiers.ValidateSchedule, ValidateSink: sinks.Validate}
}

// openTreaty opens the ledger and resolves a treaty id or name.
func (m *Main) openTreaty(ctx context.Context, name string) (*events.Ledger, string, error) {
	l, err := m.open(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := l.ResolveTreaty(ctx, name)
	return l, id, err
}

// positionArg parses the one POSITION argument of correct and retract.
func positionArg(cmd string, pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usagef("%s: want the POSITION of the act", cmd)
	}
	p, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || p <= 0 {
		return 0, usagef("%s: position %q is not a positive number", cmd, pos[0])
	}
	return p, nil
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{fs: fs}
		} else if err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, exclusive(fs)
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), exclusive(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// exclusiveFlags are the flags that cannot go together on any command
// that has them: each names a different output.
func exclusiveFlags() [][]string {
	return [][]string{{"json", "csv"}}
}

// exclusive returns a usage error when a command was given two flags
// that cannot go together (exclusiveFlags), both set.
func exclusive(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() || f.Value.String() == "true" {
			set[f.Name] = true
		}
	})
	for _, group := range exclusiveFlags() {
		var given []string
		for _, name := range group {
			if set[name] {
				given = append(given, "--"+name)
			}
		}
		if len(given) > 1 {
			return usagef("%s: %s cannot go together: choose one output", fs.Name(), strings.Join(given, " and "))
		}
	}
	return nil
}

// need returns a usage error naming the missing required flags.
func need(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usagef("%s: missing %s", fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// actor is who records: --actor, else $TREATYWATCH_ACTOR, else $USER.
func (m *Main) actor(flagValue string) string {
	for _, s := range []string{flagValue, m.getenv("TREATYWATCH_ACTOR"), m.getenv("USER")} {
		if s != "" {
			return s
		}
	}
	return "cli"
}
