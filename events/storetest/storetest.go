package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Run runs the contract suite against the stores open returns. open is
// called once per subtest and must return a new, empty store that lives
// until the test ends (close it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) events.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, events.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"PayloadBytesKept", testPayloadBytesKept},
		{"VersionsAndPositionsWithoutGaps", testVersionsAndPositions},
		{"HashChain", testHashChain},
		{"ExpectedVersionConflict", testConflict},
		{"ConflictOnNewStream", testConflictOnNewStream},
		{"MultiStreamAppendIsAtomic", testMultiStreamAtomic},
		{"ReadAllPaging", testReadAllPaging},
		{"ReadStreamMissing", testReadStreamMissing},
		{"StreamsByPrefix", testStreams},
		{"ConcurrentAppendSameExpectedVersion", testConcurrentSameVersion},
		{"ConcurrentAppendDistinctStreams", testConcurrentDistinctStreams},
		{"Head", testHead},
		{"ReadDefinitions", testReadDefinitions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// Import needs two stores: the one a log comes from and the one it
	// goes to.
	for _, tc := range importTests() {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Streams of the suite: real treaties of the UN depositary.
var (
	bbnj  = events.TreatyStream("bbnj")  // Agreement on marine biodiversity beyond national jurisdiction, 2023
	paris = events.TreatyStream("paris") // Paris Agreement, 2015
	kyoto = events.TreatyStream("kyoto") // Kyoto Protocol, 1997
)

// act returns the record of a participant's act, as the ledger writes it.
func act(t *testing.T, action events.Action, participant, iso3, date, ref string) events.Record {
	t.Helper()
	d := events.MustDate(date)
	r, err := events.NewRegistry().NewRecord(
		events.Act{Action: action, Participant: participant, ISO3: iso3, Date: d},
		d,
		events.Metadata{Actor: "storetest", Reference: ref, Source: "https://treaties.un.org", CorrelationID: "import-1"},
	)
	if err != nil {
		t.Fatalf("NewRecord: %v", err)
	}
	return r
}

// numbered returns n simple records, distinguishable by their payload.
func numbered(n int) []events.Record {
	rs := make([]events.Record, n)
	for i := range rs {
		rs[i] = events.Record{
			Type:          "test.numbered",
			SchemaVersion: 1,
			Payload:       fmt.Appendf(nil, `{"n":%d}`, i),
		}
	}
	return rs
}

func mustAppend(t *testing.T, s events.Store, appends ...events.StreamAppend) []events.Envelope {
	t.Helper()
	out, err := s.Append(t.Context(), appends...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return out
}

// readAll reads the whole log in small pages.
func readAll(t *testing.T, s events.Store) []events.Envelope {
	t.Helper()
	var all []events.Envelope
	for {
		after := int64(0)
		if len(all) > 0 {
			after = all[len(all)-1].Position
		}
		page, err := s.ReadAll(t.Context(), after, 7)
		if err != nil {
			t.Fatalf("ReadAll(%d, 7): %v", after, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
	}
}

func readStream(t *testing.T, s events.Store, stream string) []events.Envelope {
	t.Helper()
	es, err := s.ReadStream(t.Context(), stream)
	if err != nil {
		t.Fatalf("ReadStream(%s): %v", stream, err)
	}
	return es
}

// sameEnvelope reports the first field in which got differs from want.
func sameEnvelope(t *testing.T, what string, got, want events.Envelope) {
	t.Helper()
	switch {
	case got.Position != want.Position:
		t.Errorf("%s: position %d, want %d", what, got.Position, want.Position)
	case got.Stream != want.Stream:
		t.Errorf("%s: stream %q, want %q", what, got.Stream, want.Stream)
	case got.Version != want.Version:
		t.Errorf("%s: version %d, want %d", what, got.Version, want.Version)
	case got.Type != want.Type:
		t.Errorf("%s: type %q, want %q", what, got.Type, want.Type)
	case got.SchemaVersion != want.SchemaVersion:
		t.Errorf("%s: schema version %d, want %d", what, got.SchemaVersion, want.SchemaVersion)
	case got.ValidDate != want.ValidDate:
		t.Errorf("%s: valid date %v, want %v", what, got.ValidDate, want.ValidDate)
	case !got.RecordedAt.Equal(want.RecordedAt):
		t.Errorf("%s: recorded at %v, want %v", what, got.RecordedAt, want.RecordedAt)
	case got.Meta != want.Meta:
		t.Errorf("%s: metadata %+v, want %+v", what, got.Meta, want.Meta)
	case !bytes.Equal(got.Payload, want.Payload):
		t.Errorf("%s: payload %s, want %s", what, got.Payload, want.Payload)
	case !bytes.Equal(got.Hash, want.Hash):
		t.Errorf("%s: hash %x, want %x", what, got.Hash, want.Hash)
	}
}

func testRoundTrip(t *testing.T, s events.Store) {
	records := []events.Record{
		act(t, events.Signature, "Palau", "PLW", "2023-09-20", "C.N.514.2023.TREATIES-XXI.10"),
		act(t, events.Ratification, "Palau", "PLW", "2024-01-22", "C.N.27.2024.TREATIES-XXI.10"),
		{ // not an act: no valid date, no metadata; a later schema version
			Type:          events.TypeParticipantRegistered,
			SchemaVersion: 3,
			Payload:       []byte(`{"participant":{"name":"Côte d'Ivoire"}}`),
		},
	}
	records[1].Meta.CausationID = "cmd-7"

	got := mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: records})
	if len(got) != len(records) {
		t.Fatalf("Append returned %d envelopes, want %d", len(got), len(records))
	}
	for i, e := range got {
		r := records[i]
		want := events.Envelope{
			Position: int64(i + 1), Stream: bbnj, Version: int64(i + 1),
			Type: r.Type, SchemaVersion: r.SchemaVersion, ValidDate: r.ValidDate,
			RecordedAt: e.RecordedAt, Meta: r.Meta, Payload: r.Payload, Hash: e.Hash,
		}
		sameEnvelope(t, fmt.Sprintf("Append result %d", i), e, want)
		if e.RecordedAt.IsZero() || e.RecordedAt.Location() != time.UTC {
			t.Errorf("Append result %d: recorded at %v, want a time in UTC", i, e.RecordedAt)
		}
		if len(e.Hash) == 0 {
			t.Errorf("Append result %d: no hash", i)
		}
	}

	stream := readStream(t, s, bbnj)
	all := readAll(t, s)
	if len(stream) != len(got) || len(all) != len(got) {
		t.Fatalf("read back %d events from the stream and %d from the log, want %d", len(stream), len(all), len(got))
	}
	for i := range got {
		sameEnvelope(t, fmt.Sprintf("ReadStream %d", i), stream[i], got[i])
		sameEnvelope(t, fmt.Sprintf("ReadAll %d", i), all[i], got[i])
		if all[i].RecordedAt.Location() != time.UTC {
			t.Errorf("ReadAll %d: recorded at %v, want a time in UTC", i, all[i].RecordedAt)
		}
	}
	p, err := events.NewRegistry().Decode(all[1])
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := events.Act{Action: events.Ratification, Participant: "Palau", ISO3: "PLW", Date: events.MustDate("2024-01-22")}
	if a, ok := p.(*events.Act); !ok || *a != want {
		t.Errorf("decoded %#v, want %#v", p, want)
	}
}

func testPayloadBytesKept(t *testing.T, s events.Store) {
	// Stored compact (whitespace outside strings removed, so that the
	// verifier can tell an added space from what was written); key order,
	// escapes and spaces inside strings are the caller's.
	payloads := []string{
		`{ "action": "signature",  "participant": "Côte d'Ivoire", "date": "2023-09-20" }`,
		"{\"participant\":\"T\\u00fcrkiye\",\n\t\"b\":1,\"a\":[1,2,3]}",
		`"just a string"`,
		`[]`,
	}
	want := []string{
		`{"action":"signature","participant":"Côte d'Ivoire","date":"2023-09-20"}`,
		`{"participant":"T\u00fcrkiye","b":1,"a":[1,2,3]}`,
		`"just a string"`,
		`[]`,
	}
	var rs []events.Record
	for _, p := range payloads {
		rs = append(rs, events.Record{Type: "test.raw", SchemaVersion: 1, Payload: []byte(p)})
	}
	mustAppend(t, s, events.StreamAppend{Stream: paris, Records: rs})
	for i, e := range readStream(t, s, paris) {
		if string(e.Payload) != want[i] {
			t.Errorf("payload %d read back as %q, want %q", i, e.Payload, want[i])
		}
	}
}

func testVersionsAndPositions(t *testing.T, s events.Store) {
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(3)})
	mustAppend(t, s, events.StreamAppend{Stream: paris, Records: numbered(2)})
	got := mustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: numbered(4)})
	if got[0].Position != 6 || got[0].Version != 4 || got[3].Position != 9 || got[3].Version != 7 {
		t.Errorf("third append got positions %d..%d, versions %d..%d; want 6..9, 4..7",
			got[0].Position, got[3].Position, got[0].Version, got[3].Version)
	}
	mustAppend(t, s, events.StreamAppend{Stream: kyoto, Records: numbered(1)})

	all := readAll(t, s)
	if len(all) != 10 {
		t.Fatalf("log has %d events, want 10", len(all))
	}
	versions := map[string]int64{}
	for i, e := range all {
		if e.Position != int64(i+1) {
			t.Errorf("event %d has position %d, want %d", i, e.Position, i+1)
		}
		versions[e.Stream]++
		if e.Version != versions[e.Stream] {
			t.Errorf("position %d: %s version %d, want %d", e.Position, e.Stream, e.Version, versions[e.Stream])
		}
	}
	stream := readStream(t, s, bbnj)
	if len(stream) != 7 {
		t.Fatalf("%s has %d events, want 7", bbnj, len(stream))
	}
	for i, e := range stream {
		if e.Version != int64(i+1) || e.Stream != bbnj {
			t.Errorf("ReadStream(%s)[%d] is %s version %d", bbnj, i, e.Stream, e.Version)
		}
		if want := fmt.Sprintf(`{"n":%d}`, []int{0, 1, 2, 0, 1, 2, 3}[i]); string(e.Payload) != want {
			t.Errorf("ReadStream(%s)[%d] payload %s, want %s", bbnj, i, e.Payload, want)
		}
	}
}

