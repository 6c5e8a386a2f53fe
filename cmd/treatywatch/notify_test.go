package main_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	treatywatch "github.com/treatywatch/treatywatch/cmd/treatywatch"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// crashEnv makes the test binary, run as a helper process, a notifier
// that exits abruptly after N accepted sends (see runHelperProcess). The
// shipped binary knows nothing of it.
const crashEnv = "TREATYWATCH_TEST_CRASH_AFTER_SENDS"

// runHelperProcess runs the command line of a helper process when the
// test binary was started as one (crashEnv set), and reports its exit
// code. TestMain calls it first.
func runHelperProcess() (int, bool) {
	v := os.Getenv(crashEnv)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a positive number\n", crashEnv, v)
		return 2, true
	}
	return treatywatch.RunCrashingAfterSends(n, os.Args[1:]), true
}

// slackEnv is the environment of a notifier against the fake Slack,
// pacing each channel at 50 ms unless env sets
// TREATYWATCH_CHANNEL_INTERVAL (later entries win).
func (c *cli) slackEnv(fake *slackfake.Server, env ...string) *cli {
	return c.with(append([]string{"SLACK_BOT_TOKEN=xoxb-test", "SLACK_API_URL=" + fake.APIURL(), "TREATYWATCH_CHANNEL_INTERVAL=50ms"}, env...)...)
}

// notifier starts `treatywatch notify run` in process against a fake
// Slack.
func (c *cli) notifier(fake *slackfake.Server, env ...string) *running {
	c.t.Helper()
	return c.slackEnv(fake, env...).start("notify", "run")
}

// notifierProcess starts the shipped binary's `notify run` against a fake
// Slack, for the tests that kill it.
func (c *cli) notifierProcess(t *testing.T, fake *slackfake.Server, env ...string) *exec.Cmd {
	t.Helper()
	return c.startNotifier(t, "", fake, env...)
}

// crashingNotifier starts the real notifier in a helper process (this
// test binary) that exits with status 137 right after its nth accepted
// send, before marking it sent.
func (c *cli) crashingNotifier(t *testing.T, fake *slackfake.Server, n int, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return c.startNotifier(t, self, fake, append(env, fmt.Sprintf("%s=%d", crashEnv, n))...)
}

func (c *cli) startNotifier(t *testing.T, exe string, fake *slackfake.Server, env ...string) *exec.Cmd {
	t.Helper()
	cmd := c.slackEnv(fake, env...).command(exe, "notify", "run")
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	return c.startProcess(cmd)
}

// postsMentioning counts the fake's posts, per channel, whose text names s.
func postsMentioning(fake *slackfake.Server, s string) map[string]int {
	out := map[string]int{}
	for _, p := range fake.Posts() {
		if strings.Contains(p.Text, s) {
			out[p.Channel]++
		}
	}
	return out
}

// recordSentinel records one more deposit and waits until it reached
// every channel. A channel's messages go out in order, each earlier one
// settled (sent or dead) before the next: once the sentinel is there,
// no duplicate of an earlier message can still come.
func (c *cli) recordSentinel(t *testing.T, fake *slackfake.Server, channels ...string) {
	t.Helper()
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Uruguay", "--date", "2026-03-02", "--ref", "C.N.999.2026.TREATIES-XVIII.16")
	waitFor(t, 30*time.Second, "the sentinel deposit in every channel", func() bool {
		got := postsMentioning(fake, "Uruguay")
		for _, ch := range channels {
			if got[ch] == 0 {
				return false
			}
		}
		return true
	})
}

