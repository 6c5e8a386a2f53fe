package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
)

// The crash tests run this test binary again as a server process
// (TestCrashServerProcess) on a ledger file, armed to kill itself with
// SIGKILL right after the next append commits, before any answer is
// written: the client's request dies with the process.
const (
	crashChildEnv = "TREATYWATCH_WEB_CRASH_CHILD" // the folder of the ledger and the hand-over files
	crashArmedEnv = "TREATYWATCH_WEB_CRASH_ARMED" // "1": SIGKILL after the next append
)

// crashTokens are the secrets the server process created on a fresh
// ledger, and the id of a spare token to revoke.
type crashTokens struct {
	Officer, Admin, SpareID string
}

// TestCrashServerProcess is the server process of the crash tests; it does
// nothing in a normal run.
func TestCrashServerProcess(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the server process of TestRetryAfterACrashGetsTheFirstAnswer")
	}
	ctx := context.Background()
	var armed atomic.Bool
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var runner *projections.Runner
	l, err := events.NewLedger(st, events.LedgerConfig{Now: today, OnAppend: func() {
		if armed.Load() {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL) // committed, not answered
		}
		if runner != nil {
			runner.Wake()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "tokens.json")
	if _, err := os.Stat(tokFile); err != nil {
		mustSeed(t, l)
		var toks crashTokens
		if toks.Officer, _, err = l.CreateToken(ctx, "Officer Ada", events.RoleOfficer, events.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		if toks.Admin, _, err = l.CreateToken(ctx, "Admin Ann", events.RoleAdmin, events.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		_, spare, err := l.CreateToken(ctx, "Spare", events.RoleViewer, events.Metadata{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		toks.SpareID = spare.ID
		b, _ := json.Marshal(toks)
		mustWriteFile(t, tokFile, b)
	}
	if runner, err = projections.NewRunner(projections.RunnerConfig{Log: st, PollInterval: 50 * time.Millisecond}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := runner.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = runner.Run(ctx) }()
	srv, err := web.New(web.Config{Ledger: l, Log: st, Runner: runner, Now: today, OnAppend: runner.Wake}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(os.Getenv(crashArmedEnv) == "1")
	mustWriteFile(t, filepath.Join(dir, "addr"), []byte(ln.Addr().String()))
	t.Fatal(http.Serve(ln, srv.Handler())) // until killed
}

func mustWriteFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.Fatal(err)
	}
}

// serverProcess is one run of TestCrashServerProcess.
type serverProcess struct {
	cmd  *exec.Cmd
	url  string
	errs *lockedBuffer
}

// startServerProcess starts a server process on the ledger in dir and
// waits until it listens.
func startServerProcess(t testing.TB, dir string, armed bool) *serverProcess {
	t.Helper()
	_ = os.Remove(filepath.Join(dir, "addr"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashArmedEnv+"="+map[bool]string{true: "1", false: "0"}[armed])
	p := &serverProcess{cmd: cmd, errs: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = p.errs, p.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			p.url = "http://" + string(b)
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server process did not start:\n%s", p.errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitKilled waits for the process to die of SIGKILL.
func (p *serverProcess) waitKilled(t *testing.T) {
	t.Helper()
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the server process exited with %v, want SIGKILL:\n%s", err, p.errs.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the server process ended with %v, want SIGKILL:\n%s", err, p.errs.String())
	}
}

// crashRequest is a keyed write.
type crashRequest struct {
	method, path, token, contentType, key string
	body                                  []byte
}

func (p *serverProcess) send(c crashRequest) (response, error) {
	req, err := http.NewRequest(c.method, p.url+c.path, bytes.NewReader(c.body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	req.Header.Set("Idempotency-Key", c.key)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}, err
}

// TestRetryAfterACrashGetsTheFirstAnswer kills the server with SIGKILL
// right after each kind of keyed write commits and before it answers; the
// client's retry with the same Idempotency-Key, to the restarted server,
// gets the answer the write would have had — same status, same body, the
// same positions — and the log holds the write's events exactly once.
func TestRetryAfterACrashGetsTheFirstAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	top := t
	p := startServerProcess(t, dir, true)
	var toks crashTokens
	b, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &toks); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	head := func() int64 {
		h, err := st.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	stored := func(pos int64) events.Envelope {
		evs, err := st.ReadAll(context.Background(), pos-1, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("read position %d: %v %v", pos, evs, err)
		}
		return evs[0]
	}
	sameEnvelope := func(t *testing.T, got events.Envelope) {
		t.Helper()
		want := stored(got.Position)
		if !bytes.Equal(got.Payload, want.Payload) || got.Meta != want.Meta || got.Type != want.Type || got.Stream != want.Stream ||
			got.Version != want.Version || !got.RecordedAt.Equal(want.RecordedAt) {
			t.Errorf("answered %+v\nthe log holds %+v", got, want)
		}
	}
	json := func(v any) []byte { b, _ := json.Marshal(v); return b }
	var recorded, imported events.Envelope
	var importedPositions []int64

	cases := []struct {
		name  string
		req   func() crashRequest
		want  int // status of the retry
		wrote int // events the write appends
		check func(t *testing.T, r response)
	}{
		{"record", func() crashRequest {
			return crashRequest{http.MethodPost, "/api/v1/treaties/hanoi/actions", toks.Officer, "application/json", "crash-record", json(ratification())}
		}, http.StatusCreated, 1, func(t *testing.T, r response) {
			r.JSON(t, &recorded)
			if recorded.Type != "act.ratification" || recorded.Meta.Actor != "Officer Ada" {
				t.Errorf("answer %s", r.Body)
			}
			sameEnvelope(t, recorded)
		}},
		{"import", func() crashRequest {
			csv := "participant,action,date,reference\nAlgeria,ratification,2026-05-05,C.N.13.2026\nAngola,ratification,2026-05-06,C.N.14.2026\n"
			return crashRequest{http.MethodPost, "/api/v1/treaties/hanoi/imports", toks.Officer, "text/csv", "crash-import", []byte(csv)}
		}, http.StatusCreated, 2, func(t *testing.T, r response) {
			var res events.ImportResult
			r.JSON(t, &res)
			if len(res.Acts) != 2 || res.Acts[0].Line != 2 || res.Acts[1].Line != 3 || res.DryRun {
				t.Fatalf("answer %s", r.Body)
			}
			for _, a := range res.Acts {
				e := stored(a.Position)
				if !strings.Contains(string(e.Payload), a.Act.Participant) || e.Meta.Reference != a.Reference {
					t.Errorf("act %+v answered at position %d, which holds %s", a, a.Position, e.Payload)
				}
				importedPositions = append(importedPositions, a.Position)
			}
			imported = stored(importedPositions[1])
		}},
		{"correction", func() crashRequest {
			return crashRequest{http.MethodPost, fmt.Sprintf("/api/v1/treaties/hanoi/events/%d/correction", recorded.Position), toks.Officer, "application/json", "crash-correct",
				json(map[string]string{"date": "2026-05-07", "reason": "the C.N. gives 7 May"})}
		}, http.StatusCreated, 1, func(t *testing.T, r response) {
			var e events.Envelope
			r.JSON(t, &e)
			if e.Type != events.TypeActCorrected || e.Meta.CausationID != fmt.Sprint(recorded.Position) {
				t.Errorf("answer %s", r.Body)
			}
			sameEnvelope(t, e)
		}},
		{"retraction", func() crashRequest {
			return crashRequest{http.MethodPost, fmt.Sprintf("/api/v1/treaties/hanoi/events/%d/retraction", imported.Position), toks.Officer, "application/json", "crash-retract",
				json(map[string]string{"reason": "recorded in error"})}
		}, http.StatusCreated, 1, func(t *testing.T, r response) {
			var e events.Envelope
			r.JSON(t, &e)
			if e.Type != events.TypeActRetracted {
				t.Errorf("answer %s", r.Body)
			}
			sameEnvelope(t, e)
		}},
		{"treaty definition", func() crashRequest {
			return crashRequest{http.MethodPut, "/api/v1/treaties", toks.Officer, "application/yaml", "crash-define", []byte(testTreatyYAML)}
		}, http.StatusCreated, 1, func(t *testing.T, r response) {
			var body struct {
				Treaty  string          `json:"treaty"`
				Changed bool            `json:"changed"`
				Event   events.Envelope `json:"event"`
			}
			r.JSON(t, &body)
			if body.Treaty != "TEST-1" || !body.Changed || body.Event.Type != events.TypeTreatyRegistered {
				t.Errorf("answer %s", r.Body)
			}
			sameEnvelope(t, body.Event)
		}},
		{"token revocation", func() crashRequest {
			return crashRequest{http.MethodDelete, "/api/v1/tokens/" + toks.SpareID, toks.Admin, "", "crash-revoke", nil}
		}, http.StatusNoContent, 1, func(t *testing.T, r response) {
			if len(r.Body) != 0 {
				t.Errorf("body %q", r.Body)
			}
		}},
		{"token creation", func() crashRequest {
			return crashRequest{http.MethodPost, "/api/v1/tokens", toks.Admin, "application/json", "crash-token", json(map[string]string{"name": "Officer Bo", "role": "officer"})}
		}, http.StatusConflict, 1, func(t *testing.T, r response) {
			e := r.Err(t)
			tok, _ := e.Details["token"].(map[string]any)
			if e.Code != "token_already_created" || tok["name"] != "Officer Bo" || !strings.Contains(e.Message, "shown once") || strings.Contains(string(r.Body), "tw_") {
				t.Errorf("answer %s", r.Body)
			}
			if tok["id"] == "" || !strings.Contains(e.Message, fmt.Sprint(tok["id"])) {
				t.Errorf("the answer does not name the token: %s", r.Body)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req()
			before := head()
			if r, err := p.send(req); err == nil {
				t.Fatalf("the write was answered %d %s; the server should have died first", r.Status, r.Body)
			}
			p.waitKilled(t)
			if got := head(); got != before+int64(c.wrote) {
				t.Fatalf("the killed write left the log at %d, want %d", got, before+int64(c.wrote))
			}
			p = startServerProcess(top, dir, true) // armed again, for the next case
			r, err := p.send(req)
			if err != nil {
				t.Fatalf("retry: %v\n%s", err, p.errs.String())
			}
			if r.Status != c.want {
				t.Fatalf("retry answered %d %s, want %d", r.Status, r.Body, c.want)
			}
			if r.Header.Get("Idempotency-Replayed") != "true" {
				t.Error("the retry is not marked as replayed")
			}
			c.check(t, r)
			if got := head(); got != before+int64(c.wrote) {
				t.Errorf("after the retry the log is at %d, want %d: the write ran twice", got, before+int64(c.wrote))
			}
			again, err := p.send(req)
			if err != nil || again.Status != r.Status || !bytes.Equal(again.Body, r.Body) {
				t.Errorf("a second retry answered %d %s, want the same answer", again.Status, again.Body)
			}
		})
	}
}
