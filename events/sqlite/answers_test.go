package sqlite_test

import (
	"strconv"
	"testing"

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
