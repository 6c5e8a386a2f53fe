package main_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
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

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeSeedsServesAndStopsOnSIGTERM starts the main job on a fresh
// ledger: it seeds the Hanoi Convention, answers the API and the
// dashboard, prints console notifications for new deposits, and on
// SIGTERM stops in order and exits 0.
func TestServeSeedsServesAndStopsOnSIGTERM(t *testing.T) {
	c := newCLI(t)
	addr := freePort(t)
	cmd := exec.Command(binary, "--db", c.db, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), c.env...)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/api/v1/treaties/XVIII-16/status", "/", "/treaties/XVIII-16", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	// A deposit recorded by another process reaches the console.
	c.ok("record", "ratification", "--treaty", "XVIII-16", "--participant", "Algeria", "--date", "2026-03-02")
	for !strings.Contains(out.String(), "Ratification by Algeria") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "Ratification by Algeria") {
		t.Fatalf("no console notification:\n%s", out.String())
	}
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

// TestServeOnAPortInUseFailsAtOnce: started on an address another
// process holds, serve says so and exits non-zero before it serves or
// writes anything.
func TestServeOnAPortInUseFailsAtOnce(t *testing.T) {
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
	c := newCLI(t)
	own := strings.Replace(mustReadSeed(t, "treaties/xviii-16-hanoi.yaml"), "instruments: 40", "instruments: 30", 1)
	def := t.TempDir() + "/hanoi.yaml"
	if err := os.WriteFile(def, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	c.ok("treaty", "add", def)
	before := c.logLines()

	addr := freePort(t)
	cmd := exec.Command(binary, "--db", c.db, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), c.env...)
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
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
	c := newCLI(t)
	c.ok("seed")
	token := strings.TrimSpace(c.ok("token", "create", "--role", "officer", "--name", "backup test"))
	token = token[strings.LastIndex(token, "\n")+1:]
	addr := freePort(t)
	cmd := exec.Command(binary, "--db", c.db, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), c.env...)
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
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