func testHashChain(t *testing.T, s events.Store) {
	var appended []events.Envelope
	appended = append(appended, mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(3)})...)
	appended = append(appended, mustAppend(t, s,
		events.StreamAppend{Stream: paris, Records: numbered(2)},
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: numbered(2)})...)
	chain := events.NewChain(nil)
	for i, e := range readAll(t, s) {
		if err := chain.Verify(e); err != nil {
			t.Errorf("stored event %d: %v", e.Position, err)
		}
		if !bytes.Equal(e.Hash, appended[i].Hash) {
			t.Errorf("position %d: stored hash %x, Append returned %x", e.Position, e.Hash, appended[i].Hash)
		}
	}
}

// wantConflict checks that err is a *events.ConflictError with these values.
func wantConflict(t *testing.T, err error, stream string, expected, actual int64) {
	t.Helper()
	var ce *events.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want a *events.ConflictError", err)
	}
	if !errors.Is(err, events.ErrConflict) {
		t.Errorf("error %v does not wrap events.ErrConflict", err)
	}
	if ce.Stream != stream || ce.Expected != expected || ce.Actual != actual {
		t.Errorf("got %+v, want stream %s expected %d actual %d", *ce, stream, expected, actual)
	}
}

func testConflict(t *testing.T, s events.Store) {
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(2)})

	for _, expected := range []int64{0, 1, 3} {
		out, err := s.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: expected, Records: numbered(1)})
		wantConflict(t, err, bbnj, expected, 2)
		if out != nil {
			t.Errorf("expected %d: Append returned %d envelopes with its error", expected, len(out))
		}
	}
	if n := len(readAll(t, s)); n != 2 {
		t.Fatalf("after conflicts the log has %d events, want 2: nothing may be written", n)
	}
	got := mustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: numbered(1)})
	if got[0].Position != 3 || got[0].Version != 3 {
		t.Errorf("append after conflicts got position %d version %d, want 3 and 3", got[0].Position, got[0].Version)
	}
}

