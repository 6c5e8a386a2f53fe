package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/treatywatch/treatywatch/projections"
)

// maxCachedBodies and maxCachedBytes bound the encoded answers kept by
// bodyCache, in number and in bytes.
const (
	maxCachedBodies = 512
	maxCachedBytes  = 32 << 20
)

// bodyCache keeps the encoded JSON of read answers that depend only on a
// treaty's standing at a date (its status, participant table, timeline),
// keyed by route, treaty and date, and valid while the read side's Stamp of
// the treaty is unchanged: a busy dashboard or API client asking for the
// same status again costs a map lookup, not an encoding of the whole
// participant table. It is safe for concurrent use.
type bodyCache struct {
	mu     sync.Mutex
	m      map[string]cachedBody
	bytes  int
	flight map[string]*building // answers being built, by key and stamp
}

// building is an answer one request is building for every request that
// asks for the same key and stamp meanwhile: after a write, the readers of
// a busy treaty wait for one encoding instead of each doing it.
type building struct {
	done    chan struct{}
	waiting int // requests waiting for it
	body    []byte
	err     error // build's error, or errEncode
}

type cachedBody struct {
	stamp string
	body  []byte
}

func (c *bodyCache) get(key, stamp string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[key]
	return b.body, ok && b.stamp == stamp
}

func (c *bodyCache) put(key, stamp string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedBody{}
	}
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.body)
		delete(c.m, key)
	}
	if len(body) > maxCachedBytes/4 {
		return // too large to be worth keeping
	}
	for k, b := range c.m {
		if len(c.m) < maxCachedBodies && c.bytes+len(body) <= maxCachedBytes {
			break
		}
		c.bytes -= len(b.body)
		delete(c.m, k)
	}
	c.m[key] = cachedBody{stamp: stamp, body: body}
	c.bytes += len(body)
}

// writeCachedJSON answers 200 with the JSON that build encodes for key,
// from the cache while stamp holds. build's errors are returned as they
// are (nothing is cached then). Requests for the same key and stamp while
// one builds it wait for that one's answer.
func (s *Server) writeCachedJSON(w http.ResponseWriter, key, stamp string, build func() (any, error)) error {
	return s.writeCachedBody(w, key, stamp, func() ([]byte, error) {
		v, err := build()
		if err != nil {
			return nil, err
		}
		b, err := encodeJSON(v)
		if err != nil {
			return nil, errEncode
		}
		return b, nil
	})
}

// writeCachedBody is writeCachedJSON for a build that encodes the body
// itself.
func (s *Server) writeCachedBody(w http.ResponseWriter, key, stamp string, build func() ([]byte, error)) error {
	b, err := s.bodies.answer(key, stamp, build)
	switch {
	case errors.Is(err, errEncode):
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal", "message": "cannot encode the response"})
		return nil
	case err != nil:
		return err
	}
	writeRawJSON(w, http.StatusOK, b)
	return nil
}

// statusBodies builds the status and participant-table answers of one
// treaty and date, with the participant rows (nearly all of either
// answer's bytes) encoded once, under rowsKey, for both: whole rows with
// full, summaryRows otherwise.
type statusBodies struct {
	s       *Server
	rowsKey string
	stamp   string
	full    bool
}

// rows returns the JSON array of st's participant rows.
func (sb statusBodies) rows(st projections.Status) ([]byte, error) {
	return sb.s.bodies.answer(sb.rowsKey, sb.stamp, func() ([]byte, error) {
		rows := st.Participants
		if rows == nil {
			rows = []projections.Participation{}
		}
		return appendRows(make([]byte, 0, 256*len(rows)), rows, sb.full)
	})
}

// status returns the status answer: st encoded with its rows spliced in,
// byte for byte what encodeJSON gives for statusAnswer(st, sb.full).
func (sb statusBodies) status(st projections.Status) ([]byte, error) {
	if st.Participants == nil {
		return encodeJSON(statusAnswer(st, sb.full)) // "participants": null, and nothing to share
	}
	rows, err := sb.rows(st)
	if err != nil {
		return nil, err
	}
	head := st
	head.Participants = nil
	b, err := json.Marshal(head)
	if err != nil {
		return nil, errEncode
	}
	const tail = `"participants":null}`
	if !bytes.HasSuffix(b, []byte(tail)) { // Participants is no longer the last field
		return encodeJSON(statusAnswer(st, sb.full))
	}
	b = append(b[:len(b)-len("null}")], rows...)
	return append(b, '}', '\n'), nil
}

// participants returns the participant-table answer, byte for byte what
// encodeJSON gives for participantsAnswer(st, sb.full).
func (sb statusBodies) participants(st projections.Status) ([]byte, error) {
	rows, err := sb.rows(st)
	if err != nil {
		return nil, err
	}
	asOf, err1 := json.Marshal(st.AsOf)
	treaty, err2 := json.Marshal(st.Treaty)
	if err1 != nil || err2 != nil {
		return nil, errEncode
	}
	b := make([]byte, 0, len(rows)+len(asOf)+len(treaty)+48)
	b = append(append(append(b, `{"as_of":`...), asOf...), `,"participants":`...)
	b = append(append(append(b, rows...), `,"treaty":`...), treaty...)
	return append(b, '}', '\n'), nil
}

// errEncode is a body's encoding failure.
var errEncode = errors.New("cannot encode the response")

// answer returns the body kept for key at stamp, or the one a concurrent
// request is building, or builds it (and keeps it).
func (c *bodyCache) answer(key, stamp string, build func() ([]byte, error)) ([]byte, error) {
	if b, ok := c.get(key, stamp); ok {
		return b, nil
	}
	fk := key + "\x00" + stamp
	c.mu.Lock()
	if f, ok := c.flight[fk]; ok {
		f.waiting++
		c.mu.Unlock()
		<-f.done
		return f.body, f.err
	}
	if c.flight == nil {
		c.flight = map[string]*building{}
	}
	f := &building{done: make(chan struct{}), err: errEncode} // what waiters get if build panics
	c.flight[fk] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.flight, fk)
		c.mu.Unlock()
		close(f.done)
	}()
	f.body, f.err = build()
	if f.err == nil {
		c.put(key, stamp, f.body)
	}
	return f.body, f.err
}

// statusAnswer is what a status answer encodes: st itself with full, its
// statusSummary otherwise.
func statusAnswer(st projections.Status, full bool) any {
	if full {
		return st
	}
	return statusSummary{Status: st, Participants: summaryRows(st.Participants)}
}

// participantsAnswer is what a participant-table answer encodes: the
// treaty, the date and its rows, whole with full, summaryRows otherwise
// (an empty list rather than null).
func participantsAnswer(st projections.Status, full bool) map[string]any {
	rows := st.Participants
	if rows == nil {
		rows = []projections.Participation{}
	}
	var v any = rows
	if !full {
		v = summaryRows(rows)
	}
	return map[string]any{"treaty": st.Treaty, "as_of": st.AsOf, "participants": v}
}
