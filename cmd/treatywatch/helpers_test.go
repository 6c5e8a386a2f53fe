package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	treatywatch "github.com/treatywatch/treatywatch/cmd/treatywatch"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// The CLI tests run the command line in process: each run is a fresh
// treatywatch.Main (NewMain) with its own standard streams, the test's
// context and an environment the test gives (getenv), closed after it
// ran (RunAndClose), as main does. The tests where a real process
// matters — the exit status of the shipped binary, signals, SIGKILL at
// random moments, two processes sharing a lease, everything a process
// prints — run the binary built once by shippedBinary, or this test
// binary as a crashing helper process (runHelperProcess).

func TestMain(m *testing.M) {
	if code, ok := runHelperProcess(); ok { // the test binary run as a crashing notifier
		os.Exit(code)
	}
	// A race-enabled binary sleeps a second at exit to let reports
	// flush; the children report through their exit code anyway.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	go built.once.Do(build)  // meanwhile, the in-process tests run
	code := pgtest.Run(m)    // m.Run, then stop the PostgreSQL cluster the tests started, if any
	built.once.Do(func() {}) // wait for the build if it is still under way
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the shipped binary, built on first use (shippedBinary).
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// shippedBinary returns the path of the treatywatch binary, built once
// per test run as it ships — without the race detector, which watches the
// same code in the in-process tests — for the tests that need a real
// process.
func shippedBinary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(build)
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// build builds the shipped binary into a temporary folder.
func build() {
	dir, err := os.MkdirTemp("", "treatywatch-cli")
	if err != nil {
		built.err = err
		return
	}
	built.dir, built.path = dir, filepath.Join(dir, "treatywatch")
	args := []string{"build", "-o", built.path}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		built.err = fmt.Errorf("go build: %w\n%s", err, out)
	}
}

// cli runs treatywatch on one ledger file with a fixed "today" and actor.
type cli struct {
	t   *testing.T
	db  string
	env map[string]string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, db: filepath.Join(t.TempDir(), "ledger", "treatywatch.db"),
		env: map[string]string{"TREATYWATCH_NOW": "2026-11-27T09:00:00Z", "TREATYWATCH_ACTOR": "test-officer"}}
}

// with returns a cli on the same ledger whose environment also has the
// variables kv ("NAME=value"; later ones win).
func (c *cli) with(kv ...string) *cli {
	env := make(map[string]string, len(c.env)+len(kv))
	for k, v := range c.env {
		env[k] = v
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		env[k] = v
	}
	return &cli{t: c.t, db: c.db, env: env}
}

// bot returns a cli on the same ledger with a Slack bot token configured,
// as subscribing with the slack sink requires.
func (c *cli) bot() *cli { return c.with("SLACK_BOT_TOKEN=xoxb-test") }

// getenv is the environment of an in-process run: c.env and nothing of
// the test process's own.
func (c *cli) getenv(name string) string { return c.env[name] }

// environ is the environment of a process the tests start: the test
// process's own, then c.env.
func (c *cli) environ() []string {
	env := os.Environ()
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	return env
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs one command line in process and returns what it printed and
// its exit code.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	m := treatywatch.NewMain(strings.NewReader(stdin), &out, &errb, c.getenv)
	code := m.RunAndClose(c.t.Context(), append([]string{"--db", c.db}, args...))
	return result{out.String(), errb.String(), code}
}

// ok runs one command line in process, fails the test unless it exits 0,
// and returns its standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		c.t.Fatalf("treatywatch %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// logLines returns the ledger as JSON Lines.
func (c *cli) logLines() []string {
	c.t.Helper()
	out := strings.TrimSpace(c.ok("log", "--json"))
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// running is a long-running command (serve, notify run) run in process in
// a goroutine of its own, with its own output buffers.
type running struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan struct{}
	code           int
}

// start runs a long-running command line in process until stop (or the
// end of the test).
func (c *cli) start(args ...string) *running {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan struct{})}
	m := treatywatch.NewMain(strings.NewReader(""), r.stdout, r.stderr, c.getenv)
	args = append([]string{"--db", c.db}, args...)
	go func() {
		defer close(r.done)
		r.code = m.RunAndClose(ctx, args)
	}()
	c.t.Cleanup(func() { r.stop() })
	return r
}

// stop ends the command as a signal would (its context ends), waits for
// it to return, and returns its exit code.
func (r *running) stop() int {
	r.cancel()
	<-r.done
	return r.code
}

// mustStop stops the command (stop) and fails the test unless it exited
// 0. It reports whether it did.
func (r *running) mustStop(t testing.TB) bool {
	t.Helper()
	if code := r.stop(); code != 0 {
		t.Fatalf("exited %d:\n%s", code, r.stderr.String())
		return false
	}
	return true
}

// exited reports whether the command returned by itself.
func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// serve starts serve in process on a free loopback port and waits until
// it is ready; it returns the command and the base URL.
func (c *cli) serve(args ...string) (*running, string) {
	c.t.Helper()
	addr := freePort(c.t)
	r := c.start(append([]string{"serve", "--addr", addr}, args...)...)
	base := "http://" + addr
	waitReady(c.t, base, func() string {
		if r.exited() {
			return fmt.Sprintf("serve exited with %d:\n%s", r.code, r.stderr.String())
		}
		return ""
	})
	return r, base
}

// waitReady polls base's /readyz until it answers 200. failed reports
// why the server cannot become ready ("" while it may).
func waitReady(tb testing.TB, base string, failed func() string) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if why := failed(); why != "" {
			tb.Fatalf("%s not ready: %s", base, why)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready after 60 s: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// command returns the shipped binary (or exe, if given) set to run args
// on the ledger with c's environment, not started.
func (c *cli) command(exe string, args ...string) *exec.Cmd {
	c.t.Helper()
	if exe == "" {
		exe = shippedBinary(c.t)
	}
	cmd := exec.Command(exe, append([]string{"--db", c.db}, args...)...)
	cmd.Env = c.environ()
	return cmd
}

// startProcess starts a process (command) and kills it at the end of the
// test if it still runs.
func (c *cli) startProcess(cmd *exec.Cmd) *exec.Cmd {
	c.t.Helper()
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// serveProcess starts the shipped binary's serve on a free port with
// output to stderr, and waits until it is ready.
func (c *cli) serveProcess(stdout, stderr *syncBuffer, args ...string) (*exec.Cmd, string) {
	c.t.Helper()
	addr := freePort(c.t)
	cmd := c.command("", append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	c.startProcess(cmd)
	base := "http://" + addr
	waitReady(c.t, base, func() string { return "" })
	return cmd, base
}

// syncBuffer is a bytes.Buffer safe to read while another goroutine or a
// process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond (a positive sentinel) until it holds or the
// deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