// TestEveryMessageArrivesOnceAcrossCrashes records deposits while the
// notifier is killed with SIGKILL at random points between append and
// delivery, restarts it each time, and checks that every deposit reached
// each subscribed Slack channel exactly once.
func TestEveryMessageArrivesOnceAcrossCrashes(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	channels := []string{"C0NGO1", "C0NGO2", "C0NGO3"}
	for _, ch := range channels {
		c.bot().ok("subscribe", "--sink", "slack", "--channel", ch, "--treaty", "XVIII-16", "--on", "deposits")
	}
	ratifiers := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil", "Chile", "China", "Cuba", "Ecuador", "Egypt", "France"}
	rng := rand.New(rand.NewPCG(7, 11))
	proc := c.notifierProcess(t, fake)
	kills := 0
	for i, p := range ratifiers {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 100+i))
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		if rng.IntN(3) == 0 {
			_ = proc.Process.Kill() // SIGKILL: no cleanup at all
			_ = proc.Wait()
			kills++
			proc = c.notifierProcess(t, fake)
		}
	}
	want := len(ratifiers) * len(channels)
	c.recordSentinel(t, fake, channels...)
	_ = proc.Process.Kill()
	_ = proc.Wait()
	want += len(channels)
	if kills == 0 {
		t.Fatal("the notifier was never killed")
	}
	seen := map[string]int{}
	for _, post := range fake.Posts() {
		for _, p := range ratifiers {
			if strings.Contains(post.Text, p) {
				seen[post.Channel+" "+p]++
			}
		}
	}
	for _, ch := range channels {
		for _, p := range ratifiers {
			if n := seen[ch+" "+p]; n != 1 {
				t.Errorf("%s's ratification reached %s %d times, want exactly once", p, ch, n)
			}
		}
	}
	if got := len(fake.Posts()); got != want {
		t.Errorf("%d posts, want %d (after %d kills)", got, want, kills)
	}
	t.Logf("%d posts, %d kills", len(fake.Posts()), kills)
}

// TestCrashBetweenSlackAcceptingAndMarkingSent kills the notifier exactly
// in the one window a crash can hit — Slack accepted the post, the
// delivery is not yet marked sent — and checks that the restarted
// notifier finds the message in the channel's history (by the delivery id
// in its metadata) instead of posting it twice. The crash comes from the
// test binary run as a helper process: the shipped binary has no fault
// injection.
func TestCrashBetweenSlackAcceptingAndMarkingSent(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO1", "--treaty", "XVIII-16", "--on", "deposits")
	ratifiers := []string{"Algeria", "Angola", "Australia"}
	for i, p := range ratifiers {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 200+i))
	}
	for round := 1; round <= 3; round++ {
		proc := c.crashingNotifier(t, fake, 1)
		err := proc.Wait() // it exits by itself right after Slack accepts a post
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != treatywatch.CrashExitCode {
			t.Fatalf("round %d: notifier ended with %v, want the injected crash", round, err)
		}
		if got := len(fake.Posts()); got != round {
			t.Fatalf("round %d: %d posts after the crash, want %d", round, got, round)
		}
	}
	proc := c.notifierProcess(t, fake)
	c.recordSentinel(t, fake, "C0NGO1")
	_ = proc.Process.Kill()
	_ = proc.Wait()
	for _, p := range ratifiers {
		if n := postsMentioning(fake, p)["C0NGO1"]; n != 1 {
			t.Errorf("%s's ratification posted %d times across 3 crashes after accepted posts, want once", p, n)
		}
	}
	if n := len(fake.Posts()); n != len(ratifiers)+1 {
		t.Errorf("%d posts, want %d", n, len(ratifiers)+1)
	}
	// Each restart looked for the crashed send first: the first message in
	// the channel's history, the follow-ups in their thread.
	if h, r := fake.Calls(slackfake.History), fake.Calls(slackfake.Replies); h != 1 || r != 2 {
		t.Fatalf("the restarted notifiers asked conversations.history %d and conversations.replies %d times, want 1 and 2 (once per crash)", h, r)
	}
}

