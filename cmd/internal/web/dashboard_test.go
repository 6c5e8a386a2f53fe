package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
)

// browser keeps the cookies a browser would (the test server is plain
// HTTP on loopback, where browsers accept Secure cookies but Go's cookie
// jar does not).
type browser struct {
	e       *env
	cookies map[string]*http.Cookie
}

func newBrowser(e *env) *browser { return &browser{e: e, cookies: map[string]*http.Cookie{}} }

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
			b.e.t.Errorf("cookie %s is not HttpOnly, Secure and SameSite=Strict", c.Name)
		}
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: body}
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfIn(tb testing.TB, r response) string {
	tb.Helper()
	m := csrfInput.FindSubmatch(r.Body)
	if m == nil {
		tb.Fatalf("no CSRF field in\n%s", r.Body)
	}
	return string(m[1])
}

// signIn signs the browser in with a token secret.
func (b *browser) signIn(tb testing.TB, secret string) {
	tb.Helper()
	page := b.get("/signin?next=/treaties/hanoi")
	wantStatus(tb, page, http.StatusOK)
	r := b.post("/signin", url.Values{"csrf": {csrfIn(tb, page)}, "token": {secret}, "next": {"/treaties/hanoi"}})
	wantStatus(tb, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/treaties/hanoi" {
		tb.Errorf("after sign-in: Location %q", r.Header.Get("Location"))
	}
	if b.cookies["tw_session"] == nil {
		tb.Fatal("no session cookie")
	}
}

func contains(tb testing.TB, r response, parts ...string) {
	tb.Helper()
	for _, p := range parts {
		if !bytes.Contains(r.Body, []byte(p)) {
			tb.Errorf("page does not contain %q", p)
		}
	}
}

func TestDashboardPages(t *testing.T) {
	e := MustEnv(t, envOptions{})
	b := newBrowser(e)

	home := b.get("/")
	wantStatus(t, home, http.StatusOK)
	contains(t, home, `<html lang="en">`, `href="#main"`, "Hanoi Convention", `<progress max="40" value="0"`, "0</strong> of <strong>40", "</strong> instruments counted; <strong>30</strong> were needed", "/static/style.css")
	if csp := home.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}

	tr := b.get("/treaties/hanoi")
	wantStatus(t, tr, http.StatusOK)
	contains(t, tr, `id="participants"`, `id="curve"`, `data-required="40"`, `id="treaty-chart"`, "Viet Nam", `name="as_of"`, "Milestones", "Latest acts", `aria-sort="ascending"`)
	if strings.Contains(string(tr.Body), "Record an action") {
		t.Error("an anonymous visitor sees the officer's actions")
	}
	// The page's chart starts on the day the treaty opened for signature
	// (25 Oct 2025, projections.OpenedForSignature), not on its adoption
	// (24 Dec 2024).
	chart := b.get("/treaties/hanoi/chart.svg")
	wantStatus(t, chart, http.StatusOK)
	contains(t, chart, "Step line of the instruments counted towards entry into force of Hanoi Convention from 25 Oct 2025 to ")

	asOf := b.get("/treaties/hanoi?as_of=2025-10-24")
	wantStatus(t, asOf, http.StatusOK)
	contains(t, asOf, `No participant has acted on this treaty by <time datetime="2025-10-24">24 Oct 2025</time>`)

	sorted := b.get("/treaties/hanoi?sort=signature&dir=desc")
	wantStatus(t, sorted, http.StatusOK)
	body := string(sorted.Body)
	body = body[strings.Index(body, `id="participants"`):]
	if first, late := strings.Index(body, "2025-11-19"), strings.Index(body, "2025-10-25"); first < 0 || first > late {
		t.Error("the no-JS fallback did not sort the latest signature first")
	}
	contains(t, sorted, `aria-sort="descending"`)

	wantStatus(t, b.get("/treaties/hanoi?as_of=2026-02-30"), http.StatusBadRequest)
	nf := b.get("/treaties/atlantis")
	wantStatus(t, nf, http.StatusNotFound)
	contains(t, nf, "unknown treaty")
	wantStatus(t, b.get("/no/such/page"), http.StatusNotFound)

	ev := b.get("/events?treaty=hanoi&type=act.signature&after=0")
	wantStatus(t, ev, http.StatusOK)
	contains(t, ev, "Signature by Algeria on 25 Oct 2025", "Next events")
	wantStatus(t, b.get("/events"), http.StatusOK)

	ps := b.get("/participants")
	wantStatus(t, ps, http.StatusOK)
	contains(t, ps, "Viet Nam")
	r := b.get("/participants?q=Vietnam")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/participants/Viet%20Nam" {
		t.Errorf("Location = %q", r.Header.Get("Location"))
	}
	wantStatus(t, b.get("/participants?q=Freedonia"), http.StatusNotFound)
	p := b.get("/participants/VNM")
	wantStatus(t, p, http.StatusOK)
	contains(t, p, "Viet Nam", "Hanoi Convention", `<time datetime="2025-10-25">25 Oct 2025</time>`, "South-eastern Asia")

	for _, asset := range []string{"/static/style.css", "/static/app.js"} {
		wantStatus(t, b.get(asset), http.StatusOK)
	}
	wantStatus(t, b.get("/static/"), http.StatusNotFound)
}

