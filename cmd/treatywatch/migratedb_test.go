package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
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
	url := pgtest.NewMigratedDatabase(t)

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
	url := pgtest.NewMigratedDatabase(t)

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
	url := pgtest.NewMigratedDatabase(t)
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
	url := pgtest.NewMigratedDatabase(t)
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

// onChannel returns the deliveries of a Slack channel whose notice names
// who.
func onChannel(t *testing.T, s notifiers.OutboxStore, channel, who string) []events.Delivery {
	t.Helper()
	ds, err := s.Deliveries(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Delivery
	for _, d := range ds {
		if strings.HasSuffix(d.ChannelKey, ":"+channel) && strings.Contains(string(d.Notice), who) {
			out = append(out, d)
		}
	}
	return out
}

// oneDelivery returns the one delivery of a channel whose notice names who.
func oneDelivery(t *testing.T, s notifiers.OutboxStore, channel, who string) events.Delivery {
	t.Helper()
	ds := onChannel(t, s, channel, who)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries of %s to %s, want 1", len(ds), who, channel)
	}
	return ds[0]
}

// slackPost returns the one post of the fake Slack in channel whose text
// names who.
func slackPost(t *testing.T, fake *slackfake.Server, channel, who string) slackfake.Post {
	t.Helper()
	var out []slackfake.Post
	for _, p := range fake.Posts() {
		if p.Channel == channel && strings.Contains(p.Text, who) {
			out = append(out, p)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d posts of %s in %s, want exactly 1: %+v", len(out), who, channel, out)
	}
	return out[0]
}

// TestMigrateDBCarriesTheOutbox builds an SQLite ledger whose notifier
// holds a delivery in each state — Algeria's ratification sent to C0MIG
// (it opened the treaty's thread there), Kenya's signature dead in C0DEAD
// (channel_not_found), Angola's ratification posted to Slack by a
// notifier that crashed before it marked it sent (left "sending"), and
// Brazil's still pending behind it — with the channel's pace row; copies
// it with migrate-db; and runs the notifier on the PostgreSQL copy: it
// confirms Angola's post from the thread's replies instead of posting it
// again, posts Brazil's once, in the treaty's thread under Algeria's
// message, `notify dead-letters` on the copy lists Kenya's dead delivery
// under its source id, and redriving it delivers it.
func TestMigrateDBCarriesTheOutbox(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0MIG", "--treaty", "XVIII-16", "--on", "deposits")
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0DEAD", "--treaty", "XVIII-16", "--on", "signatures")
	src := openSQLite(t, c.db)
	deadChannel := func(r slackfake.Request) *slackfake.Fault {
		if r.Channel == "C0DEAD" && r.Method == slackfake.PostMessage {
			return &slackfake.Fault{SlackError: "channel_not_found"}
		}
		return nil
	}
	fake.Script(deadChannel)

	// Sent and dead.
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02", "--ref", "C.N.300.2026.TREATIES-XVIII.16")
	c.ok("record", "signature", "--treaty", "XVIII-16", "--participant", "Kenya", "--date", "2026-03-01")
	n := c.notifier(fake)
	waitFor(t, 30*time.Second, "Algeria's ratification sent to C0MIG and Kenya's signature dead in C0DEAD", func() bool {
		a, k := onChannel(t, src, "C0MIG", "Algeria"), onChannel(t, src, "C0DEAD", "Kenya")
		return len(a) == 1 && a[0].Status == events.DeliverySent && len(k) == 1 && k[0].Status == events.DeliveryDead
	})
	n.mustStop(t)
	algeria := slackPost(t, fake, "C0MIG", "Algeria")

	// Sending and pending: the post of Angola's ratification is held until
	// the router has queued Brazil's behind it, then the notifier dies
	// right after Slack accepted it.
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Angola", "--date", "2026-03-03", "--ref", "C.N.301.2026.TREATIES-XVIII.16")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Brazil", "--date", "2026-03-04", "--ref", "C.N.302.2026.TREATIES-XVIII.16")
	fake.Script(func(r slackfake.Request) *slackfake.Fault {
		if r.Method == slackfake.PostMessage && r.Channel == "C0MIG" {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if ds, err := src.Deliveries(context.Background(), events.DeliveryPending, 0); err == nil && len(ds) > 0 {
					break
				}
			}
		}
		return deadChannel(r)
	})
	crash := c.crashingNotifier(t, fake, 1)
	if err := crash.Wait(); err == nil {
		t.Fatal("the crashing notifier did not crash")
	}
	fake.Script(deadChannel)
	angola := slackPost(t, fake, "C0MIG", "Angola")
	if angola.ThreadTS != algeria.TS {
		t.Fatalf("Angola's post is in thread %q, want Algeria's message %q", angola.ThreadTS, algeria.TS)
	}
	sending, pending, sent, dead := oneDelivery(t, src, "C0MIG", "Angola"), oneDelivery(t, src, "C0MIG", "Brazil"),
		oneDelivery(t, src, "C0MIG", "Algeria"), oneDelivery(t, src, "C0DEAD", "Kenya")
	if sending.Status != events.DeliverySending || pending.Status != events.DeliveryPending {
		t.Fatalf("before the copy Angola's delivery is %s and Brazil's %s, want sending and pending", sending.Status, pending.Status)
	}
	paces, err := src.Paces(t.Context())
	if err != nil || paces[sent.ChannelKey].LastSend.IsZero() {
		t.Fatalf("the source's pace of %s: %+v, %v", sent.ChannelKey, paces, err)
	}

	// The crashed notifier's lease is still recorded, and not expired, but
	// its process is gone: migrate-db goes ahead.
	if l, err := src.Lease(t.Context(), "sender"); err != nil || l.Holder == "" || l.PID != crash.Process.Pid || !l.ExpiresAt.After(time.Now()) {
		t.Fatalf("the crashed notifier's sender lease: %+v, %v; want still held by pid %d, not expired", l, err, crash.Process.Pid)
	}
	url := pgtest.NewMigratedDatabase(t)
	out := c.ok("migrate-db", "--from", c.db, "--to", url)
	for _, want := range []string{"copied 4 deliveries with their ids and states (1 pending, 1 sending, 1 sent, 1 dead)", "copied 1 Slack threads", "the pacing of 2 channels"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-db did not say %q:\n%s", want, out)
		}
	}
	dst := openPostgres(t, url)
	for _, d := range []events.Delivery{sending, pending, sent, dead} {
		got, err := dst.Delivery(t.Context(), d.ID)
		if err != nil || got.Status != d.Status || got.Subscription != d.Subscription || got.DedupKey != d.DedupKey || got.Attempts != d.Attempts ||
			got.LastError != d.LastError || got.TS != d.TS || !got.NextAttemptAt.Equal(d.NextAttemptAt) || string(got.Notice) != string(d.Notice) {
			t.Errorf("delivery %d in the copy: %+v, %v\nin the source: %+v", d.ID, got, err, d)
		}
	}
	if ts, err := dst.Thread(t.Context(), sent.ChannelKey, "XVIII-16"); err != nil || ts != algeria.TS {
		t.Errorf("the copy's thread of XVIII-16 in C0MIG: %q, %v; want Algeria's message %q", ts, err, algeria.TS)
	}
	dstPaces, err := dst.Paces(t.Context())
	if err != nil || !dstPaces[sent.ChannelKey].LastSend.Equal(paces[sent.ChannelKey].LastSend) {
		t.Errorf("the copy's pace of C0MIG: %+v, %v; want the source's %+v", dstPaces[sent.ChannelKey], err, paces[sent.ChannelKey])
	}

	// The copy's notifier.
	pg := c.with()
	pg.db = url
	replies := fake.Calls(slackfake.Replies)
	n = pg.notifier(fake)
	waitFor(t, 30*time.Second, "Brazil's ratification posted from the copy", func() bool {
		d, err := dst.Delivery(t.Context(), pending.ID)
		return err == nil && d.Status == events.DeliverySent
	})
	n.mustStop(t)
	brazil := slackPost(t, fake, "C0MIG", "Brazil")
	slackPost(t, fake, "C0MIG", "Angola") // still exactly one post
	if brazil.ThreadTS != algeria.TS {
		t.Errorf("Brazil's post from the copy is in thread %q, want under Algeria's message %q", brazil.ThreadTS, algeria.TS)
	}
	if brazil.DeliveryID() != strconv.FormatInt(pending.ID, 10) {
		t.Errorf("Brazil's post carries delivery id %q, want the source's %d", brazil.DeliveryID(), pending.ID)
	}
	if fake.Calls(slackfake.Replies) == replies {
		t.Errorf("the copy's notifier did not look in the thread for Angola's post before going on")
	}
	if d, err := dst.Delivery(t.Context(), sending.ID); err != nil || d.Status != events.DeliverySent || d.TS != angola.TS {
		t.Errorf("Angola's delivery in the copy: %+v, %v; want confirmed sent with its post's ts %q", d, err, angola.TS)
	}
	for id, k := range fake.PostsByDelivery() {
		if k != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, k)
		}
	}

	// The dead letter, listed and redriven on the copy.
	deadID := "D" + strconv.FormatInt(dead.ID, 10)
	if out := pg.ok("notify", "dead-letters"); !strings.Contains(out, deadID) || !strings.Contains(out, "channel_not_found") {
		t.Fatalf("notify dead-letters on the copy does not list %s:\n%s", deadID, out)
	}
	fake.Heal()
	pg.bot().ok("notify", "redrive", deadID)
	n = pg.notifier(fake)
	waitFor(t, 30*time.Second, "Kenya's redriven signature in C0DEAD", func() bool {
		d, err := dst.Delivery(t.Context(), dead.ID)
		return err == nil && d.Status == events.DeliverySent
	})
	n.mustStop(t)
	slackPost(t, fake, "C0DEAD", "Kenya")
}

