// This file holds the fake server: chat.postMessage, conversations.history
// and conversations.replies, with injectable faults.

package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Post is one message the fake accepted.
type Post struct {
	Channel  string
	Text     string
	Blocks   string // the blocks JSON as sent
	ThreadTS string
	TS       string
	Metadata map[string]any // event_type, event_payload
	Token    string
	At       time.Time
}

// DeliveryID returns the treatywatch delivery id in the post's metadata.
func (p Post) DeliveryID() string {
	if pl, ok := p.Metadata["event_payload"].(map[string]any); ok {
		return fmt.Sprint(pl["delivery_id"])
	}
	return ""
}

// Fault is how the fake answers the next posts instead of accepting them.
type Fault struct {
	// Status is the HTTP status (429 or 5xx); 0 with SlackError set means
	// 200 with ok=false.
	Status int
	// RetryAfter is the Retry-After header of a 429, in seconds.
	RetryAfter int
	// SlackError is Slack's error code ("invalid_auth").
	SlackError string
	// PostAnyway accepts the message although the answer is an error: a
	// 429 or a timeout can follow a post Slack accepted.
	PostAnyway bool
	// Times is how many posts get the fault; 0 means every post.
	Times int
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	*httptest.Server
	mu     sync.Mutex
	posts  []Post
	faults []Fault
	seq    int
	calls  map[string]int
}

// New starts a fake Slack server; Close it when done. Its URL + "/" is
// the slack-go API URL (slack.OptionAPIURL).
func New() *Server {
	s := &Server{calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/chat.postMessage", s.post)
	mux.HandleFunc("/conversations.history", s.history)
	mux.HandleFunc("/conversations.replies", s.replies)
	s.Server = httptest.NewServer(mux)
	return s
}

// APIURL is the base URL to give slack-go.
func (s *Server) APIURL() string { return s.URL + "/" }

// Fail queues a fault for the next posts.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Heal removes every queued fault.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Posts returns the accepted messages, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Calls returns how many requests an API method received.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls["chat.postMessage"]++
	var fault *Fault
	if len(s.faults) > 0 {
		f := s.faults[0]
		fault = &f
		if s.faults[0].Times > 0 {
			s.faults[0].Times--
			if s.faults[0].Times == 0 {
				s.faults = s.faults[1:]
			}
		}
	}
	accept := fault == nil || fault.PostAnyway
	var p Post
	if accept {
		s.seq++
		p = Post{Channel: r.Form.Get("channel"), Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks"), ThreadTS: r.Form.Get("thread_ts"),
			TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq), Token: r.Form.Get("token"), At: time.Now()}
		if m := r.Form.Get("metadata"); m != "" {
			_ = json.Unmarshal([]byte(m), &p.Metadata)
		}
		if bearer := r.Header.Get("Authorization"); p.Token == "" && len(bearer) > 7 {
			p.Token = bearer[7:]
		}
		s.posts = append(s.posts, p)
	}
	s.mu.Unlock()
	if fault != nil {
		switch {
		case fault.Status == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			writeJSON(w, map[string]any{"ok": false, "error": "ratelimited"})
		case fault.Status >= 500:
			w.WriteHeader(fault.Status)
			_, _ = w.Write([]byte("upstream unavailable"))
		default:
			writeJSON(w, map[string]any{"ok": false, "error": fault.SlackError})
		}
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS, "message": map[string]any{"text": p.Text, "ts": p.TS}})
}

func (s *Server) messages(channel, thread string, oldest float64) []map[string]any {
	var out []map[string]any
	for i := len(s.posts) - 1; i >= 0; i-- { // newest first, as Slack
		p := s.posts[i]
		ts, _ := strconv.ParseFloat(p.TS, 64)
		if p.Channel != channel || ts < oldest {
			continue
		}
		if thread != "" && p.ThreadTS != thread && p.TS != thread {
			continue
		}
		if thread == "" && p.ThreadTS != "" {
			continue // replies are not in the channel's history
		}
		m := map[string]any{"type": "message", "text": p.Text, "ts": p.TS}
		if p.Metadata != nil {
			m["metadata"] = p.Metadata
		}
		if p.ThreadTS != "" {
			m["thread_ts"] = p.ThreadTS
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	oldest, _ := strconv.ParseFloat(r.Form.Get("oldest"), 64)
	s.mu.Lock()
	s.calls["conversations.history"]++
	msgs := s.messages(r.Form.Get("channel"), "", oldest)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "messages": msgs, "has_more": false})
}

func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	oldest, _ := strconv.ParseFloat(r.Form.Get("oldest"), 64)
	s.mu.Lock()
	s.calls["conversations.replies"]++
	msgs := s.messages(r.Form.Get("channel"), r.Form.Get("ts"), oldest)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "messages": msgs, "has_more": false})
}
