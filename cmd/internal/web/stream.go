package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Live stream timing.
const (
	streamHeartbeat = 15 * time.Second // a comment line keeps proxies from closing the connection
	streamBatch     = 500
)

// handleStream serves the log as Server-Sent Events. Each event's id is
// its log position and its data the event's JSON, so a client that
// reconnects with Last-Event-ID (or ?after=POS) resumes right after the
// last event it saw. Without either, the stream starts at the log's head:
// only new events. The treaty and type filters of /api/v1/events apply.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) error {
	f, err := s.filter(r)
	if err != nil {
		return err
	}
	var after int64
	switch last, q := r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after"); {
	case last != "":
		if after, err = strconv.ParseInt(strings.TrimSpace(last), 10, 64); err != nil || after < 0 {
			return badRequestf("Last-Event-ID %q: want a log position", last)
		}
	case q != "":
		if after, err = intParam(r, "after", 0, 0, 1<<62); err != nil {
			return err
		}
	default:
		if after, err = s.head(r.Context()); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts; an expired
	// read deadline would otherwise cancel the request's context.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: 2000\n: resuming after position %d\n\n", after); err != nil { //nolint:gosec // an integer, in an event stream
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	ctx := r.Context()
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	for {
		// The runner follows the log for the whole process: the stream
		// takes its events from it and wakes when it moves. Only a client
		// resuming from further back than the runner keeps reads the log.
		wake := s.cfg.Runner.Changed()
		evs, err := s.streamPage(ctx, after)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "event stream: read log", "request_id", requestIDOf(ctx), "after", after, "err", err)
			}
			return nil
		}
		for _, e := range evs {
			after = e.Position
			if !f.match(e) {
				continue
			}
			b, err := json.Marshal(redact(e))
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Position, b); err != nil {
				return nil
			}
		}
		if len(evs) > 0 {
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
		if len(evs) == streamBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-wake:
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}

// streamPage returns up to streamBatch events after position after: the
// runner's, or the log's when the runner no longer keeps them.
func (s *Server) streamPage(ctx context.Context, after int64) ([]events.Envelope, error) {
	trs, missed := s.cfg.Runner.Transitions(after, streamBatch)
	if missed {
		return s.cfg.Log.ReadAll(ctx, after, streamBatch)
	}
	evs := make([]events.Envelope, len(trs))
	for i, tr := range trs {
		evs[i] = tr.Event
	}
	return evs, nil
}
