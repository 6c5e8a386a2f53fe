package notifiers_test

// The sender lease: at most one sender of a ledger sends at any moment,
// whichever process it runs in; a holder that stops hands over at once, a
// holder that dies or freezes is taken over after its lease expires (or
// at once when its process is provably gone), and its delivery left
// "sending" is confirmed, not posted again. Real SQLite files opened by
// several stores (as by several processes), the real slack-go client and
// the fake Slack; the dying and freezing holders are this test binary run
// again as a helper process.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// The environment of a helper process: a sender on the database file
// helperDB posting to the fake Slack at helperSlack, whose sink hook
// (AfterSend) does what helperEnv says after the first accepted post.
const (
	helperEnv   = "TREATYWATCH_TEST_SENDER_HELPER" // "exit": exit at once (status 137); "block": wait for a line on stdin
	helperDB    = "TREATYWATCH_TEST_SENDER_DB"
	helperSlack = "TREATYWATCH_TEST_SENDER_SLACK"
	helperTTL   = "TREATYWATCH_TEST_SENDER_LEASE_TTL"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runSenderHelper(mode))
	}
	os.Exit(m.Run())
}

// runSenderHelper is the helper process: a sender on the database of the
// test that started it, until SIGTERM. It prints "accepted <id>" on
// standard output when Slack accepted its first post, then exits without
// marking it sent ("exit"), or waits for a line on standard input before
// going on ("block").
func runSenderHelper(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(ctx, os.Getenv(helperDB), sqlite.Config{}, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer st.Close()
	ttl, err := time.ParseDuration(os.Getenv(helperTTL))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var first sync.Once
	stdin := bufio.NewReader(os.Stdin)
	s, err := notifiers.NewSender(notifiers.SenderConfig{Store: st, Log: st, Now: time.Now, PerChannel: 5 * time.Millisecond, Backoff: 5 * time.Millisecond, Poll: 5 * time.Millisecond,
		LeaseTTL: ttl, LeaseRenew: ttl / 5, LeasePoll: 10 * time.Millisecond,
		Sinks: map[string]notifiers.Sink{events.SinkSlack: notifiers.NewSlack(notifiers.NewSlackClient("xoxb-test", os.Getenv(helperSlack), 2*time.Second))},
		AfterSend: func(d notifiers.Delivery) {
			first.Do(func() {
				fmt.Printf("accepted %d\n", d.ID)
				if mode == "exit" {
					os.Exit(137) // as after SIGKILL: nothing more is written
				}
				_, _ = stdin.ReadString('\n')
			})
		}}, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helper is a helper process and what it wrote.
type helper struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	accepted chan string // the lines it printed
	stderr   *syncBuffer
}

// startHelper runs this test binary as a sender on e's database.
func startHelper(t *testing.T, e *env, fake *slackfake.Server, mode string, ttl time.Duration) *helper {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDB+"="+e.path, helperSlack+"="+fake.APIURL(), helperTTL+"="+ttl.String(), "GORACE=atexit_sleep_ms=0")
	h := &helper{cmd: cmd, accepted: make(chan string, 16), stderr: &syncBuffer{}}
	cmd.Stderr = h.stderr
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.accepted <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("helper's log:\n%s", h.stderr.String())
		}
	})
	return h
}

// waitAccepted waits until the helper reports Slack accepted its first post.
func (h *helper) waitAccepted(t *testing.T) string {
	t.Helper()
	select {
	case line := <-h.accepted:
		return line
	case <-time.After(30 * time.Second):
		t.Fatalf("the helper never posted; its log:\n%s", h.stderr.String())
		return ""
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// logRecorder keeps the records of the loggers made by logger, for tests
// that wait for a log line.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(recordingHandler{r}) }

// find returns the first record whose message holds each of subs.
func (r *logRecorder) find(subs ...string) (slog.Record, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, rec := range r.recs {
		for _, s := range subs {
			if !strings.Contains(rec.Message, s) {
				continue next
			}
		}
		return rec, true
	}
	return slog.Record{}, false
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.recs {
		fmt.Fprintf(&b, "%s %s %s", rec.Time.Format("15:04:05.000"), rec.Level, rec.Message)
		rec.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		b.WriteByte('\n')
	}
	return b.String()
}

type recordingHandler struct{ r *logRecorder }

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, rec slog.Record) error {
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, rec.Clone())
	h.r.mu.Unlock()
	return nil
}
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordingHandler) WithGroup(string) slog.Handler      { return h }

