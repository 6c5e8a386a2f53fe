package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
)

// exportOf is what the export package writes for the store: what `treatywatch
// export log` prints.
func exportOf(t *testing.T, st export.LogReader, f export.LogFormat, filter export.LogFilter) []byte {
	t.Helper()
	var b bytes.Buffer
	out := export.NewLog(&b, f)
	if _, err := export.Copy(context.Background(), st, filter, out, nil); err != nil {
		t.Fatal(err)
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestExportLogAPIIsTheArchive: GET /api/v1/export/log?format=jsonl is the
// archive the command line writes, byte for byte; imported into an empty
// ledger it gives the same head and hash, and verify passes on it. The
// CSV, for one treaty and up to a position, is `export log --format csv`'s
// and parses with encoding/csv.
func TestExportLogAPIIsTheArchive(t *testing.T) {
	t.Parallel()
	e := MustEnv(t, envOptions{})
	r := e.Do(http.MethodGet, "/api/v1/export/log?format=jsonl", e.Admin, "", nil)
	wantStatus(t, r, http.StatusOK)
	if ct, cd := r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"); ct != "application/jsonl; charset=utf-8" || cd != `attachment; filename="treatywatch-log.jsonl"` {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	if want := exportOf(t, e.Store, export.LogArchive, export.LogFilter{}); !bytes.Equal(r.Body, want) {
		t.Errorf("the API's archive (%d bytes) is not the export package's (%d bytes)", len(r.Body), len(want))
	}
	cp, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "copy.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cp.Close() })
	n, err := cp.Import(t.Context(), export.ReadArchive(bytes.NewReader(r.Body)))
	if err != nil || n != e.Head() {
		t.Fatalf("import the API's archive: %d events, %v; want %d", n, err, e.Head())
	}
	a, err := e.Store.VerifyReport(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cp.VerifyReport(t.Context(), nil)
	if err != nil || len(b.Breaks) != 0 || b.Head != a.Head || !bytes.Equal(b.Hash, a.Hash) {
		t.Errorf("verify on the copy: %+v, %v; the original's head %d:%x", b, err, a.Head, a.Hash)
	}

	r = e.Get("/api/v1/export/log?format=csv&treaty=hanoi&until=40")
	wantStatus(t, r, http.StatusOK)
	want := exportOf(t, e.Store, export.LogCSV, export.LogFilter{Stream: events.TreatyStream(hanoi), Until: export.Until{Position: 40}})
	if !bytes.Equal(r.Body, want) || r.Header.Get("Content-Disposition") != `attachment; filename="XVIII-16-log.csv"` {
		t.Errorf("the API's CSV is not the export package's:\n%s", r.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("encoding/csv: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		if row[2] != events.TreatyStream(hanoi) || len(row[0]) > 2 {
			t.Errorf("row %v: not a Hanoi event up to position 40", row)
		}
	}
}

// TestExportAPIRefusals: an unknown format and a bad until are
// 400, an unknown treaty 404, each naming the problem; a private instance
// wants a viewer token (401 without, 200 with).
func TestExportAPIRefusals(t *testing.T) {
	t.Parallel()
	e := MustEnv(t, envOptions{private: true})
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/export/log?format=xlsx", 400, `format "xlsx": want jsonl or csv`},
		{"/api/v1/export/log?format=csv&until=soon", 400, `until: "soon": want a log position`},
		{"/api/v1/export/log?format=csv&until=-3", 400, "position -3: want 1 or more"},
		{"/api/v1/export/log?format=csv&treaty=XXVII-99", 404, `unknown treaty "XXVII-99"`},
		{"/api/v1/treaties/hanoi/export?format=pdf", 400, `format "pdf": want csv or json`},
		{"/api/v1/treaties/hanoi/export?format=csv&as_of=2026-02-30", 400, "February 2026 has 28 days"},
		{"/api/v1/treaties/XXVII-99/export?format=csv", 404, `unknown treaty "XXVII-99"`},
	} {
		r := e.Do(http.MethodGet, tc.path, e.Viewer, "", nil)
		if r.Status != tc.status || !strings.Contains(r.Err(t).Message, tc.want) {
			t.Errorf("GET %s: %d %s; want %d and %q", tc.path, r.Status, r.Body, tc.status, tc.want)
		}
	}
	for _, p := range []string{"/api/v1/export/log?format=csv", "/api/v1/export/log", "/api/v1/treaties/hanoi/export?format=csv"} {
		wantStatus(t, e.Get(p), http.StatusUnauthorized)
		wantStatus(t, e.Do(http.MethodGet, p, e.Viewer, "", nil), http.StatusOK)
	}
}

// TestExportLogAPIArchiveNeedsAnAdmin: the archive is the whole ledger
// unredacted (token hashes included), so even on a public instance it is
// sent only for an admin token (401 without one, 403 for an officer or a
// viewer), while the CSV of the log, redacted, is any reader's, and the
// default.
func TestExportLogAPIArchiveNeedsAnAdmin(t *testing.T) {
	t.Parallel()
	e := MustEnv(t, envOptions{})
	wantStatus(t, e.Get("/api/v1/export/log?format=jsonl"), http.StatusUnauthorized)
	for _, tok := range []string{e.Viewer, e.Officer} {
		if r := e.Do(http.MethodGet, "/api/v1/export/log?format=jsonl", tok, "", nil); r.Status != http.StatusForbidden || !strings.Contains(r.Err(t).Message, "needs role admin") {
			t.Errorf("the archive for a non-admin token: %d %s", r.Status, r.Body)
		}
	}
	wantStatus(t, e.Do(http.MethodGet, "/api/v1/export/log?format=jsonl", e.Admin, "", nil), http.StatusOK)
	r := e.Get("/api/v1/export/log")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || bytes.Contains(r.Body, []byte(`"hash"`)) {
		t.Errorf("the default export of the log: %q, want the redacted CSV", ct)
	}
}

// TestTreatyExportAPIIsExportStatus: GET /api/v1/treaties/{id}/export is
// the participant table as CSV (ParticipantsCSV, what `status --csv` and
// the dashboard's download give) or the status as JSON, for the same
// as_of and known_at.
func TestTreatyExportAPIIsExportStatus(t *testing.T) {
	t.Parallel()
	e := MustEnv(t, envOptions{})
	st, err := e.Runner.Status(t.Context(), hanoi, events.MustDate("2025-10-25"), timeZero())
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := export.ParticipantsCSV(&want, st); err != nil {
		t.Fatal(err)
	}
	r := e.Get("/api/v1/treaties/hanoi/export?as_of=2025-10-25") // format=csv by default
	wantStatus(t, r, http.StatusOK)
	if !bytes.Equal(r.Body, want.Bytes()) || r.Header.Get("Content-Disposition") != `attachment; filename="XVIII-16-participants-2025-10-25.csv"` {
		t.Errorf("the CSV export:\n%s\nwant\n%s", r.Body, want.Bytes())
	}
	if d := e.Get("/treaties/hanoi/participants.csv?as_of=2025-10-25"); !bytes.Equal(d.Body, r.Body) {
		t.Errorf("the dashboard's download differs from the API's export")
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != len(st.Participants)+1 {
		t.Fatalf("encoding/csv: %d rows, %v; want %d", len(rows), err, len(st.Participants)+1)
	}
	r = e.Get("/api/v1/treaties/XVIII-16/export?format=json&as_of=2025-10-25")
	wantStatus(t, r, http.StatusOK)
	var got projections.Status
	r.JSON(t, &got)
	if got.Treaty != hanoi || len(got.Participants) != len(st.Participants) || got.AsOf != st.AsOf {
		t.Errorf("the JSON export: %s %v %d participants; want %d", got.Treaty, got.AsOf, len(got.Participants), len(st.Participants))
	}
	r = e.Get("/api/v1/treaties/hanoi/export?format=csv&known_at=2000-01-01")
	if r.Status != http.StatusNotFound || r.Err(t).Code != "not_yet_registered" {
		t.Errorf("known_at before the registration: %d %s", r.Status, r.Body)
	}
}

// TestExportLogAPIRefusesALegacySecret: a log holding a subscription of
// schema version 1 with its webhook URL in the payload is not sent as an
// archive (409 refused, naming the position, without the URL), while the
// CSV, redacted, is sent without it.
func TestExportLogAPIRefusesALegacySecret(t *testing.T) {
	t.Parallel()
	e := MustEnv(t, envOptions{})
	v1 := `{"subscription":{"id":"old-hook","sink":"webhook","url":"https://ngo.example/hooks/abc123secret","treaties":["XVIII-16"],"on":["all"],"secret":"s3cr3t-hmac"}}`
	got, err := e.Store.Append(t.Context(), events.StreamAppend{Stream: events.SubscriptionStream("old-hook"), Records: []events.Record{
		{Type: events.TypeSubscriptionCreated, SchemaVersion: 1, Meta: events.Metadata{Actor: "old"}, Payload: json.RawMessage(v1)}}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(http.MethodGet, "/api/v1/export/log?format=jsonl", e.Admin, "", nil)
	if r.Status != http.StatusConflict || r.Err(t).Code != "refused" || !strings.Contains(string(r.Body), fmt.Sprintf("position %d is a subscription recorded before treatywatch 0.2", got[0].Position)) ||
		strings.Contains(string(r.Body), "abc123secret") {
		t.Errorf("archive with a legacy secret: %d %s", r.Status, r.Body)
	}
	wantStatus(t, e.Do(http.MethodGet, fmt.Sprintf("/api/v1/export/log?format=jsonl&until=%d", got[0].Position-1), e.Admin, "", nil), http.StatusOK)
	r = e.Get("/api/v1/export/log?format=csv")
	wantStatus(t, r, http.StatusOK)
	if b := string(r.Body); strings.Contains(b, "abc123secret") || strings.Contains(b, "s3cr3t-hmac") || !strings.Contains(b, "legacy_secrets_in_log") {
		t.Errorf("the CSV holds the legacy secret, or not the mark")
	}
}

// pageWatch is the real store, with a note, at each page of the log the
// export reads, of how many bytes the answer had written by then.
type pageWatch struct {
	*sqlite.Store
	mu      sync.Mutex
	w       *countingWriter
	written []int64 // bytes written when each ReadAll began
}

func (p *pageWatch) ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error) {
	p.mu.Lock()
	if p.w != nil {
		p.written = append(p.written, p.w.n())
	}
	p.mu.Unlock()
	return p.Store.ReadAll(ctx, after, limit)
}

// countingWriter is a ResponseWriter that counts the body's bytes and
// samples the heap in use as it is written.
type countingWriter struct {
	mu      sync.Mutex
	h       http.Header
	status  int
	bytes   int64
	writes  int
	maxHeap uint64
	sink    bytes.Buffer // the last line or so, to check the end
}

func (c *countingWriter) Header() http.Header { return c.h }
func (c *countingWriter) WriteHeader(s int)   { c.status = s }
func (c *countingWriter) Flush()              {}
func (c *countingWriter) n() int64            { c.mu.Lock(); defer c.mu.Unlock(); return c.bytes }
func (c *countingWriter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.bytes += int64(len(b))
	c.writes++
	if c.writes%64 == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		c.maxHeap = max(c.maxHeap, ms.HeapInuse)
	}
	c.sink.Reset()
	c.sink.Write(b[max(0, len(b)-4096):])
	return len(b), nil
}

// bigLog appends n events of some 400 bytes each, 1,000 per commit.
func bigLog(t *testing.T, st *sqlite.Store, n int) {
	t.Helper()
	pad := strings.Repeat("x", 300)
	for i := 0; i < n; i += 1000 {
		rs := make([]events.Record, 1000)
		for j := range rs {
			rs[j] = events.Record{Type: "test.bulk", SchemaVersion: 1, Payload: fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i+j, pad)}
		}
		if _, err := st.Append(t.Context(), events.StreamAppend{Stream: "bulk", ExpectedVersion: int64(i), Records: rs}); err != nil {
			t.Fatal(err)
		}
	}
}

// exportThrough serves GET /api/v1/export/log on a server over w's store
// into a countingWriter and returns it with the bytes written as each
// page was read.
func exportThrough(t *testing.T, st *sqlite.Store, query string) (*countingWriter, []int64) {
	t.Helper()
	l, err := events.NewLedger(st, events.LedgerConfig{Now: today, Secrets: st})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	watch := &pageWatch{Store: st}
	srv, err := web.New(web.Config{Addr: "127.0.0.1:0", Ledger: l, Log: watch, Runner: runner, Now: today}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{h: http.Header{}}
	watch.mu.Lock()
	watch.w = w
	watch.mu.Unlock()
	secret, _, err := l.CreateToken(t.Context(), "Admin Ann", events.RoleAdmin, events.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/export/log?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	srv.Handler().ServeHTTP(w, req)
	if w.status != http.StatusOK {
		t.Fatalf("export: status %d", w.status)
	}
	return w, watch.written
}

// TestExportLogAPIStreams: the log export writes each page of the log
// before it reads the next — the answer is never built whole — so its
// memory does not grow with the log: exporting a log six times longer
// (30,000 events, some 16 MB of archive) keeps the heap in use within a
// few MiB of the shorter one's.
func TestExportLogAPIStreams(t *testing.T) {
	t.Parallel()
	heap := map[int]uint64{}
	for _, n := range []int{5_000, 30_000} {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "big.db"), sqlite.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		bigLog(t, st, n)
		runtime.GC()
		w, written := exportThrough(t, st, "format=jsonl")
		if len(written) < n/1000 {
			t.Fatalf("%d events read in %d pages", n, len(written))
		}
		for i := 1; i < len(written); i++ {
			if written[i] <= written[i-1] {
				t.Fatalf("%d events: page %d was read before page %d was written (bytes written at each read: %v)", n, i+1, i, written)
			}
		}
		// The last event is the admin token exportThrough created.
		if !strings.Contains(w.sink.String(), fmt.Sprintf(`"position":%d,`, n+1)) {
			t.Errorf("%d events: the export does not end with position %d", n, n+1)
		}
		heap[n] = w.maxHeap
		t.Logf("%d events: %d bytes in %d writes, %d pages, heap in use at most %.1f MiB", n, w.bytes, w.writes, len(written), float64(w.maxHeap)/(1<<20))
		if n == 30_000 && w.bytes < 12<<20 {
			t.Errorf("the long export is only %d bytes", w.bytes)
		}
	}
	if heap[30_000] > heap[5_000]+8<<20 {
		t.Errorf("heap in use grew with the log: %.1f MiB for 5,000 events, %.1f MiB for 30,000", float64(heap[5_000])/(1<<20), float64(heap[30_000])/(1<<20))
	}
}
