package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// requestInfo is what the request log learns while a request is served.
type requestInfo struct {
	id    string
	actor string
	token *events.Token
	sess  *session
}

type ctxKey int

const infoKey ctxKey = 0

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, infoKey, &requestInfo{id: id})
}

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

func requestIDOf(ctx context.Context) string { return info(ctx).id }
func actorOf(ctx context.Context) string     { return info(ctx).actor }

// tokenOf returns the verified token of the request, nil if none.
func tokenOf(ctx context.Context) *events.Token { return info(ctx).token }

// sessionOf returns the dashboard session of the request, nil if none.
func sessionOf(ctx context.Context) *session { return info(ctx).sess }

func setToken(ctx context.Context, t events.Token) {
	ri := info(ctx)
	ri.token, ri.actor = &t, t.Name
}

// tokenCache remembers verified tokens for a short time, so that a burst
// of requests does not fold the token streams each time; a revocation
// takes effect within the TTL (at once in this process).
type tokenCache struct {
	ledger *events.Ledger
	ttl    time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[[32]byte]cachedToken
}

type cachedToken struct {
	tok     events.Token
	expires time.Time
}

func newTokenCache(l *events.Ledger, ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{ledger: l, ttl: ttl, now: now, m: map[[32]byte]cachedToken{}}
}

