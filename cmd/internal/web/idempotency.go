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

	"github.com/treatywatch/treatywatch/events"
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
	maxIdempotencyKey   = 255
)

// storable reports whether an answer the handler wrote is final for its
// key. Answers that a retry may change (auth failures, concurrent-write
// conflicts, time-outs, server errors) are not kept.
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

// checkIdempotencyKey refuses a key that is too long or holds anything but
// printable ASCII.
func checkIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKey {
		return badRequestf("%s is longer than %d characters", idempotencyHeader, maxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return badRequestf("%s may hold only printable ASCII characters; byte %d is 0x%02x", idempotencyHeader, i+1, c)
		}
	}
	return nil
}

// answerFunc turns a write's result (what the Ledger returned: an
// *events.Envelope, an *events.ImportResult, or nil when nothing was
// written) into the answer kept for the retries of the request: a status
// and a value written as JSON (nil: no body).
type answerFunc func(result any) (status int, body any)

// keyedWrite is the state of a write made with an Idempotency-Key, shared
// by the idempotency middleware and the handler through the context.
type keyedWrite struct {
	key, fingerprint string
	durable          bool // the ledger's store keeps answers with appends

	mu    sync.Mutex
	keep  answerFunc
	inTx  bool           // the answer was built inside an append's transaction
	after *events.Answer // the answer to keep after the handler, if not inTx
}

type keyedWriteKey struct{}

func keyedWriteOf(ctx context.Context) *keyedWrite {
	kw, _ := ctx.Value(keyedWriteKey{}).(*keyedWrite)
	return kw
}

// answerOf builds the answer a keep function gives for a result.
func (kw *keyedWrite) answerOf(keep answerFunc, result any) (events.Answer, error) {
	status, v := keep(result)
	a := events.Answer{Key: kw.key, Fingerprint: kw.fingerprint, Status: status}
	if v != nil {
		b, err := encodeJSON(v)
		if err != nil {
			return events.Answer{}, err
		}
		a.ContentType, a.Body = jsonContentType, b
	}
	return a, nil
}

// answering declares, before a write, the answer kept for the request's
// retries. With a durable IdempotencyStore the ledger's store keeps it in
// the transaction of the write's append, so the answer exists exactly
// when the write does. Without an Idempotency-Key it does nothing.
func (s *Server) answering(r *http.Request, keep answerFunc) *http.Request {
	kw := keyedWriteOf(r.Context())
	if kw == nil {
		return r
	}
	kw.mu.Lock()
	kw.keep = keep
	kw.mu.Unlock()
	if !kw.durable {
		return r
	}
	ctx := events.WithAnswer(r.Context(), func(result any) (events.Answer, error) {
		a, err := kw.answerOf(keep, result)
		if err != nil {
			return events.Answer{}, err
		}
		kw.mu.Lock()
		kw.inTx = true
		kw.mu.Unlock()
		return a, nil
	})
	return r.WithContext(ctx)
}

// reply writes a write's answer: the one its keep function gives, unless
// live (the answer to this request only, such as a new token's secret)
// is given. When the answer was not kept with the write's append (no
// append, or a store that cannot), it is kept after.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, result any, keep answerFunc, live answerFunc) {
	if live == nil {
		live = keep
	}
	status, v := live(result)
	if v == nil {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
	} else {
		writeJSON(w, status, v)
	}
	kw := keyedWriteOf(r.Context())
	if kw == nil {
		return
	}
	kw.mu.Lock()
	defer kw.mu.Unlock()
	if kw.inTx {
		return
	}
	a, err := kw.answerOf(keep, result)
	if err != nil {
		s.logger.ErrorContext(r.Context(), "idempotency answer", "request_id", requestIDOf(r.Context()), "err", err)
		return
	}
	kw.after = &a
}

// idempotency makes a write with an Idempotency-Key header safe to retry:
// the first answer is kept per token and key and replayed to retries. It
// runs after authentication. A route whose answer holds a secret keeps
// only the answer its handler declares (see answering), never the one it
// sent.
func (s *Server) idempotency(rt route, next http.Handler) http.Handler {
	durable := false
	if d, ok := s.cfg.Idempotency.(interface{ keepsWithAppends() bool }); ok {
		durable = d.keepsWithAppends()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(idempotencyHeader)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if err := checkIdempotencyKey(key); err != nil {
			s.writeError(w, r, err)
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
			if stored.ContentType != "" {
				w.Header().Set("Content-Type", stored.ContentType)
			}
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set(idempotencyReplayed, "true")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(stored.Body)
			return
		}
		kw := &keyedWrite{key: scoped, fingerprint: fp, durable: durable}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), keyedWriteKey{}, kw)))
		kw.mu.Lock()
		inTx, after := kw.inTx, kw.after
		kw.mu.Unlock()
		var resp StoredResponse
		switch {
		case inTx && rec.status >= 200 && rec.status < 300:
			return // kept with the write's events
		case after != nil:
			resp = StoredResponse{Fingerprint: fp, Status: after.Status, ContentType: after.ContentType, Body: after.Body}
		case storable(rec.status) && !rt.secretAnswer:
			resp = StoredResponse{Fingerprint: fp, Status: rec.status, ContentType: w.Header().Get("Content-Type"), Body: rec.buf.Bytes()}
		default:
			return
		}
		if err := s.cfg.Idempotency.Put(context.WithoutCancel(r.Context()), scoped, resp); err != nil {
			s.logger.ErrorContext(r.Context(), "idempotency store", "request_id", requestIDOf(r.Context()), "err", err)
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
