package web_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
)

func TestSafeNext(t *testing.T) {
	for _, ok := range []string{"/", "/treaties/hanoi", "/treaties/hanoi?as_of=2026-06-01&sort=eif#participants", "/participants/Viet%20Nam", "/signin?next=%2F"} {
		if got := web.SafeNext(ok); got != ok {
			t.Errorf("SafeNext(%q) = %q, want it kept", ok, got)
		}
	}
	for _, bad := range []string{
		"", "https://evil.example/", "http://evil.example", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
		"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", " /x", "/x y", "/\x00", "/\x7f", "javascript:alert(1)", "evil.example",
		"http:/evil.example", "https:evil.example", "/%2F/evil.example", "/ﾟ/evil", "/\u2215\u2215evil.example", "//user@evil.example",
		"/" + strings.Repeat("a", 3000),
	} {
		if got := web.SafeNext(bad); got != "/" {
			t.Errorf("SafeNext(%q) = %q, want /", bad, got)
		}
	}
}

// TestSignInRedirectsOnlyToLocalPaths posts the sign-in form with hostile
// next values: the answer goes to "/", and the sign-in page's hidden
// field carries only a safe path.
func TestSignInRedirectsOnlyToLocalPaths(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for _, next := range []string{"https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "/%2F/evil.example"} {
		b := newBrowser(e)
		page := b.get("/signin?next=" + url.QueryEscape(next))
		wantStatus(t, page, http.StatusOK)
		if strings.Contains(string(page.Body), "evil.example") || strings.Contains(string(page.Body), "javascript:") {
			t.Errorf("the sign-in page carries next=%q", next)
		}
		r := b.post("/signin", url.Values{"csrf": {csrfIn(t, page)}, "token": {e.Officer}, "next": {next}})
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q: Location %q, want /", next, loc)
		}
	}
}

// TestSessionCookieAndCSRF checks the session cookie's attributes, that
// each sign-in gets a new session, that the sign-in and sign-out forms
// need their CSRF tokens (403), and that a signed-out session is dead.
func TestSessionCookieAndCSRF(t *testing.T) {
	e := MustEnv(t, envOptions{})
	b := newBrowser(e)
	page := b.get("/signin")
	wantStatus(t, page, http.StatusOK)
	for name, csrf := range map[string][]string{"missing": nil, "forged": {"forged"}, "empty": {""}} {
		form := url.Values{"token": {e.Officer}, "next": {"/"}}
		if csrf != nil {
			form["csrf"] = csrf
		}
		r := b.post("/signin", form)
		if r.Status != http.StatusForbidden || b.cookies["tw_session"] != nil {
			t.Errorf("sign-in with a %s CSRF token: %d, session %v", name, r.Status, b.cookies["tw_session"])
		}
	}
	// Another browser's sign-in CSRF token (its cookie is not this one's).
	other := newBrowser(e)
	r := b.post("/signin", url.Values{"csrf": {csrfIn(t, other.get("/signin"))}, "token": {e.Officer}})
	wantStatus(t, r, http.StatusForbidden)
	// A wrong token: 401 on the page, no session.
	page = b.get("/signin")
	r = b.post("/signin", url.Values{"csrf": {csrfIn(t, page)}, "token": {"tw_" + strings.Repeat("0", 64)}})
	if r.Status != http.StatusUnauthorized || b.cookies["tw_session"] != nil {
		t.Errorf("sign-in with an unknown token: %d", r.Status)
	}

	// The session cookie, raw.
	page = b.get("/signin")
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/signin", strings.NewReader(url.Values{"csrf": {csrfIn(t, page)}, "token": {e.Officer}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "tw_signin", Value: b.cookies["tw_signin"].Value})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var raw string
	for _, h := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "tw_session=") {
			raw = h
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(raw, attr) {
			t.Errorf("session cookie %q lacks %s", raw, attr)
		}
	}

	b.signIn(t, e.Officer)
	first := b.cookies["tw_session"].Value
	b2 := newBrowser(e)
	b2.signIn(t, e.Officer)
	if b2.cookies["tw_session"].Value == first {
		t.Error("two sign-ins share a session id")
	}
	// Sign-out needs the session's CSRF token.
	r = b.post("/signout", url.Values{"csrf": {"forged"}})
	wantStatus(t, r, http.StatusForbidden)
	r = b.post("/signout", url.Values{})
	wantStatus(t, r, http.StatusForbidden)
	if !strings.Contains(string(b.get("/").Body), "Signed in as") {
		t.Fatal("a forged sign-out ended the session")
	}
	r = b.post("/signout", url.Values{"csrf": {csrfIn(t, b.get("/"))}})
	wantStatus(t, r, http.StatusSeeOther)
	// The old cookie, replayed, is no session.
	stale := newBrowser(e)
	stale.cookies["tw_session"] = &http.Cookie{Name: "tw_session", Value: first}
	if strings.Contains(string(stale.get("/").Body), "Signed in as") {
		t.Error("a signed-out session id still signs in")
	}
	wantStatus(t, stale.get("/treaties/hanoi/record"), http.StatusSeeOther)
	// An officer page's forms: a session but a forged token.
	b2page := b2.get("/treaties/hanoi/import")
	wantStatus(t, b2page, http.StatusOK)
	r = b2.post("/treaties/hanoi/import", url.Values{"csrf": {"forged"}, "csv": {"participant,action,date\nViet Nam,ratification,2026-05-04\n"}, "step": {"commit"}})
	wantStatus(t, r, http.StatusForbidden)
}