// verify returns the live token of a secret, or an error wrapping
// events.ErrUnauthorized.
func (c *tokenCache) verify(ctx context.Context, secret string) (events.Token, error) {
	key := sha256.Sum256([]byte(secret))
	now := c.now()
	c.mu.Lock()
	if e, ok := c.m[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.tok, nil
	}
	c.mu.Unlock()
	tok, err := c.ledger.VerifyToken(ctx, secret)
	if err != nil {
		return events.Token{}, err
	}
	c.mu.Lock()
	if len(c.m) >= 1000 {
		clear(c.m)
	}
	c.m[key] = cachedToken{tok: tok, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return tok, nil
}

// forget drops every cached token, after a revocation.
func (c *tokenCache) forget() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// bearer returns the token of an Authorization: Bearer header, "" if none.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

// roleFor is the role an access level needs; "" for none.
func (s *Server) roleFor(a access) string {
	switch a {
	case public:
		return ""
	case reader:
		if s.cfg.Private {
			return events.RoleViewer
		}
	case officer:
		return events.RoleOfficer
	case admin:
		return events.RoleAdmin
	}
	return ""
}

// authAPI checks the bearer token a route needs: none (401), unknown or
// revoked (401), or a role too low (403).
func (s *Server) authAPI(a access, next http.Handler) http.Handler {
	role := s.roleFor(a)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role == "" {
			next.ServeHTTP(w, r)
			return
		}
		secret, present := bearer(r)
		if !present {
			s.writeError(w, r, unauthorized("this request needs a bearer token: Authorization: Bearer tw_…"))
			return
		}
		tok, err := s.tokens.verify(r.Context(), secret)
		if err != nil {
			if errors.Is(err, events.ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="treatywatch", error="invalid_token"`)
			}
			s.writeError(w, r, err)
			return
		}
		setToken(r.Context(), tok)
		if !tok.Allows(role) {
			s.writeError(w, r, forbiddenf("token %q has role %s; this request needs role %s", tok.Name, tok.Role, role))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Dashboard sessions: an opaque id in a cookie names a token secret kept
// in memory, re-verified (through the cache) on every request.

const (
	sessionCookie = "tw_session"
	signinCookie  = "tw_signin" // double-submit CSRF token of the sign-in form
	csrfField     = "csrf"
)

type session struct {
	id      string
	secret  string
	csrf    string
	created time.Time
	seen    time.Time
}

type sessionStore struct {
	max       int
	lifetime  time.Duration
	idle      time.Duration
	now       func() time.Time
	mu        sync.Mutex
	m         map[string]*session
	lastSweep time.Time
}

func newSessionStore(max int, lifetime, idle time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{max: max, lifetime: lifetime, idle: idle, now: now, m: map[string]*session{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (st *sessionStore) create(secret string) *session {
	now := st.now()
	sess := &session{id: randomToken(), secret: secret, csrf: randomToken(), created: now, seen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(now)
	if len(st.m) >= st.max {
		var oldest *session
		for _, s := range st.m {
			if oldest == nil || s.seen.Before(oldest.seen) {
				oldest = s
			}
		}
		delete(st.m, oldest.id)
	}
	st.m[sess.id] = sess
	return sess
}

func (st *sessionStore) get(id string) *session {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, ok := st.m[id]
	if !ok {
		return nil
	}
	if now.Sub(sess.created) > st.lifetime || now.Sub(sess.seen) > st.idle {
		delete(st.m, id)
		return nil
	}
	sess.seen = now
	cp := *sess
	return &cp
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	delete(st.m, id)
	st.mu.Unlock()
}

func (st *sessionStore) sweepLocked(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for id, s := range st.m {
		if now.Sub(s.created) > st.lifetime || now.Sub(s.seen) > st.idle {
			delete(st.m, id)
		}
	}
}

// cookie returns a hardened cookie: HttpOnly, Secure, SameSite=Strict.
// Browsers accept Secure cookies from http://localhost and 127.0.0.1.
func cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
}

// currentSession returns the request's live session and its token, or
// nils when it has none (or its token was revoked: the session ends).
func (s *Server) currentSession(r *http.Request) (*session, *events.Token) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess := s.sessions.get(c.Value)
	if sess == nil {
		return nil, nil
	}
	tok, err := s.tokens.verify(r.Context(), sess.secret)
	if err != nil {
		if errors.Is(err, events.ErrUnauthorized) {
			s.sessions.delete(sess.id)
		}
		return nil, nil
	}
	return sess, &tok
}

// authPage loads the session of a dashboard request and enforces what the
// route needs: a reader of a private instance or an officer without a
// session is sent to the sign-in page; a role too low is 403; a POST
// without the session's CSRF token is 403.
func (s *Server) authPage(a access, post bool, next http.Handler) http.Handler {
	role := s.roleFor(a)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, tok := s.currentSession(r)
		if tok != nil {
			setToken(r.Context(), *tok)
			info(r.Context()).sess = sess
		}
		if role != "" {
			if tok == nil {
				if post {
					s.renderError(w, r, forbiddenf("your session has ended; sign in again"))
					return
				}
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if !tok.Allows(role) {
				s.renderError(w, r, forbiddenf("you are signed in as %s (role %s); this page needs role %s", tok.Name, tok.Role, role))
				return
			}
		}
		if post && sess != nil && r.URL.Path != "/signin" {
			if err := parseForm(r); err != nil {
				s.renderError(w, r, err)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(sess.csrf)) != 1 {
				s.renderError(w, r, forbiddenf("the form's CSRF token is missing or wrong; reload the page and try again"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// parseForm parses a dashboard form, urlencoded or multipart: a body over
// its limit is 413, a malformed one 400. (ParseMultipartForm alone drops
// ParseForm's error on a urlencoded body, truncated or not.)
func parseForm(r *http.Request) error {
	err := r.ParseForm() //nolint:gosec // the body is bounded by the route's http.MaxBytesReader (wrap)
	if err == nil {
		if err = r.ParseMultipartForm(maxFormBody); errors.Is(err, http.ErrNotMultipart) { //nolint:gosec // bounded, as above
			err = nil
		}
	}
	var mbe *http.MaxBytesError
	if err == nil || errors.As(err, &mbe) {
		return err
	}
	return badRequestf("invalid form: %v", err)
}

// safeNext returns where to go after signing in: next when it is a path
// on this site, else "/". It refuses anything a browser could read as
// another site: a scheme or a host ("https://evil", "//evil"), a
// backslash ("/\\evil"), and any control, space or non-ASCII character,
// which browsers strip or fold ("/\t/evil" becomes "//evil").
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

func (s *Server) pageSignIn(w http.ResponseWriter, r *http.Request) error {
	return s.renderSignIn(w, r, http.StatusOK, "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	tok := randomToken()
	http.SetCookie(w, cookie(signinCookie, tok, "/signin", 3600))
	return s.render(w, r, status, "signin", map[string]any{
		"Next": safeNext(r.FormValue("next")), "SignInCSRF": tok, "Error": msg,
	})
}

func (s *Server) pageSignInPost(w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(signinCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		return forbiddenf("the sign-in form's CSRF token is missing or wrong; reload the page and try again")
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	tok, err := s.tokens.verify(r.Context(), secret)
	if err != nil {
		if errors.Is(err, events.ErrUnauthorized) {
			return s.renderSignIn(w, r, http.StatusUnauthorized, "That token is unknown or revoked.")
		}
		return err
	}
	sess := s.sessions.create(secret)
	http.SetCookie(w, cookie(sessionCookie, sess.id, "/", int(s.sessions.lifetime.Seconds())))
	http.SetCookie(w, cookie(signinCookie, "", "/signin", -1))
	s.logger.InfoContext(r.Context(), "signed in", "request_id", requestIDOf(r.Context()), "actor", tok.Name, "role", tok.Role)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther) //nolint:gosec // safeNext keeps local paths only
	return nil
}

func (s *Server) pageSignOut(w http.ResponseWriter, r *http.Request) error {
	if sess := sessionOf(r.Context()); sess != nil {
		s.sessions.delete(sess.id)
	}
	http.SetCookie(w, cookie(sessionCookie, "", "/", -1))
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// csrfOf returns the request's session CSRF token, "" without a session.
func csrfOf(ctx context.Context) string {
	if sess := sessionOf(ctx); sess != nil {
		return sess.csrf
	}
	return ""
}
