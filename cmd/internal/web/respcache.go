package web

import (
	"net/http"
	"sync"
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
	mu    sync.Mutex
	m     map[string]cachedBody
	bytes int
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
// are (nothing is cached then).
func (s *Server) writeCachedJSON(w http.ResponseWriter, key, stamp string, build func() (any, error)) error {
	if b, ok := s.bodies.get(key, stamp); ok {
		writeRawJSON(w, http.StatusOK, b)
		return nil
	}
	v, err := build()
	if err != nil {
		return err
	}
	b, err := encodeJSON(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal", "message": "cannot encode the response"})
		return nil
	}
	s.bodies.put(key, stamp, b)
	writeRawJSON(w, http.StatusOK, b)
	return nil
}