// TestShippedBinaryHasNoCrashSwitch: the fault injection of the
// exactly-once tests lives in the test binary only. The shipped binary,
// given the old switch, keeps running and delivers every message.
func TestShippedBinaryHasNoCrashSwitch(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO1", "--treaty", "XVIII-16", "--on", "deposits")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	proc := c.notifierProcess(t, fake, "TREATYWATCH_CRASH_AFTER_SENDS=1")
	c.recordSentinel(t, fake, "C0NGO1") // posted after Algeria's: the process outlived its first send
	if proc.ProcessState != nil {
		t.Fatalf("the notifier exited: %v", proc.ProcessState)
	}
	_ = proc.Process.Kill()
	err := proc.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == treatywatch.CrashExitCode {
		t.Fatalf("notifier ended with %v, want our SIGKILL", err)
	}
	if n := len(fake.Posts()); n != 2 {
		t.Fatalf("%d posts, want 2", n)
	}
}

// TestPacingHoldsAcrossACrash: a notifier crashes right after Slack
// accepted a message and a new one starts at once; its next message to
// the channel still comes at least the channel interval (1 s, Slack's
// pace) after the first, as the fake Slack measured their arrival.
func TestPacingHoldsAcrossACrash(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO1", "--treaty", "XVIII-16", "--on", "deposits")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Angola", "--date", "2026-03-02")
	const pace = time.Second
	crash := c.crashingNotifier(t, fake, 1, "TREATYWATCH_CHANNEL_INTERVAL="+pace.String())
	if err := crash.Wait(); err == nil {
		t.Fatal("the crashing notifier did not crash")
	}
	proc := c.notifierProcess(t, fake, "TREATYWATCH_CHANNEL_INTERVAL="+pace.String())
	waitFor(t, 20*time.Second, "Angola's ratification", func() bool { return postsMentioning(fake, "Angola")["C0NGO1"] == 1 })
	_ = proc.Process.Kill()
	_ = proc.Wait()
	posts := fake.Posts()
	if len(posts) != 2 || !strings.Contains(posts[0].Text, "Algeria") {
		t.Fatalf("posts = %+v", posts)
	}
	if gap := posts[1].At.Sub(posts[0].At); gap < pace {
		t.Fatalf("the restarted notifier posted %s after the crashed one, want at least %s", gap, pace)
	}
}

func TestSubscriptionsAreValidatedRecordedAndRemoved(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "61 9 * * *"}, 2, `invalid cron spec "61 9 * * *"`},
		{[]string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "0 9 * * *", "--tz", "Europe/Atlantis"}, 2, `unknown time zone "Europe/Atlantis"`},
		{[]string{"subscribe", "--sink", "slack", "--treaty", "XVIII-16"}, 2, "the slack sink needs --channel"},
		// No SLACK_BOT_TOKEN in this environment: refused at once, nothing recorded.
		{[]string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16"}, 2, "sink: the slack sink posts with a Slack bot token and none is configured: set SLACK_BOT_TOKEN"},
		{[]string{"subscribe", "--sink", "slack", "--channel", "C1", "--treaty", "XVIII-16", "--digest", "0 9 * * 1"}, 2, "none is configured: set SLACK_BOT_TOKEN"},
		{[]string{"subscribe", "--sink", "webhook", "--url", "ftp://x", "--treaty", "XVIII-16"}, 2, "needs --url with an http(s) URL"},
		{[]string{"subscribe", "--sink", "pigeon", "--treaty", "XVIII-16"}, 2, `unknown sink "pigeon"`},
		{[]string{"subscribe", "--sink", "console", "--treaty", "XXVII-99"}, 4, `unknown treaty "XXVII-99"`},
		{[]string{"subscribe", "--sink", "console", "--treaty", "XVIII-16", "--on", "gossip"}, 2, `unknown topic "gossip"`},
		{[]string{"subscribe", "--sink", "console", "--treaty", "XVIII-16", "--participant", "Atlantis"}, 4, `unknown participant "Atlantis"`},
		{[]string{"unsubscribe", "nope"}, 4, `no subscription "nope"`},
	} {
		r := c.run("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: exit %d %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	out := c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO", "--treaty", "hanoi,XXVI-9", "--participant", "vietnam", "--on", "deposits,milestones", "--digest", "0 9 * * 1", "--tz", "Asia/Ho_Chi_Minh")
	id := strings.Fields(strings.TrimPrefix(out, "subscription "))[0]
	id = strings.TrimSuffix(id, ":")
	var subs []struct {
		ID, Sink, Channel, Participant, Digest, TZ string
		Treaties, On                               []string
	}
	if err := json.Unmarshal([]byte(c.ok("subscriptions", "--json")), &subs); err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != id || subs[0].Participant != "Viet Nam" || strings.Join(subs[0].Treaties, ",") != "XVIII-16,XXVI-9" || subs[0].TZ != "Asia/Ho_Chi_Minh" {
		t.Fatalf("subscriptions = %+v", subs)
	}
	c.ok("unsubscribe", id)
	if out := c.ok("subscriptions"); strings.Contains(out, id) {
		t.Fatalf("removed subscription still listed:\n%s", out)
	}
	// Subscriptions are events in the ledger: audited.
	if log := c.ok("log", "--json"); !strings.Contains(log, `"subscription.created"`) || !strings.Contains(log, `"subscription.removed"`) {
		t.Fatal("subscription events are not in the log")
	}
}

