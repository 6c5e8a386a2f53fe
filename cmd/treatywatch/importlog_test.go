package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// v1Fixture is an archive of a ledger written with an older schema: the
// Hanoi Convention registered, signatures, a ratification corrected, a
// declaration retracted, and a slack-webhook subscription.created of
// schema version 1, as treatywatch before 0.2 wrote it, with the
// webhook's URL in its payload. TREATYWATCH_WRITE_FIXTURES=1 go test -run
// TestWriteV1Fixture ./cmd/treatywatch writes it again.
const v1Fixture = "testdata/archive-v1.jsonl"

// v1WebhookURL is the (fake, Slack-shaped) webhook URL of the fixture's
// subscription.
const v1WebhookURL = "https://hooks.slack.com/services/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"

// hanoiHistory records, on a new ledger, the acts of the fixture with the
// commands of today's treatywatch.
func hanoiHistory(t *testing.T, c *cli) {
	t.Helper()
	c.ok("treaty", "add", filepath.Join("..", "..", "seed", "treaties", "xviii-16-hanoi.yaml"))
	c.ok("record", "signature", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2025-10-25", "--ref", "C.N.520.2025.TREATIES-XVIII.16")
	c.ok("record", "signature", "--treaty", "XVIII-16", "--participant", "Austria", "--date", "2025-10-25")
	rat := positionOf(t, c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Viet Nam", "--date", "2026-06-01", "--ref", "C.N.100.2026.TREATIES-XVIII.16"))
	decl := positionOf(t, c.ok("record", "declaration", "--treaty", "XVIII-16", "--participant", "Austria", "--date", "2026-06-02", "--note", "Article 40: the central authority is the Federal Ministry of Justice"))
	c.ok("correct", rat, "--treaty", "XVIII-16", "--date", "2026-06-02", "--reason", "C.N. gives 2 June")
	c.ok("retract", decl, "--treaty", "XVIII-16", "--reason", "recorded in error")
}

// TestWriteV1Fixture writes v1Fixture when TREATYWATCH_WRITE_FIXTURES=1.
func TestWriteV1Fixture(t *testing.T) {
	if os.Getenv("TREATYWATCH_WRITE_FIXTURES") != "1" {
		t.Skip("writes testdata/archive-v1.jsonl only with TREATYWATCH_WRITE_FIXTURES=1")
	}
	c := newCLI(t)
	hanoiHistory(t, c)
	s, err := sqlite.Open(t.Context(), c.db, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1 := `{"subscription":{"id":"0f3c9a1b2d4e","sink":"slack-webhook","url":"` + v1WebhookURL + `","treaties":["XVIII-16"],"on":["all"]}}`
	if _, err := s.Append(t.Context(), events.StreamAppend{Stream: events.SubscriptionStream("0f3c9a1b2d4e"), Records: []events.Record{
		{Type: events.TypeSubscriptionCreated, SchemaVersion: 1, Meta: events.Metadata{Actor: "treatywatch 0.1"}, Payload: json.RawMessage(v1)},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.ok("export", "log", "--format", "jsonl", "--include-legacy-secrets", "--out", v1Fixture)
}

// TestReplayOfAnOlderSchemaGivesTheSameProjections: the fixture, a log
// written with an older schema version (a subscription.created of
// version 1 beside treaty acts), imported and replayed by today's code
// through the upcaster, gives the same projections as the same history
// recorded today (the subscription at version 2, its URL sealed outside
// the log): the same status and timeline as of several dates, and the
// same subscription but for its id and the mark that its secret is in
// the log.
func TestReplayOfAnOlderSchemaGivesTheSameProjections(t *testing.T) {
	t.Parallel()
	old := newCLI(t)
	old.ok("import-log", v1Fixture)
	if !strings.Contains(old.ok("log", "--json", "--treaty", "XVIII-16"), `"type":"act.corrected"`) {
		t.Fatal("the fixture has no correction")
	}
	now := newCLI(t)
	hanoiHistory(t, now)
	now.ok("subscribe", "--sink", "slack-webhook", "--url", v1WebhookURL, "--treaty", "XVIII-16", "--on", "all")

	for _, args := range [][]string{
		{"status", "XVIII-16", "--json"},
		{"status", "XVIII-16", "--json", "--as-of", "2026-06-01"},
		{"status", "XVIII-16", "--json", "--as-of", "2025-10-25"},
		{"export", "status", "XVIII-16", "--format", "csv", "--as-of", "2026-06-02"},
		{"timeline", "XVIII-16", "--json"},
	} {
		if a, b := old.ok(args...), now.ok(args...); a != b {
			t.Errorf("%v: the older schema's log gives\n%s\ntoday's gives\n%s", args, a, b)
		}
	}
	subs := func(c *cli) []events.Subscription {
		var s []events.Subscription
		if err := json.Unmarshal([]byte(c.ok("subscriptions", "--json")), &s); err != nil || len(s) != 1 {
			t.Fatalf("subscriptions --json: %v, %+v", err, s)
		}
		return s
	}
	a, b := subs(old)[0], subs(now)[0]
	if !a.LegacySecretsInLog || b.LegacySecretsInLog {
		t.Errorf("legacy mark: old %v, today %v; want true, false", a.LegacySecretsInLog, b.LegacySecretsInLog)
	}
	a.ID, a.LegacySecretsInLog, b.ID = "", false, ""
	if a.Sink != b.Sink || a.Endpoint != b.Endpoint || a.SecretFingerprint != b.SecretFingerprint || !slices.Equal(a.Treaties, b.Treaties) || !slices.Equal(a.On, b.On) {
		t.Errorf("subscription from version 1: %+v\ntoday: %+v", a, b)
	}
	if out := old.ok("subscriptions", "--json"); strings.Contains(out, "Zx7Qp1L9") {
		t.Errorf("subscriptions shows the legacy URL: %s", out)
	}
}

// TestArchiveRefusesALegacySecret: a ledger holding a subscription event
// of schema version 1 with its webhook URL in the payload is not
// archived (exit 3, naming the position, nothing on standard output or in
// --out) unless --include-legacy-secrets is given; then the archive is
// the ledger's byte for byte. The CSV export is redacted and never holds
// it.
func TestArchiveRefusesALegacySecret(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("import-log", v1Fixture)
	out := filepath.Join(t.TempDir(), "a.jsonl")
	r := c.run("", "export", "log", "--format", "jsonl", "--out", out)
	if r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, "position 8 is a subscription recorded before treatywatch 0.2") || strings.Contains(r.stderr, "Zx7Qp1L9") {
		t.Errorf("export log --format jsonl: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused archive was written (%v)", err)
	}
	if got := c.ok("export", "log", "--format", "jsonl", "--until", "7"); strings.Count(got, "\n") != 7 {
		t.Errorf("--until 7, before the subscription: %d lines", strings.Count(got, "\n"))
	}
	if got := c.ok("export", "log", "--format", "jsonl", "--treaty", "XVIII-16"); strings.Count(got, "\n") != 7 {
		t.Errorf("--treaty XVIII-16: %d lines", strings.Count(got, "\n"))
	}
	want, err := os.ReadFile(v1Fixture)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ok("export", "log", "--format", "jsonl", "--include-legacy-secrets"); got != string(want) {
		t.Errorf("--include-legacy-secrets: not the fixture byte for byte:\n%s", got)
	}
	if got := c.ok("export", "log", "--format", "csv"); strings.Contains(got, "Zx7Qp1L9") || !strings.Contains(got, "legacy_secrets_in_log") {
		t.Errorf("the CSV export holds the legacy URL, or not the mark:\n%s", got)
	}
}