func TestOfficerRecordsThroughTheDashboard(t *testing.T) {
	e := MustEnv(t, envOptions{})
	b := newBrowser(e)

	r := b.get("/treaties/hanoi/record")
	wantStatus(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
		t.Errorf("Location = %q", r.Header.Get("Location"))
	}

	b.signIn(t, e.Officer)
	tr := b.get("/treaties/hanoi")
	contains(t, tr, "Signed in as <strong>Officer Ada</strong>", "Record an action")

	form := b.get("/treaties/hanoi/record")
	wantStatus(t, form, http.StatusOK)
	contains(t, form, `<label for="participant">`, `<datalist id="participant-names">`)
	csrf := csrfIn(t, form)
	values := url.Values{"action": {"ratification"}, "participant": {"Viet Nam"}, "date": {"2026-05-04"}, "reference": {"C.N.12.2026"}, "source": {"https://example.org/n"}}
	before := e.Head()

	t.Run("missing CSRF", func(t *testing.T) {
		r := b.post("/treaties/hanoi/record", values)
		wantStatus(t, r, http.StatusForbidden)
		contains(t, r, "CSRF")
	})
	t.Run("forged CSRF", func(t *testing.T) {
		forged := url.Values{"csrf": {"forged" + csrf}}
		for k, v := range values {
			forged[k] = v
		}
		wantStatus(t, b.post("/treaties/hanoi/record", forged), http.StatusForbidden)
	})
	t.Run("another session's CSRF", func(t *testing.T) {
		other := newBrowser(e)
		other.signIn(t, e.Admin)
		mine := url.Values{"csrf": {csrfIn(t, other.get("/treaties/hanoi/record"))}}
		for k, v := range values {
			mine[k] = v
		}
		wantStatus(t, b.post("/treaties/hanoi/record", mine), http.StatusForbidden)
	})
	if e.Head() != before {
		t.Fatal("a forged form wrote")
	}

	t.Run("refusal keeps the form", func(t *testing.T) {
		bad := url.Values{"csrf": {csrf}, "action": {"ratification"}, "participant": {"Germany"}, "date": {"2026-05-04"}}
		r := b.post("/treaties/hanoi/record", bad)
		wantStatus(t, r, http.StatusConflict)
		contains(t, r, "Germany has not signed", `value="Germany"`, `role="alert"`)
	})

	values.Set("csrf", csrf)
	r = b.post("/treaties/hanoi/record", values)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/treaties/XVIII-16?recorded=") {
		t.Fatalf("Location = %q", loc)
	}
	after := b.get(loc)
	// The confirmation says what was recorded, in words, at which position.
	pos := strings.TrimPrefix(loc, "/treaties/XVIII-16?recorded=")
	contains(t, after, "Ratification by Viet Nam on 4 May 2026 recorded, position "+pos+".", "1</strong> of <strong>40", `data-counted="1"`)
	h, _ := e.Ledger.History(t.Context(), hanoi, timeZero())
	last := h.Facts()[len(h.Facts())-1]
	if last.Participant != "Viet Nam" || last.Reference != "C.N.12.2026" {
		t.Errorf("last fact = %+v", last)
	}

	t.Run("viewer cannot record", func(t *testing.T) {
		v := newBrowser(e)
		v.signIn(t, e.Viewer)
		wantStatus(t, v.get("/treaties/hanoi/record"), http.StatusForbidden)
	})

	t.Run("sign out", func(t *testing.T) {
		r := b.post("/signout", url.Values{"csrf": {csrf}})
		wantStatus(t, r, http.StatusSeeOther)
		wantStatus(t, b.get("/treaties/hanoi/record"), http.StatusSeeOther)
	})
}

