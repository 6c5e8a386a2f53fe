package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// sseEvent is one event read from the stream.
type sseEvent struct {
	ID   int64
	Data events.Envelope
}

// openStream opens the live stream and returns its events on a channel.
func openStream(t *testing.T, e *env, lastEventID string, query string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/events/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				cur.ID, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Data)
			case line == "" && cur.ID > 0:
				ch <- cur
				cur = sseEvent{}
			}
		}
	}()
	return ch, res
}

func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

func TestStreamResumesWithLastEventID(t *testing.T) {
	e := MustEnv(t, envOptions{})
	head := e.Head()

	ch, _ := openStream(t, e, fmt.Sprint(head-2), "")
	for _, want := range []int64{head - 1, head} {
		if ev := next(t, ch); ev.ID != want || ev.Data.Position != want {
			t.Fatalf("resumed at id %d (position %d); want %d", ev.ID, ev.Data.Position, want)
		}
	}
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification()), http.StatusCreated)
	ev := next(t, ch)
	if ev.ID != head+1 || ev.Data.Type != "act.ratification" || ev.Data.Meta.Actor != "Officer Ada" {
		t.Errorf("live event = %+v", ev)
	}

	// Without Last-Event-ID the stream starts at the head; filters apply.
	live, _ := openStream(t, e, "", "?type=act.approval")
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, map[string]string{"action": "ratification", "participant": "France", "date": "2026-05-05"}), http.StatusCreated)
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, map[string]string{"action": "approval", "participant": "Chile", "date": "2026-05-06"}), http.StatusCreated)
	if ev := next(t, live); ev.Data.Type != "act.approval" || ev.ID != head+3 {
		t.Errorf("filtered stream gave %+v; want Chile's approval at %d", ev, head+3)
	}

	r := e.Do(http.MethodGet, "/api/v1/events/stream", "", "", nil, "Last-Event-ID: yesterday")
	wantStatus(t, r, http.StatusBadRequest)
}