func testConflictOnNewStream(t *testing.T, s events.Store) {
	_, err := s.Append(t.Context(), events.StreamAppend{Stream: kyoto, ExpectedVersion: 1, Records: numbered(1)})
	wantConflict(t, err, kyoto, 1, 0)
	if n := len(readAll(t, s)); n != 0 {
		t.Fatalf("the log has %d events, want none", n)
	}
}

func testMultiStreamAtomic(t *testing.T, s events.Store) {
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(1)})

	cases := []struct {
		name     string
		appends  []events.StreamAppend
		conflict string
		expected int64
		actual   int64
	}{
		{
			name: "last stream moved",
			appends: []events.StreamAppend{
				{Stream: bbnj, ExpectedVersion: 1, Records: numbered(2)},
				{Stream: paris, ExpectedVersion: 0, Records: numbered(1)},
				{Stream: kyoto, ExpectedVersion: 5, Records: numbered(1)},
			},
			conflict: kyoto, expected: 5, actual: 0,
		},
		{
			name: "first stream moved",
			appends: []events.StreamAppend{
				{Stream: bbnj, ExpectedVersion: 0, Records: numbered(2)},
				{Stream: paris, ExpectedVersion: 0, Records: numbered(1)},
			},
			conflict: bbnj, expected: 0, actual: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(t.Context(), tc.appends...)
			wantConflict(t, err, tc.conflict, tc.expected, tc.actual)
			if all := readAll(t, s); len(all) != 1 {
				t.Fatalf("the log has %d events, want 1: nothing of the batch may be written", len(all))
			}
			if es := readStream(t, s, paris); len(es) != 0 {
				t.Fatalf("%s has %d events, want none", paris, len(es))
			}
		})
	}

	got := mustAppend(t, s,
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: numbered(2)},
		events.StreamAppend{Stream: paris, ExpectedVersion: 0, Records: numbered(1)})
	var positions []int64
	for _, e := range got {
		positions = append(positions, e.Position)
	}
	if !slices.Equal(positions, []int64{2, 3, 4}) {
		t.Errorf("the batch got positions %v, want [2 3 4]", positions)
	}
}

