package replaytest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Run runs the contract suite against the stores open returns. open is
// called once per subtest and must return a new, empty store that lives
// until the test ends (close it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) events.SeenRequestStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, events.SeenRequestStore)
	}{
		{"OnceThenReplay", testOnceThenReplay},
		{"RememberedUntilItExpires", testUntilExpiry},
		{"ForgottenAfterItExpires", testForgotten},
		{"ConcurrentCopiesOneAccepted", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Hex SHA-256 of two X-Slack-Signature headers.
const (
	sigA = "5f2b1e9c0d3a4b6c7d8e9f00112233445566778899aabbccddeeff0011223344"
	sigB = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

// t0 is when the first request arrives; a signed request stays valid
// five minutes (and a minute of clock skew).
var (
	t0     = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	window = 6 * time.Minute
)

func remember(t *testing.T, s events.SeenRequestStore, hash string, expires, now time.Time) bool {
	t.Helper()
	fresh, err := s.RememberRequest(t.Context(), hash, expires, now)
	if err != nil {
		t.Fatalf("RememberRequest: %v", err)
	}
	return fresh
}

func testOnceThenReplay(t *testing.T, s events.SeenRequestStore) {
	if !remember(t, s, sigA, t0.Add(window), t0) {
		t.Fatal("a request never seen was refused")
	}
	if remember(t, s, sigA, t0.Add(window), t0.Add(time.Second)) {
		t.Error("the same request a second later was accepted: a replay")
	}
	if !remember(t, s, sigB, t0.Add(window), t0.Add(time.Second)) {
		t.Error("another request was refused")
	}
}

func testUntilExpiry(t *testing.T, s events.SeenRequestStore) {
	remember(t, s, sigA, t0.Add(window), t0)
	// Another request arriving just at the expiry does not forget it.
	remember(t, s, sigB, t0.Add(2*window), t0.Add(window))
	if remember(t, s, sigA, t0.Add(2*window), t0.Add(window)) {
		t.Error("a request was forgotten at its expiry; it is remembered until then")
	}
}

func testForgotten(t *testing.T, s events.SeenRequestStore) {
	remember(t, s, sigA, t0.Add(window), t0)
	if !remember(t, s, sigA, t0.Add(window+time.Hour), t0.Add(window+time.Second)) {
		t.Error("a request remembered after it expired")
	}
	if remember(t, s, sigA, t0.Add(window+time.Hour), t0.Add(window+2*time.Second)) {
		t.Error("the request remembered again was not refused")
	}
}

func testConcurrent(t *testing.T, s events.SeenRequestStore) {
	const copies = 8
	fresh := make([]bool, copies)
	var wg sync.WaitGroup
	for i := range copies {
		wg.Go(func() {
			ok, err := s.RememberRequest(context.Background(), sigA, t0.Add(window), t0)
			if err != nil {
				t.Errorf("copy %d: %v", i, err)
			}
			fresh[i] = ok
		})
	}
	wg.Wait()
	accepted := 0
	for _, ok := range fresh {
		if ok {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d concurrent copies of a request were accepted, want exactly 1", accepted, copies)
	}
}