// TestMigrateDBRefusesWhileANotifierRuns: while a notifier holds the
// source's sender lease, migrate-db refuses, naming its host and pid, and
// writes nothing; --events-only copies the log even so; once the
// notifier stopped, or when the lease it left has expired, migrate-db
// copies.
func TestMigrateDBRefusesWhileANotifierRuns(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0MIG", "--treaty", "XVIII-16", "--on", "deposits")
	src := openSQLite(t, c.db)
	n := c.notifier(fake)
	waitFor(t, 30*time.Second, "the notifier holding the sender lease", func() bool {
		l, err := src.Lease(t.Context(), "sender")
		return err == nil && l.Holder != ""
	})
	host, _ := os.Hostname()
	url := pgtest.NewMigratedDatabase(t)
	r := c.run("", "migrate-db", "--from", c.db, "--to", url)
	if r.code != 3 || !strings.Contains(r.stderr, "the sender lease") || !strings.Contains(r.stderr, host+", pid "+strconv.Itoa(os.Getpid())) ||
		!strings.Contains(r.stderr, "Nothing was written") {
		t.Fatalf("migrate-db while a notifier runs: exit %d\n%s%s; want 3 naming the sender lease's host %s and pid %d", r.code, r.stdout, r.stderr, host, os.Getpid())
	}
	if h, err := openPostgres(t, url).Head(t.Context()); err != nil || h != 0 {
		t.Fatalf("after the refusal the target's head is %d (%v), want 0", h, err)
	}
	if out := c.ok("migrate-db", "--from", c.db, "--to", url, "--events-only"); !strings.Contains(out, "hash chain verified") {
		t.Fatalf("migrate-db --events-only while a notifier runs said:\n%s", out)
	}
	n.mustStop(t) // releases the lease
	c.ok("migrate-db", "--from", c.db, "--to", pgtest.NewMigratedDatabase(t))

	// A lease left by a holder that stopped renewing, expired.
	l, err := src.Lease(t.Context(), "sender")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := src.TakeLease(t.Context(), "sender", l.Version, events.Lease{Holder: "depositary-2:4242:ab", Host: "depositary-2", PID: 4242,
		TTL: 15 * time.Second, ExpiresAt: time.Now().Add(-time.Second)}); err != nil || !ok {
		t.Fatalf("TakeLease: %v, %v", ok, err)
	}
	c.ok("migrate-db", "--from", c.db, "--to", pgtest.NewMigratedDatabase(t))
	// The same lease, not expired: refused, naming the other machine.
	l, err = src.Lease(t.Context(), "sender")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := src.TakeLease(t.Context(), "sender", l.Version, events.Lease{Holder: "depositary-2:4242:ab", Host: "depositary-2", PID: 4242,
		TTL: 15 * time.Second, ExpiresAt: time.Now().Add(time.Minute)}); err != nil || !ok {
		t.Fatalf("TakeLease: %v, %v", ok, err)
	}
	if r := c.run("", "migrate-db", "--from", c.db, "--to", pgtest.NewMigratedDatabase(t)); r.code != 3 || !strings.Contains(r.stderr, "depositary-2, pid 4242") {
		t.Fatalf("migrate-db with another machine's live lease: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestMigrateDBCarriesAnswersAndSeenRequests: an answer kept for an
// Idempotency-Key retry and a Slack request seen within its replay window
// are in the copy, so a retry gets its first answer there and a replay is
// refused there; a request whose window has passed is not carried.
func TestMigrateDBCarriesAnswersAndSeenRequests(t *testing.T) {
	c := newCLI(t)
	c.ok("seed", "--quiet")
	src := openSQLite(t, c.db)
	ctx := t.Context()
	now := time.Now()
	answer := events.Answer{Key: "tok-officer:7d1c0e3a", Fingerprint: "f00d", Status: 201, ContentType: "application/json", Body: []byte(`{"position":1435}`)}
	if err := src.PutAnswer(ctx, answer, now.Add(-time.Minute), now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for hash, expires := range map[string]time.Time{"a1b2": now.Add(4 * time.Minute), "c3d4": now.Add(-time.Minute)} {
		if ok, err := src.RememberRequest(ctx, hash, expires, now.Add(-10*time.Minute)); err != nil || !ok {
			t.Fatalf("RememberRequest(%s): %v, %v", hash, ok, err)
		}
	}
	url := pgtest.NewMigratedDatabase(t)
	if out := c.ok("migrate-db", "--from", c.db, "--to", url); !strings.Contains(out, "copied 1 answers kept for Idempotency-Key retries") ||
		!strings.Contains(out, "1 Slack requests seen within their replay window") {
		t.Errorf("migrate-db said:\n%s", out)
	}
	dst := openPostgres(t, url)
	got, at, ok, err := dst.Answer(ctx, answer.Key)
	if err != nil || !ok || got.Fingerprint != answer.Fingerprint || got.Status != 201 || string(got.Body) != string(answer.Body) ||
		!at.Equal(now.Add(-time.Minute)) {
		t.Errorf("the copy's answer for %s: %+v at %v, %v, %v", answer.Key, got, at, ok, err)
	}
	if fresh, err := dst.RememberRequest(ctx, "a1b2", now.Add(5*time.Minute), now); err != nil || fresh {
		t.Errorf("a replay of a request seen on the source, on the copy: accepted %v, %v; want refused", fresh, err)
	}
	if fresh, err := dst.RememberRequest(ctx, "c3d4", now.Add(5*time.Minute), now); err != nil || !fresh {
		t.Errorf("a request whose window had passed on the source, on the copy: accepted %v, %v; want accepted", fresh, err)
	}
}
