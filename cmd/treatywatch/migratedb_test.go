package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// pgHas reports whether the PostgreSQL store has the port P.
func pgHas[P any]() bool {
	_, ok := any((*postgres.Store)(nil)).(P)
	return ok
}

// readLog reads a whole log.
func readLog(t *testing.T, s events.Store) []events.Envelope {
	t.Helper()
	var all []events.Envelope
	for {
		var after int64
		if len(all) > 0 {
			after = all[len(all)-1].Position
		}
		page, err := s.ReadAll(t.Context(), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openPostgres(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMigrateDBCopiesTheLedger seeds an SQLite ledger, adds a ratification,
// a token and a console subscription (events all), copies it into an
// empty PostgreSQL database, and checks that the copy holds the same
// events, positions and hashes, that its chain verifies, and that a
// second copy into it is refused with nothing changed.
func TestMigrateDBCopiesTheLedger(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Palau", "--date", "2026-11-20", "--ref", "C.N.700.2026.TREATIES-XVIII.16")
	c.ok("token", "create", "--role", "officer", "--name", "Migration Officer")
	c.ok("subscribe", "--sink", "console", "--treaty", "XVIII-16")
	url := pgtest.NewDatabase(t)

	out := c.ok("migrate-db", "--from", c.db, "--to", url)
	src := readLog(t, openSQLite(t, c.db))
	if !strings.Contains(out, "hash chain verified on arrival and in the copy") {
		t.Errorf("migrate-db said:\n%s", out)
	}
	dst := openPostgres(t, url)
	got := readLog(t, dst)
	if len(got) != len(src) || len(src) < 10 {
		t.Fatalf("the copy holds %d events, the source %d", len(got), len(src))
	}
	for i := range src {
		a, b := src[i], got[i]
		if a.Position != b.Position || a.Stream != b.Stream || a.Version != b.Version || a.Type != b.Type ||
			!a.RecordedAt.Equal(b.RecordedAt) || a.ValidDate != b.ValidDate || a.Meta != b.Meta ||
			!bytes.Equal(a.Payload, b.Payload) || !bytes.Equal(a.Hash, b.Hash) {
			t.Fatalf("position %d differs:\nsource %+v\ncopy   %+v", a.Position, a, b)
		}
	}
	if err := dst.Verify(t.Context()); err != nil {
		t.Fatalf("Verify of the copy: %v", err)
	}

	r := c.run("", "migrate-db", "--from", c.db, "--to", url)
	if r.code != 3 || !strings.Contains(r.stderr, "already holds events") {
		t.Fatalf("a second migrate-db into the copy: exit %d\n%s%s; want 3, refused as not empty", r.code, r.stdout, r.stderr)
	}
	if n := len(readLog(t, dst)); n != len(src) {
		t.Fatalf("after the refusal the copy holds %d events, want %d", n, len(src))
	}
}

// TestMigrateDBLeavesNothingBehindSilently subscribes a webhook (its URL
// and HMAC secret are sealed beside the log, not in it): migrate-db
// copies the secret when the PostgreSQL backend keeps secrets, and
// otherwise refuses before writing anything unless --events-only, which
// then says what it left behind.
func TestMigrateDBLeavesNothingBehindSilently(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	c.ok("subscribe", "--sink", "webhook", "--url", "https://hooks.treaty-watchers.org/in/7f3a", "--treaty", "XVIII-16")
	url := pgtest.NewDatabase(t)

	if pgHas[events.SecretStore]() && pgHas[pubsub.OffsetStore]() {
		out := c.ok("migrate-db", "--from", c.db, "--to", url)
		if !strings.Contains(out, "copied 1 sink secrets") {
			t.Fatalf("migrate-db said:\n%s", out)
		}
		return
	}
	r := c.run("", "migrate-db", "--from", c.db, "--to", url)
	if r.code != 3 || !strings.Contains(r.stderr, "1 sink secrets") || !strings.Contains(r.stderr, "Nothing was written") {
		t.Fatalf("migrate-db with a sealed secret: exit %d\n%s%s; want 3, naming the secret", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "7f3a") {
		t.Errorf("the refusal shows the webhook URL: %s", r.stderr)
	}
	dst := openPostgres(t, url)
	if h, err := dst.Head(t.Context()); err != nil || h != 0 {
		t.Fatalf("after the refusal the target's head is %d (%v), want 0", h, err)
	}
	out := c.ok("migrate-db", "--from", c.db, "--to", url, "--events-only")
	if !strings.Contains(out, "not copied: 1 sink secrets") {
		t.Fatalf("migrate-db --events-only said:\n%s", out)
	}
	if h, err := dst.Head(t.Context()); err != nil || h == 0 {
		t.Fatalf("after --events-only the target's head is %d (%v)", h, err)
	}
}

func TestMigrateDBBadInput(t *testing.T) {
	c := newCLI(t)
	missing := filepath.Join(t.TempDir(), "absent.db")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no --from", []string{"migrate-db", "--to", "postgres://127.0.0.1/x"}, "--from PATH.db is required"},
		{"no --to", []string{"migrate-db", "--from", missing}, "--to postgres://… is required"},
		{"a --to that is a file", []string{"migrate-db", "--from", missing, "--to", "copy.db"}, "is not a postgres:// or postgresql:// URL"},
		{"a --from that does not exist", []string{"migrate-db", "--from", missing, "--to", "postgres://127.0.0.1/x"}, "absent.db"},
		{"a --to URL with a password is not echoed", []string{"migrate-db", "--from", missing, "--to", "mysql://u:hunter2@h/x"}, "not a postgres://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run("", tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d\n%s%s; want 2 and %q", r.code, r.stdout, r.stderr, tc.msg)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("the message shows the password: %s", r.stderr)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("migrate-db created %s", missing)
	}
}

// TestDBPostgresURLOpensPostgreSQL checks the backend choice: --db with a
// postgres:// URL opens PostgreSQL. Until the PostgreSQL backend has every
// port the commands need, a command fails at once naming what is missing
// (without the URL's password); once it has them, the command works.
func TestDBPostgresURLOpensPostgreSQL(t *testing.T) {
	url := pgtest.WithUser(t, pgtest.NewDatabase(t), "postgres", "pw-not-shown")
	c := newCLI(t)
	c.db = url
	r := c.run("", "treaty", "list")
	if strings.Contains(r.stderr+r.stdout, "pw-not-shown") {
		t.Errorf("the output shows the URL's password:\n%s%s", r.stdout, r.stderr)
	}
	complete := pgHas[events.SecretStore]() && pgHas[events.AnswerStore]() && pgHas[events.SeenRequestStore]() &&
		pgHas[notifiers.Store]() && pgHas[pubsub.OffsetStore]()
	if complete {
		if r.code != 0 {
			t.Fatalf("treaty list on PostgreSQL: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		return
	}
	if r.code != 1 || !strings.Contains(r.stderr, "the PostgreSQL backend keeps the event log but not yet") {
		t.Fatalf("treaty list on PostgreSQL without every port: exit %d\n%s%s; want 1 naming the missing ports", r.code, r.stdout, r.stderr)
	}
	if !pgHas[notifiers.Store]() && !strings.Contains(r.stderr, "notifiers.Store") {
		t.Errorf("the message does not name notifiers.Store: %s", r.stderr)
	}
	// Open migrated the database even so: the event log is there.
	if h, err := openPostgres(t, url).Head(t.Context()); err != nil || h != 0 {
		t.Fatalf("Head = %d, %v", h, err)
	}
}

// TestGrantService runs grant-service as the owner and checks that the
// role it names may read the events but not change them.
func TestGrantService(t *testing.T) {
	url := pgtest.NewDatabase(t)
	role := "tw_cli_service_" + rand.Text()[:10] // roles belong to the whole server
	role = strings.ToLower(role)
	admin, err := pgx.Connect(t.Context(), pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(t.Context(), `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, `DROP OWNED BY `+role)
			_ = c.Close(ctx)
		}
		if c, err := pgx.Connect(ctx, pgtest.AdminURL(t)); err == nil {
			_, _ = c.Exec(ctx, `DROP ROLE IF EXISTS `+role)
			_ = c.Close(ctx)
		}
	})
	c := newCLI(t)
	c.db = url
	if out := c.ok("grant-service", role); !strings.Contains(out, role+" may now read and insert events") {
		t.Fatalf("grant-service said: %s", out)
	}
	svc, err := pgx.Connect(t.Context(), pgtest.WithUser(t, url, role, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	var n int
	if err := svc.QueryRow(t.Context(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatalf("the service role cannot read events: %v", err)
	}
	if _, err := svc.Exec(t.Context(), `DELETE FROM events`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("DELETE FROM events as the service role: %v, want permission denied", err)
	}
	c.db = filepath.Join(t.TempDir(), "x.db")
	if r := c.run("", "grant-service", role); r.code != 2 || !strings.Contains(r.stderr, "an SQLite file has no roles") {
		t.Fatalf("grant-service on an SQLite file: exit %d %s", r.code, r.stderr)
	}
}

// TestMigrateDBCarriesTheSchedulesLastRuns: a digest subscription whose
// digest last ran on the source, and the timed notices' last run, are
// carried to the copy with their times, so the copy's scheduler goes on
// from them (its next digest covers what happened since the last one,
// not only what happens after the copy is first served).
func TestMigrateDBCarriesTheSchedulesLastRuns(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	c.ok("subscribe", "--sink", "console", "--treaty", "XVIII-16", "--digest", "0 9 * * 1", "--tz", "Europe/Vienna")
	c.ok("subscribe", "--sink", "console", "--treaty", "XXVI-9")
	src := openSQLite(t, c.db)
	l, err := events.NewLedger(src, events.LedgerConfig{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := l.Subscriptions(t.Context())
	if err != nil || len(subs) != 2 {
		t.Fatalf("subscriptions %v, %v", subs, err)
	}
	names := notifiers.ScheduleNames(subs)
	if len(names) != 2 {
		t.Fatalf("schedules %v: want the timed notices' and the one digest's", names)
	}
	ran := map[string]time.Time{}
	for i, name := range names {
		at := time.Date(2026, 11, 30, 8, 0, i, 0, time.UTC)
		if _, err := src.RecordRun(t.Context(), name, at, nil); err != nil {
			t.Fatal(err)
		}
		ran[name] = at
	}
	url := pgtest.NewDatabase(t)
	out := c.ok("migrate-db", "--from", c.db, "--to", url)
	if !strings.Contains(out, "copied the last runs of 2 schedules") {
		t.Errorf("migrate-db said:\n%s", out)
	}
	dst := openPostgres(t, url)
	for name, at := range ran {
		got, err := dst.LastRun(t.Context(), name)
		if err != nil || !got.Equal(at) {
			t.Errorf("the copy's last run of %s: %v, %v; want %v", name, got, err, at)
		}
	}
}
