package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

var crashRounds = flag.Int("crash.rounds", 50, "rounds of the SIGKILL crash harness (TestCrashSafety)")

// crashLedger is the state the crash harness checks after every round:
// what was acknowledged to a client, and what must therefore be in the
// ledger exactly once.
type crashLedger struct {
	t     *testing.T
	c     *cli
	rng   *rand.Rand
	fake  *slackfake.Server
	token string
	next  int // the next act number: every act has a unique note "crash-N"
	signs []signatory

	acked      map[string]int64 // note → position answered to the client
	tried      map[string]bool  // every note a client sent, acknowledged or not
	importSets [][]string       // the notes of each import: all or none
	keys       map[string]string
	stats      map[string]int
	took       map[string]time.Duration // how long a record, an import takes here (calibrate)
}

type signatory struct {
	name string
	date events.Date
}

// act returns the participant, date and note of the next act, unique so
// that no act is refused as a duplicate of another.
func (h *crashLedger) act() (string, string, string) {
	n := h.next
	h.next++
	s := h.signs[n%len(h.signs)]
	return s.name, s.date.AddDays(1 + n/len(h.signs)).String(), fmt.Sprintf("crash-%d", n)
}

// start runs the shipped binary with args and the harness's environment:
// the harness kills real processes. (Its checks between rounds run in
// process.)
func (h *crashLedger) start(stdout, stderr io.Writer, args ...string) *exec.Cmd {
	h.t.Helper()
	cmd := h.c.with("SLACK_BOT_TOKEN=xoxb-crash", "SLACK_API_URL="+h.fake.APIURL(), "TREATYWATCH_CHANNEL_INTERVAL=5ms").command("", args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	return cmd
}

// killAfter kills cmd with SIGKILL after d unless it has exited, and
// reports whether it exited by itself with status 0.
func killAfter(cmd *exec.Cmd, d time.Duration) bool {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err == nil
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // killed: its exit status is the kill
		return false
	}
}

var positionRe = regexp.MustCompile(`at position (\d+)`)

// killWindow is how long after its start a command of the kind (record,
// import) is killed: a random moment up to twice as long as the command
// takes to complete on this machine (calibrate), so that some runs are
// killed before their commit, some after it, and some complete.
func (h *crashLedger) killWindow(kind string) time.Duration {
	return time.Duration(h.rng.Int64N(int64(h.took[kind])*2 + 1))
}

// calibrate runs a record and an import to their end, three times each,
// and keeps the median time each kind took (the first run of a new
// binary can take seconds).
func (h *crashLedger) calibrate() {
	for _, kind := range []string{"record", "import"} {
		run := map[string]func(time.Duration) (bool, time.Duration){"record": h.record, "import": h.importActs}[kind]
		var took []time.Duration
		for range 3 {
			ok, d := run(time.Minute)
			if !ok {
				h.t.Fatalf("calibration: %s did not complete within a minute", kind)
			}
			took = append(took, d)
		}
		slices.Sort(took)
		h.took[kind] = took[1]
		h.t.Logf("calibration: %s took %v", kind, took)
	}
}

// roundRecord records one act and kills the process at a random moment.
func (h *crashLedger) roundRecord() {
	if ok, _ := h.record(h.killWindow("record")); ok {
		h.stats["record acknowledged"]++
	} else {
		h.stats["record killed"]++
	}
}

// record records one act with the process killed after within unless it
// completed; it reports whether it completed, and how long it ran.
func (h *crashLedger) record(within time.Duration) (bool, time.Duration) {
	p, d, note := h.act()
	var out bytes.Buffer
	start := time.Now()
	cmd := h.start(&out, io.Discard, "record", "declaration", "--treaty", "XVIII-16", "--participant", p, "--date", d, "--note", note)
	h.tried[note] = true
	if !killAfter(cmd, within) {
		return false, time.Since(start)
	}
	took := time.Since(start)
	m := positionRe.FindStringSubmatch(out.String())
	if m == nil {
		h.t.Fatalf("record answered %q", out.String())
	}
	pos, _ := strconv.ParseInt(m[1], 10, 64)
	h.acked[note] = pos
	return true, took
}