// openStore opens another store on e's file, as another process would.
func openStore(t *testing.T, e *env) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), e.path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// leaseSender is a sender on st posting to fake, with a short lease.
func leaseSender(t *testing.T, st *sqlite.Store, fake *slackfake.Server, logger *slog.Logger, tune func(*notifiers.SenderConfig)) *notifiers.Sender {
	t.Helper()
	cfg := notifiers.SenderConfig{Store: st, Log: st, Now: time.Now, PerChannel: 2 * time.Millisecond, Backoff: 5 * time.Millisecond, Poll: 5 * time.Millisecond,
		LeaseTTL: time.Second, LeaseRenew: 200 * time.Millisecond, LeasePoll: 10 * time.Millisecond,
		Sinks: map[string]notifiers.Sink{events.SinkSlack: notifiers.NewSlack(notifiers.NewSlackClient("xoxb-test", fake.APIURL(), 2*time.Second))}}
	if tune != nil {
		tune(&cfg)
	}
	s, err := notifiers.NewSender(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// running is a sender's Run in a goroutine.
type running struct {
	s      *notifiers.Sender
	cancel context.CancelFunc
	done   chan struct{}
}

func run(t *testing.T, s *notifiers.Sender) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// stop cancels Run and waits for it to return.
func (r *running) stop() { r.cancel(); <-r.done }

// waitUntil polls cond (a positive sentinel) until it holds.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// channelOverlaps makes the fake hold each post a little and count the
// posts that arrived while another post to the same channel was being
// received.
func channelOverlaps(fake *slackfake.Server) *atomic.Int64 {
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		overlaps atomic.Int64
	)
	fake.Script(func(req slackfake.Request) *slackfake.Fault {
		if req.Method != slackfake.PostMessage {
			return nil
		}
		mu.Lock()
		if inFlight[req.Channel]++; inFlight[req.Channel] > 1 {
			overlaps.Add(1)
		}
		mu.Unlock()
		time.Sleep(3 * time.Millisecond)
		mu.Lock()
		inFlight[req.Channel]--
		mu.Unlock()
		return nil
	})
	return &overlaps
}

// assertPostedOnce checks that each of n deliveries was posted exactly once.
func assertPostedOnce(t *testing.T, fake *slackfake.Server, n int) {
	t.Helper()
	byID := fake.PostsByDelivery()
	for id, k := range byID {
		if k != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, k)
		}
	}
	if len(byID) != n || len(fake.Posts()) != n {
		t.Errorf("%d posts of %d deliveries, want %d of %d", len(fake.Posts()), len(byID), n, n)
	}
}

// TestTwoSendersOnOneLedgerPostEachDeliveryOnce: two senders, each on its
// own connection to one ledger file (as serve and `notify run` are), drain
// many deliveries over several channels while the lease changes hands
// again and again; every delivery is posted exactly once, and no channel
// ever receives two posts at once.
func TestTwoSendersOnOneLedgerPostEachDeliveryOnce(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	stores := []*sqlite.Store{e.store, openStore(t, e)}
	fake := slackfake.New()
	defer fake.Close()
	overlaps := channelOverlaps(fake)
	const channels, perChannel = 4, 25
	for c := range channels {
		sub := e.subscribe(t, events.Subscription{ID: fmt.Sprintf("s%d", c), Sink: events.SinkSlack, Channel: fmt.Sprintf("C%d", c), Treaties: []string{"XVIII-16"}})
		var ns []notifiers.Notice
		for i := range perChannel {
			ns = append(ns, deposit(int64(100+i)))
		}
		e.enqueue(t, sub, ns...)
	}
	var sentBy [2]atomic.Int64
	start := func(i int) *running {
		return run(t, leaseSender(t, stores[i], fake, nil, func(c *notifiers.SenderConfig) {
			c.Observe = func(o string) {
				if o == "sent" {
					sentBy[i].Add(1)
				}
			}
		}))
	}
	rs := []*running{start(0), start(1)}
	// Every 20 posts, the holder stops; once the other sender holds the
	// lease, a new sender takes the stopped one's place, and waits.
	handovers := 0
	waitUntil(t, 60*time.Second, "every delivery sent", func() bool {
		if len(fake.Posts()) >= (handovers+1)*20 {
			for i, r := range rs {
				if r.s.Holding() {
					r.stop()
					waitUntil(t, 10*time.Second, "the other sender taking over", rs[1-i].s.Holding)
					rs[i] = start(i)
					handovers++
					break
				}
			}
		}
		return statuses(t, e.outbox)[notifiers.StatusSent] == channels*perChannel
	})
	for _, r := range rs {
		r.stop()
	}
	assertPostedOnce(t, fake, channels*perChannel)
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d posts reached a channel while another post to it was in flight", n)
	}
	if handovers < 3 || sentBy[0].Load() == 0 || sentBy[1].Load() == 0 {
		t.Errorf("%d handovers, %d and %d sent by each side: not a test of two senders", handovers, sentBy[0].Load(), sentBy[1].Load())
	}
	t.Logf("%d posts, %d handovers, sent %d + %d", len(fake.Posts()), handovers, sentBy[0].Load(), sentBy[1].Load())
}

