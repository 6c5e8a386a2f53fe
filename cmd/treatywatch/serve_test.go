package main_test

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
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
	defer cmd.Process.Kill()
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
