package seed_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/seed"
)

// MustLedger opens a new ledger in a temporary file, with "today" fixed
// at 27 November 2026, after every shipped act.
func MustLedger(tb testing.TB) *events.Ledger {
	tb.Helper()
	return MustLedgerAt(tb, filepath.Join(tb.TempDir(), "ledger.db"), time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
}

// MustLedgerAt opens the ledger file at path (creating it if need be)
// with "today" fixed at now.
func MustLedgerAt(tb testing.TB, path string, now time.Time) *events.Ledger {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return now }, Secrets: st})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// registered returns the ids of the ledger's treaties and the number of
// acts in the Hanoi Convention's stream.
func registered(tb testing.TB, l *events.Ledger) (map[string]events.Definition, int) {
	tb.Helper()
	ctx := context.Background()
	defs, err := l.Treaties(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]events.Definition{}
	for _, d := range defs {
		out[d.ID] = d
	}
	h, err := l.History(ctx, seed.HanoiID, time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	return out, len(h.Facts())
}

// TestLoadRegistersEveryShippedTreatyOnce: into an empty ledger Load
// registers each shipped treaty and every row of the shipped histories
// (the 69 Hanoi signatures among them); a second Load records nothing.
func TestLoadRegistersEveryShippedTreatyOnce(t *testing.T) {
	l := MustLedger(t)
	ctx := context.Background()
	n, err := seed.Load(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	shipped := MustTreaties(t)
	if want := len(shipped) + rowsAfter(t, events.FirstDate()); n != want {
		t.Errorf("Load recorded %d events, want %d (%d treaties and every shipped history row)", n, want, len(shipped))
	}
	got, acts := registered(t, l)
	for id := range shipped {
		if _, ok := got[id]; !ok {
			t.Errorf("%s is not registered", id)
		}
	}
	if acts != 69 {
		t.Errorf("%d Hanoi acts, want 69 signatures", acts)
	}
	if n, err := seed.Load(ctx, l); err != nil || n != 0 {
		t.Fatalf("second Load recorded %d events (%v), want none", n, err)
	}
	if _, acts := registered(t, l); acts != 69 {
		t.Errorf("after a second Load: %d Hanoi acts, want 69", acts)
	}
}

// TestLoadNeverAmendsAUsersDefinition: a ledger holding the user's own
// definition of the Hanoi Convention keeps it — no amendment, no seeded
// signatures in that treaty — and gets the other shipped treaties.
func TestLoadNeverAmendsAUsersDefinition(t *testing.T) {
	l := MustLedger(t)
	ctx := context.Background()
	own, err := seed.Definition(MustDirectory(t), seed.HanoiID)
	if err != nil {
		t.Fatal(err)
	}
	own.EntryIntoForce.Instruments = 30
	if _, err := l.AddTreaty(ctx, own, events.Metadata{Actor: "user"}); err != nil {
		t.Fatal(err)
	}
	n, err := seed.Load(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	shipped := MustTreaties(t)
	if want := len(shipped) - 1 + rowsAfter(t, events.FirstDate()) - 69; n != want {
		t.Errorf("Load recorded %d events, want %d (the other shipped treaties and their histories only)", n, want)
	}
	got, acts := registered(t, l)
	if got[seed.HanoiID].EntryIntoForce.Instruments != 30 {
		t.Errorf("the user's threshold of 30 became %d", got[seed.HanoiID].EntryIntoForce.Instruments)
	}
	if acts != 0 {
		t.Errorf("Load imported %d acts into the user's Hanoi Convention, want none", acts)
	}
	if len(got) != len(shipped) {
		t.Errorf("%d treaties registered, want %d", len(got), len(shipped))
	}
}

// TestLoadCompletesAPartialSeed: a ledger that holds the Hanoi Convention,
// registered by an earlier seed that shipped nothing else and no history,
// gets the other treaties with their histories and the Hanoi signatures:
// a treaty the seed registered gets the shipped rows it lacks.
func TestLoadCompletesAPartialSeed(t *testing.T) {
	ctx := context.Background()
	l2 := MustLedger(t)
	hanoi, err := seed.Definition(MustDirectory(t), seed.HanoiID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.AddTreaty(ctx, hanoi, events.Metadata{Actor: "seed"}); err != nil {
		t.Fatal(err)
	}
	n, err := seed.Load(ctx, l2)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(MustTreaties(t)) - 1 + rowsAfter(t, events.FirstDate()); n != want {
		t.Errorf("Load recorded %d events, want %d", n, want)
	}
	if _, acts := registered(t, l2); acts != 69 {
		t.Errorf("%d Hanoi acts, want the 69 shipped signatures", acts)
	}
}

func TestDefinitionOfATreatyNotShipped(t *testing.T) {
	if _, err := seed.Definition(MustDirectory(t), "XXVII-99"); !errors.Is(err, events.ErrNotFound) {
		t.Fatalf("Definition(XXVII-99) = %v, want ErrNotFound", err)
	}
	defs, err := seed.Definitions(MustDirectory(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range defs {
		for _, later := range defs[i+1:] {
			if d.Parent == later.ID {
				t.Errorf("%s comes before its parent %s", d.ID, later.ID)
			}
		}
	}
}
