// This file holds the fake server: chat.postMessage, conversations.history,
// conversations.replies and incoming webhooks, with injectable faults.

package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Methods the fake serves, as Request.Method records them and
// Fault.Method selects them.
const (
	PostMessage = "chat.postMessage"
	History     = "conversations.history"
	Replies     = "conversations.replies"
	Webhook     = "incoming-webhook" // a POST to a WebhookURL
)

// Post is one message the fake recorded: it would be in the channel.
type Post struct {
	Channel  string // the channel id; for a webhook, the last segment of its URL
	Text     string
	Blocks   string // the blocks JSON as sent
	ThreadTS string
	TS       string
	Metadata map[string]any // event_type, event_payload
	Token    string
	Form     url.Values // chat.postMessage: the form as sent; nil for a webhook
	Webhook  bool       // it came through an incoming webhook
	At       time.Time  // when the request arrived
}

// DeliveryID returns the treatywatch delivery id in the post's metadata.
func (p Post) DeliveryID() string {
	if pl, ok := p.Metadata["event_payload"].(map[string]any); ok {
		return fmt.Sprint(pl["delivery_id"])
	}
	return ""
}

// Request is one call the fake received, in arrival order.
type Request struct {
	Method     string    // PostMessage, History, Replies or Webhook
	At         time.Time // when it arrived
	Channel    string
	DeliveryID string // a chat.postMessage's delivery id (metadata), if any
	ThreadTS   string // conversations.replies: the thread asked for; a post: its thread
	// Attempt counts the earlier calls of the same method for the same
	// message (delivery id, or text for a webhook): 0 for the first.
	Attempt int
	Posted  bool   // the message was recorded
	Fault   string // the fault answered (Fault.String), "" for a normal answer
	key     string
}

// Fault is an answer the fake gives instead of a normal one.
type Fault struct {
	// Method is the call the fault applies to: "" means any post
	// (chat.postMessage or an incoming webhook); or PostMessage, History,
	// Replies, Webhook.
	Method string
	// Status is the HTTP status (429, 5xx, 4xx). 0 with SlackError set
	// means HTTP 200 with ok=false for the Web API, and the status that
	// Slack uses for that code for a webhook.
	Status int
	// RetryAfter is the Retry-After header of a 429, in seconds; 0 sends
	// no header.
	RetryAfter int
	// SlackError is Slack's error code ("invalid_auth"), or the body of a
	// webhook's error.
	SlackError string
	// Hang gives no answer at all: the request waits until the client
	// gives up (its timeout) or the server closes.
	Hang bool
	// Reset closes the connection with a TCP reset instead of answering.
	Reset bool
	// PostAnyway records the message before failing ("after recording"):
	// a 429, a 5xx, a hang or a reset can follow a post Slack accepted.
	PostAnyway bool
	// Times is how many calls get the fault when queued with Fail; 0
	// means every call until Heal.
	Times int
}

// String names the fault: "503 after recording", "hang", "invalid_auth".
func (f Fault) String() string {
	var what string
	switch {
	case f.Hang:
		what = "hang"
	case f.Reset:
		what = "reset"
	case f.Status == http.StatusTooManyRequests && f.RetryAfter > 0:
		what = fmt.Sprintf("429 Retry-After %d", f.RetryAfter)
	case f.Status != 0 && f.SlackError != "":
		what = fmt.Sprintf("%d %s", f.Status, f.SlackError)
	case f.Status != 0:
		what = strconv.Itoa(f.Status)
	default:
		what = f.SlackError
	}
	if f.PostAnyway {
		what += " after recording"
	}
	return what
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	*httptest.Server
	ln      *switchListener
	closing chan struct{}
	once    sync.Once

	mu     sync.Mutex
	posts  []Post
	reqs   []Request
	faults []Fault
	script func(Request) *Fault
	seq    int
}

// New starts a fake Slack server; Close it when done. APIURL is the
// slack-go API URL (slack.OptionAPIURL); WebhookURL gives incoming
// webhook URLs.
func New() *Server {
	s := &Server{closing: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+PostMessage, s.postMessage)
	mux.HandleFunc("/"+History, s.history)
	mux.HandleFunc("/"+Replies, s.replies)
	mux.HandleFunc("/services/", s.webhook)
	s.Server = httptest.NewUnstartedServer(mux)
	s.ln = &switchListener{addr: s.Server.Listener.Addr(), l: s.Server.Listener}
	s.Server.Listener = s.ln
	s.Server.Start()
	return s
}

// APIURL is the base URL to give slack-go.
func (s *Server) APIURL() string { return s.URL + "/" }