func TestSignIn(t *testing.T) {
	e := MustEnv(t, envOptions{})
	b := newBrowser(e)
	page := b.get("/signin")
	contains(t, page, `<label for="token">API token</label>`)
	r := b.post("/signin", url.Values{"csrf": {csrfIn(t, page)}, "token": {"tw_wrong"}})
	wantStatus(t, r, http.StatusUnauthorized)
	contains(t, r, "unknown or revoked")
	// Without the sign-in form's token (a login CSRF).
	fresh := newBrowser(e)
	wantStatus(t, fresh.post("/signin", url.Values{"token": {e.Officer}}), http.StatusForbidden)
	// An open redirect is refused.
	page = b.get("/signin")
	r = b.post("/signin", url.Values{"csrf": {csrfIn(t, page)}, "token": {e.Officer}, "next": {"//evil.example/"}})
	if r.Header.Get("Location") != "/" {
		t.Errorf("Location = %q; want /", r.Header.Get("Location"))
	}

	t.Run("revoked token ends the session", func(t *testing.T) {
		secret, tok, err := e.Ledger.CreateToken(t.Context(), "Officer Temp", "officer", events.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		s := newBrowser(e)
		s.signIn(t, secret)
		wantStatus(t, s.get("/treaties/hanoi/record"), http.StatusOK)
		wantStatus(t, e.Do(http.MethodDelete, "/api/v1/tokens/"+tok.ID, e.Admin, "", nil), http.StatusNoContent)
		wantStatus(t, s.get("/treaties/hanoi/record"), http.StatusSeeOther)
	})
}

func TestImportThroughTheDashboard(t *testing.T) {
	e := MustEnv(t, envOptions{})
	b := newBrowser(e)
	b.signIn(t, e.Officer)
	page := b.get("/treaties/hanoi/import")
	wantStatus(t, page, http.StatusOK)
	csrf := csrfIn(t, page)
	before := e.Head()

	bad := "participant,action,date\nViet Nam,ratification,2026-05-04\nFreedonia,ratification,2026-05-04\n"
	r := b.post("/treaties/hanoi/import", url.Values{"csrf": {csrf}, "step": {"preview"}, "csv": {bad}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	contains(t, r, `id="row-errors"`, `<td data-label="Line">3</td>`, "unknown participant")

	// A file upload, previewed: exactly what will be recorded.
	good := "participant,action,date,reference\nViet Nam,ratification,2026-05-04,C.N.1\nFrance,approval,2026-05-10,C.N.2\n"
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", csrf)
	_ = mw.WriteField("step", "preview")
	fw, _ := mw.CreateFormFile("file", "acts.csv")
	_, _ = fw.Write([]byte(good))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/treaties/hanoi/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r = b.do(req)
	wantStatus(t, r, http.StatusOK)
	contains(t, r, "Preview: 2 acts would be recorded", `id="preview"`, `<td data-label="Participant">Viet Nam</td>`, `<td data-label="Participant">France</td>`, "C.N.2", `id="confirm-import"`)
	if e.Head() != before {
		t.Fatal("a preview wrote")
	}
	// The confirmation posts the previewed CSV.
	r = b.post("/treaties/hanoi/import", url.Values{"csrf": {csrfIn(t, r)}, "step": {"commit"}, "csv": {good}})
	wantStatus(t, r, http.StatusSeeOther)
	if e.Head() != before+2 {
		t.Errorf("the import wrote %d events; want 2", e.Head()-before)
	}
	contains(t, b.get(r.Header.Get("Location")), "Imported 2 acts.", "2</strong> of <strong>40")
	// Without the CSRF token, nothing.
	wantStatus(t, b.post("/treaties/hanoi/import", url.Values{"step": {"commit"}, "csv": {good}}), http.StatusForbidden)
}

// The treaty page asked as known at a moment before the treaty was
// registered says that the ledger knew nothing of it then, not that the
// treaty is unknown.
func TestTreatyPageKnownAtBeforeRegistration(t *testing.T) {
	e := MustEnv(t, envOptions{})
	page := e.Get("/treaties/XVIII-16?known_at=2001-01-01T00:00:00Z")
	wantStatus(t, page, http.StatusNotFound)
	contains(t, page, "XVIII-16 was not yet registered in this ledger at 2001-01-01T00:00:00Z: the ledger knew nothing of it then")
	if strings.Contains(string(page.Body), "treaty add") {
		t.Error("the page tells the user to run treaty add for a treaty the ledger holds")
	}
}
