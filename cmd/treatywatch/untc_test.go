package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// untcFixture is a status file of package untc's testdata.
func untcFixture(name string) string {
	return filepath.Join("..", "internal", "untc", "testdata", name)
}

// withParis is a CLI on a ledger holding only the Paris Agreement's
// definition (no history).
func withParis(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	c.ok("treaty", "add", filepath.Join("..", "..", "seed", "treaties", "xxvii-7-d-paris.yaml"))
	return c
}

func TestImportUntcDryRunThenImportThenNothing(t *testing.T) {
	t.Parallel()
	c := withParis(t)
	file := untcFixture("three-columns.xml")
	before := c.logLines()
	out := c.ok("import-untc", "--treaty", "paris", file, "--dry-run")
	for _, want := range []string{
		"line 20: signature by Côte d'Ivoire on 2016-04-22\n",
		"line 23: succession by Montenegro on 2017-06-03\n",
		"undone, line 26: acceptance by United States of America on 2021-01-20 is bracketed in the file (later undone): not recorded\n",
		"would record 11 acts into XXVII-7-d from three-columns.xml; 0 already recorded, 0 conflicts (not recorded), 1 undone\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := c.logLines(); len(got) != len(before) {
		t.Fatalf("a dry run wrote %d events", len(got)-len(before))
	}
	out = c.ok("import-untc", "--treaty", "XXVII-7-d", file)
	if !strings.Contains(out, "recorded 11 acts into XXVII-7-d from three-columns.xml") || !strings.Contains(out, "→ position") {
		t.Errorf("import output:\n%s", out)
	}
	lines := c.logLines()
	if len(lines) != len(before)+11 || !strings.Contains(lines[len(lines)-1], `"source":"three-columns.xml"`) {
		t.Errorf("log after the import (%d events): %s", len(lines), lines[len(lines)-1])
	}
	var res struct {
		Recorded  int `json:"recorded"`
		Unchanged int `json:"unchanged"`
		Missing   []any
	}
	if err := json.Unmarshal([]byte(c.ok("import-untc", "--treaty", "XXVII-7-d", file, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 0 || res.Unchanged != 11 || len(res.Missing) != 0 || len(c.logLines()) != len(lines) {
		t.Errorf("the second import: %+v; want nothing recorded", res)
	}
}

func TestImportUntcReportsConflictsWithoutOverwriting(t *testing.T) {
	t.Parallel()
	c := withParis(t)
	c.ok("record", "signature", "--treaty", "XXVII-7-d", "--participant", "Japan", "--date", "2016-04-22")
	c.ok("record", "acceptance", "--treaty", "XXVII-7-d", "--participant", "Japan", "--date", "2016-11-09")
	out := c.ok("import-untc", "--treaty", "XXVII-7-d", untcFixture("three-columns.xml"))
	if !strings.Contains(out, "conflict, line 22: Japan: the file shows acceptance of 2016-11-08; the ledger holds acceptance of 2016-11-09 at position") ||
		!strings.Contains(out, "recorded 9 acts into XXVII-7-d") {
		t.Errorf("output:\n%s", out)
	}
	st := c.ok("status", "XXVII-7-d", "--json")
	if !strings.Contains(st, `"2016-11-09"`) || strings.Contains(st, `"2016-11-08"`) {
		t.Errorf("the ledger's date was overwritten:\n%s", st)
	}
}

func TestImportUntcRefusals(t *testing.T) {
	t.Parallel()
	c := withParis(t)
	before := c.logLines()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import-untc", "--treaty", "XXVII-7-d", untcFixture("maintenance.html")}, 2,
			`maintenance.html: not a UNTC status file: got HTML (title "United Nations Treaty Collection - Site under maintenance")`},
		{[]string{"import-untc", "--treaty", "XXVII-99", untcFixture("three-columns.xml")}, 4, `unknown treaty "XXVII-99"`},
		{[]string{"import-untc", "--treaty", "XXVII-7-d", untcFixture("two-columns.xml")}, 2, "cannot be imported; nothing was written"}, // ratifications without signatures
		{[]string{"import-untc", "--treaty", "XXVII-7-d", "--url", "http://127.0.0.1:9/x.xml", untcFixture("two-columns.xml")}, 2, "give FILE.xml or --url, not both"},
		{[]string{"import-untc", "--treaty", "XXVII-7-d"}, 2, "want exactly one FILE.xml"},
		{[]string{"import-untc", "--treaty", "XXVII-7-d", "-"}, 2, "give --source"},
		{[]string{"import-untc", "--treaty", "XXVII-7-d", "--url", "file:///etc/passwd"}, 2, "want an http:// or https:// URL"},
		{[]string{"import-untc", "--treaty", "XXVII-7-d", filepath.Join(t.TempDir(), "absent.xml")}, 1, "no such file"},
	} {
		stdin := ""
		if tc.args[len(tc.args)-1] == "-" {
			b, _ := os.ReadFile(untcFixture("three-columns.xml"))
			stdin = string(b)
		}
		r := c.run(stdin, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", tc.args[1:], r.code, r.stderr, tc.code, tc.want)
		}
	}
	r := c.run("", "import-untc", "--treaty", "XXVII-7-d", untcFixture("maintenance.html"), "--json")
	var j struct{ Code, Message string }
	if err := json.Unmarshal([]byte(r.stderr), &j); err != nil || r.code != 2 || j.Code != "invalid" || !strings.Contains(j.Message, "not a UNTC status file") || r.stdout != "" {
		t.Errorf("--json: exit %d, %q, %v", r.code, r.stderr, err)
	}
	if got := c.logLines(); len(got) != len(before) {
		t.Errorf("the refusals wrote %d events", len(got)-len(before))
	}
}

// untcServer serves a status file the test can change, counting requests.
type untcServer struct {
	mu   sync.Mutex
	body string
	code int
	srv  *httptest.Server
}

func newUntcServer(t *testing.T, body string) *untcServer {
	s := &untcServer{body: body, code: http.StatusOK}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("ETag", `"`+strings.Repeat("x", len(s.body)%7+1)+`"`)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(s.code)
		_, _ = w.Write([]byte(s.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *untcServer) URL() string { return s.srv.URL + "/doc/Publication/MTDSG/XVIII-16.en.xml" }

func TestImportUntcFromAURL(t *testing.T) {
	t.Parallel()
	c := withParis(t)
	b, err := os.ReadFile(untcFixture("three-columns.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := newUntcServer(t, string(b))
	out := c.ok("import-untc", "--treaty", "XXVII-7-d", "--url", s.URL())
	if !strings.Contains(out, "recorded 11 acts into XXVII-7-d from "+s.URL()) {
		t.Errorf("output:\n%s", out)
	}
	s.mu.Lock()
	s.code = http.StatusServiceUnavailable
	s.mu.Unlock()
	r := c.run("", "import-untc", "--treaty", "XXVII-7-d", "--url", s.URL())
	if r.code != 1 || !strings.Contains(r.stderr, "the server answered 503 Service Unavailable, not 200 OK") {
		t.Errorf("503: exit %d, %s", r.code, r.stderr)
	}
}

// hanoiFile is a status file of the Hanoi Convention: Viet Nam's
// signature (in the seed) and a ratification the seed does not have.
const hanoiFile = `<?xml version="1.0" encoding="ISO-8859-1"?>
<Treaty><Header><Status><Signatories>1</Signatories><Parties>1</Parties></Status></Header>
<Participants><Table><TGroup cols="3">
<Thead><Row><Entry>Participant</Entry><Entry>Signature</Entry><Entry>Ratification, Acceptance(A), Approval(AA), Accession(a)</Entry></Row></Thead>
<Tbody><Rows><Row><Entry>Viet Nam</Entry><Entry>25 Oct	 2025</Entry><Entry>1 Jun	 2026</Entry></Row></Rows></Tbody>
</TGroup></Table></Participants></Treaty>`

func TestWatchUntcPollsAtOnceAndStops(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	s := newUntcServer(t, hanoiFile)
	w := c.start("watch-untc", "--treaty", "hanoi", "--url", s.URL(), "--every", "@hourly")
	waitFor(t, 30*time.Second, "the first poll's line", func() bool {
		return strings.Contains(w.stdout.String(), "poll 1: recorded 1 acts: ratification by Viet Nam on 2026-06-01 (position")
	})
	if !w.mustStop(t) {
		return
	}
	if log := c.ok("log", "--treaty", "XVIII-16", "--json"); !strings.Contains(log, `"source":"`+s.URL()+`"`) {
		t.Errorf("the recorded act does not name the URL as its source:\n%s", log)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch-untc", "--treaty", "hanoi", "--url", s.URL(), "--every", "@every 1s"}, "every: cron spec \"@every 1s\" fires more often than once a minute"},
		{[]string{"watch-untc", "--treaty", "hanoi", "--url", s.URL()}, "watch-untc: missing --every"},
		{[]string{"watch-untc", "--treaty", "hanoi", "--url", "ftp://x/y.xml", "--every", "@daily"}, "want an http:// or https:// URL"},
	} {
		if r := c.run("", tc.args...); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, r.code, r.stderr)
		}
	}
}

func TestServeWatchesUntcAndNotifiesWhatItRecords(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	s := newUntcServer(t, hanoiFile)
	srv, _ := c.serve("--watch-untc", "XVIII-16="+s.URL()+"@@hourly")
	waitFor(t, 30*time.Second, "the console notification of the deposit the watcher recorded", func() bool {
		return strings.Contains(srv.stdout.String(), "Ratification by Viet Nam")
	})
	srv.mustStop(t)
	for _, tc := range []struct{ flag, want string }{
		{"XVIII-16=" + s.URL() + "@@every 1s", "fires more often than once a minute"},
		{"XVIII-16=" + s.URL(), "want ID=URL@CRON-SPEC"},
		{"XVIII-16=ftp://x/y.xml@@daily", "want an http:// or https:// URL"},
	} {
		if r := c.run("", "serve", "--addr", "127.0.0.1:0", "--watch-untc", tc.flag); r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--watch-untc %s: exit %d, %s", tc.flag, r.code, r.stderr)
		}
	}
}
