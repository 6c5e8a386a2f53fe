package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The API tests' server checks every request it is sent and every answer
// it gives against openapi.json, with kin-openapi's openapi3filter: an
// answer must be one the document declares for its operation (status,
// headers, body schema), and a request the document says is invalid must
// be refused — a 4xx, or a page's redirect to the sign-in — as the server
// must refuse what the document refuses. A request to a path the document
// does not describe must be answered 404 or 405 (or the mux's redirect to
// a clean path). A HEAD is checked as its GET. What fails is reported
// when the test ends.

// maxValidatedBody is how much of a request or answer body is kept for
// validation; a longer one (an event stream, a 10 MiB import) has its
// status and headers checked, not its body.
const maxValidatedBody = 4 << 20

// openAPIDoc is openapi.json, loaded and validated once.
var openAPIDoc = sync.OnceValues(func() (routers.Router, error) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	doc.Servers = nil // match any host: the tests' servers listen on random ports
	// Bodies that are not JSON are checked as the strings the document
	// says they are (a definition is YAML text, not an object).
	for _, ct := range []string{"application/yaml", "text/html", "text/event-stream", "text/csv", "application/x-ndjson", "application/jsonl", "application/atom+xml", "image/svg+xml", "text/css", "application/javascript", "text/javascript", "image/png", "image/x-icon"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	return gorillamux.NewRouter(doc)
})

// authenticate checks that a request carries the credential a security
// scheme names; whether it is a good one is the server's to say.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearer":
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "session":
		if _, err := r.Cookie("tw_session"); err == nil {
			return nil
		}
	case "slackSignature":
		if r.Header.Get("X-Slack-Signature") != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s credential", in.SecuritySchemeName)
}

// openAPIChecker wraps a handler with the checks; it records what fails.
type openAPIChecker struct {
	router routers.Router
	next   http.Handler
	mu     sync.Mutex
	fails  []string
	seen   int
}

func (c *openAPIChecker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fails) < 50 {
		c.fails = append(c.fails, fmt.Sprintf(format, args...))
	}
}

// capturingBody keeps what the handler reads of a request body.
type capturingBody struct {
	io.ReadCloser
	buf bytes.Buffer
	eof bool
}

func (b *capturingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.buf.Len() < maxValidatedBody {
		b.buf.Write(p[:n])
	}
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// recorder passes an answer through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	over   bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(p) <= maxValidatedBody {
		r.body.Write(p)
	} else {
		r.over = true
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (deadlines,
// flushes of the event stream).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush flushes the event stream.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *openAPIChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// What the document says of the request, before the handler runs:
	// the route; the body is checked afterwards, as the handler read it,
	// so that slow and oversized bodies meet the server's own limits.
	// A HEAD is answered as its GET (net/http): it is checked as the GET.
	find := r
	if r.Method == http.MethodHead {
		find = r.Clone(r.Context())
		find.Method = http.MethodGet
	}
	route, params, routeErr := c.router.FindRoute(find)
	reqCopy := r.Clone(context.WithoutCancel(r.Context()))
	var body *capturingBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &capturingBody{ReadCloser: r.Body}
		r.Body = body
	}
	rec := &recorder{ResponseWriter: w}
	c.next.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	c.mu.Lock()
	c.seen++
	c.mu.Unlock()
	// 499 is the request log's word for a client that left before its
	// answer (errors.go: a browser leaving a page whose chart image is
	// still loading): nothing reached anyone, so there is nothing to check.
	if rec.status == 499 && r.Context().Err() != nil {
		return
	}
	key := r.Method + " " + r.URL.RequestURI()
	if routeErr != nil {
		// net/http's mux redirects a path that is not clean ("/static/./")
		// to the clean one.
		redirect := rec.status == http.StatusMovedPermanently || rec.status == http.StatusTemporaryRedirect || rec.status == http.StatusPermanentRedirect
		if rec.status != http.StatusNotFound && rec.status != http.StatusMethodNotAllowed && !redirect {
			c.fail("%s: not in openapi.json (%v), yet answered %d", key, routeErr, rec.status)
		}
		return
	}
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true, MultiError: true}
	reqCopy.Method = find.Method
	in := &openapi3filter.RequestValidationInput{Request: reqCopy, PathParams: params, Route: route, Options: opts}
	reqOpts := *opts
	switch {
	case body == nil:
		reqCopy.Body = http.NoBody
	case body.eof && body.buf.Len() < maxValidatedBody:
		reqCopy.Body = io.NopCloser(bytes.NewReader(body.buf.Bytes()))
		reqCopy.ContentLength = int64(body.buf.Len())
	default: // the handler stopped reading (a limit, a timeout) or it is too long to keep
		reqOpts.ExcludeRequestBody = true
		reqCopy.Body = http.NoBody
	}
	in.Options = &reqOpts
	// A refusal is a 4xx, or for a page the redirect to the sign-in.
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && rec.status < 300 {
		c.fail("%s: openapi.json refuses this request (%v), yet it was answered %d", key, err, rec.status)
	}
	in.Options = opts
	respOpts := *opts
	respOpts.ExcludeResponseBody = rec.over || r.Method == http.MethodHead
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.status, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Options: &respOpts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.fail("%s → %d %s: the answer is not one openapi.json declares: %v", key, rec.status, truncate(rec.body.String(), 300), err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// checkAgainstOpenAPI returns h wrapped with the checks; what fails is
// reported as test errors when the test ends, after the server closed
// (register it before the server's own cleanup).
func checkAgainstOpenAPI(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	router, err := openAPIDoc()
	if err != nil {
		tb.Fatal(err)
	}
	c := &openAPIChecker{router: router, next: h}
	tb.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, f := range c.fails {
			tb.Errorf("openapi: %s", f)
		}
	})
	return c
}

// TestTheOpenAPICheckerCatchesWhatTheDocumentDoesNotSay: the checker
// reports an answer outside the document (an undeclared status, a body
// against its schema), a request the document refuses that was accepted,
// and an undescribed path that was answered; it passes a declared answer.
func TestTheOpenAPICheckerCatchesWhatTheDocumentDoesNotSay(t *testing.T) {
	router, err := openAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, auth string
		status                   int
		body                     string
		want                     string // "" passes
	}{
		{"a declared answer", http.MethodGet, "/healthz", "", 200, `{"status":"ok"}`, ""},
		{"an undeclared status", http.MethodGet, "/healthz", "", http.StatusTeapot, "", "status is not supported"},
		{"a body against its schema", http.MethodGet, "/api/v1/treaties/hanoi/status", "", 200, `{"treaty":7}`, "the answer is not one openapi.json declares"},
		{"an undescribed path answered", http.MethodPost, "/api/v1/treaties/hanoi/retraction-typo", "", 201, "{}", "not in openapi.json"},
		{"a write without a token, accepted", http.MethodDelete, "/api/v1/tokens/abc", "", 204, "", "openapi.json refuses this request"},
		{"the same write refused", http.MethodDelete, "/api/v1/tokens/abc", "", 401, `{"code":"unauthorized","message":"no token","details":{}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &openAPIChecker{router: router, next: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})}
			req := httptestRequest(t, tc.method, tc.path)
			c.ServeHTTP(discardWriter{header: http.Header{}}, req)
			got := strings.Join(c.fails, "\n")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("fails = %q, want %q", got, tc.want)
			}
		})
	}
}

func httptestRequest(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://127.0.0.1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}
