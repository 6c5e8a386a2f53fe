package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver of the --db check

	"github.com/treatywatch/treatywatch/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// config is the load to drive.
type config struct {
	base     string
	bases    []string // base split at its commas: the instances
	token    string
	treaty   string
	clients  int
	duration time.Duration
	writes   float64
	seed     uint64
	db       string // the server's ledger file, also checked directly when set
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("treatywatch-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.base, "url", "http://127.0.0.1:8080", "base URL of a treatywatch server on loopback; several, comma-separated, for instances sharing one ledger: client i uses the i-th modulo their number, and each one's log is checked")
	fs.StringVar(&c.token, "token", getenv("TREATYWATCH_TOKEN"), "officer token for the writes (default $TREATYWATCH_TOKEN)")
	fs.StringVar(&c.treaty, "treaty", "XVIII-16", "treaty to read and write")
	fs.IntVar(&c.clients, "clients", 100, "concurrent clients")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long to run")
	fs.Float64Var(&c.writes, "writes", 0.10, "share of requests that are writes")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	fs.StringVar(&c.db, "db", "", "the server's ledger file: also check the acknowledged writes in it directly (read-only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.bases = strings.Split(c.base, ",")
	for _, b := range c.bases {
		if err := checkLoopback(b); err != nil {
			fmt.Fprintln(stderr, "treatywatch-load:", err)
			return 2
		}
	}
	if c.token == "" {
		fmt.Fprintln(stderr, "treatywatch-load: --token (an officer token) is required: treatywatch token create --role officer --name load")
		return 2
	}
	rep, err := drive(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "treatywatch-load:", err)
		return 1
	}
	rep.print(stdout)
	if rep.unexpected > 0 || !rep.ledgerOK() {
		return 1
	}
	return 0
}

func checkLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a URL", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q: only loopback servers (127.0.0.0/8, ::1, localhost) are load targets", base)
}

// report is what a run measured.
type report struct {
	elapsed           time.Duration
	reads, writes     int
	readLat, writeLat []time.Duration
	conflicts         int
	unexpected        int
	firstUnexpected   string
	acked             int
	// checks are the ledger checks at the end: through the API's log
	// pages, and in the ledger file when --db is given.
	checks []ledgerCheck
}

// ledgerCheck is what one reading of the ledger found of the run's writes.
type ledgerCheck struct {
	source string
	// found: acknowledged writes present exactly once, at the acknowledged
	// position, with the participant and date sent.
	found int
	// lost: acknowledged writes absent; duplicated: writes present more
	// than once; misplaced: acknowledged writes present once but not at
	// the acknowledged position or not as sent; refusedRecorded: writes
	// answered with a refusal (a conflict) that are in the log anyway.
	lost, duplicated, misplaced, refusedRecorded int
	// unanswered: writes with no answer (a transport error, a timeout),
	// cut off by the end of the run, or answered with an error other than
	// a conflict (counted as unexpected), and how many of them are in the
	// log (allowed: the server may have committed before the answer was
	// lost).
	unanswered, unansweredRecorded int
	first                          string // the first problem, for the report
}

func (c ledgerCheck) ok() bool {
	return c.lost == 0 && c.duplicated == 0 && c.misplaced == 0 && c.refusedRecorded == 0
}