// roundImport imports five acts and kills the process at a random moment.
func (h *crashLedger) roundImport() {
	if ok, _ := h.importActs(h.killWindow("import")); ok {
		h.stats["import acknowledged"]++
	} else {
		h.stats["import killed"]++
	}
}

// importActs imports five acts with the process killed after within
// unless it completed; it reports whether it completed, and how long it
// ran.
func (h *crashLedger) importActs(within time.Duration) (bool, time.Duration) {
	var csv strings.Builder
	csv.WriteString("participant,action,date,note\n")
	var notes []string
	for range 5 {
		p, d, note := h.act()
		fmt.Fprintf(&csv, "%s,declaration,%s,%s\n", p, d, note)
		notes = append(notes, note)
		h.tried[note] = true
	}
	file := filepath.Join(h.t.TempDir(), "import.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		h.t.Fatal(err)
	}
	start := time.Now()
	cmd := h.start(io.Discard, io.Discard, "import", "--treaty", "XVIII-16", file)
	h.importSets = append(h.importSets, notes)
	if !killAfter(cmd, within) {
		return false, time.Since(start)
	}
	took := time.Since(start)
	for _, n := range notes {
		h.acked[n] = -1 // present, at a position the harness did not read
	}
	return true, took
}

// serve starts serve and waits until it answers /readyz.
func (h *crashLedger) serve(addr string) *serveProc {
	h.t.Helper()
	var errb syncBuffer
	cmd := h.start(io.Discard, &errb, "serve", "--addr", addr)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	h.t.Cleanup(func() { _ = cmd.Process.Kill() }) // if the test ends before it is stopped
	waitReady(h.t, "http://"+addr, func() string {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Sprintf("serve exited: %v\n%s", err, errb.String())
		default:
			return ""
		}
	})
	return &serveProc{cmd: cmd, exited: exited}
}

// serveProc is a serve process of the harness, waited for in the
// background.
type serveProc struct {
	cmd    *exec.Cmd
	exited chan error
}

// kill ends it with SIGKILL and waits for it; its exit status is the kill.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited //nolint:errcheck // killed: its exit status is the kill
}

// term ends it with SIGTERM and waits for it.
func (p *serveProc) term() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited //nolint:errcheck // the harness checks the ledger, not the exit status
}

type apiWrite struct {
	key, note string
	body      string
}

