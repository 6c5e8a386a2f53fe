package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
)

type importTest struct {
	name string
	fn   func(*testing.T, func(*testing.T) events.Store)
}

func importTests() []importTest {
	return []importTest{
		{"ImportCopiesTheLogExactly", testImportCopies},
		{"ImportIntoNonEmptyStoreRefused", testImportNonEmpty},
		{"ImportRefusesABrokenHashAndWritesNothing", testImportBrokenHash},
		{"ImportRefusesAGapAndWritesNothing", testImportGap},
		{"ImportRefusesAStreamVersionGap", testImportVersionGap},
		{"ImportStopsAtTheSourcesError", testImportSourceError},
	}
}

// sourceLog fills a store with the events of three treaties, appended in
// several commits (one of them across two streams), with metadata and a
// payload holding text that JSON encoders like to escape, and returns its
// log as stored.
func sourceLog(t *testing.T, s events.Store) []events.Envelope {
	t.Helper()
	mustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: []events.Record{
		act(t, events.Signature, "Palau", "PLW", "2023-09-20", "C.N.514.2023.TREATIES-XXI.10"),
		act(t, events.Ratification, "Palau", "PLW", "2024-01-22", "C.N.27.2024.TREATIES-XXI.10"),
	}})
	note := act(t, events.Declaration, "Côte d'Ivoire", "CIV", "2024-03-01", "")
	note.Payload = []byte(`{"action":"declaration","participant":"Côte d'Ivoire","iso3":"CIV","date":"2024-03-01","note":"<b>&amp;</b> \u2028 Türkiye"}`)
	mustAppend(t, s,
		events.StreamAppend{Stream: paris, Records: []events.Record{act(t, events.Signature, "Türkiye", "TUR", "2016-04-22", "")}},
		events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: []events.Record{note}})
	mustAppend(t, s, events.StreamAppend{Stream: kyoto, Records: numbered(3)})
	mustAppend(t, s, events.StreamAppend{Stream: paris, ExpectedVersion: 1, Records: numbered(1)})
	return readAll(t, s)
}

// seqOf yields the envelopes, each a copy, as an importer reading a file
// would.
func seqOf(evs []events.Envelope) iter.Seq2[events.Envelope, error] {
	return func(yield func(events.Envelope, error) bool) {
		for _, e := range evs {
			e.Payload = bytes.Clone(e.Payload)
			e.Hash = bytes.Clone(e.Hash)
			if !yield(e, nil) {
				return
			}
		}
	}
}

func mustBeEmpty(t *testing.T, s events.Store) {
	t.Helper()
	if h, err := s.Head(t.Context()); err != nil || h != 0 {
		t.Errorf("after a refused import the head is %d (%v), want 0: nothing written", h, err)
	}
	if all := readAll(t, s); len(all) != 0 {
		t.Errorf("after a refused import the store holds %d events, want none", len(all))
	}
}

func testImportCopies(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	dst := open(t)
	n, err := dst.Import(t.Context(), seqOf(src))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if n != int64(len(src)) {
		t.Errorf("Import wrote %d events, want %d", n, len(src))
	}
	got := readAll(t, dst)
	if len(got) != len(src) {
		t.Fatalf("the copy holds %d events, want %d", len(got), len(src))
	}
	for i := range src {
		sameEnvelope(t, fmt.Sprintf("copy of position %d", src[i].Position), got[i], src[i])
	}
	for _, stream := range []string{bbnj, paris, kyoto} {
		if a, b := readStream(t, dst, stream), readStream(t, dst, stream); len(a) != len(b) {
			t.Errorf("stream %s read twice differs", stream)
		}
	}
	if h, err := dst.Head(t.Context()); err != nil || h != src[len(src)-1].Position {
		t.Errorf("Head of the copy: %d, %v; want %d", h, err, src[len(src)-1].Position)
	}
	// The copy goes on as the original would: the next append follows
	// the imported streams and chains from the imported hash.
	next := mustAppend(t, dst, events.StreamAppend{Stream: bbnj, ExpectedVersion: 3, Records: numbered(1)})
	if next[0].Position != int64(len(src)+1) || next[0].Version != 4 {
		t.Errorf("the append after the import is at position %d, version %d; want %d, 4", next[0].Position, next[0].Version, len(src)+1)
	}
	chain := events.NewChain(nil)
	for _, e := range readAll(t, dst) {
		if err := chain.Verify(e); err != nil {
			t.Errorf("the copy's chain: %v", err)
		}
	}
}

