package untc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/untc"
	"github.com/treatywatch/treatywatch/events"
)

// depositary is a local HTTP server publishing one status file whose
// content the test changes between polls. It answers conditional
// requests as a real server does: 304 when If-None-Match names the
// current ETag, or If-Modified-Since is not before Last-Modified.
type depositary struct {
	mu           sync.Mutex
	body         string
	etag         string
	lastModified time.Time
	requests     int
	conditional  int // requests that carried the validators of the current version
	srv          *httptest.Server
}

func newDepositary(t *testing.T) *depositary {
	d := &depositary{}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *depositary) URL() string {
	return d.srv.URL + "/doc/Publication/MTDSG/Volume%20II/Chapter%20XXVII/XXVII-7-d.en.xml"
}

// publish sets the file, its ETag ("" for none) and Last-Modified time
// (zero for none).
func (d *depositary) publish(body, etag string, modified time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.body, d.etag, d.lastModified = body, etag, modified
}

func (d *depositary) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests++
	if d.etag != "" {
		w.Header().Set("ETag", d.etag)
		if r.Header.Get("If-None-Match") == d.etag {
			d.conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if !d.lastModified.IsZero() {
		w.Header().Set("Last-Modified", d.lastModified.UTC().Format(http.TimeFormat))
		if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !d.lastModified.After(t) {
			d.conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(d.body))
}

// every is a schedule firing every d: faster than a cron spec can say,
// so that the tests run through robfig/cron in milliseconds.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// statusFile is a Paris Agreement status file with the given rows.
func statusFile(rows ...string) string {
	return file(`<Entry>Participant</Entry><Entry>Signature</Entry><Entry>Acceptance(A), Ratification, Approval(AA), Accession(a)</Entry>`, rows...)
}

// lockedBuffer is a log sink safe for concurrent writes and reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// watch starts a watcher polling every 20 ms; polls come on the channel.
func watch(t *testing.T, l *ledger, url string, logs *lockedBuffer) (<-chan untc.Poll, *untc.Watcher) {
	t.Helper()
	polls := make(chan untc.Poll, 1000)
	w, err := untc.NewWatcher(untc.WatcherConfig{Ledger: l.Ledger, Treaty: paris, URL: url, Schedule: every(20 * time.Millisecond),
		AfterPoll: func(p untc.Poll) { polls <- p }}, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return polls, w
}

// next waits for the first poll with the outcome, failing after 20 s.
func next(t *testing.T, polls <-chan untc.Poll, outcome string) untc.Poll {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case p := <-polls:
			if p.Outcome == outcome {
				return p
			}
		case <-deadline:
			t.Fatalf("no poll with outcome %s within 20 s", outcome)
		}
	}
}

func TestWatcherRecordsWhatTheDepositaryPublishes(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	dep := newDepositary(t)
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), `"v1"`, time.Time{})
	logs := &lockedBuffer{}
	polls, w := watch(t, l, dep.URL(), logs)

	first := next(t, polls, untc.OutcomeRecorded)
	if first.N != 1 || first.Result.Recorded != 1 {
		t.Fatalf("first poll %+v; want the signature recorded at once", first)
	}
	head := l.head(t)
	// The same version again: the server answers 304 to the conditional
	// request, and nothing is recorded.
	next(t, polls, untc.OutcomeNotModified)
	if l.head(t) != head {
		t.Fatalf("a 304 recorded something: head %d→%d", head, l.head(t))
	}
	// A broken file: logged, nothing recorded, and polling goes on.
	dep.publish(`<?xml version="1.0" encoding="ISO-8859-1"?><Treaty><Participants><Table><TGroup>`, `"v2"`, time.Time{})
	failed := next(t, polls, untc.OutcomeFailed)
	if !errors.Is(failed.Err, events.ErrInvalid) || !strings.Contains(logs.String(), "untc watch: the status file cannot be parsed") {
		t.Errorf("failed poll %v; logs:\n%s", failed.Err, logs)
	}
	if l.head(t) != head {
		t.Fatalf("a broken file recorded something: head %d→%d", head, l.head(t))
	}
	// The depositary publishes Japan's acceptance: the next poll records it.
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry>8 Nov 2016 A</Entry></Row>`), `"v3"`, time.Time{})
	rec := next(t, polls, untc.OutcomeRecorded)
	if rec.Result.Recorded != 1 || rec.Result.Missing[0].Action != events.Acceptance || rec.Result.Unchanged != 1 {
		t.Errorf("poll %+v; want Japan's acceptance recorded", rec.Result)
	}
	src := dep.URL()
	want := []string{"Japan signature 2016-04-22 " + src, "Japan acceptance 2016-11-08 " + src}
	if got := l.acts(t, paris); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream %q, want %q", got, want)
	}
	next(t, polls, untc.OutcomeNotModified) // v3 is kept as the version last read
	s := w.Stats()
	if s.Acts != 2 || s.Recorded != 2 || s.Failed < 1 || s.NotModified < 2 || s.Polls < 5 {
		t.Errorf("stats %+v", s)
	}
	dep.mu.Lock()
	defer dep.mu.Unlock()
	if dep.conditional < 2 {
		t.Errorf("%d conditional requests answered 304; want at least 2", dep.conditional)
	}
}

func TestWatcherAsksWithLastModified(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	dep := newDepositary(t)
	v1 := time.Date(2026, time.November, 20, 8, 0, 0, 0, time.UTC)
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), "", v1)
	polls, _ := watch(t, l, dep.URL(), &lockedBuffer{})
	next(t, polls, untc.OutcomeRecorded)
	next(t, polls, untc.OutcomeNotModified)
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry>8 Nov 2016 A</Entry></Row>`), "", v1.Add(time.Hour))
	if p := next(t, polls, untc.OutcomeRecorded); p.Result.Recorded != 1 {
		t.Errorf("poll %+v", p)
	}
}

