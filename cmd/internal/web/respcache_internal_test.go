package web

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// After a change, the requests for the same answer that arrive while one
// builds it wait for that one: the answer is built and encoded once.
func TestBodyCacheBuildsAnAnswerOnce(t *testing.T) {
	var c bodyCache
	const readers = 20
	release := make(chan struct{})
	var builds atomic.Int32
	build := func() ([]byte, error) {
		builds.Add(1)
		<-release
		return []byte(`{"treaty":"XVIII-16"}`), nil
	}
	var wg sync.WaitGroup
	bodies := make([][]byte, readers)
	for i := range readers {
		wg.Go(func() {
			b, err := c.answer("status XVIII-16 2026-12-01", "v79", build)
			if err != nil {
				t.Error(err)
			}
			bodies[i] = b
		})
	}
	// Sentinel: the first reader is building and every other one waits.
	for {
		c.mu.Lock()
		f := c.flight["status XVIII-16 2026-12-01\x00v79"]
		waiting := 0
		if f != nil {
			waiting = f.waiting
		}
		c.mu.Unlock()
		if waiting == readers-1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d builds for %d concurrent readers of one answer, want 1", n, readers)
	}
	for i, b := range bodies {
		if !bytes.Equal(b, []byte(`{"treaty":"XVIII-16"}`)) {
			t.Fatalf("reader %d got %q", i, b)
		}
	}
	// A new stamp (the treaty changed) builds again; the old one is not
	// answered any more.
	if _, err := c.answer("status XVIII-16 2026-12-01", "v80", func() ([]byte, error) { builds.Add(1); return []byte(`{}`), nil }); err != nil || builds.Load() != 2 {
		t.Fatalf("after a change: %v, %d builds", err, builds.Load())
	}
}

// The status and participant-table answers built around one encoding of
// the rows are byte for byte what encoding each whole answer gives, for
// text that needs escaping too.
func TestStatusBodiesEqualTheirWholeEncoding(t *testing.T) {
	d := events.MustDate("2026-06-01")
	eif := events.MustDate("2026-08-30")
	for _, st := range []projections.Status{
		{Treaty: "XVIII-16", Title: "United Nations Convention against Cybercrime", AsOf: d, Required: 40},
		{
			Treaty: "XVIII-16", Title: `Convention "against" <Cybercrime> & co`, AsOf: d, Required: 40, Counted: 1,
			EntryIntoForce: &eif, Milestones: []projections.Mark{{Percent: 25, Target: 10}},
			Participants: []projections.Participation{
				{Participant: "Viet Nam", ISO3: "VNM", Signature: &d, Consent: &projections.Consent{Kind: events.Ratification, Date: d, Counts: true},
					Declarations: []projections.Statement{{Kind: events.Declaration, Date: d, Note: "art. 4 \u2028 <b>\"quoted\"</b> \\ tab\t", Reference: "C.N.196.2025.TREATIES-XVIII.16"}}},
				{Participant: "Türkiye", ISO3: "TUR", Signature: &d},
			},
		},
	} {
		for _, full := range []bool{false, true} {
			sb := statusBodies{s: &Server{}, rowsKey: "rows|XVIII-16|2026-06-01|" + strconv.FormatBool(full), stamp: "s1", full: full}
			got, err := sb.status(st)
			if err != nil {
				t.Fatal(err)
			}
			whole := any(st)
			if !full {
				whole = statusSummary{Status: st, Participants: summaryRows(st.Participants)}
			}
			want, _ := encodeJSON(whole)
			if !bytes.Equal(got, want) {
				t.Fatalf("status body (full %v)\n got %s\nwant %s", full, got, want)
			}
			rows := st.Participants
			if rows == nil {
				rows = []projections.Participation{}
			}
			table := any(rows)
			if !full {
				table = summaryRows(rows)
			}
			got, err = sb.participants(st)
			if err != nil {
				t.Fatal(err)
			}
			want, _ = encodeJSON(map[string]any{"treaty": st.Treaty, "as_of": st.AsOf, "participants": table})
			if !bytes.Equal(got, want) {
				t.Fatalf("participants body (full %v)\n got %s\nwant %s", full, got, want)
			}
		}
	}
}

// appendRows writes what json.Marshal writes, for every field of a row
// set and unset, and for text of every kind (escapes, HTML characters,
// non-ASCII, invalid UTF-8).
func TestAppendRowsEqualsJSONMarshal(t *testing.T) {
	d1, d2 := events.MustDate("2025-10-25"), events.MustDate("2026-06-01")
	texts := []string{"", "Viet Nam", "Türkiye", `a "quoted" \ back`, "<script>&amp;</script>", "line\nbreak\ttab\r\b\f\x01", "\u2028\u2029", "bad \xff utf-8", "C.N.196.2025.TREATIES-XVIII.16"}
	var rows []projections.Participation
	for i, s := range texts {
		st := projections.Statement{Kind: events.Declaration, Date: d1, Subject: s, Note: texts[(i+1)%len(texts)], Reference: texts[(i+2)%len(texts)]}
		row := projections.Participation{Participant: s, ISO3: texts[(i+3)%len(texts)]}
		if i%2 == 0 {
			row.Signature, row.EntryIntoForce = &d1, &d2
			row.Consent = &projections.Consent{Kind: events.Accession, Date: d2, Counts: i%4 == 0}
			row.WithdrawalNotified, row.WithdrawalEffective = &d2, &d1
			row.Earlier = []projections.Tenure{{Consent: projections.Consent{Kind: events.Ratification, Date: d1}, EntryIntoForce: &d2, WithdrawalNotified: d1}}
			row.Unofficial = []projections.Statement{st}
			row.ProvisionalApplication = &projections.Statement{Kind: events.ProvisionalApplication, Date: d1, Note: s}
		}
		if i%3 != 0 {
			row.Declarations = []projections.Statement{st, {Kind: events.Objection, Date: d2}}
			row.Reservations = []projections.Statement{}
		}
		rows = append(rows, row)
	}
	for _, rs := range [][]projections.Participation{nil, {}, rows} {
		got, err := appendRows(nil, rs, true)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(rs)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendRows full\n got %s\nwant %s", got, want)
		}
		got, err = appendRows(nil, rs, false)
		if err != nil {
			t.Fatal(err)
		}
		want, _ = json.Marshal(summaryRows(rs))
		if !bytes.Equal(got, want) {
			t.Fatalf("appendRows summary\n got %s\nwant %s", got, want)
		}
	}
	// The summary counts what the whole row lists, and lists no text.
	got, _ := appendRows(nil, rows[1:2], false)
	if want := `"statements":{"declarations":2,"reservations":0,"unofficial":0}`; !bytes.Contains(got, []byte(want)) || bytes.Contains(got, []byte(`"note"`)) {
		t.Fatalf("summary row %s: want %s and no statement text", got, want)
	}
}