func testReadAllPaging(t *testing.T, s events.Store) {
	for i := range 5 {
		mustAppend(t, s,
			events.StreamAppend{Stream: bbnj, ExpectedVersion: int64(3 * i), Records: numbered(3)},
			events.StreamAppend{Stream: paris, ExpectedVersion: int64(2 * i), Records: numbered(2)})
	}
	var positions []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		page, err := s.ReadAll(t.Context(), after, 10)
		if err != nil {
			t.Fatalf("ReadAll(%d, 10): %v", after, err)
		}
		if len(page) > 10 {
			t.Fatalf("ReadAll(%d, 10) returned %d events", after, len(page))
		}
		if len(page) == 0 {
			if pages != 3 {
				t.Errorf("read 25 events in %d pages of 10, want 3", pages)
			}
			break
		}
		for _, e := range page {
			positions = append(positions, e.Position)
		}
		after = page[len(page)-1].Position
	}
	for i, p := range positions {
		if p != int64(i+1) {
			t.Fatalf("paged positions %v, want 1..25", positions)
		}
	}
	if len(positions) != 25 {
		t.Fatalf("read %d events, want 25", len(positions))
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 1, []int64{1}},
		{23, 10, []int64{24, 25}},
		{25, 10, nil},
		{1000, 10, nil},
	} {
		page, err := s.ReadAll(t.Context(), tc.after, tc.limit)
		if err != nil {
			t.Fatalf("ReadAll(%d, %d): %v", tc.after, tc.limit, err)
		}
		var got []int64
		for _, e := range page {
			got = append(got, e.Position)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ReadAll(%d, %d) positions %v, want %v", tc.after, tc.limit, got, tc.want)
		}
	}
}

func testReadStreamMissing(t *testing.T, s events.Store) {
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(1)})
	for _, id := range []string{kyoto, "treaty-", "treaty-bbn"} {
		if es := readStream(t, s, id); len(es) != 0 {
			t.Errorf("ReadStream(%q) returned %d events, want none", id, len(es))
		}
	}
}

