package main

import (
	"bytes"
	"context"
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
	token    string
	treaty   string
	clients  int
	duration time.Duration
	writes   float64
	seed     uint64
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("treatywatch-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.base, "url", "http://127.0.0.1:8080", "base URL of a treatywatch server on loopback")
	fs.StringVar(&c.token, "token", getenv("TREATYWATCH_TOKEN"), "officer token for the writes (default $TREATYWATCH_TOKEN)")
	fs.StringVar(&c.treaty, "treaty", "XVIII-16", "treaty to read and write")
	fs.IntVar(&c.clients, "clients", 100, "concurrent clients")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "how long to run")
	fs.Float64Var(&c.writes, "writes", 0.10, "share of requests that are writes")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkLoopback(c.base); err != nil {
		fmt.Fprintln(stderr, "treatywatch-load:", err)
		return 2
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
	if rep.unexpected > 0 || rep.lost > 0 {
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
	acked, lost       int
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
	fmt.Fprintf(w, "acknowledged  %d writes; missing from the log afterwards: %d\n", r.acked, r.lost)
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

// drive runs the clients and checks the log afterwards.
func drive(ctx context.Context, cfg config) (*report, error) {
	c := &client{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients}}, cfg: cfg}
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
	rep := &report{}
	var mu sync.Mutex
	var acked []int64
	var seq int64
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(i))) //nolint:gosec // G404: a load mix, not a secret
			for runCtx.Err() == nil {
				if rng.Float64() < cfg.writes {
					mu.Lock()
					seq++
					n := seq
					mu.Unlock()
					// A unique act: a declaration by one participant on one day.
					p := names[int(n)%len(names)]
					date := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n)/len(names)).Format(time.DateOnly)
					b, _ := json.Marshal(map[string]string{"action": "declaration", "participant": p, "date": date, "note": "load test"})
					t0 := time.Now()
					code, body, err := c.do(runCtx, http.MethodPost, "/api/v1/treaties/"+cfg.treaty+"/actions", b, true)
					lat := time.Since(t0)
					if runCtx.Err() != nil {
						return
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
							acked = append(acked, e.Position)
						}
					case err == nil && code == http.StatusConflict && strings.Contains(string(body), "conflict"):
						rep.conflicts++
					default:
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
	rep.acked = len(acked)
	// Nothing lost: every acknowledged write is in the log.
	inLog := map[int64]bool{}
	var after int64
	for {
		code, body, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), nil, true)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("read the log back: %d %v %s", code, err, body)
		}
		var page struct {
			Events []struct {
				Position int64 `json:"position"`
			} `json:"events"`
			Next int64 `json:"next"`
			More bool  `json:"more"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("read the log back: %w", err)
		}
		for _, e := range page.Events {
			inLog[e.Position] = true
		}
		if len(page.Events) == 0 || page.Next <= after {
			break
		}
		after = page.Next
	}
	for _, p := range acked {
		if !inLog[p] {
			rep.lost++
		}
	}
	return rep, nil
}