// WebhookURL returns an incoming webhook URL whose posts are recorded
// with Channel set to channel.
func (s *Server) WebhookURL(channel string) string {
	return s.URL + "/services/T0FAKE/B0FAKE/" + channel
}

// Close ends hanging requests, then shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.Server.Close()
}

// Down stops accepting connections — a client's next call fails with
// "connection refused" before anything is sent — and closes the open
// ones. Up undoes it, on the same address.
func (s *Server) Down() {
	s.ln.down()
	s.Server.CloseClientConnections()
}

// Up accepts connections again after Down.
func (s *Server) Up() error { return s.ln.up() }

// Fail queues a fault for the next calls it applies to (see
// Fault.Method and Fault.Times). Queued faults apply in order.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Script makes fn choose the answer to every call: a non-nil Fault is
// answered (its Method and Times are ignored), nil falls through to the
// queued faults and then to a normal answer. fn must not call the
// Server's methods.
func (s *Server) Script(fn func(Request) *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = fn
}

// Heal removes every queued fault and the script.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.script = nil, nil
}

// Posts returns the recorded messages, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// PostsByDelivery counts the recorded messages per delivery id.
func (s *Server) PostsByDelivery() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, p := range s.posts {
		out[p.DeliveryID()]++
	}
	return out
}

// Requests returns every call received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Calls returns how many requests a method received.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if r.Method == method {
			n++
		}
	}
	return n
}