// TestDeadLetterAndRedriveFromTheCommandLine: a Slack token Slack refuses
// (invalid_auth) sends the message to the dead letters, once; after the
// token is fixed, `notify redrive` sends it.
func TestDeadLetterAndRedriveFromTheCommandLine(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0NGO1", "--treaty", "XVIII-16", "--on", "deposits")
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	fake.Fail(slackfake.Fault{SlackError: "invalid_auth"})
	proc := c.notifier(fake)
	var dl string
	waitFor(t, 15*time.Second, "the dead letter", func() bool {
		dl = c.ok("notify", "dead-letters")
		return strings.Contains(dl, "invalid_auth")
	})
	proc.mustStop(t)
	if !strings.Contains(dl, "D1") {
		t.Fatalf("dead letters:\n%s", dl)
	}
	if n := fake.Calls("chat.postMessage"); n != 1 {
		t.Fatalf("invalid_auth tried %d times; want once", n)
	}
	fake.Heal()
	if out := c.ok("notify", "redrive", "D1"); !strings.Contains(out, "1 deliveries back in the queue") {
		t.Fatalf("redrive: %q", out)
	}
	proc = c.notifier(fake)
	waitFor(t, 15*time.Second, "the redriven post", func() bool { return len(fake.Posts()) >= 1 })
	proc.mustStop(t)
	if posts := fake.Posts(); len(posts) != 1 || !strings.Contains(posts[0].Text, "Algeria") {
		t.Fatalf("after redrive: %+v", posts)
	}
	if dl := c.ok("notify", "dead-letters"); !strings.Contains(dl, "no dead letters") {
		t.Fatalf("dead letters after redrive:\n%s", dl)
	}
	if r := c.run("", "notify", "redrive", "D99"); r.code != 4 {
		t.Fatalf("redrive of a missing dead letter: exit %d %q", r.code, r.stderr)
	}
}

func TestNotifyPreviewRendersWithoutSending(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	out := c.ok("notify", "preview", "--treaty", "hanoi")
	// The seed's last row, by date: Mauritius signed on 19 November 2025.
	if !strings.Contains(out, "Signature by Mauritius") || !strings.Contains(out, "19 November 2025") {
		t.Fatalf("preview of the latest act:\n%s", out)
	}
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02", "--ref", "C.N.1.2026.TREATIES-XVIII.16")
	out = c.ok("notify", "preview", "--treaty", "XVIII-16", "--json")
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&msg); err != nil || len(msg.Blocks) == 0 || !strings.Contains(msg.Text, "Algeria") {
		t.Fatalf("preview --json: %v\n%s", err, out)
	}
	if !strings.Contains(out, "C.N.1.2026.TREATIES-XVIII.16") || !strings.Contains(out, "1 of 40") {
		t.Fatalf("the deposit's message lacks its reference or progress:\n%s", out)
	}
	if r := c.run("", "notify", "preview", "--treaty", "XVIII-16", "--event", "99999"); r.code != 4 {
		t.Fatalf("preview of a missing event: exit %d %q", r.code, r.stderr)
	}
}

