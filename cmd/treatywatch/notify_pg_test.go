package main_test

import (
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// The notifier on PostgreSQL, whose router reads the log through
// watermill-sql (postgres.NewLogSubscriber) in the consumer group
// "notifier".

// TestNotifierOnPostgresPostsEachActOnce runs two notifiers on one
// PostgreSQL ledger — notify run in this process and the shipped binary's
// in another — whose routers share the log's consumer group: every act
// recorded reaches Slack exactly once, and the group's offset reaches the
// head of the log.
func TestNotifierOnPostgresPostsEachActOnce(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	c := newCLI(t)
	c.db = pgtest.NewDatabase(t)
	c.ok("seed", "--quiet")
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0PGONE", "--treaty", "XVIII-16", "--on", "deposits")
	c.notifier(fake)
	other := c.slackEnv(fake).command("", "notify", "run")
	c.startProcess(other)
	defer func() {
		_ = other.Process.Signal(syscall.SIGTERM)
		_ = other.Wait()
	}()

	parties := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil"}
	for i, p := range parties {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 500+i))
	}
	c.recordSentinel(t, fake, "C0PGONE")
	for _, p := range parties {
		if n := postsMentioning(fake, p)["C0PGONE"]; n != 1 {
			t.Errorf("%s's ratification reached Slack %d times, want once", p, n)
		}
	}
	for id, n := range fake.PostsByDelivery() {
		if n != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, n)
		}
	}
	st := openPostgres(t, c.db)
	head, err := st.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the notifier group's offset at the head", func() bool {
		pos, err := st.LogOffset(t.Context(), "notifier")
		return err == nil && pos == head
	})
}

// TestMigrateDBNotifierResumesAtTheCopiedOffset notifies an act on an
// SQLite ledger, copies the ledger with migrate-db, and runs the
// notifier on the copy: it does not notify the old act again (the copy's
// log_offsets row is the source's offset) and does notify a new one.
func TestMigrateDBNotifierResumesAtTheCopiedOffset(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	c := newCLI(t)
	c.ok("seed", "--quiet")
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0MIGR", "--treaty", "XVIII-16", "--on", "deposits")
	n := c.notifier(fake)
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02", "--ref", "C.N.601.2026.TREATIES-XVIII.16")
	waitFor(t, 30*time.Second, "Algeria's ratification on the SQLite ledger's channel", func() bool { return postsMentioning(fake, "Algeria")["C0MIGR"] == 1 })
	n.mustStop(t)

	url := pgtest.NewDatabase(t)
	c.ok("migrate-db", "--from", c.db, "--to", url)
	pg := openPostgres(t, url)
	head, err := pg.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if pos, err := pg.LogOffset(t.Context(), "notifier"); err != nil || pos == 0 || pos > head {
		t.Fatalf("the copy's notifier offset is %d (%v), want the source's, at most the head %d", pos, err, head)
	}

	cp := *c
	cp.db = url
	cp.notifier(fake)
	cp.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Angola", "--date", "2026-03-03", "--ref", "C.N.602.2026.TREATIES-XVIII.16")
	// The copy's router reads in order: once Angola's message is there,
	// Algeria's, recorded before it, has had its turn.
	waitFor(t, 30*time.Second, "Angola's ratification on the copy's channel", func() bool { return postsMentioning(fake, "Angola")["C0MIGR"] == 1 })
	if got := postsMentioning(fake, "Algeria")["C0MIGR"]; got != 1 {
		t.Errorf("Algeria's ratification reached Slack %d times, want once: the copy's notifier notified it again", got)
	}
}

// TestNotificationLatencyAcrossInstances measures, on two serve
// instances on one PostgreSQL database, how long an act written through
// the instance that does not hold the sender lease takes from its
// acknowledgement (HTTP 201) to its post on the fake Slack. It asserts
// only that every act arrives once; the figures are logged.
func TestNotificationLatencyAcrossInstances(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	c := newCLI(t)
	c.db = pgtest.NewDatabase(t)
	c = c.slackEnv(fake, "TREATYWATCH_CHANNEL_INTERVAL=1ms")
	c.ok("seed", "--quiet")
	token := officerToken(c)
	c.ok("subscribe", "--sink", "slack", "--channel", "C0LAG", "--treaty", "XVIII-16", "--on", "deposits")
	st := openPostgres(t, c.db)
	procA, _ := c.serveProcess(&syncBuffer{}, &syncBuffer{}, "--no-seed")
	waitFor(t, 30*time.Second, "A holding the sender lease", func() bool {
		l, err := st.Lease(t.Context(), "sender")
		return err == nil && l.PID == procA.Process.Pid
	})
	_, baseB := c.serveProcess(&syncBuffer{}, &syncBuffer{}, "--no-seed")

	parties := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil", "Chile", "China", "Cuba", "Ecuador"}
	var lags []time.Duration
	for i, p := range parties {
		before := len(fake.Posts())
		status, _, err := postAct(baseB, token, "key-lag-"+p, fmt.Sprintf(`{"action":"ratification","participant":%q,"date":"2026-03-02","reference":"C.N.%d.2026.TREATIES-XVIII.16"}`, p, 700+i))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("%s's ratification through B: status %d, %v", p, status, err)
		}
		acked := time.Now()
		waitFor(t, 30*time.Second, p+"'s post", func() bool { return len(fake.Posts()) > before })
		lags = append(lags, time.Since(acked))
	}
	slices.Sort(lags)
	for id, n := range fake.PostsByDelivery() {
		if n != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, n)
		}
	}
	t.Logf("act acknowledged by B → post by A's sender: median %s, p90 %s, max %s (%d acts)",
		lags[len(lags)/2], lags[len(lags)*9/10], lags[len(lags)-1], len(lags))
}
