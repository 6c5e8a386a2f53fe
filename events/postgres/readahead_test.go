package postgres_test

import (
	"fmt"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
)

// TestReadAheadGivesThePagesOfTheLog pages through a log with the default
// read-ahead (pages of 1,000) and without, and checks that every page is
// the same, including the last, short one, and the pages after events
// appended once the read-ahead may have read a short page.
func TestReadAheadGivesThePagesOfTheLog(t *testing.T) {
	ahead, url := MustOpen(t)
	plain := MustOpenURL(t, url, postgres.Config{ReadAhead: -1})
	MustAppend(t, ahead, events.StreamAppend{Stream: bbnj, Records: numbered(2500)})

	page := func(s *postgres.Store, after int64) []events.Envelope {
		t.Helper()
		es, err := s.ReadAll(t.Context(), after, 1000)
		if err != nil {
			t.Fatalf("ReadAll(%d, 1000): %v", after, err)
		}
		return es
	}
	same := func(what string, got, want []events.Envelope) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
		}
		for i := range got {
			if got[i].Position != want[i].Position || string(got[i].Payload) != string(want[i].Payload) || string(got[i].Hash) != string(want[i].Hash) {
				t.Fatalf("%s: event %d is position %d, want %d", what, i, got[i].Position, want[i].Position)
			}
		}
	}
	for _, after := range []int64{0, 1000, 2000} {
		same(fmt.Sprintf("page after %d", after), page(ahead, after), page(plain, after))
	}
	// Page 2 was full, so the page after 2,000 was read ahead, short;
	// the log then grows.
	page(ahead, 1000)
	MustAppend(t, ahead, events.StreamAppend{Stream: paris, Records: numbered(600)})
	got := page(ahead, 2000)
	same("page after 2000 once the log grew", got, page(plain, 2000))
	if len(got) != 1000 {
		t.Fatalf("the page after 2000 has %d events, want 1000", len(got))
	}
	same("the last page", page(ahead, 3000), page(plain, 3000))
}