// TestServeAndNotifyRunOnOneLedgerPostEachMessageOnce: serve and `notify
// run` on the same ledger file at once. Only one of them sends (the
// other says it waits for the sender lease); when serve stops, `notify
// run` takes over at once; each deposit reaches each channel exactly
// once.
func TestServeAndNotifyRunOnOneLedgerPostEachMessageOnce(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	channels := []string{"C0NGO1", "C0NGO2", "C0NGO3"}
	for _, ch := range channels {
		c.bot().ok("subscribe", "--sink", "slack", "--channel", ch, "--treaty", "XVIII-16", "--on", "deposits")
	}
	// Two processes: the lease's holder is a process (host, pid), and a
	// holder that is this very process is never taken for gone.
	env := c.slackEnv(fake, "TREATYWATCH_CHANNEL_INTERVAL=20ms")
	var serveLog, notifyLog syncBuffer
	serve, _ := env.serveProcess(&syncBuffer{}, &serveLog, "--no-seed")
	waitFor(t, 30*time.Second, "serve holding the sender lease", func() bool { return leaseHolder(t, c.db) != "" })
	notify := env.command("", "-v", "notify", "run")
	notify.Stderr = &notifyLog
	env.startProcess(notify)
	waitFor(t, 30*time.Second, "notify run saying it waits for the sender lease", func() bool {
		return strings.Contains(notifyLog.String(), "another sender holds the ledger's sender lease")
	})
	first := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus"}
	later := []string{"Belgium", "Brazil", "Chile", "China", "Cuba", "Ecuador"}
	for i, p := range first {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 300+i))
	}
	waitFor(t, 30*time.Second, "the first deposits in every channel", func() bool { return len(fake.Posts()) >= len(first)*len(channels) })
	_ = serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, serveLog.String())
	}
	for i, p := range later {
		c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", p, "--date", "2026-03-02", "--ref", fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", 400+i))
	}
	c.recordSentinel(t, fake, channels...)
	_ = notify.Process.Signal(syscall.SIGTERM)
	_ = notify.Wait()
	for _, ch := range channels {
		for _, p := range append(first, later...) {
			if n := postsMentioning(fake, p)[ch]; n != 1 {
				t.Errorf("%s's ratification reached %s %d times, want exactly once", p, ch, n)
			}
		}
	}
	if want := (len(first) + len(later) + 1) * len(channels); len(fake.Posts()) != want {
		t.Errorf("%d posts, want %d", len(fake.Posts()), want)
	}
	if !strings.Contains(notifyLog.String(), "took the ledger's sender lease") {
		t.Errorf("notify run never took the sender lease; its log:\n%s", notifyLog.String())
	}
}

// leaseHolder reads the holder of the ledger's sender lease, "" if none.
func leaseHolder(t *testing.T, db string) string {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var holder sql.NullString
	if err := conn.QueryRow(`SELECT holder FROM notify_sender_lease`).Scan(&holder); err != nil {
		return ""
	}
	return holder.String
}

// TestNotifierAndServeStopCleanlyRightAfterTheyStart: stopped (as by a
// signal) the moment they run, while the router still reads the log,
// `notify run` and serve exit 0. They used to exit 1 with "read log
// after 0: context canceled".
func TestNotifierAndServeStopCleanlyRightAfterTheyStart(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	for range 10 {
		r := c.start("notify", "run")
		waitFor(t, 10*time.Second, "the notifier running", func() bool { return strings.Contains(r.stderr.String(), "notifier running") })
		r.mustStop(t)
	}
	for range 3 {
		r := c.start("serve", "--addr", freePort(t), "--no-seed")
		waitFor(t, 10*time.Second, "serve serving", func() bool { return strings.Contains(r.stderr.String(), "serving http://") })
		r.mustStop(t)
	}
}