func testImportNonEmpty(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	dst := open(t)
	mine := mustAppend(t, dst, events.StreamAppend{Stream: kyoto, Records: numbered(2)})
	_, err := dst.Import(t.Context(), seqOf(src))
	var ne *events.LedgerNotEmptyError
	if !errors.As(err, &ne) || !errors.Is(err, events.ErrRefused) || ne.Head != 2 {
		t.Fatalf("Import into a store holding 2 events: %v (%T), want a *LedgerNotEmptyError with head 2 wrapping ErrRefused", err, err)
	}
	got := readAll(t, dst)
	if len(got) != len(mine) {
		t.Fatalf("the store holds %d events after the refusal, want its own %d", len(got), len(mine))
	}
	for i := range mine {
		sameEnvelope(t, "kept event", got[i], mine[i])
	}
}

func wantImportError(t *testing.T, err error, pos int64, hash bool, reason string) {
	t.Helper()
	var ie *events.LogImportError
	if !errors.As(err, &ie) || !errors.Is(err, events.ErrInvalid) {
		t.Fatalf("Import: %v (%T), want a *LogImportError wrapping ErrInvalid", err, err)
	}
	if ie.Position != pos || ie.HashMismatch != hash || errors.Is(err, events.ErrTampered) != hash {
		t.Errorf("Import: %+v, want position %d, hash mismatch %v (ErrTampered %v)", ie, pos, hash, errors.Is(err, events.ErrTampered))
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("position %d", pos)) || !strings.Contains(err.Error(), reason) {
		t.Errorf("Import: %q, want it to name position %d and say %q", err, pos, reason)
	}
}

func testImportBrokenHash(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	for _, tc := range []struct {
		name   string
		change func(e *events.Envelope)
	}{
		{"payload", func(e *events.Envelope) {
			e.Payload = bytes.Replace(e.Payload, []byte("Türkiye"), []byte("Turkey"), 1)
		}},
		{"recorded time", func(e *events.Envelope) { e.RecordedAt = e.RecordedAt.Add(1) }},
		{"metadata", func(e *events.Envelope) { e.Meta.Actor = "someone else" }},
		{"hash", func(e *events.Envelope) { e.Hash = bytes.Clone(e.Hash); e.Hash[0] ^= 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := make([]events.Envelope, len(src))
			copy(evs, src)
			tc.change(&evs[2]) // position 3: the Paris signature by Türkiye
			dst := open(t)
			_, err := dst.Import(t.Context(), seqOf(evs))
			wantImportError(t, err, 3, true, "is not the chain's")
			mustBeEmpty(t, dst)
		})
	}
}

func testImportGap(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	dst := open(t)
	evs := append(append([]events.Envelope(nil), src[:1]...), src[2:]...)
	_, err := dst.Import(t.Context(), seqOf(evs))
	wantImportError(t, err, 3, false, "follows position 1")
	mustBeEmpty(t, dst)
	_, err = dst.Import(t.Context(), seqOf(src[1:]))
	wantImportError(t, err, 2, false, "not 1")
	mustBeEmpty(t, dst)
}

func testImportVersionGap(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	dst := open(t)
	evs := append([]events.Envelope(nil), src...)
	evs[1].Version = 3 // bbnj: 1, then 3
	_, err := dst.Import(t.Context(), seqOf(evs))
	wantImportError(t, err, 2, false, "version 3 of stream "+bbnj+" follows version 1")
	mustBeEmpty(t, dst)
}

func testImportSourceError(t *testing.T, open func(*testing.T) events.Store) {
	src := sourceLog(t, open(t))
	dst := open(t)
	broken := errors.New("line 3: unexpected end of JSON input")
	seq := func(yield func(events.Envelope, error) bool) {
		for _, e := range src[:2] {
			if !yield(e, nil) {
				return
			}
		}
		yield(events.Envelope{}, broken)
	}
	_, err := dst.Import(t.Context(), seq)
	if !errors.Is(err, broken) {
		t.Fatalf("Import: %v, want the source's error", err)
	}
	mustBeEmpty(t, dst)
}
