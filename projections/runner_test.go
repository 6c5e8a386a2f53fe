package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
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

// dump returns every read-model table's rows, in key order, as text.
func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT treaty, version, position, status FROM projection_treaties ORDER BY treaty`,
		`SELECT treaty, participant, iso3, signature, consent_kind, consent_date, entry_into_force, withdrawal_effective FROM projection_participants ORDER BY treaty, participant`,
		`SELECT treaty, date, counted FROM projection_timeline ORDER BY treaty, date`,
		`SELECT treaty, percent, date FROM projection_milestones ORDER BY treaty, percent`,
		`SELECT name, position FROM projection_checkpoints ORDER BY name`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// TestReplayEqualsIncrementalState applies long random sequences of
// commands — most valid, some refused — with the runner catching up at
// random moments, then rebuilds from position 0 and checks that the read
// models are byte for byte the same.
func TestReplayEqualsIncrementalState(t *testing.T) {
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
			runner, err := projections.NewRunner(projections.RunnerConfig{Log: f.store, DB: f.store, BatchSize: 7, PageSize: 5}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir, _ := events.NewDirectory()
			names := dir.All()
			actions := []events.Action{events.Signature, events.Signature, events.Ratification, events.Ratification, events.Accession, events.Approval,
				events.Declaration, events.Reservation, events.Denunciation, events.IntentAnnounced}
			start := events.MustDate("2025-10-25")
			accepted := 0
			var positions []int64
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
				if rng.IntN(10) == 0 {
					if _, err := runner.CatchUp(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := runner.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if accepted < 100 {
				t.Fatalf("only %d commands accepted; the sequence does not exercise the fold", accepted)
			}
			incremental := dump(t, f.store.ReadDB())
			fresh, err := projections.NewRunner(projections.RunnerConfig{Log: f.store, DB: f.store}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := fresh.Replay(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if replayed := dump(t, f.store.ReadDB()); replayed != incremental {
				t.Fatalf("replay differs from the incremental state:\n--- incremental\n%s\n--- replay\n%s", incremental, replayed)
			}
			// The in-memory status equals a fold of the log.
			today := events.MustDate("2026-11-27")
			a, err := runner.Status(ctx, "XVIII-16", today, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := projections.StatusFromLog(ctx, f.store, events.NewRegistry(), dir, "XVIII-16", today, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("runner status differs from a fold of the log")
			}
		})
	}
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
	r, _ := projections.NewRunner(projections.RunnerConfig{Log: f.store, DB: f.store}, nil)
	if err := r.Replay(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if cp, _ := r.Checkpoint(ctx); cp != 3 {
		t.Fatalf("checkpoint after replay --until 3 = %d", cp)
	}
	var s string
	if err := f.store.ReadDB().QueryRow(`SELECT signature FROM projection_participants WHERE participant = 'Mauritius'`).Scan(&s); err != nil || s != "2025-11-18" {
		t.Fatalf("read model at position 3: Mauritius signed %q (%v), want 2025-11-18", s, err)
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
	r, _ := projections.NewRunner(projections.RunnerConfig{Log: f.store, DB: f.store}, nil)
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
