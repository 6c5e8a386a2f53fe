package web

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// After a change, the requests for the same answer that arrive while one
// builds it wait for that one: the answer is built and encoded once.
func TestBodyCacheBuildsAnAnswerOnce(t *testing.T) {
	var c bodyCache
	const readers = 20
	release := make(chan struct{})
	var builds atomic.Int32
	build := func() ([]byte, error) {
		builds.Add(1)
		<-release
		return []byte(`{"treaty":"XVIII-16"}`), nil
	}
	var wg sync.WaitGroup
	bodies := make([][]byte, readers)
	for i := range readers {
		wg.Go(func() {
			b, err := c.answer("status XVIII-16 2026-12-01", "v79", build)
			if err != nil {
				t.Error(err)
			}
			bodies[i] = b
		})
	}
	// Sentinel: the first reader is building and every other one waits.
	for {
		c.mu.Lock()
		f := c.flight["status XVIII-16 2026-12-01\x00v79"]
		waiting := 0
		if f != nil {
			waiting = f.waiting
		}
		c.mu.Unlock()
		if waiting == readers-1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds for %d concurrent readers of one answer, want 1", n, readers)
	}
	for i, b := range bodies {
		if !bytes.Equal(b, []byte(`{"treaty":"XVIII-16"}`)) {
			t.Fatalf("reader %d got %q", i, b)
		}
	}
	// A new stamp (the treaty changed) builds again; the old one is not
	// answered any more.
	if _, err := c.answer("status XVIII-16 2026-12-01", "v80", func() ([]byte, error) { builds.Add(1); return []byte(`{}`), nil }); err != nil || builds.Load() != 2 {
		t.Fatalf("after a change: %v, %d builds", err, builds.Load())
	}
}
