package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

// hanoi is the Hanoi Convention's UNTC number.
const hanoi = "XVIII-16"

// today is the fixed "today" of the tests: after the seeded signatures,
// inside the Hanoi Convention's signature window.
func today() time.Time { return time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC) }

// env is a real server on a loopback port over a real SQLite ledger
// seeded with the shipped treaties and the Hanoi Convention's signatures.
type env struct {
	t       testing.TB
	URL     string
	Server  *web.Server
	HTTP    *httptest.Server
	Store   *sqlite.Store
	Ledger  *events.Ledger
	Runner  *projections.Runner
	Officer string // secret of the officer token "Officer Ada"
	Viewer  string // secret of the viewer token "Viewer Vic"
	Admin   string // secret of the admin token "Admin Ann"
	Logs    *lockedBuffer
}

type envOptions struct {
	private     bool
	slackSecret string
	// path is the ledger file; default a new one in a temporary folder.
	// An existing file is not seeded again (a restarted server).
	path string
}

// MustEnv starts a seeded server; it is closed when the test ends.
func MustEnv(tb testing.TB, opts envOptions) *env {
	tb.Helper()
	ctx := context.Background()
	path := opts.path
	if path == "" {
		path = filepath.Join(tb.TempDir(), "ledger.db")
	}
	_, statErr := os.Stat(path)
	if statErr != nil {
		copySeeded(tb, path) // the shipped seed, loaded once per test binary
	}
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	l, err := events.NewLedger(st, events.LedgerConfig{Now: today, Secrets: st, ValidateSchedule: notifiers.ValidateSchedule})
	if err != nil {
		tb.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: st}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{t: tb, Store: st, Ledger: l, Runner: runner, Logs: &lockedBuffer{}}
	for _, tok := range []struct {
		dst        *string
		name, role string
	}{{&e.Officer, "Officer Ada", events.RoleOfficer}, {&e.Viewer, "Viewer Vic", events.RoleViewer}, {&e.Admin, "Admin Ann", events.RoleAdmin}} {
		secret, _, err := l.CreateToken(ctx, tok.name, tok.role, events.Metadata{Actor: "test"})
		if err != nil {
			tb.Fatal(err)
		}
		*tok.dst = secret
	}
	if _, err := runner.CatchUp(ctx); err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := web.New(web.Config{
		Addr: "127.0.0.1:0", Ledger: l, Log: st, Runner: runner, Private: opts.private, SlackSigningSecret: opts.slackSecret, Now: today,
		OnAppend: func() {
			if _, err := runner.CatchUp(context.Background()); err != nil {
				tb.Errorf("catch up: %v", err)
			}
		},
	}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	e.Server = srv
	e.HTTP = httptest.NewServer(checkAgainstOpenAPI(tb, srv.Handler())) // every request and answer against openapi.json
	tb.Cleanup(e.HTTP.Close)
	e.URL = e.HTTP.URL
	return e
}

// Close stops the server and closes the ledger file before the test ends
// (to start another server on it).
func (e *env) Close() {
	e.HTTP.Close()
	if err := e.Store.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// mustSeed loads the shipped seed into the ledger, as `treatywatch seed`
// does (seed.Load).
// seeded is a ledger file holding the shipped seed (definitions, the
// Hanoi signatures, the other treaties' histories: some 1,400 events),
// loaded once per test binary through seed.Load and copied for each test:
// loading it under the race detector for every test cost a minute.
var seeded struct {
	once sync.Once
	data []byte
	err  error
}

func copySeeded(tb testing.TB, path string) {
	tb.Helper()
	seeded.once.Do(func() {
		dir, err := os.MkdirTemp("", "treatywatch-web-seed-")
		if err != nil {
			seeded.err = err
			return
		}
		defer os.RemoveAll(dir)
		file := filepath.Join(dir, "seed.db")
		st, err := sqlite.Open(context.Background(), file, sqlite.Config{}, nil)
		if err != nil {
			seeded.err = err
			return
		}
		l, err := events.NewLedger(st, events.LedgerConfig{Now: today, Secrets: st, ValidateSchedule: notifiers.ValidateSchedule})
		if err == nil {
			_, err = seed.Load(context.Background(), l)
		}
		if cerr := st.Close(); err == nil { // a closed file holds everything: no -wal to copy
			err = cerr
		}
		if err == nil {
			seeded.data, err = os.ReadFile(file)
		}
		seeded.err = err
	})
	if seeded.err != nil {
		tb.Fatalf("seed: %v", seeded.err)
	}
	if err := os.WriteFile(path, seeded.data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func mustSeed(tb testing.TB, l *events.Ledger) {
	tb.Helper()
	if _, err := seed.Load(context.Background(), l); err != nil {
		tb.Fatalf("seed: %v", err)
	}
}

// lockedBuffer is a buffer that handlers may write to concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// response is an HTTP answer read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// apiErr is the JSON error body.
type apiErr struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func (r response) Err(tb testing.TB) apiErr {
	tb.Helper()
	var e apiErr
	r.JSON(tb, &e)
	return e
}

// Do sends a request with an optional bearer token, body and headers
// ("Name: value").
func (e *env) Do(method, path, token, contentType string, body []byte, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Get sends a GET without a token.
func (e *env) Get(path string) response { e.t.Helper(); return e.Do(http.MethodGet, path, "", "", nil) }

// PostJSON posts v as JSON with a token.
func (e *env) PostJSON(path, token string, v any, headers ...string) response {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.Do(http.MethodPost, path, token, "application/json", b, headers...)
}

// Head returns the log's last position.
func (e *env) Head() int64 {
	e.t.Helper()
	h, err := e.Store.Head(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// Status returns a treaty's status through the API.
func (e *env) Status(id string, query ...string) projections.Status {
	e.t.Helper()
	r := e.Get("/api/v1/treaties/" + id + "/status" + strings.Join(query, ""))
	if r.Status != http.StatusOK {
		e.t.Fatalf("status %s: %d %s", id, r.Status, r.Body)
	}
	var st projections.Status
	r.JSON(e.t, &st)
	return st
}

func wantStatus(tb testing.TB, r response, want int) {
	tb.Helper()
	if r.Status != want {
		tb.Fatalf("status %d, want %d; body %s", r.Status, want, r.Body)
	}
}

// ratification is a valid act: Viet Nam signed in Hanoi on 25 Oct 2025.
func ratification() map[string]string {
	return map[string]string{"action": "ratification", "participant": "Vietnam", "date": "2026-05-04",
		"reference": "C.N.12.2026.TREATIES-XVIII.16", "source": "https://treaties.un.org/example"}
}

func mustDirectory(tb testing.TB, e *env) *events.Directory {
	tb.Helper()
	dir, err := e.Ledger.Directory(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func timeZero() time.Time { return time.Time{} }