func testStreams(t *testing.T, s events.Store) {
	for _, id := range []string{paris, "subscription-ops", bbnj, events.ParticipantsStream, kyoto} {
		mustAppend(t, s, events.StreamAppend{Stream: id, Records: numbered(3)})
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"treaty-", []string{bbnj, kyoto, paris}},
		{"", []string{events.ParticipantsStream, "subscription-ops", bbnj, kyoto, paris}},
		{"treaty-k", []string{kyoto}},
		{paris, []string{paris}},
		{"participants", []string{events.ParticipantsStream}},
		{"treaty-parisx", nil},
		{"zzz", nil},
		{"a", nil},
	} {
		got, err := s.Streams(t.Context(), tc.prefix)
		if err != nil {
			t.Fatalf("Streams(%q): %v", tc.prefix, err)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("Streams(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testConcurrentSameVersion(t *testing.T, s events.Store) {
	for round := range 10 {
		stream := events.TreatyStream(fmt.Sprintf("bbnj-round-%d", round))
		mustAppend(t, s, events.StreamAppend{Stream: stream, Records: numbered(1)})

		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Append(t.Context(), events.StreamAppend{Stream: stream, ExpectedVersion: 1, Records: numbered(1)})
			})
		}
		close(start)
		wg.Wait()

		var ok, conflicts int
		for _, err := range errs {
			var ce *events.ConflictError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ce):
				conflicts++
				if ce.Expected != 1 || ce.Actual != 2 {
					t.Errorf("round %d: conflict %+v, want expected 1 actual 2", round, *ce)
				}
			default:
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d successes and %d conflicts, want exactly one of each", round, ok, conflicts)
		}
		if es := readStream(t, s, stream); len(es) != 2 {
			t.Fatalf("round %d: %s has %d events, want 2", round, stream, len(es))
		}
	}
}

func testConcurrentDistinctStreams(t *testing.T, s events.Store) {
	const writers, appends = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*appends)
	for w := range writers {
		wg.Go(func() {
			stream := events.TreatyStream(fmt.Sprintf("writer-%d", w))
			for v := range appends {
				if _, err := s.Append(t.Context(), events.StreamAppend{Stream: stream, ExpectedVersion: int64(v), Records: numbered(1)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Append: %v", err)
	}
	all := readAll(t, s)
	if len(all) != writers*appends {
		t.Fatalf("the log has %d events, want %d", len(all), writers*appends)
	}
	chain := events.NewChain(nil)
	for i, e := range all {
		if e.Position != int64(i+1) {
			t.Fatalf("event %d has position %d: positions must have no gaps", i, e.Position)
		}
		if err := chain.Verify(e); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func testHead(t *testing.T, s events.Store) {
	if h, err := s.Head(t.Context()); err != nil || h != 0 {
		t.Fatalf("Head of an empty log = %d, %v; want 0", h, err)
	}
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(3)})
	mustAppend(t, s, events.StreamAppend{Stream: paris, Records: numbered(2)})
	if h, err := s.Head(t.Context()); err != nil || h != 5 {
		t.Fatalf("Head = %d, %v; want 5", h, err)
	}
}

func testReadDefinitions(t *testing.T, s events.Store) {
	reg := events.NewRegistry()
	def := func(id, title string) events.Definition {
		return events.Definition{ID: id, Title: title}
	}
	record := func(p events.Payload) events.Record {
		r, err := reg.NewRecord(p, events.Date{}, events.Metadata{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if evs, err := s.ReadDefinitions(t.Context()); err != nil || len(evs) != 0 {
		t.Fatalf("ReadDefinitions of an empty log = %d events, %v", len(evs), err)
	}
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: []events.Record{record(&events.TreatyRegistered{Definition: def("XXI-10", "BBNJ Agreement")})}})
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: numbered(3)})
	mustAppend(t, s, events.StreamAppend{Stream: paris, Records: []events.Record{record(&events.TreatyRegistered{Definition: def("XXVII-7-d", "Paris Agreement")})}})
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 4, Records: []events.Record{record(&events.TreatyAmended{Definition: def("XXI-10", "BBNJ Agreement (amended)")})}})
	evs, err := s.ReadDefinitions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d %s %s", e.Position, e.Stream, e.Type))
	}
	want := []string{"1 " + bbnj + " treaty.registered", "5 " + paris + " treaty.registered", "6 " + bbnj + " treaty.definition-amended"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("ReadDefinitions = %v, want %v (only definitions, in position order)", got, want)
	}
	defs, err := events.LatestDefinitions(reg, evs)
	if err != nil || len(defs) != 2 || defs[0].Title != "BBNJ Agreement (amended)" || defs[1].ID != "XXVII-7-d" {
		t.Fatalf("LatestDefinitions = %+v, %v", defs, err)
	}
}
