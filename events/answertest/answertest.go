package answertest

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Store is an event store that keeps answers: what the Ledger is given
// for the HTTP API's idempotent writes.
type Store interface {
	events.Store
	events.AnswerStore
}

// Run runs the contract suite against the stores open returns. open is
// called once per subtest and must return a new, empty store that lives
// until the test ends (close it with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"KeptWithTheEvents", testKeptWithTheEvents},
		{"NoAnswerWithoutTheEvents", testNoAnswerWithoutEvents},
		{"NoEventsWithoutTheAnswer", testNoEventsWithoutAnswer},
		{"ReplacedUnderItsKey", testReplaced},
		{"PutReplacesAndPurges", testPutReplacesAndPurges},
		{"MissingAnswer", testMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// The suite's streams: real treaties of the UN depositary.
var (
	hanoi = events.TreatyStream("XVIII-16") // United Nations Convention against Cybercrime, 2024
	bbnj  = events.TreatyStream("XXI-10")   // Agreement on marine biodiversity beyond national jurisdiction, 2023
)

// t0 is the suite's clock: whole milliseconds, which every store keeps
// exactly.
var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// acts returns n signatures as the ledger records them.
func acts(t *testing.T, n int) []events.Record {
	t.Helper()
	reg := events.NewRegistry()
	out := make([]events.Record, n)
	for i := range out {
		d := events.MustDate("2025-10-25").AddDays(i)
		r, err := reg.NewRecord(events.Act{Action: events.Signature, Participant: "Viet Nam", ISO3: "VNM", Date: d}, d,
			events.Metadata{Actor: "answertest", Reference: "C.N.1." + strconv.Itoa(i) + ".2025.TREATIES-XVIII.16"})
		if err != nil {
			t.Fatalf("NewRecord: %v", err)
		}
		out[i] = r
	}
	return out
}

// answerOf is the answer the HTTP API gives a write: 201 and the first
// position written.
func answerOf(key string) func([]events.Envelope) (events.Answer, error) {
	return func(stored []events.Envelope) (events.Answer, error) {
		return events.Answer{Key: key, Fingerprint: "sha256:" + key, Status: 201, ContentType: "application/json",
			Body: []byte(`{"position":` + strconv.FormatInt(stored[0].Position, 10) + `}`)}, nil
	}
}

func logLength(t *testing.T, s Store) int {
	t.Helper()
	page, err := s.ReadAll(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return len(page)
}

func mustAnswer(t *testing.T, s Store, key string) (events.Answer, time.Time) {
	t.Helper()
	a, at, ok, err := s.Answer(t.Context(), key)
	if err != nil || !ok {
		t.Fatalf("Answer(%s): %v %v", key, ok, err)
	}
	return a, at
}

func testKeptWithTheEvents(t *testing.T, s Store) {
	ctx := t.Context()
	out, err := s.AppendAnswer(ctx, answerOf("tok1:k1"), events.StreamAppend{Stream: hanoi, Records: acts(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Position != 1 {
		t.Fatalf("stored %+v", out)
	}
	a, at := mustAnswer(t, s, "tok1:k1")
	if a.Key != "tok1:k1" || a.Fingerprint != "sha256:tok1:k1" || a.Status != 201 || a.ContentType != "application/json" || string(a.Body) != `{"position":1}` {
		t.Errorf("answer %+v", a)
	}
	if !at.Equal(out[0].RecordedAt) {
		t.Errorf("answer kept at %v; the events were recorded at %v", at, out[0].RecordedAt)
	}
	// An import: many records on two streams, one answer.
	out, err = s.AppendAnswer(ctx, answerOf("tok1:k2"),
		events.StreamAppend{Stream: bbnj, Records: acts(t, 2)},
		events.StreamAppend{Stream: hanoi, ExpectedVersion: 1, Records: acts(t, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 {
		t.Fatalf("%d events stored, want 5", len(out))
	}
	if a, _ := mustAnswer(t, s, "tok1:k2"); string(a.Body) != `{"position":2}` {
		t.Errorf("the import's answer: %s", a.Body)
	}
	if n := logLength(t, s); n != 6 {
		t.Errorf("log of %d events, want 6", n)
	}
}

func testNoAnswerWithoutEvents(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.Append(ctx, events.StreamAppend{Stream: hanoi, Records: acts(t, 1)}); err != nil {
		t.Fatal(err)
	}
	// A concurrent writer moved the stream: nothing is written, no answer
	// is kept.
	_, err := s.AppendAnswer(ctx, answerOf("tok1:late"), events.StreamAppend{Stream: hanoi, ExpectedVersion: 0, Records: acts(t, 1)})
	if ce, ok := errors.AsType[*events.ConflictError](err); !ok {
		t.Fatalf("err = %v, want a *ConflictError", err)
	} else if ce.Stream != hanoi {
		t.Errorf("conflict on %s, want %s", ce.Stream, hanoi)
	}
	if _, _, ok, err := s.Answer(ctx, "tok1:late"); err != nil || ok {
		t.Errorf("a conflicting append kept its answer: %v %v", ok, err)
	}
	if n := logLength(t, s); n != 1 {
		t.Errorf("log of %d events, want 1", n)
	}
}

func testNoEventsWithoutAnswer(t *testing.T, s Store) {
	ctx := t.Context()
	boom := errors.New("cannot encode the answer")
	_, err := s.AppendAnswer(ctx, func([]events.Envelope) (events.Answer, error) { return events.Answer{}, boom },
		events.StreamAppend{Stream: hanoi, Records: acts(t, 2)})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the answer's error", err)
	}
	if n := logLength(t, s); n != 0 {
		t.Errorf("%d events written although the answer failed", n)
	}
	_, err = s.AppendAnswer(ctx, func([]events.Envelope) (events.Answer, error) { return events.Answer{Status: 201}, nil },
		events.StreamAppend{Stream: hanoi, Records: acts(t, 1)})
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("an answer without a key: %v, want ErrInvalid", err)
	}
	if n := logLength(t, s); n != 0 {
		t.Errorf("%d events written with an answer without a key", n)
	}
	// The stream is untouched: the next write starts it.
	if _, err := s.AppendAnswer(ctx, answerOf("tok1:k1"), events.StreamAppend{Stream: hanoi, Records: acts(t, 1)}); err != nil {
		t.Errorf("the first write after the failures: %v", err)
	}
}

func testReplaced(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.PutAnswer(ctx, events.Answer{Key: "tok1:k1", Fingerprint: "sha256:a", Status: 422, Body: []byte(`{"code":"invalid"}`)}, t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAnswer(ctx, answerOf("tok1:k1"), events.StreamAppend{Stream: hanoi, Records: acts(t, 1)}); err != nil {
		t.Fatal(err)
	}
	if a, _ := mustAnswer(t, s, "tok1:k1"); a.Status != 201 || a.Fingerprint != "sha256:tok1:k1" {
		t.Errorf("answer %+v, want the append's", a)
	}
}

func testPutReplacesAndPurges(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.PutAnswer(ctx, events.Answer{Key: "tok1:old", Fingerprint: "f", Status: 404, ContentType: "application/json", Body: []byte(`{"code":"not_found"}`)}, t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a, at := mustAnswer(t, s, "tok1:old"); a.Status != 404 || a.ContentType != "application/json" || string(a.Body) != `{"code":"not_found"}` || !at.Equal(t0) {
		t.Errorf("kept %+v at %v", a, at)
	}
	if err := s.PutAnswer(ctx, events.Answer{Key: "tok1:mid", Fingerprint: "f", Status: 200}, t0.Add(2*time.Hour), t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A day later: answers kept before t0+1h are purged.
	if err := s.PutAnswer(ctx, events.Answer{Key: "tok1:new", Fingerprint: "f2", Status: 422}, t0.Add(25*time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := s.Answer(ctx, "tok1:old"); err != nil || ok {
		t.Errorf("an answer kept before purgeBefore is still there: %v %v", ok, err)
	}
	if _, at := mustAnswer(t, s, "tok1:mid"); !at.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("the answer kept after purgeBefore: at %v", at)
	}
	a, at := mustAnswer(t, s, "tok1:new")
	if a.Status != 422 || len(a.Body) != 0 || a.ContentType != "" || !at.Equal(t0.Add(25*time.Hour)) {
		t.Errorf("new: %+v at %v", a, at)
	}
	// Replacing keeps the latest answer and its date.
	if err := s.PutAnswer(ctx, events.Answer{Key: "tok1:new", Fingerprint: "f3", Status: 400, Body: []byte("x")}, t0.Add(26*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if a, at := mustAnswer(t, s, "tok1:new"); a.Fingerprint != "f3" || a.Status != 400 || !bytes.Equal(a.Body, []byte("x")) || !at.Equal(t0.Add(26*time.Hour)) {
		t.Errorf("replaced: %+v at %v", a, at)
	}
}

func testMissing(t *testing.T, s Store) {
	if _, _, ok, err := s.Answer(t.Context(), "tok1:none"); err != nil || ok {
		t.Errorf("Answer of a key never kept: %v %v", ok, err)
	}
}
