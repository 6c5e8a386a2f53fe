package main_test

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeSeedsServesAndStopsOnSIGTERM starts the main job, the shipped
// binary, on a fresh ledger: it seeds the Hanoi Convention, answers the
// API and the dashboard, prints console notifications for new deposits,
// and on SIGTERM stops in order and exits 0.
func TestServeSeedsServesAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	var out, errb syncBuffer
	cmd, base := c.serveProcess(&out, &errb)
	for _, path := range []string{"/api/v1/treaties/XVIII-16/status", "/", "/treaties/XVIII-16", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	// A deposit recorded by another Main (in this process) reaches the
	// console of the served process.
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	waitFor(t, 30*time.Second, "the console notification", func() bool { return strings.Contains(out.String(), "Ratification by Algeria") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of SIGTERM")
	}
	if !strings.Contains(errb.String(), "treatywatch: stopped") {
		t.Fatalf("no orderly stop:\n%s", errb.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still answering after the stop")
	}
}

// TestServeStopsInOrderWhenItsContextEnds: serve run in process stops as
// on a signal when its context ends — in order, exit 0 — and a console
// notification of a deposit recorded meanwhile was printed first.
func TestServeStopsInOrderWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	srv, base := c.serve()
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	waitFor(t, 30*time.Second, "the console notification", func() bool { return strings.Contains(srv.stdout.String(), "Ratification by Algeria") })
	if srv.mustStop(t) && !strings.Contains(srv.stderr.String(), "treatywatch: stopped") {
		t.Fatalf("no orderly stop:\n%s", srv.stderr.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still answering after the stop")
	}
}

// TestServeOnAPortInUseFailsAtOnce: started on an address another
// listener holds, serve says so and exits non-zero before it serves or
// writes anything.
func TestServeOnAPortInUseFailsAtOnce(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := c.run("", "serve", "--addr", l.Addr().String())
	if r.code == 0 || !strings.Contains(r.stderr, "cannot listen on "+l.Addr().String()) || strings.Contains(r.stderr, "serving") {
		t.Fatalf("serve on a port in use: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(c.logLines()); n != 0 {
		t.Fatalf("serve wrote %d events before failing", n)
	}
}

// TestServeAndSeedNeverOverwriteAUsersDefinition: a ledger that holds
// the user's own definition of a shipped treaty keeps it through serve
// and seed: no definition-amended event, no seed rows.
func TestServeAndSeedNeverOverwriteAUsersDefinition(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	own := strings.Replace(mustReadSeed(t, "treaties/xviii-16-hanoi.yaml"), "instruments: 40", "instruments: 30", 1)
	def := t.TempDir() + "/hanoi.yaml"
	if err := os.WriteFile(def, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("treaty", "add", def)
	before := c.logLines()

	srv, _ := c.serve()
	srv.mustStop(t)
	if after := c.logLines(); len(after) != len(before) {
		t.Fatalf("serve wrote %d events into a ledger that was not empty:\n%s", len(after)-len(before), strings.Join(after[len(before):], "\n"))
	}
	// `seed` adds the shipped treaties the ledger lacks, never amends one
	// it has, and adds no Hanoi signatures to the user's treaty.
	c.ok("seed")
	for _, line := range c.logLines()[len(before):] {
		if strings.Contains(line, "definition-amended") || strings.Contains(line, `"stream":"treaty-XVIII-16"`) {
			t.Fatalf("seed changed the user's treaty: %s", line)
		}
	}
	if out := c.ok("status", "XVIII-16"); !strings.Contains(out, "/30") {
		t.Fatalf("the user's threshold of 30 is gone:\n%s", out)
	}
}

// TestBackupWhileServing copies the ledger while serve runs and writes
// land through its API; the copy verifies and restores.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	token := strings.TrimSpace(c.ok("token", "create", "--role", "officer", "--name", "backup test"))
	token = token[strings.LastIndex(token, "\n")+1:]
	_, base := c.serve()
	// Writes go on through the API while the backup runs.
	stop := make(chan struct{})
	var wrote sync.WaitGroup
	wrote.Add(1)
	go func() {
		defer wrote.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := strings.NewReader(`{"action":"declaration","participant":"Viet Nam","date":"2026-01-05","note":"declaration ` + strconv.Itoa(i) + `"}`)
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/treaties/XVIII-16/actions", body)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	copyPath := filepath.Join(t.TempDir(), "backup.db")
	out := c.ok("backup", copyPath)
	close(stop)
	wrote.Wait()
	if !strings.Contains(out, "hash chain verified") || !strings.Contains(out, "keep a copy of the key") {
		t.Fatalf("backup: %s", out)
	}
	if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v, want mode 0600", fi, err)
	}
	if r := c.run("", "backup", copyPath); r.code != 2 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("backup over an existing file: exit %d %q", r.code, r.stderr)
	}
	restored := &cli{t: t, db: copyPath, env: c.env}
	if out := restored.ok("verify"); !strings.Contains(out, "hash chain intact") {
		t.Fatalf("verify on the copy: %s", out)
	}
	if out := restored.ok("status", "XVIII-16"); !strings.Contains(out, "Convention against Cybercrime") {
		t.Fatalf("status on the copy: %s", out)
	}
}
