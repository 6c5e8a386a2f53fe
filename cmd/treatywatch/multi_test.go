package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/slackfake"
)

// The tests of several service instances on one PostgreSQL database.

// postAct posts one act of the Hanoi Convention through base's API with
// an Idempotency-Key and returns the status and the position answered.
func postAct(base, token, key, body string) (int, int64, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/treaties/XVIII-16/actions", strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	var e struct {
		Position int64 `json:"position"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Position, nil
}

// counted returns the Hanoi Convention's counted instruments as base's
// read side has them.
func counted(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/treaties/XVIII-16/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Counted int `json:"counted"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Counted
}

// officerToken creates an officer token on c's ledger and returns its
// secret.
func officerToken(c *cli) string {
	out := strings.TrimSpace(c.ok("token", "create", "--role", "officer", "--name", "multi-instance test"))
	return out[strings.LastIndex(out, "\n")+1:]
}

// TestTwoInstancesOnPostgresSeeEachOthersWrites runs two serve instances
// on one PostgreSQL database: a ratification written through A is seen in
// B's status and arrives on B's event stream (SSE), though B's process
// never appended it — B's read side follows the shared log.
func TestTwoInstancesOnPostgresSeeEachOthersWrites(t *testing.T) {
	c := newCLI(t)
	c.db = pgtest.NewMigratedDatabase(t)
	c.ok("seed")
	token := officerToken(c)
	_, baseA := c.serve("--no-seed")
	_, baseB := c.serve("--no-seed")
	before := counted(t, baseB)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseB+"/api/v1/events/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stream syncBuffer
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(&stream, sc.Text())
		}
	}()
	waitFor(t, 10*time.Second, "B's stream to start", func() bool { return strings.Contains(stream.String(), ": resuming after position") })

	status, pos, err := postAct(baseA, token, "multi-read-1", `{"action":"ratification","participant":"Algeria","date":"2026-03-02","reference":"C.N.900.2026.TREATIES-XVIII.16"}`)
	if err != nil || status != http.StatusCreated || pos == 0 {
		t.Fatalf("ratification through A: status %d, position %d, %v", status, pos, err)
	}
	waitFor(t, 10*time.Second, "the ratification on B's event stream", func() bool {
		return strings.Contains(stream.String(), "id: "+strconv.FormatInt(pos, 10)+"\n")
	})
	waitFor(t, 10*time.Second, "B's status counting the ratification", func() bool { return counted(t, baseB) == before+1 })
	if !strings.Contains(stream.String(), `"participant":"Algeria"`) {
		t.Errorf("B's stream has position %d without its payload:\n%s", pos, stream.String())
	}

	// How long a write through A takes to reach B's stream (B's runner
	// polls the shared log every 250 ms).
	var lags []time.Duration
	for i := range 8 {
		note := fmt.Sprintf("multi-lag-%d", i)
		status, pos, err := postAct(baseA, token, "key-"+note, fmt.Sprintf(`{"action":"declaration","participant":"Angola","date":"2026-03-%02d","note":%q}`, 3+i, note))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("declaration through A: status %d, %v", status, err)
		}
		acked := time.Now()
		for !strings.Contains(stream.String(), "id: "+strconv.FormatInt(pos, 10)+"\n") {
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("position %d never reached B's stream", pos)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(acked))
	}
	slices.Sort(lags)
	t.Logf("write through A to B's stream: median %s, max %s (%d writes)", lags[len(lags)/2], lags[len(lags)-1], len(lags))
}

