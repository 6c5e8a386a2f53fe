package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// statusWriter records the status and size of a response. It unwraps, so
// http.ResponseController reaches the connection (flushing, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer, for the live stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestIDHeader carries a request's id; an incoming one is kept when it
// looks sane.
const requestIDHeader = "X-Request-Id"

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// observe wraps the router: request id, security headers, recovery from
// panics, JSON or HTML answers for unrouted requests, the request log and
// the latency histogram labelled by route pattern.
func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.clock()
		id := r.Header.Get(requestIDHeader)
		if !saneID(id) {
			id = newRequestID()
		}
		h := w.Header()
		h.Set(requestIDHeader, id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(withRequestID(r.Context(), id))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.ErrorContext(r.Context(), "panic serving request", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := s.clock().Sub(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.latency.WithLabelValues(r.Method, route, strconv.Itoa(status)).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelError
			case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/static/"):
				level = slog.LevelDebug
			}
			s.logger.Log(r.Context(), level, "http request",
				"request_id", id, "method", r.Method, "route", route, "path", r.URL.Path,
				"status", status, "bytes", sw.bytes, "duration", elapsed.Round(time.Microsecond),
				"remote", r.RemoteAddr, "actor", actorOf(r.Context()))
		}()
		if _, pattern := mux.Handler(r); pattern == "" {
			s.unrouted(sw, r, mux)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// unrouted answers a request no route matches: 405 with Allow when the
// path exists for another method, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	var err error
	if len(allow) > 0 {
		if allow[0] == http.MethodGet {
			allow = append([]string{http.MethodGet, http.MethodHead}, allow[1:]...)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		err = &apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))}
	} else {
		err = notFoundf("no such page or endpoint: %s", r.URL.Path)
	}
	if isAPIPath(r.URL.Path) || r.Method != http.MethodGet {
		s.writeError(w, r, err)
		return
	}
	s.renderError(w, r, err)
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/slack/")
}