// TestMethodsNotAllowed: a known path with another method is 405 with an
// Allow header listing the methods it takes (GET with HEAD).
func TestMethodsNotAllowed(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPatch, "/api/v1/treaties", "GET, HEAD, POST, PUT"},
		{http.MethodDelete, "/api/v1/treaties/hanoi", "GET, HEAD"},
		{http.MethodPut, "/api/v1/treaties/hanoi/actions", "POST"},
		{http.MethodGet, "/api/v1/treaties/hanoi/actions", "POST"},
		{http.MethodOptions, "/api/v1/tokens", "GET, HEAD, POST"},
		{"TRACE", "/healthz", "GET, HEAD"},
		{http.MethodPost, "/metrics", "GET, HEAD"},
		{http.MethodGet, "/slack/commands", "POST"},
		{http.MethodPut, "/treaties/hanoi/record", "GET, HEAD, POST"},
		{http.MethodDelete, "/signout", "POST"},
	} {
		r := e.Do(c.method, c.path, e.Admin, "", nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, r.Status, r.Header.Get("Allow"), c.allow)
		}
	}
	wantStatus(t, e.Do(http.MethodHead, "/api/v1/treaties", "", "", nil), http.StatusOK)
	wantStatus(t, e.Do(http.MethodGet, "/api/v1/nope", "", "", nil), http.StatusNotFound)
}

// TestStaticFilesStayInside requests the static files' route with paths
// that climb out of it: none serves anything but the embedded static
// files, and no folder is listed.
func TestStaticFilesStayInside(t *testing.T) {
	e := MustEnv(t, envOptions{})
	wantStatus(t, e.Get("/static/app.js"), http.StatusOK)
	for _, p := range []string{
		"/static/", "/static", "/static/../openapi.json", "/static/..%2fopenapi.json", "/static/%2e%2e/templates/layout.html",
		"/static/%2e%2e%2f%2e%2e%2fgo.mod", "/static/....//openapi.json", "/static/..\\openapi.json", "/static/app.js/", "/static/./",
		"/static/%00", "/static/app.js%00.html", "/static//etc/passwd", "/static/..;/openapi.json", "/static/templates/layout.html",
	} {
		req, err := http.NewRequest(http.MethodGet, e.URL+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawPath, req.URL.Path = "", "" // send the path as written
		req.URL.Opaque = p
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t.Logf("GET %s → %d %s", p, res.StatusCode, res.Header.Get("Location"))
		switch {
		case res.StatusCode == http.StatusOK:
			t.Errorf("GET %s: 200 %.80q", p, body)
		case res.StatusCode >= 300 && res.StatusCode < 400:
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Errorf("GET %s redirects to %q", p, loc)
			}
		}
		for _, leak := range []string{`"openapi"`, "{{define", "module github.com"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("GET %s leaks %s", p, leak)
			}
		}
	}
}

// runServer serves e's ledger through Run on a loopback listener, with
// short read timeouts.
func runServer(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{Listener: ln, Ledger: e.Ledger, Log: e.Store, Runner: e.Runner, Now: today,
		ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 700 * time.Millisecond, ShutdownTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestRunLimitsHeadersAndSlowClients: a header block over 64 KiB is 431;
// a client that trickles its headers is cut off; a body that does not
// arrive in time is 408, and nothing is written.
func TestRunLimitsHeadersAndSlowClients(t *testing.T) {
	e := MustEnv(t, envOptions{})
	addr := runServer(t, e)
	before := e.Head()

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 70<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 70 KiB header: %d, want 431", res.StatusCode)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(conn) // the server closes the connection
	if err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("a client trickling its headers was not cut off within 10 s")
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second || strings.Contains(string(rest), "200 OK") {
		t.Errorf("slow headers: cut off after %v with %q", elapsed, rest)
	}

	body := `{"action":"ratification","participant":"Viet Nam","date":"2026-05-04"}`
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	head := "POST /api/v1/treaties/hanoi/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.Officer +
		"\r\nContent-Type: application/json\r\nIdempotency-Key: slow-1\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn2, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	_ = conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	res2, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatalf("a slow body got no answer: %v", err)
	}
	b, _ := io.ReadAll(res2.Body)
	if res2.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "request_timeout") {
		t.Errorf("a slow body: %d %s, want 408", res2.StatusCode, b)
	}
	if e.Head() != before {
		t.Errorf("the log moved from %d to %d", before, e.Head())
	}
	// The key was not spent on the timeout: the full request is recorded.
	r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, map[string]string{"action": "ratification", "participant": "Viet Nam", "date": "2026-05-04"}, "Idempotency-Key: slow-1")
	wantStatus(t, r, http.StatusCreated)
}

func itoa(n int) string { return strconv.Itoa(n) }
