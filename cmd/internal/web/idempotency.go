package web

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// IdempotencyStore keeps the answers to writes sent with an
// Idempotency-Key header, so that a retried request gets the first answer
// and writes nothing more. The server scopes keys by token (the key it
// passes is "<token id>:<header value>") and serializes requests with the
// same key within the process. Implementations must be safe for concurrent
// use; the default keeps up to 10,000 answers in memory for 24 hours.
type IdempotencyStore interface {
	// Get returns the answer stored under key and true, or false when
	// there is none (or it expired).
	Get(ctx context.Context, key string) (StoredResponse, bool, error)
	// Put stores an answer under key, replacing any previous one.
	Put(ctx context.Context, key string, resp StoredResponse) error
}

// StoredResponse is a write's answer, kept for its retries.
type StoredResponse struct {
	// Fingerprint is the hex SHA-256 of the request's method, path, query
	// and body: a retry must match it, or the key was reused for another
	// request (422).
	Fingerprint string
	// Status, ContentType and Body are the answer replayed.
	Status      int
	ContentType string
	Body        []byte
}

// idempotencyHeader is the request header naming a write; replayed answers
// carry idempotencyReplayed: true.
const (
	idempotencyHeader   = "Idempotency-Key"
	idempotencyReplayed = "Idempotency-Replayed"
)

// storable reports whether an answer is final for its key. Answers that a
// retry may change (auth failures, concurrent-write conflicts, time-outs,
// server errors) are not kept.
func storable(status int) bool {
	switch {
	case status >= 500:
		return false
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusConflict,
		status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status == statusClientClosed:
		return false
	}
	return status >= 200
}

func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idempotency makes a write with an Idempotency-Key header safe to retry:
// the first answer is stored per token and key and replayed to retries.
// It runs after authentication.
func (s *Server) idempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(idempotencyHeader)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 {
			s.writeError(w, r, badRequestf("%s is longer than 255 characters", idempotencyHeader))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("read body: %w", err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		tokenID := ""
		if t := tokenOf(r.Context()); t != nil {
			tokenID = t.ID
		}
		scoped := tokenID + ":" + key
		fp := fingerprint(r, body)
		unlock := s.locks.lock(scoped)
		defer unlock()
		stored, ok, err := s.cfg.Idempotency.Get(r.Context(), scoped)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("idempotency store: %w", err))
			return
		}
		if ok {
			if stored.Fingerprint != fp {
				s.writeError(w, r, &apiError{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
					Message: fmt.Sprintf("%s %q was already used for a different request; use a new key for a new request", idempotencyHeader, key)})
				return
			}
			w.Header().Set("Content-Type", stored.ContentType)
			w.Header().Set(idempotencyReplayed, "true")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(stored.Body)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if storable(rec.status) {
			resp := StoredResponse{Fingerprint: fp, Status: rec.status, ContentType: w.Header().Get("Content-Type"), Body: rec.buf.Bytes()}
			if err := s.cfg.Idempotency.Put(context.WithoutCancel(r.Context()), scoped, resp); err != nil {
				s.logger.ErrorContext(r.Context(), "idempotency store", "request_id", requestIDOf(r.Context()), "err", err)
			}
		}
	})
}

// recorder copies an answer while passing it through.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// memoryIdempotency is the default IdempotencyStore: an LRU of bounded
// size whose entries expire.
type memoryIdempotency struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memoryEntry struct {
	key     string
	resp    StoredResponse
	expires time.Time
}

func newMemoryIdempotency(max int, ttl time.Duration, now func() time.Time) *memoryIdempotency {
	return &memoryIdempotency{max: max, ttl: ttl, now: now, order: list.New(), items: map[string]*list.Element{}}
}

func (m *memoryIdempotency) Get(_ context.Context, key string) (StoredResponse, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return StoredResponse{}, false, nil
	}
	e := el.Value.(*memoryEntry)
	if !m.now().Before(e.expires) {
		m.order.Remove(el)
		delete(m.items, key)
		return StoredResponse{}, false, nil
	}
	m.order.MoveToFront(el)
	return e.resp, true, nil
}

func (m *memoryIdempotency) Put(_ context.Context, key string, resp StoredResponse) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok {
		m.order.Remove(el)
		delete(m.items, key)
	}
	m.items[key] = m.order.PushFront(&memoryEntry{key: key, resp: resp, expires: m.now().Add(m.ttl)})
	for m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.items, last.Value.(*memoryEntry).key)
	}
	return nil
}

// keyedMutex serializes the requests that share a key.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{locks: map[string]*keyLock{}} }

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