// TestTwoServeProcessesOnPostgresSurviveSIGKILL runs two serve processes
// (the shipped binary) on one PostgreSQL database and writes through both
// of them; the one that holds the sender and scheduler leases is killed
// with SIGKILL mid-run. Every write acknowledged is in the ledger exactly
// once (writes left unanswered are retried with their Idempotency-Key on
// the survivor), every act's notification reaches Slack exactly once, and
// the scheduler lease moves to the survivor, which runs the digest that
// came due.
func TestTwoServeProcessesOnPostgresSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := slackfake.New()
	defer fake.Close()
	c := newCLI(t)
	c.db = pgtest.NewMigratedDatabase(t)
	c = c.slackEnv(fake)
	c.ok("seed")
	token := officerToken(c)
	c.ok("subscribe", "--sink", "slack", "--channel", "C0MULTI", "--treaty", "XVIII-16", "--on", "deposits")
	out := c.ok("subscribe", "--sink", "slack", "--channel", "C0DIGEST", "--treaty", "XVIII-16", "--digest", "@hourly")
	digestSub := strings.Fields(strings.TrimPrefix(out, "subscription "))[0]
	digestSub = strings.TrimSuffix(digestSub, ":")
	st, err := postgres.Open(ctx, c.db, postgres.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	holderPID := func(name string) int {
		l, err := st.Lease(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return l.PID
	}

	var errA, errB syncBuffer
	procA, baseA := c.serveProcess(&syncBuffer{}, &errA, "--no-seed")
	waitFor(t, 30*time.Second, "A holding the sender and scheduler leases", func() bool {
		return holderPID("sender") == procA.Process.Pid && holderPID("scheduler") == procA.Process.Pid
	})
	procB, baseB := c.serveProcess(&syncBuffer{}, &errB, "--no-seed")

	signs := []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil"}
	type write struct{ key, note, body string }
	var (
		mu      sync.Mutex
		writes  []write
		acked   = map[string]int64{} // note → position answered
		next    int
		ackedBy [2]int
		wg      sync.WaitGroup
	)
	const total = 60
	bases := []string{baseA, baseB}
	killed := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			i := w % 2 // writers 0 and 2 write through A, 1 and 3 through B
			for {
				mu.Lock()
				if next >= total {
					mu.Unlock()
					return
				}
				n := next
				next++
				note := fmt.Sprintf("multi-%d", n)
				wr := write{key: "key-" + note, note: note, body: fmt.Sprintf(`{"action":"declaration","participant":%q,"date":"2026-03-%02d","note":%q}`,
					signs[n%len(signs)], 1+n/len(signs), note)}
				writes = append(writes, wr)
				mu.Unlock()
				status, pos, err := postAct(bases[i], token, wr.key, wr.body)
				if err != nil {
					select {
					case <-killed:
						if i == 0 {
							return // A is dead: the write is retried on B below
						}
					default:
					}
					t.Errorf("write %s through instance %d: %v", note, i, err)
					return
				}
				mu.Lock()
				if status == http.StatusCreated {
					acked[note] = pos
					ackedBy[i]++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	waitFor(t, 30*time.Second, "writes acknowledged by both instances", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ackedBy[0] >= 3 && ackedBy[1] >= 3
	})
	// The digest came due (it last ran two hours ago): only the holder of
	// the scheduler lease may run it, and A's cron does not fire for up to
	// an hour, so it is the survivor's catch-up that runs it.
	if _, err := notifiers.NewOutbox(st).RecordRun(ctx, "digest:"+digestSub, time.Now().Add(-2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	close(killed)
	_ = procA.Process.Kill() // SIGKILL, mid-run: no cleanup, no release of the leases
	_ = procA.Wait()
	killedAt := time.Now()
	// The routers of both share the log's consumer group (watermill-sql,
	// the group's row of log_offsets): where it stood when A died.
	offsetAtKill, err := st.LogOffset(ctx, "notifier")
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	waitFor(t, 30*time.Second, "the survivor holding the scheduler and sender leases", func() bool {
		return holderPID("scheduler") == procB.Process.Pid && holderPID("sender") == procB.Process.Pid
	})
	takeover := time.Since(killedAt)
	// Retry every write with its key through the survivor: an
	// acknowledged one gets its original answer, an unanswered one is
	// recorded now unless it was before A died.
	for _, wr := range writes {
		status, pos, err := postAct(baseB, token, wr.key, wr.body)
		if err != nil || (status != http.StatusCreated && status != http.StatusOK) {
			t.Fatalf("retry %s on the survivor: status %d, %v\n%s", wr.key, status, err, errB.String())
		}
		if want, ok := acked[wr.note]; ok && want != pos {
			t.Errorf("retry %s: position %d, but the first answer was %d", wr.key, pos, want)
		}
		acked[wr.note] = pos
	}
	// A sentinel, written last: once its notification arrived, every
	// earlier one has had its turn on the channel.
	status, _, err := postAct(baseB, token, "key-multi-sentinel", `{"action":"declaration","participant":"Chile","date":"2026-04-01","note":"multi-sentinel"}`)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("sentinel: status %d, %v", status, err)
	}
	onChannel := func(ch string) []slackfake.Post {
		var ps []slackfake.Post
		for _, p := range fake.Posts() {
			if p.Channel == ch {
				ps = append(ps, p)
			}
		}
		return ps
	}
	waitFor(t, 60*time.Second, "every act's notification, the sentinel's last", func() bool { return len(onChannel("C0MULTI")) >= len(writes)+1 })
	waitFor(t, 30*time.Second, "the digest run by the survivor", func() bool { return len(onChannel("C0DIGEST")) >= 1 })
	// The survivor's router went on in the group from where the routers
	// of both had taken it, to the head: the routing moved to it.
	head, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the notifier group's offset at the head", func() bool {
		pos, err := st.LogOffset(ctx, "notifier")
		return err == nil && pos == head
	})
	if offsetAtKill >= head {
		t.Errorf("the group's offset was %d when A died and the head is %d: the survivor routed nothing", offsetAtKill, head)
	}

	// The ledger holds each write exactly once, at its acknowledged position.
	seen := map[string][]int64{}
	for _, line := range strings.Split(strings.TrimSpace(c.ok("log", "--json", "--treaty", "XVIII-16")), "\n") {
		var e struct {
			Position int64 `json:"position"`
			Payload  struct {
				Note string `json:"note"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Payload.Note, "multi-") {
			seen[e.Payload.Note] = append(seen[e.Payload.Note], e.Position)
		}
	}
	for _, wr := range writes {
		if ps := seen[wr.note]; len(ps) != 1 || ps[0] != acked[wr.note] {
			t.Errorf("%s: in the ledger at %v, want once at %d", wr.note, ps, acked[wr.note])
		}
	}
	// Every notification exactly once.
	for id, n := range fake.PostsByDelivery() {
		if n != 1 {
			t.Errorf("delivery %s posted %d times, want once", id, n)
		}
	}
	if n := len(onChannel("C0MULTI")); n != len(writes)+1 {
		t.Errorf("%d notifications on C0MULTI, want %d (one per act)", n, len(writes)+1)
	}
	if n := len(onChannel("C0DIGEST")); n != 1 {
		t.Errorf("%d digests, want 1", n)
	}
	if r := c.run("", "verify"); r.code != 0 {
		t.Errorf("verify: exit %d %s", r.code, r.stderr)
	}
	t.Logf("%d writes (%d acknowledged by A, %d by B before the kill), %d posts; the survivor held both leases %s after the kill; the group's offset went from %d at the kill to the head %d",
		len(writes), ackedBy[0], ackedBy[1], len(fake.Posts()), takeover, offsetAtKill, head)
}