func TestWatcherLogsAnHTMLPageAndGoesOn(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	dep := newDepositary(t)
	dep.publish("<!DOCTYPE html><html><head><title>Site under maintenance</title></head><body>Back soon</body></html>", `"m"`, time.Time{})
	logs := &lockedBuffer{}
	polls, _ := watch(t, l, dep.URL(), logs)
	p := next(t, polls, untc.OutcomeFailed)
	if !strings.Contains(p.Err.Error(), `not a UNTC status file: got HTML (title "Site under maintenance")`) {
		t.Errorf("err %v", p.Err)
	}
	next(t, polls, untc.OutcomeFailed) // a failed poll keeps no validators: the page is fetched again
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), `"v1"`, time.Time{})
	next(t, polls, untc.OutcomeRecorded)
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "Site under maintenance") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestParseEveryUsesTheDomainsScheduleChecks(t *testing.T) {
	t.Parallel()
	if _, err := untc.ParseEvery("0 6 * * *"); err != nil {
		t.Errorf("0 6 * * *: %v", err)
	}
	for spec, want := range map[string]string{
		"@every 1s":   `every: cron spec "@every 1s" fires more often than once a minute`,
		"0 0 30 2 *":  `every: cron spec "0 0 30 2 *" never fires`,
		"61 * * * *":  `every: invalid cron spec "61 * * * *"`,
		"":            "every: empty cron spec",
		"@hourly\x00": "every: ",
	} {
		_, err := untc.ParseEvery(spec)
		if !errors.Is(err, events.ErrInvalid) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: err %v, want ErrInvalid starting %q", spec, err, want)
		}
	}
}

// TestWatcherRecoversFromAPanicAndPollsAgain: a poll that panics is
// logged (cron.Recover) and the schedule goes on — with robfig/cron
// v3.0.1, only if SkipIfStillRunning wraps Recover and not the reverse.
func TestWatcherRecoversFromAPanicAndPollsAgain(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	dep := newDepositary(t)
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), `"v1"`, time.Time{})
	polls := make(chan untc.Poll, 1000)
	logs := &lockedBuffer{}
	w, err := untc.NewWatcher(untc.WatcherConfig{Ledger: l.Ledger, Treaty: paris, URL: dep.URL(), Schedule: every(20 * time.Millisecond),
		AfterPoll: func(p untc.Poll) {
			if p.N == 1 {
				panic("boom")
			}
			polls <- p
		}}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	p := next(t, polls, untc.OutcomeNotModified) // the poll after the one that panicked
	cancel()
	if err := <-done; err != nil || p.N < 2 || !strings.Contains(logs.String(), "boom") {
		t.Errorf("Run %v, poll %d; logs:\n%s", err, p.N, logs)
	}
}

func TestWatcherNeverRecordsCredentialsOfTheURL(t *testing.T) {
	t.Parallel()
	l := MustLedger(t, parisYAML)
	dep := newDepositary(t)
	dep.publish(statusFile(`<Row><Entry>Japan</Entry><Entry>22 Apr 2016</Entry><Entry/></Row>`), "", time.Time{})
	withUser := strings.Replace(dep.URL(), "http://", "http://reader:s3cret@", 1)
	logs := &lockedBuffer{}
	polls, _ := watch(t, l, withUser, logs)
	next(t, polls, untc.OutcomeRecorded)
	if got := l.acts(t, paris); len(got) != 1 || got[0] != "Japan signature 2016-04-22 "+dep.URL() {
		t.Errorf("stream %q; want the URL without its user as the source", got)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the password is in the logs:\n%s", logs)
	}
}