// TestAStoppedLeaseHolderHandsOverAtOnce: a sender waits, saying so, while
// another holds the lease; when the holder stops (its context ends) it
// releases the lease, and the waiting sender takes over well within the
// lease's TTL and delivers the rest, each once.
func TestAStoppedLeaseHolderHandsOverAtOnce(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	const ttl = 5 * time.Second
	tune := func(c *notifiers.SenderConfig) {
		c.PerChannel, c.LeaseTTL, c.LeaseRenew = 20*time.Millisecond, ttl, 500*time.Millisecond
	}
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	a := run(t, leaseSender(t, e.store, fake, nil, tune))
	waitUntil(t, 10*time.Second, "the first sender holding the lease", a.s.Holding)
	var logs logRecorder
	b := run(t, leaseSender(t, openStore(t, e), fake, logs.logger(), tune))
	waitUntil(t, 10*time.Second, "the second sender saying it waits", func() bool {
		_, ok := logs.find("another sender holds the ledger's sender lease")
		return ok
	})
	var ns []notifiers.Notice
	for i := range 10 {
		ns = append(ns, deposit(int64(100+i)))
	}
	e.enqueue(t, sub, ns...)
	waitUntil(t, 20*time.Second, "three posts by the holder", func() bool { return len(fake.Posts()) >= 3 })
	a.stop()
	stopped := time.Now()
	waitUntil(t, 20*time.Second, "every delivery sent", func() bool { return statuses(t, e.outbox)[notifiers.StatusSent] == 10 })
	rec, ok := logs.find("took the ledger's sender lease")
	if !ok {
		t.Fatalf("the waiting sender never took the lease; its log:\n%s", logs.String())
	}
	if took := rec.Time.Sub(stopped); took >= ttl {
		t.Errorf("the waiting sender took over %s after the holder stopped, want well within the lease's TTL (%s)", took, ttl)
	} else {
		t.Logf("took over %s after the holder stopped", took)
	}
	if !b.s.Holding() {
		t.Error("the second sender does not hold the lease")
	}
	assertPostedOnce(t, fake, 10)
}

// TestAHolderWhoseRenewalsFailIsTakenOverAfterExpiry: right after Slack
// accepted a post, the holder's database becomes unavailable (its store is
// closed), so it can neither mark the delivery sent nor renew its lease,
// and sends nothing more. The other sender takes over only once the lease
// expired, confirms the delivery left "sending" from the channel's
// history instead of posting it again, and delivers the rest.
func TestAHolderWhoseRenewalsFailIsTakenOverAfterExpiry(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	var ns []notifiers.Notice
	for i := range 5 {
		ns = append(ns, deposit(int64(100+i)))
	}
	e.enqueue(t, sub, ns...)
	const ttl = time.Second
	stA := openStore(t, e)
	var (
		once      sync.Once
		expiresAt time.Time // the holder's lease's expiry as stored when its database went away
		closedAt  time.Time
		inFlight  int64
	)
	a := run(t, leaseSender(t, stA, fake, nil, func(c *notifiers.SenderConfig) {
		c.AfterSend = func(d notifiers.Delivery) {
			once.Do(func() {
				l, err := e.store.Lease(context.Background(), "sender")
				if err != nil {
					t.Error(err)
				}
				expiresAt, inFlight = l.ExpiresAt, d.ID
				stA.Close()
				closedAt = time.Now()
			})
		}
	}))
	waitUntil(t, 10*time.Second, "the first sender holding the lease", a.s.Holding)
	var logs logRecorder
	run(t, leaseSender(t, e.store, fake, logs.logger(), nil))
	waitUntil(t, 30*time.Second, "every delivery sent", func() bool { return statuses(t, e.outbox)[notifiers.StatusSent] == 5 })
	rec, ok := logs.find("took over the ledger's sender lease", "expired")
	if !ok {
		t.Fatalf("no takeover after expiry in the log:\n%s", logs.String())
	}
	if rec.Time.Before(expiresAt) {
		t.Errorf("took over at %s, before the holder's lease expired (%s)", rec.Time.Format(time.StampMicro), expiresAt.Format(time.StampMicro))
	}
	if took := rec.Time.Sub(closedAt); took > ttl+5*time.Second {
		t.Errorf("took over %s after the holder's database went away, want about the TTL (%s)", took, ttl)
	} else {
		t.Logf("took over %s after the holder's database went away (TTL %s)", took, ttl)
	}
	if _, ok := logs.find("a delivery whose outcome was unknown had arrived"); !ok {
		t.Errorf("the in-flight delivery %d was not confirmed; log:\n%s", inFlight, logs.String())
	}
	if n := fake.Calls(slackfake.History) + fake.Calls(slackfake.Replies); n != 1 {
		t.Errorf("%d confirmation calls, want 1 (for the delivery in flight)", n)
	}
	assertPostedOnce(t, fake, 5)
}