// post sends one write with its Idempotency-Key and returns the status
// and the position answered (0 if none).
func (h *crashLedger) post(base string, w apiWrite) (int, int64, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/treaties/XVIII-16/actions", strings.NewReader(w.body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", w.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var e struct {
		Position int64 `json:"position"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Position, nil
}

// roundAPI writes through the API of a serve that is killed at a random
// moment, restarts it, and retries every write with its key: acknowledged
// ones must get their original answer, and every key ends up recorded
// exactly once.
func (h *crashLedger) roundAPI() {
	addr := freePort(h.t)
	base := "http://" + addr
	srv := h.serve(addr)
	var (
		mu     sync.Mutex
		writes []apiWrite
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				if len(writes) >= 30 { // enough to be killed among; the notifier delivers each
					mu.Unlock()
					return
				}
				p, d, note := h.act()
				w := apiWrite{key: "key-" + note, note: note,
					body: fmt.Sprintf(`{"action":"declaration","participant":%q,"date":%q,"note":%q}`, p, d, note)}
				writes = append(writes, w)
				h.tried[note] = true
				mu.Unlock()
				status, pos, err := h.post(base, w)
				if err != nil {
					return // the server died
				}
				mu.Lock()
				if status == http.StatusCreated {
					h.acked[note] = pos
					h.keys[w.key] = note
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Duration(50+h.rng.IntN(600)) * time.Millisecond)
	srv.kill()
	close(stop)
	wg.Wait()
	h.stats["serve killed"]++

	srv = h.serve(addr)
	defer srv.term()
	for _, w := range writes {
		status, pos, err := h.post(base, w)
		if err != nil {
			h.t.Fatalf("retry %s after the restart: %v", w.key, err)
		}
		if status != http.StatusCreated && status != http.StatusOK {
			h.t.Fatalf("retry %s after the restart: status %d", w.key, status)
		}
		if want, ok := h.acked[w.note]; ok && want != pos {
			h.t.Fatalf("retry %s: position %d, but the first answer was %d", w.key, pos, want)
		}
		if _, ok := h.acked[w.note]; ok {
			h.stats["API retries answered with the original result"]++
		} else {
			h.stats["API retries of unanswered writes"]++
		}
		h.acked[w.note] = pos
	}
}

// roundNotify runs the notifier and kills it at a random moment.
func (h *crashLedger) roundNotify() {
	cmd := h.start(io.Discard, io.Discard, "notify", "run")
	killAfter(cmd, time.Duration(30+h.rng.IntN(500))*time.Millisecond)
	h.stats["notifier killed"]++
}

// check verifies the invariants after a round: the chain verifies, every
// acknowledged act is in the ledger exactly once (at its acknowledged
// position), no act is in it twice, and each import is all or nothing.
func (h *crashLedger) check(round int) {
	h.t.Helper()
	if r := h.c.run("", "verify"); r.code != 0 {
		h.t.Fatalf("round %d: verify: exit %d %s", round, r.code, r.stderr)
	}
	seen := map[string][]int64{}
	for _, line := range strings.Split(strings.TrimSpace(h.c.ok("log", "--json", "--treaty", "XVIII-16")), "\n") {
		var e struct {
			Position int64 `json:"position"`
			Payload  struct {
				Note string `json:"note"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			h.t.Fatal(err)
		}
		if strings.HasPrefix(e.Payload.Note, "crash-") {
			seen[e.Payload.Note] = append(seen[e.Payload.Note], e.Position)
		}
	}
	for note, ps := range seen {
		if len(ps) > 1 {
			h.t.Fatalf("round %d: %s recorded %d times, at %v", round, note, len(ps), ps)
		}
		if !h.tried[note] {
			h.t.Fatalf("round %d: %s recorded but never sent", round, note)
		}
	}
	for note, pos := range h.acked {
		ps, ok := seen[note]
		if !ok {
			h.t.Fatalf("round %d: acknowledged %s is not in the ledger", round, note)
		}
		if pos > 0 && ps[0] != pos {
			h.t.Fatalf("round %d: acknowledged %s at position %d, found at %d", round, note, pos, ps[0])
		}
	}
	for _, set := range h.importSets {
		n := 0
		for _, note := range set {
			if _, ok := seen[note]; ok {
				n++
			}
		}
		if n != 0 && n != len(set) {
			h.t.Fatalf("round %d: a partial import: %d of %d rows", round, n, len(set))
		}
	}
}

