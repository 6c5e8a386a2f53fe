package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/projections"
)

// ledgerFixture is a real SQLite ledger in a temporary directory with a
// fixed "today" and a recorded-at clock that ticks one second per append.
type ledgerFixture struct {
	store  *sqlite.Store
	ledger *events.Ledger
	ticks  atomic.Int64
}

func mustLedger(tb testing.TB) *ledgerFixture {
	tb.Helper()
	f := &ledgerFixture{}
	base := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "treatywatch.db"),
		sqlite.Config{Now: func() time.Time { return base.Add(time.Duration(f.ticks.Add(1)) * time.Second) }}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return base }})
	if err != nil {
		tb.Fatal(err)
	}
	f.store, f.ledger = st, l
	return f
}

// hanoiDefinition is the shipped Hanoi Convention with a withdrawal
// clause, so that the runner's tests exercise withdrawals: one year after
// the notification, HYPOTHETICAL — the shipped definition sets none, since
// Article 67 was not verified (seed/README.md); one year is UNCAC art. 70's.
func hanoiDefinition(tb testing.TB) events.Definition {
	def := hanoiDef(tb)
	def.Withdrawal = events.Withdrawal{TakesEffect: events.Period{N: 1, Unit: events.Years}}
	return def
}

// TestRunnerEqualsAFoldOfTheLog applies long random sequences of commands
// — most valid, some refused — with the runner following the log at
// random moments, keeping room for few histories and transitions (so it
// reads streams again and recomputes old transitions), and checks that
// every status it answers, every transition it publishes and a rebuild
// from position 0 equal a fresh fold of the treaty's stream.
func TestRunnerEqualsAFoldOfTheLog(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			f := mustLedger(t)
			rng := rand.New(rand.NewPCG(seed, 42))
			if _, err := f.ledger.AddTreaty(ctx, hanoiDefinition(t), events.Metadata{Actor: "test"}); err != nil {
				t.Fatal(err)
			}
			proto := events.Definition{ID: "XVIII-16-a", Title: "Protocol (hypothetical)", Parent: "XVIII-16", Adopted: events.MustDate("2025-01-01"),
				EntryIntoForce: events.Rule{Fraction: &events.Fraction{Num: 1, Den: 2}, Delay: events.Period{N: 1, Unit: events.Months, FirstOfMonthAfter: true}}}
			if _, err := f.ledger.AddTreaty(ctx, proto, events.Metadata{Actor: "test"}); err != nil {
				t.Fatal(err)
			}
			runner, err := projections.NewRunner(projections.RunnerConfig{Log: f.store, PageSize: 5, HistoryEvents: 40, Transitions: 8, Statuses: 16}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir, _ := events.NewDirectory()
			names := dir.All()
			actions := []events.Action{events.Signature, events.Signature, events.Ratification, events.Ratification, events.Accession, events.Approval,
				events.Declaration, events.Reservation, events.Denunciation, events.IntentAnnounced,
				events.Objection, events.TerritorialApplication, events.ReservationWithdrawn, events.ProvisionalApplication, events.ParliamentaryApproval}
			start := events.MustDate("2025-10-25")
			reg := events.NewRegistry()
			accepted := 0
			var positions []int64
			check := func(step int) {
				// The runner answers as of the position it has followed:
				// follow first, then compare with a fold of the stream.
				if _, err := runner.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
				treaty := []string{"XVIII-16", "XVIII-16-a"}[rng.IntN(2)]
				// A few dates, so that kept statuses are asked for again
				// after later writes (before and after their date).
				asOf := start.AddDays(rng.IntN(12)*45 - 50)
				got, err := runner.Status(ctx, treaty, asOf, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				want, err := projections.StatusFromLog(ctx, f.store, reg, dir, treaty, asOf, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if ja, jb := mustJSON(t, got), mustJSON(t, want); ja != jb {
					t.Fatalf("step %d: the runner's status of %s as of %s differs from a fold of the log:\n%s\n%s", step, treaty, asOf, ja, jb)
				}
			}
			for step := 0; step < 400; step++ {
				treaty := "XVIII-16"
				if rng.IntN(5) == 0 {
					treaty = "XVIII-16-a"
				}
				p := names[rng.IntN(60)].Name
				date := start.AddDays(rng.IntN(395)).String()
				var e *events.Envelope
				switch r := rng.IntN(20); {
				case r == 0 && len(positions) > 0:
					e, err = f.ledger.Retract(ctx, treaty, positions[rng.IntN(len(positions))], "recorded in error", events.Metadata{})
				case r == 1 && len(positions) > 0:
					e, err = f.ledger.Correct(ctx, events.CorrectInput{Treaty: treaty, Position: positions[rng.IntN(len(positions))], Reason: "date", Date: date})
				default:
					e, err = f.ledger.Record(ctx, events.RecordInput{Treaty: treaty, Action: string(actions[rng.IntN(len(actions))]), Participant: p, Date: date})
				}
				if err == nil {
					accepted++
					positions = append(positions, e.Position)
				} else if !errors.Is(err, events.ErrRefused) && !errors.Is(err, events.ErrDuplicate) && !errors.Is(err, events.ErrInvalid) && !errors.Is(err, events.ErrNotFound) {
					t.Fatalf("step %d: %v", step, err)
				}
				switch rng.IntN(10) {
				case 0:
					if _, err := runner.CatchUp(ctx); err != nil {
						t.Fatal(err)
					}
				case 1:
					check(step)
				}
			}
			if _, err := runner.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if accepted < 100 {
				t.Fatalf("only %d commands accepted; the sequence does not exercise the fold", accepted)
			}
			for range 20 {
				check(400)
			}
			// Every transition — kept or computed again — is the status
			// before and after its event, as a fold of the stream up to
			// it gives them.
			for _, pos := range positions {
				tr, err := runner.Transition(ctx, pos)
				if err != nil {
					t.Fatal(err)
				}
				evs, err := f.store.ReadStream(ctx, tr.Event.Stream)
				if err != nil {
					t.Fatal(err)
				}
				var before, upto []events.Envelope
				for _, e := range evs {
					if e.Position < pos {
						before = append(before, e)
					}
					if e.Position <= pos {
						upto = append(upto, e)
					}
				}
				if tr.Definition.Parent != "" {
					continue // a protocol's depends on its parent's status now; checked by status above
				}
				hb, _ := events.Fold(reg, before, time.Time{})
				ha, _ := events.Fold(reg, upto, time.Time{})
				wantBefore := projections.Headline(projections.Compute(hb, dir, projections.EndOfTime(), nil))
				wantAfter := projections.Headline(projections.Compute(ha, dir, projections.EndOfTime(), nil))
				if mustJSON(t, tr.Before) != mustJSON(t, wantBefore) || mustJSON(t, tr.After) != mustJSON(t, wantAfter) {
					t.Fatalf("transition at %d differs from a fold of its stream", pos)
				}
			}
			// A rebuild from position 0 gives the same counts.
			sums, _, err := projections.Rebuild(ctx, f.store, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sums {
				st, err := runner.Status(ctx, s.Treaty, projections.EndOfTime(), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if st.Counted != s.Counted || st.Required != s.Required {
					t.Fatalf("rebuild of %s: %d/%d, runner %d/%d", s.Treaty, s.Counted, s.Required, st.Counted, st.Required)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReplayUntilAndKnownAt(t *testing.T) {
	ctx := context.Background()
	f := mustLedger(t)
	if _, err := f.ledger.AddTreaty(ctx, hanoiDefinition(t), events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	rec := func(action, p, date string) *events.Envelope {
		e, err := f.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: action, Participant: p, Date: date})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	rec("signature", "Viet Nam", "2025-10-25")
	rec("signature", "Mauritius", "2025-11-18") // verdragen.nl gives 19 Nov 2025: corrected below
	knownBefore := time.Date(2026, 11, 27, 9, 0, 3, 500, time.UTC)
	if _, err := f.ledger.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: 3, Date: "2025-11-19", Reason: "verdragen.nl"}); err != nil {
		t.Fatal(err)
	}
	dir, _ := events.NewDirectory()
	sig := func(st projections.Status, who string) string {
		for _, p := range st.Participants {
			if p.Participant == who && p.Signature != nil {
				return p.Signature.String()
			}
		}
		return ""
	}
	now, err := projections.StatusFromLog(ctx, f.store, events.NewRegistry(), dir, "XVIII-16", events.MustDate("2026-11-27"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	then, err := projections.StatusFromLog(ctx, f.store, events.NewRegistry(), dir, "XVIII-16", events.MustDate("2026-11-27"), knownBefore)
	if err != nil {
		t.Fatal(err)
	}
	if sig(now, "Mauritius") != "2025-11-19" || sig(then, "Mauritius") != "2025-11-18" {
		t.Fatalf("known now: %q, known before the correction: %q", sig(now, "Mauritius"), sig(then, "Mauritius"))
	}
	// As of 18 Nov 2025, Mauritius had not signed yet (corrected date 19 Nov).
	early, _ := projections.StatusFromLog(ctx, f.store, events.NewRegistry(), dir, "XVIII-16", events.MustDate("2025-11-18"), time.Time{})
	if early.Signatories != 1 {
		t.Fatalf("signatories as of 2025-11-18 = %d, want 1", early.Signatories)
	}
	// A rebuild up to position 3 folds the two signatures, not the
	// correction.
	sums, n, err := projections.Rebuild(ctx, f.store, 3)
	if err != nil || n != 3 || len(sums) != 1 || sums[0].Signatories != 2 {
		t.Fatalf("Rebuild(3) = %+v, %d, %v; want one treaty with 2 signatories from 3 events", sums, n, err)
	}
}

// TestRunnerStatusCacheFollowsTheLedger: a cached status is replaced as
// soon as the treaty changes.
func TestRunnerStatusCacheFollowsTheLedger(t *testing.T) {
	ctx := context.Background()
	f := mustLedger(t)
	if _, err := f.ledger.AddTreaty(ctx, hanoiDefinition(t), events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	r, _ := projections.NewRunner(projections.RunnerConfig{Log: f.store}, nil)
	today := events.MustDate("2026-11-27")
	signatories := func() int {
		if _, err := r.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := r.Status(ctx, "XVIII-16", today, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return st.Signatories
	}
	if n := signatories(); n != 0 {
		t.Fatalf("signatories = %d", n)
	}
	for i, p := range []string{"Viet Nam", "Algeria", "Angola"} {
		if _, err := f.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: p, Date: "2025-10-25"}); err != nil {
			t.Fatal(err)
		}
		if n := signatories(); n != i+1 {
			t.Fatalf("after %s signed: signatories = %d, want %d", p, n, i+1)
		}
		if n := signatories(); n != i+1 { // from the cache
			t.Fatalf("cached: signatories = %d, want %d", n, i+1)
		}
	}
}

// StampAt changes when an event may change the standing as of its date,
// and only then: an act dated after it leaves it (and the kept status)
// as it was; an act dated on or before it, a correction, a retraction and
// a participant registration change it.
func TestStampAtChangesOnlyWithTheStandingAsOfItsDate(t *testing.T) {
	ctx := context.Background()
	f := mustLedger(t)
	if _, err := f.ledger.AddTreaty(ctx, hanoiDefinition(t), events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: f.store}, nil)
	if err != nil {
		t.Fatal(err)
	}
	follow := func() {
		t.Helper()
		if _, err := runner.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	record := func(action, participant, date string) *events.Envelope {
		t.Helper()
		e, err := f.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: action, Participant: participant, Date: date})
		if err != nil {
			t.Fatal(err)
		}
		follow()
		return e
	}
	past := events.MustDate("2025-12-31")
	record("signature", "Viet Nam", "2025-10-25")
	st0, err := runner.Status(ctx, "XVIII-16", past, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	before := runner.StampAt("XVIII-16", past) // after the first read: reading the stream tells the runner its version
	later := record("signature", "France", "2026-03-01")
	if got := runner.StampAt("XVIII-16", past); got != before {
		t.Fatalf("an act dated 2026-03-01 changed the stamp as of %s: %s → %s", past, before, got)
	}
	if got := runner.StampAt("XVIII-16", events.MustDate("2026-03-01")); got == before {
		t.Fatal("an act dated 2026-03-01 left the stamp as of that day unchanged")
	}
	st1, _ := runner.Status(ctx, "XVIII-16", past, time.Time{})
	if mustJSON(t, st0) != mustJSON(t, st1) || st1.Signatories != 1 {
		t.Fatalf("the status as of %s changed with a later act: %d signatories", past, st1.Signatories)
	}
	record("signature", "Ghana", "2025-11-20")
	changed := runner.StampAt("XVIII-16", past)
	if changed == before {
		t.Fatal("an act dated 2025-11-20 left the stamp as of 2025-12-31 unchanged")
	}
	if st, _ := runner.Status(ctx, "XVIII-16", past, time.Time{}); st.Signatories != 2 {
		t.Fatalf("as of %s after Ghana's signature: %d signatories, want 2", past, st.Signatories)
	}
	// A correction moving the later act before the date changes it.
	if _, err := f.ledger.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: later.Position, Reason: "date", Date: "2025-12-01"}); err != nil {
		t.Fatal(err)
	}
	follow()
	if got := runner.StampAt("XVIII-16", past); got == changed {
		t.Fatal("a correction left the stamp unchanged")
	}
	if st, _ := runner.Status(ctx, "XVIII-16", past, time.Time{}); st.Signatories != 3 {
		t.Fatalf("as of %s after the correction: %d signatories, want 3", past, st.Signatories)
	}
}
