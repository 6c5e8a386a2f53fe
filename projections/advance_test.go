package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// A kept status is brought up to date by the statements recorded since
// (in their date order, whatever order they were recorded in), and
// computed again for anything else: a new participant's first act, a
// consent, a correction. Every answer equals a fold of the log.
func TestKeptStatusesFollowStatementsInDateOrder(t *testing.T) {
	ctx := context.Background()
	f := mustLedger(t)
	if _, err := f.ledger.AddTreaty(ctx, hanoiDefinition(t), events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	runner, err := projections.NewRunner(projections.RunnerConfig{Log: f.store}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := events.NewDirectory()
	reg := events.NewRegistry()
	dates := []events.Date{events.MustDate("2026-03-01"), events.MustDate("2026-06-30"), projections.EndOfTime()}
	check := func(step string) {
		t.Helper()
		if _, err := runner.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, asOf := range dates {
			got, err := runner.Status(ctx, "XVIII-16", asOf, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := projections.StatusFromLog(ctx, f.store, reg, dir, "XVIII-16", asOf, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if a, b := mustJSON(t, got), mustJSON(t, want); a != b {
				t.Fatalf("%s: status as of %s differs from a fold of the log:\n%s\n%s", step, asOf, a, b)
			}
			if _, err := runner.Timeline(ctx, "XVIII-16", asOf, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	n := 0
	record := func(step string, in events.RecordInput) int64 {
		t.Helper()
		in.Treaty = "XVIII-16"
		n++
		in.Meta = events.Metadata{Reference: fmt.Sprintf("C.N.%d.2026.TREATIES-XVIII.16", n)}
		e, err := f.ledger.Record(ctx, in)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		check(step)
		return e.Position
	}
	record("signature", events.RecordInput{Action: "signature", Participant: "Austria", Date: "2025-10-25"})
	record("signature", events.RecordInput{Action: "signature", Participant: "Viet Nam", Date: "2025-10-25"})
	record("a declaration", events.RecordInput{Action: "declaration", Participant: "Austria", Date: "2026-05-10", Note: "central authority"})
	record("an earlier declaration recorded later", events.RecordInput{Action: "declaration", Participant: "Austria", Date: "2026-02-01", Note: "earlier"})
	record("the same date", events.RecordInput{Action: "objection", Participant: "Austria", Date: "2026-02-01", Subject: "Viet Nam"})
	record("after every date but the end", events.RecordInput{Action: "reservation", Participant: "Austria", Date: "2026-09-01"})
	record("a reservation withdrawn", events.RecordInput{Action: "reservation-withdrawn", Participant: "Austria", Date: "2026-09-02"})
	record("an unofficial step", events.RecordInput{Action: "parliamentary-approval", Participant: "Viet Nam", Date: "2026-01-15"})
	record("provisional application", events.RecordInput{Action: "provisional-application", Participant: "Viet Nam", Date: "2026-05-01"})
	record("an earlier provisional application", events.RecordInput{Action: "provisional-application", Participant: "Viet Nam", Date: "2026-02-01"})
	record("a new participant's first act", events.RecordInput{Action: "declaration", Participant: "Chile", Date: "2026-02-02"})
	record("a consent dated later than two of the dates", events.RecordInput{Action: "ratification", Participant: "Austria", Date: "2026-07-01"})
	pos := record("a consent", events.RecordInput{Action: "ratification", Participant: "Viet Nam", Date: "2026-02-10"})
	record("a statement after a consent", events.RecordInput{Action: "territorial-application", Participant: "Austria", Date: "2026-01-01", Subject: "Vienna"})
	if _, err := f.ledger.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos, Reason: "date", Date: "2026-01-20"}); err != nil {
		t.Fatal(err)
	}
	check("a correction")
	record("a statement after a correction", events.RecordInput{Action: "declaration", Participant: "Viet Nam", Date: "2025-12-01"})
}