// TestCrashSafety is the crash harness: the built binary is killed with
// SIGKILL at random moments while it records, imports, serves API writes
// and delivers notifications; after each round the ledger must hold every
// acknowledged act exactly once and verify; at the end every notification
// is delivered exactly once and the persisted read models equal a replay
// from position 0. -crash.rounds sets the number of rounds.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d rounds", seed, *crashRounds)
	c := newCLI(t)
	c.ok("seed")
	fake := slackfake.New()
	defer fake.Close()
	token := strings.TrimSpace(c.ok("token", "create", "--role", "officer", "--name", "crash harness"))
	token = token[strings.LastIndex(token, "\n")+1:]
	c.bot().ok("subscribe", "--sink", "slack", "--channel", "C0CRASH", "--treaty", "XVIII-16", "--on", "deposits")
	h := &crashLedger{t: t, c: c, rng: rand.New(rand.NewPCG(seed, 1)), fake: fake, token: token,
		acked: map[string]int64{}, tried: map[string]bool{}, keys: map[string]string{}, stats: map[string]int{}, took: map[string]time.Duration{}}
	for _, line := range strings.Split(mustReadSeed(t, "hanoi-convention.csv"), "\n")[1:] {
		f := strings.Split(line, ",")
		if len(f) >= 3 && f[1] == "signature" {
			h.signs = append(h.signs, signatory{f[0], events.MustDate(f[2])})
		}
	}
	h.calibrate()
	for round := range *crashRounds {
		switch round % 5 {
		case 0, 1:
			h.roundRecord()
		case 2:
			h.roundImport()
		case 3:
			h.roundAPI()
		case 4:
			h.roundNotify()
		}
		h.check(round)
	}

	// Every notification arrives exactly once: run the notifier until
	// every delivery of every act is posted.
	db, err := sql.Open("sqlite3", "file:"+c.db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var acts int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE stream = 'treaty-XVIII-16' AND type = 'act.declaration'
		AND position > (SELECT position FROM events WHERE type = 'subscription.created')`).Scan(&acts); err != nil {
		t.Fatal(err)
	}
	cmd := h.start(io.Discard, io.Discard, "notify", "run")
	// Done when every act's message is posted and every delivery is
	// recorded as sent: a message posted by a killed round is confirmed
	// (asked of Slack) before it is marked, after it is seen posted.
	deadline := time.Now().Add(120 * time.Second)
	for {
		ids := map[string]int{}
		for _, p := range fake.Posts() {
			ids[p.DeliveryID()]++
		}
		var sent int
		if err := db.QueryRow(`SELECT count(*) FROM notify_deliveries WHERE status = 'sent'`).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		if (len(ids) >= acts && sent >= acts) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	ids := map[string]int{}
	for _, p := range fake.Posts() {
		ids[p.DeliveryID()]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("delivery %s posted %d times", id, n)
		}
	}
	var deliveries, sent int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE status = 'sent') FROM notify_deliveries`).Scan(&deliveries, &sent); err != nil {
		t.Fatal(err)
	}
	if len(ids) != acts || deliveries != acts || sent != acts {
		t.Errorf("%d acts after the subscription, %d deliveries (%d sent), %d posted", acts, deliveries, sent, len(ids))
	}

	// What the service's read side answers after the kills — statuses of
	// every treaty as of several dates, and the timeline — equals a fresh
	// fold of the log by the command line.
	addr := freePort(t)
	srv := h.serve(addr)
	for _, q := range []string{"", "?as_of=2026-01-01", "?as_of=2026-06-30"} {
		for _, id := range []string{"XVIII-16", "XXVI-9", "XVIII-14"} {
			full := "?statements=full" // every statement's text, as status --json has it
			if q != "" {
				full = q + "&statements=full"
			}
			resp, err := http.Get("http://" + addr + "/api/v1/treaties/" + id + "/status" + full)
			if err != nil {
				t.Fatal(err)
			}
			served, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			args := []string{"status", id, "--json"}
			if q != "" {
				args = append(args, "--as-of", strings.TrimPrefix(q, "?as_of="))
			}
			var a, b any
			if err := json.Unmarshal(served, &a); err != nil {
				t.Fatalf("GET status %s%s: %v %s", id, q, err, served)
			}
			if err := json.Unmarshal([]byte(c.ok(args...)), &b); err != nil {
				t.Fatal(err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Errorf("the service's status of %s%s differs from a fresh fold", id, q)
			}
		}
	}
	srv.term()

	t.Logf("%d rounds: %d acknowledged acts, 0 lost, 0 duplicated; %d notifications, each posted once; %v; a record took %s, an import %s",
		*crashRounds, len(h.acked), len(ids), h.stats, h.took["record"].Round(time.Millisecond), h.took["import"].Round(time.Millisecond))
}