func (r *report) ledgerOK() bool {
	for _, c := range r.checks {
		if !c.ok() {
			return false
		}
	}
	return true
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func (r *report) print(w io.Writer) {
	all := append(append([]time.Duration(nil), r.readLat...), r.writeLat...)
	for _, s := range [][]time.Duration{all, r.readLat, r.writeLat} {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	}
	total := r.reads + r.writes
	fmt.Fprintf(w, "requests      %d in %s: %.0f req/s (%d reads, %d writes)\n", total, r.elapsed.Round(time.Millisecond), float64(total)/r.elapsed.Seconds(), r.reads, r.writes)
	fmt.Fprintf(w, "latency all   p50 %s  p99 %s\n", pct(all, 0.50), pct(all, 0.99))
	fmt.Fprintf(w, "latency read  p50 %s  p99 %s\n", pct(r.readLat, 0.50), pct(r.readLat, 0.99))
	fmt.Fprintf(w, "latency write p50 %s  p99 %s\n", pct(r.writeLat, 0.50), pct(r.writeLat, 0.99))
	fmt.Fprintf(w, "conflicts     %d (expected: concurrent writers)\n", r.conflicts)
	fmt.Fprintf(w, "unexpected    %d %s\n", r.unexpected, r.firstUnexpected)
	lost := 0
	for _, c := range r.checks {
		lost = max(lost, c.lost)
	}
	fmt.Fprintf(w, "acknowledged  %d writes; missing from the log afterwards: %d\n", r.acked, lost)
	for _, c := range r.checks {
		verdict := "ok"
		if !c.ok() {
			verdict = "FAILED " + c.first
		}
		fmt.Fprintf(w, "ledger (%s): %d acknowledged writes present exactly once at their position; lost %d, duplicated %d, misplaced %d, refused but recorded %d; unacknowledged otherwise %d (of them recorded %d): %s\n",
			c.source, c.found, c.lost, c.duplicated, c.misplaced, c.refusedRecorded, c.unanswered, c.unansweredRecorded, verdict)
	}
}

type client struct {
	http *http.Client
	cfg  config
}

func (c *client) do(ctx context.Context, method, path string, body []byte, auth bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.cfg.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// write is one write the driver sent, and what the server answered.
type write struct {
	participant, date, note string
	outcome                 outcome
	position                int64 // the acknowledged position
}

type outcome int

const (
	unanswered outcome = iota // no answer: a transport error, a timeout, or the end of the run
	acked                     // 201 with a position
	refused                   // 409 conflict: nothing may have been written
	failed                    // any other answer
)

// drive runs the clients and checks the ledger afterwards.
func drive(ctx context.Context, cfg config) (*report, error) {
	if len(cfg.bases) == 0 {
		cfg.bases = []string{cfg.base}
	}
	shared := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients}}
	instances := make([]*client, len(cfg.bases))
	for i, b := range cfg.bases {
		ic := cfg
		ic.base = b
		instances[i] = &client{http: shared, cfg: ic}
	}
	// The participants that write: the reference list shipped with
	// treatywatch, which the server resolves too.
	dir, err := events.NewDirectory()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range dir.All() {
		names = append(names, p.Name)
	}
	reads := []string{
		"/api/v1/treaties",
		"/api/v1/treaties/" + cfg.treaty + "/status",
		"/api/v1/treaties/" + cfg.treaty + "/participants",
		"/api/v1/treaties/" + cfg.treaty + "/timeline",
		"/api/v1/events?limit=50",
		"/api/v1/treaties/" + cfg.treaty + "/status?as_of=2026-01-01",
	}
	// Every write carries a note unique to this run and to the write, by
	// which the check at the end finds it in the ledger.
	var rb [6]byte
	_, _ = crand.Read(rb[:])
	run := hex.EncodeToString(rb[:])
	rep := &report{}
	var mu sync.Mutex
	var writes []*write
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		c := instances[i%len(instances)]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(i))) //nolint:gosec // G404: a load mix, not a secret
			for runCtx.Err() == nil {
				if rng.Float64() < cfg.writes {
					mu.Lock()
					n := len(writes)
					// A unique act: a declaration by one participant on one day.
					wr := &write{participant: names[n%len(names)], date: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/len(names)).Format(time.DateOnly),
						note: fmt.Sprintf("load %s #%d", run, n)}
					writes = append(writes, wr)
					mu.Unlock()
					b, _ := json.Marshal(map[string]string{"action": "declaration", "participant": wr.participant, "date": wr.date, "note": wr.note})
					t0 := time.Now()
					code, body, err := c.do(runCtx, http.MethodPost, "/api/v1/treaties/"+cfg.treaty+"/actions", b, true)
					lat := time.Since(t0)
					if runCtx.Err() != nil {
						return // cut off by the end of the run: unanswered
					}
					mu.Lock()
					rep.writes++
					rep.writeLat = append(rep.writeLat, lat)
					switch {
					case err == nil && code == http.StatusCreated:
						var e struct {
							Position int64 `json:"position"`
						}
						if json.Unmarshal(body, &e) == nil && e.Position > 0 {
							wr.outcome, wr.position = acked, e.Position
						} else {
							wr.outcome = failed
							rep.unexpected++
							if rep.firstUnexpected == "" {
								rep.firstUnexpected = fmt.Sprintf("(first: POST 201 without a position: %.200s)", body)
							}
						}
					case err == nil && code == http.StatusConflict && strings.Contains(string(body), "conflict"):
						wr.outcome = refused
						rep.conflicts++
					default:
						if err == nil {
							wr.outcome = failed
						}
						rep.unexpected++
						if rep.firstUnexpected == "" {
							rep.firstUnexpected = fmt.Sprintf("(first: POST %d %v %.200s)", code, err, body)
						}
					}
					mu.Unlock()
					continue
				}
				path := reads[rng.IntN(len(reads))]
				t0 := time.Now()
				code, body, err := c.do(runCtx, http.MethodGet, path, nil, true)
				lat := time.Since(t0)
				if runCtx.Err() != nil {
					return
				}
				mu.Lock()
				rep.reads++
				rep.readLat = append(rep.readLat, lat)
				if err != nil || code != http.StatusOK {
					rep.unexpected++
					if rep.firstUnexpected == "" {
						rep.firstUnexpected = fmt.Sprintf("(first: GET %s %d %v %.200s)", path, code, err, body)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.elapsed = time.Since(start)
	for _, w := range writes {
		if w.outcome == acked {
			rep.acked++
		}
	}
	prefix := fmt.Sprintf("load %s #", run)
	for _, c := range instances {
		found, err := c.logFromAPI(ctx, prefix)
		if err != nil {
			return nil, err
		}
		source := "API log pages"
		if len(instances) > 1 {
			source += " of " + c.cfg.base
		}
		rep.checks = append(rep.checks, check(source, writes, found))
	}
	if cfg.db != "" {
		found, err := logFromFile(ctx, cfg.db, prefix)
		if err != nil {
			return nil, err
		}
		rep.checks = append(rep.checks, check("file "+cfg.db, writes, found))
	}
	return rep, nil
}

// recorded is a write of this run as the ledger holds it.
type recorded struct {
	position          int64
	participant, date string
}

// noted collects the declarations whose note starts with prefix, by note.
type noted map[string][]recorded

func (n noted) add(position int64, typ string, payload []byte, prefix string) error {
	if typ != "act.declaration" || !bytes.Contains(payload, []byte(prefix)) {
		return nil
	}
	var act events.Act
	if err := json.Unmarshal(payload, &act); err != nil {
		return fmt.Errorf("position %d: %w", position, err)
	}
	if strings.HasPrefix(act.Note, prefix) {
		n[act.Note] = append(n[act.Note], recorded{position: position, participant: act.Participant, date: act.Date.String()})
	}
	return nil
}

// logFromAPI reads the whole log through the API's pages.
func (c *client) logFromAPI(ctx context.Context, prefix string) (noted, error) {
	out := noted{}
	var after int64
	for {
		code, body, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), nil, true)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("read the log back: %d %v %.200s", code, err, body)
		}
		var page struct {
			Events []struct {
				Position int64           `json:"position"`
				Type     string          `json:"type"`
				Payload  json.RawMessage `json:"payload"`
			} `json:"events"`
			Next int64 `json:"next"`
			More bool  `json:"more"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("read the log back: %w", err)
		}
		for _, e := range page.Events {
			if err := out.add(e.Position, e.Type, e.Payload, prefix); err != nil {
				return nil, fmt.Errorf("read the log back: %w", err)
			}
		}
		if len(page.Events) == 0 || page.Next <= after {
			break
		}
		after = page.Next
	}
	return out, nil
}

// logFromFile reads the events table of the ledger file directly, on a
// read-only connection.
func logFromFile(ctx context.Context, path, prefix string) (noted, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT position, type, CAST(payload AS BLOB) FROM events WHERE type = 'act.declaration' ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rows.Close()
	out := noted{}
	for rows.Next() {
		var pos int64
		var typ string
		var payload sql.RawBytes
		if err := rows.Scan(&pos, &typ, &payload); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if err := out.add(pos, typ, payload, prefix); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// check compares the writes with what a reading of the ledger found.
func check(source string, writes []*write, found noted) ledgerCheck {
	c := ledgerCheck{source: source}
	problem := func(format string, args ...any) {
		if c.first == "" {
			c.first = fmt.Sprintf(format, args...)
		}
	}
	for _, w := range writes {
		got := found[w.note]
		if len(got) > 1 {
			c.duplicated++
			problem("(first: %q recorded %d times)", w.note, len(got))
		}
		switch w.outcome {
		case acked:
			switch {
			case len(got) == 0:
				c.lost++
				problem("(first: %q acknowledged at position %d, absent)", w.note, w.position)
			case len(got) == 1 && (got[0].position != w.position || got[0].participant != w.participant || got[0].date != w.date):
				c.misplaced++
				problem("(first: %q acknowledged at position %d as %s on %s, recorded at %d as %s on %s)", w.note, w.position, w.participant, w.date, got[0].position, got[0].participant, got[0].date)
			case len(got) == 1:
				c.found++
			}
		case refused:
			if len(got) > 0 {
				c.refusedRecorded++
				problem("(first: %q refused with a conflict, recorded at position %d)", w.note, got[0].position)
			}
		case unanswered, failed:
			c.unanswered++
			if len(got) > 0 {
				c.unansweredRecorded++
			}
		}
	}
	return c
}
