package sqlite_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// answerOfStored is an answer naming the positions it answers, as the
// HTTP API's would.
func answerOfStored(key string) func([]events.Envelope) (events.Answer, error) {
	return func(stored []events.Envelope) (events.Answer, error) {
		return events.Answer{Key: key, Fingerprint: "fp-" + key, Status: 201, ContentType: "application/json",
			Body: []byte(`{"position":` + strconv.FormatInt(stored[0].Position, 10) + `}`)}, nil
	}
}

func TestAppendAnswer_KeepsTheAnswerWithTheEvents(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	ctx := t.Context()
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 1)}) // primes the fast path

	// One record: the fast path would autocommit it alone; with an answer
	// it takes the transaction.
	out, err := s.AppendAnswer(ctx, answerOfStored("tok:k1"), events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: Acts(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a, at, ok, err := s.Answer(ctx, "tok:k1")
	if err != nil || !ok {
		t.Fatalf("Answer: %v %v", ok, err)
	}
	if string(a.Body) != `{"position":2}` || a.Status != 201 || a.Fingerprint != "fp-tok:k1" || out[0].Position != 2 {
		t.Errorf("answer %+v for %+v", a, out[0])
	}
	if !at.Equal(out[0].RecordedAt) {
		t.Errorf("kept at %v, recorded at %v", at, out[0].RecordedAt)
	}

	// Many records (an import) and two streams.
	if _, err := s.AppendAnswer(ctx, answerOfStored("tok:k2"),
		events.StreamAppend{Stream: "participants", Records: Acts(t, 2)},
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: Acts(t, 3)}); err != nil {
		t.Fatal(err)
	}
	if a, _, ok, _ := s.Answer(ctx, "tok:k2"); !ok || string(a.Body) != `{"position":3}` {
		t.Errorf("answer of the import: %+v %v", a, ok)
	}
	// The fast path still works after the transaction path moved the head.
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 5, Records: Acts(t, 1)})
}

func TestAppendAnswer_WritesNeitherWithoutTheOther(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	ctx := t.Context()
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 1)})

	boom := errors.New("cannot build the answer")
	_, err := s.AppendAnswer(ctx, func([]events.Envelope) (events.Answer, error) { return events.Answer{}, boom },
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: Acts(t, 1)})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the answer's error", err)
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Errorf("head %d after a failed answer; the append was not rolled back", h)
	}

	_, err = s.AppendAnswer(ctx, answerOfStored("tok:late"), events.StreamAppend{Stream: bbnj, ExpectedVersion: 0, Records: Acts(t, 1)})
	var ce *events.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if _, _, ok, _ := s.Answer(ctx, "tok:late"); ok {
		t.Error("a conflicting append kept its answer")
	}

	_, err = s.AppendAnswer(ctx, func([]events.Envelope) (events.Answer, error) { return events.Answer{}, nil },
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: Acts(t, 1)})
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("an answer without a key: %v, want ErrInvalid", err)
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Errorf("head %d; want 1", h)
	}
}

func TestPutAnswer_ReplacesAndPurges(t *testing.T) {
	s := MustOpen(t, TempPath(t))
	ctx := t.Context()
	t0 := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	if err := s.PutAnswer(ctx, events.Answer{Key: "old", Status: 404, Body: []byte("x")}, t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAnswer(ctx, events.Answer{Key: "new", Status: 422}, t0.Add(25*time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Answer(ctx, "old"); ok {
		t.Error("an expired answer was not purged")
	}
	a, at, ok, err := s.Answer(ctx, "new")
	if err != nil || !ok || a.Status != 422 || len(a.Body) != 0 || !at.Equal(t0.Add(25*time.Hour)) {
		t.Errorf("new: %+v %v %v %v", a, at, ok, err)
	}
}
