package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is what one run of a command cost, as the kernel accounted the
// finished process.
type sample struct {
	Wall   time.Duration `json:"wall_ns"`
	User   time.Duration `json:"user_ns"`
	Sys    time.Duration `json:"sys_ns"`
	MaxRSS int64         `json:"max_rss_bytes"`
}

// serveSample is one start of serve: to the first 200 from /readyz, the
// memory it holds once ready, and its orderly stop.
type serveSample struct {
	Ready     time.Duration `json:"ready_ns"`
	RSS       int64         `json:"rss_after_ready_bytes"`  // VmRSS once ready
	HWM       int64         `json:"peak_rss_ready_bytes"`   // VmHWM once ready
	HeapInuse int64         `json:"heap_inuse_ready_bytes"` // go_memstats_heap_inuse_bytes once ready, -1 if unknown
	Stop      time.Duration `json:"stop_ns"`                // SIGTERM to exit
	StopError string        `json:"stop_error,omitempty"`   // how it ended when not with exit status 0
	// The notifier's consumer group reaching the head of the log after
	// ready: how long from the start (zero if not within the settle
	// timeout), the offset it had reached when the wait ended, and the
	// memory then.
	Settled       time.Duration `json:"notifier_caught_up_ns"`
	SettledOffset int64         `json:"notifier_offset"`
	SettledHead   int64         `json:"log_head"`
	SettledRSS    int64         `json:"rss_settled_bytes"`
	SettledHWM    int64         `json:"peak_rss_settled_bytes"`
	Process       sample        `json:"process"` // the whole process, start to exit
}

// maxRSSBytes converts getrusage's ru_maxrss (kilobytes on Linux, bytes
// on macOS) to bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" {
		return ru.Maxrss
	}
	return ru.Maxrss * 1024
}

func usage(ps *os.ProcessState, wall time.Duration) sample {
	s := sample{Wall: wall, User: ps.UserTime(), Sys: ps.SystemTime()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSS = maxRSSBytes(ru)
	}
	return s
}

// tail keeps the last bytes written to it, for error messages.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

// runOnce runs the binary once with args, its output read and dropped,
// and returns what the finished process cost. A non-zero exit is an
// error naming the command and its last words.
func runOnce(ctx context.Context, bin string, env []string, args ...string) (sample, error) {
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // G204: the binary under measurement, named by the user
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	var errb tail
	cmd.Stderr = &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return sample{}, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, bytes.TrimSpace(errb.b))
	}
	return usage(cmd.ProcessState, wall), nil
}

// runQuiet runs the binary and returns its combined output.
func runQuiet(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput() //nolint:gosec // G204: the binary under measurement
	return string(out), err
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// serveOnce starts `serve` on db, waits for /readyz to answer 200, reads
// the memory it holds, stops it with SIGTERM and waits for it to exit.
func serveOnce(ctx context.Context, bin string, env []string, db string, settle time.Duration) (serveSample, error) {
	addr, err := freeAddr()
	if err != nil {
		return serveSample{}, err
	}
	cmd := exec.CommandContext(ctx, bin, "--db", db, "serve", "--addr", addr, "--no-seed") //nolint:gosec // G204: the binary under measurement
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	var errb tail
	cmd.Stderr = &errb
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return serveSample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (serveSample, error) {
		_ = cmd.Process.Kill()
		if werr := <-exited; werr != nil {
			err = fmt.Errorf("%w (then killed: %v)", err, werr)
		}
		return serveSample{}, fmt.Errorf("serve %s: %w: %s", db, err, bytes.TrimSpace(errb.b))
	}
	// The listener is bound before the projections catch up, so a request
	// waits in the accept queue until the HTTP server starts: the first
	// 200 comes at the moment the service is ready.
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	var s serveSample
	for {
		select {
		case err := <-exited:
			return serveSample{}, fmt.Errorf("serve %s exited before it was ready (%v): %s", db, err, bytes.TrimSpace(errb.b))
		default:
		}
		resp, err := get(ctx, client, "http://"+addr+"/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.Ready = time.Since(t0)
				break
			}
		}
		if time.Since(t0) > 10*time.Minute {
			return fail(errors.New("not ready after 10 minutes"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.RSS, s.HWM = procMemory(cmd.Process.Pid)
	s.HeapInuse = heapInuse(ctx, client, addr)
	if settle > 0 {
		if err := waitNotifier(ctx, db, settle, t0, &s); err != nil {
			return fail(err)
		}
		s.SettledRSS, s.SettledHWM = procMemory(cmd.Process.Pid)
	}
	t1 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fail(err)
	}
	// A failed stop is a finding, not a reason to stop measuring: it is
	// kept with the sample and reported.
	if err := <-exited; err != nil {
		s.StopError = fmt.Sprintf("%v: %s", err, lastLine(errb.b))
	}
	s.Stop = time.Since(t1)
	s.Process = usage(cmd.ProcessState, time.Since(t0))
	return s, nil
}

// waitNotifier waits, up to timeout, for the notifier's consumer group to
// have acknowledged the last event of the log, reading the ledger file
// read-only, and records when (or how far it got).
func waitNotifier(ctx context.Context, db string, timeout time.Duration, t0 time.Time, s *serveSample) error {
	conn, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		err := conn.QueryRowContext(ctx, `SELECT ifnull((SELECT max(position) FROM events), 0),
	ifnull((SELECT max(position) FROM watermill_offsets WHERE consumer_group = 'notifier'), 0)`).Scan(&s.SettledHead, &s.SettledOffset)
		if err != nil {
			return fmt.Errorf("read the notifier's offset: %w", err)
		}
		if s.SettledOffset >= s.SettledHead {
			s.Settled = time.Since(t0)
			return nil
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func get(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// procMemory reads a process's resident set (VmRSS) and its peak (VmHWM)
// from /proc; zero where unknown.
func procMemory(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n * 1024
		case "VmHWM":
			hwm = n * 1024
		}
	}
	return rss, hwm
}

// heapInuse reads go_memstats_heap_inuse_bytes from the server's
// /metrics; -1 when it is not there.
func heapInuse(ctx context.Context, client *http.Client, addr string) int64 {
	resp, err := get(ctx, client, "http://"+addr+"/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -1
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return -1
}

// copyFile copies a ledger file (the database alone: a closed store
// leaves no WAL behind).
func copyFile(from, to string) error {
	for _, p := range []string{to, to + "-wal", to + "-shm"} {
		_ = os.Remove(p)
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// stats is the median, minimum and maximum of some figures.
type stats struct{ med, lo, hi float64 }

func summarize(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{med: m, lo: s[0], hi: s[len(s)-1]}
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel returns the processor's name and how many this process may use.
func cpuModel() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d × %s", runtime.NumCPU(), model)
}