// writeLockFree reports whether no connection holds the write lock of
// the database file.
func writeLockFree(t *testing.T, path string) bool {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=0&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return false
	}
	_ = tx.Rollback()
	return true
}

// TestAFrozenHolderIsTakenOverAfterExpiryAndChangesNothingWhenItWakes: a
// sender in another process is frozen (SIGSTOP) right after Slack
// accepted its post, before it marked the delivery sent. Its process
// lives, so the other sender waits for its lease to expire, then confirms
// the delivery and sends the rest. When the frozen sender wakes, every
// write it tries is refused (it no longer holds the lease): it posts
// nothing, marks nothing, and waits.
func TestAFrozenHolderIsTakenOverAfterExpiryAndChangesNothingWhenItWakes(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	var ns []notifiers.Notice
	for i := range 4 {
		ns = append(ns, deposit(int64(100+i)))
	}
	e.enqueue(t, sub, ns...)
	h := startHelper(t, e, fake, "block", time.Second)
	h.waitAccepted(t)
	// Freeze it where it holds no write lock (SIGSTOP may land inside a
	// renewal's transaction: then let it finish and freeze it again).
	pid := h.cmd.Process.Pid
	for {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if writeLockFree(t, e.path) {
			break
		}
		_ = syscall.Kill(pid, syscall.SIGCONT)
		time.Sleep(time.Millisecond)
	}
	var logs logRecorder
	run(t, leaseSender(t, e.store, fake, logs.logger(), nil))
	waitUntil(t, 30*time.Second, "every delivery sent", func() bool { return statuses(t, e.outbox)[notifiers.StatusSent] == 4 })
	if _, ok := logs.find("took over the ledger's sender lease", "expired"); !ok {
		t.Fatalf("no takeover after expiry in the log:\n%s", logs.String())
	}
	if _, ok := logs.find("a delivery whose outcome was unknown had arrived"); !ok {
		t.Errorf("the frozen sender's delivery was not confirmed; log:\n%s", logs.String())
	}

	// Wake it and let its hook return: its writes are refused, and it
	// waits for the lease, which the other sender holds.
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(h.stdin, "go on\n"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the woken sender refused and waiting", func() bool {
		log := h.stderr.String()
		return strings.Contains(log, "mark sent: the sender lease was lost") && strings.Contains(log, "another sender holds the ledger's sender lease")
	})
	// The sentinel: one more delivery, sent by the holder after the woken
	// sender settled.
	e.enqueue(t, sub, deposit(200))
	waitUntil(t, 30*time.Second, "the sentinel delivery sent", func() bool { return statuses(t, e.outbox)[notifiers.StatusSent] == 5 })
	assertPostedOnce(t, fake, 5)
	if n := fake.Calls(slackfake.History) + fake.Calls(slackfake.Replies); n != 1 {
		t.Errorf("%d confirmation calls, want 1 (for the delivery in flight)", n)
	}
}

// TestAHolderWhoseProcessEndedIsTakenOverAtOnce: a sender in another
// process dies right after Slack accepted its post, without releasing its
// lease. Its process is provably gone, so the other sender takes over
// without waiting for the lease (30 s) to expire, and confirms the
// delivery instead of posting it again.
func TestAHolderWhoseProcessEndedIsTakenOverAtOnce(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	fake := slackfake.New()
	defer fake.Close()
	sub := e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkSlack, Channel: "C0HANOI", Treaties: []string{"XVIII-16"}})
	var ns []notifiers.Notice
	for i := range 4 {
		ns = append(ns, deposit(int64(100+i)))
	}
	e.enqueue(t, sub, ns...)
	const ttl = 30 * time.Second
	h := startHelper(t, e, fake, "exit", ttl)
	h.waitAccepted(t)
	err := h.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
		t.Fatalf("the helper ended with %v, want its exit 137", err)
	}
	var logs logRecorder
	start := time.Now()
	run(t, leaseSender(t, e.store, fake, logs.logger(), func(c *notifiers.SenderConfig) { c.LeaseTTL, c.LeaseRenew = ttl, time.Second }))
	waitUntil(t, ttl/2, "every delivery sent", func() bool { return statuses(t, e.outbox)[notifiers.StatusSent] == 4 })
	t.Logf("delivered the rest %s after the holder died", time.Since(start))
	if _, ok := logs.find("took over the ledger's sender lease", "process has ended"); !ok {
		t.Fatalf("no takeover from the ended process in the log:\n%s", logs.String())
	}
	if _, ok := logs.find("a delivery whose outcome was unknown had arrived"); !ok {
		t.Errorf("the dead sender's delivery was not confirmed; log:\n%s", logs.String())
	}
	assertPostedOnce(t, fake, 4)
}