// begin numbers a call and picks its fault: the script's, else the
// first queued fault that applies.
func (s *Server) begin(req Request) (Request, *Fault) {
	s.mu.Lock()
	for _, r := range s.reqs {
		if r.Method == req.Method && req.key != "" && r.key == req.key {
			req.Attempt++
		}
	}
	script := s.script
	s.mu.Unlock()
	var fault *Fault
	if script != nil {
		fault = script(req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fault == nil {
		for i, f := range s.faults {
			if f.Method != req.Method && (f.Method != "" || req.Method != PostMessage && req.Method != Webhook) {
				continue
			}
			fault = &f
			if f.Times > 0 {
				if s.faults[i].Times--; s.faults[i].Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			break
		}
	}
	if fault != nil {
		req.Fault = fault.String()
	}
	return req, fault
}

func (s *Server) finish(req Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
}

// record keeps p as posted, with a fresh ts.
func (s *Server) record(req *Request, p *Post) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	p.TS = fmt.Sprintf("%d.%06d", req.At.Unix(), s.seq)
	p.At = req.At
	s.posts = append(s.posts, *p)
	req.Posted = true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := Post{Channel: r.Form.Get("channel"), Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks"), ThreadTS: r.Form.Get("thread_ts"),
		Token: r.Form.Get("token"), Form: r.PostForm}
	if m := r.Form.Get("metadata"); m != "" {
		_ = json.Unmarshal([]byte(m), &p.Metadata)
	}
	if bearer := r.Header.Get("Authorization"); p.Token == "" && len(bearer) > 7 {
		p.Token = bearer[7:]
	}
	req := Request{Method: PostMessage, At: time.Now(), Channel: p.Channel, DeliveryID: p.DeliveryID(), ThreadTS: p.ThreadTS}
	req.key = req.DeliveryID
	req, fault := s.begin(req)
	if fault == nil || fault.PostAnyway {
		s.record(&req, &p)
	}
	s.finish(req)
	if fault != nil {
		s.fail(w, r, PostMessage, *fault)
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS, "message": map[string]any{"text": p.Text, "ts": p.TS}})
}

// webhook is an incoming webhook: a JSON body, "ok" on success, and
// errors as a status with a plain-text code.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/services/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[2] == "" {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	var in struct {
		Text     string          `json:"text"`
		ThreadTS string          `json:"thread_ts"`
		Blocks   json.RawMessage `json:"blocks"`
	}
	if err != nil || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &in) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	p := Post{Channel: parts[2], Text: in.Text, Blocks: string(in.Blocks), ThreadTS: in.ThreadTS, Webhook: true}
	req := Request{Method: Webhook, At: time.Now(), Channel: p.Channel, ThreadTS: p.ThreadTS, key: p.Channel + "\x00" + p.Text}
	req, fault := s.begin(req)
	if fault == nil || fault.PostAnyway {
		s.record(&req, &p)
	}
	s.finish(req)
	if fault != nil {
		s.fail(w, r, Webhook, *fault)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// webhookStatus is the HTTP status Slack answers an incoming webhook's
// error code with.
func webhookStatus(code string) int {
	switch code {
	case "action_prohibited":
		return http.StatusForbidden
	case "no_service", "no_service_id", "no_team", "team_disabled", "channel_not_found":
		return http.StatusNotFound
	case "channel_is_archived":
		return http.StatusGone
	case "rollup_error":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// fail answers with a fault.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, method string, f Fault) {
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case f.Reset:
		reset(w)
	case f.Status == http.StatusTooManyRequests:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
	case f.Status != 0:
		body := f.SlackError
		if body == "" {
			body = "upstream unavailable"
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, body)
	case method == Webhook:
		http.Error(w, f.SlackError, webhookStatus(f.SlackError))
	default:
		writeJSON(w, map[string]any{"ok": false, "error": f.SlackError})
	}
}

// reset closes the request's connection with a TCP RST.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok { // HTTP/2: no connection to reset
		http.Error(w, "slackfake: cannot reset an HTTP/2 stream", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// messages returns the channel's recorded messages newer than oldest,
// newest first as Slack does: the channel's own (not thread replies) when
// thread is "", else the thread's root and replies.
func (s *Server) messages(channel, thread string, oldest float64) []map[string]any {
	var out []map[string]any
	for i := len(s.posts) - 1; i >= 0; i-- {
		p := s.posts[i]
		ts, _ := strconv.ParseFloat(p.TS, 64)
		if p.Webhook || p.Channel != channel || ts < oldest {
			continue
		}
		if thread != "" && p.ThreadTS != thread && p.TS != thread {
			continue
		}
		if thread == "" && p.ThreadTS != "" {
			continue
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

func (s *Server) history(w http.ResponseWriter, r *http.Request) { s.read(w, r, History) }

func (s *Server) replies(w http.ResponseWriter, r *http.Request) { s.read(w, r, Replies) }

// read serves conversations.history and conversations.replies, a page of
// limit messages (default 100) at a time with cursors.
func (s *Server) read(w http.ResponseWriter, r *http.Request, method string) {
	_ = r.ParseForm()
	req := Request{Method: method, At: time.Now(), Channel: r.Form.Get("channel")}
	if method == Replies {
		req.ThreadTS = r.Form.Get("ts")
	}
	req, fault := s.begin(req)
	s.finish(req)
	if fault != nil {
		s.fail(w, r, method, *fault)
		return
	}
	oldest, _ := strconv.ParseFloat(r.Form.Get("oldest"), 64)
	limit, err := strconv.Atoi(r.Form.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	from, _ := strconv.Atoi(strings.TrimPrefix(r.Form.Get("cursor"), "page:"))
	s.mu.Lock()
	msgs := s.messages(req.Channel, req.ThreadTS, oldest)
	s.mu.Unlock()
	from = min(max(from, 0), len(msgs))
	to := min(from+limit, len(msgs))
	next := ""
	if to < len(msgs) {
		next = "page:" + strconv.Itoa(to)
	}
	writeJSON(w, map[string]any{"ok": true, "messages": msgs[from:to], "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}

// switchListener is a listener that can stop accepting (Down: its socket
// is closed, so connections are refused) and start again on the same
// address (Up).
type switchListener struct {
	addr net.Addr

	mu     sync.Mutex
	l      net.Listener  // nil while down
	wait   chan struct{} // while down: closed by up or Close
	closed bool
}

func (sl *switchListener) Accept() (net.Conn, error) {
	for {
		sl.mu.Lock()
		l, wait, closed := sl.l, sl.wait, sl.closed
		sl.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if l == nil {
			<-wait
			continue
		}
		c, err := l.Accept()
		if err == nil {
			return c, nil
		}
		sl.mu.Lock()
		current := sl.l == l && !sl.closed
		sl.mu.Unlock()
		if current {
			return nil, err
		}
	}
}

func (sl *switchListener) down() {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.l == nil || sl.closed {
		return
	}
	_ = sl.l.Close()
	sl.l, sl.wait = nil, make(chan struct{})
}

func (sl *switchListener) up() error {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.l != nil || sl.closed {
		return nil
	}
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", sl.addr.String())
	if err != nil {
		return fmt.Errorf("slackfake: listen again on %s: %w", sl.addr, err)
	}
	sl.l = l
	close(sl.wait)
	return nil
}

func (sl *switchListener) Close() error {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.closed {
		return nil
	}
	sl.closed = true
	if sl.l == nil {
		close(sl.wait)
		return nil
	}
	return sl.l.Close()
}

func (sl *switchListener) Addr() net.Addr { return sl.addr }
