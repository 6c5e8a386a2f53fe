package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// find returns the changes of a kind (and participant, when given).
func find(d projections.Diff, kind projections.ChangeKind, participant string) []projections.Change {
	var out []projections.Change
	for _, c := range d.Changes {
		if c.Kind == kind && (participant == "" || c.Participant == participant) {
			out = append(out, c)
		}
	}
	return out
}

// one returns the single change of a kind (and participant), failing the
// test when there is not exactly one.
func one(tb testing.TB, d projections.Diff, kind projections.ChangeKind, participant string) projections.Change {
	tb.Helper()
	cs := find(d, kind, participant)
	if len(cs) != 1 {
		tb.Fatalf("%s %s: want one change, got %d: %+v", kind, participant, len(cs), cs)
	}
	return cs[0]
}

func count(tb testing.TB, d projections.Diff, field string) (float64, float64) {
	tb.Helper()
	for _, c := range d.Changes {
		if c.Kind == projections.ChangeCount && c.Field == field {
			return *c.From, *c.To
		}
	}
	tb.Fatalf("no count change of %s in %+v", field, d.Changes)
	return 0, 0
}

func (s *seededLedger) diff(tb testing.TB, treaty, from, to string) projections.Diff {
	tb.Helper()
	return projections.DiffStatuses(s.status(tb, treaty, from, time.Time{}), s.status(tb, treaty, to, time.Time{}))
}

// The Paris Agreement between 1 October and 10 November 2016: both
// conditions of art. 21(1) met on 5 October 2016 (the European Union and
// seven of its member States deposited that day), entry into force on
// 4 November 2016 (C.N.735.2016.TREATIES-XXVII.7.d).
func TestDiffParisAgreementThresholdAndEntryIntoForce(t *testing.T) {
	s := mustSeededLedger(t)
	d := s.diff(t, "XXVII-7-d", "2016-10-01", "2016-11-10")

	if d.Treaty != "XXVII-7-d" || d.From.AsOf.String() != "2016-10-01" || d.To.AsOf.String() != "2016-11-10" {
		t.Fatalf("diff span: %+v %+v %+v", d.Treaty, d.From, d.To)
	}
	if c := one(t, d, projections.ChangeThresholdMet, ""); c.Op != projections.Added || ds(c.Date) != "2016-10-05" {
		t.Errorf("threshold: %+v, want added on 2016-10-05", c)
	}
	if c := one(t, d, projections.ChangeEntryIntoForceDate, ""); c.Op != projections.Added || ds(c.ToDate) != "2016-11-04" || c.FromDate != nil {
		t.Errorf("entry-into-force date: %+v, want computed as 2016-11-04", c)
	}
	if c := one(t, d, projections.ChangeInForce, ""); c.Op != projections.Added || ds(c.Date) != "2016-11-04" {
		t.Errorf("in force: %+v, want entered into force on 2016-11-04", c)
	}
	if c := one(t, d, projections.ChangeDeposit, "European Union"); c.Op != projections.Added || c.Action != events.Ratification || ds(c.Date) != "2016-10-05" {
		t.Errorf("EU deposit: %+v", c)
	}
	if c := one(t, d, projections.ChangeDeposit, "Japan"); c.Action != events.Acceptance || ds(c.Date) != "2016-11-08" {
		t.Errorf("Japan's acceptance: %+v", c)
	}
	// In force for the United States from the general date (its
	// acceptance of 3 September 2016 was before the threshold).
	if c := one(t, d, projections.ChangeParticipantInForce, "United States of America"); ds(c.Date) != "2016-11-04" {
		t.Errorf("in force for the US: %+v", c)
	}
	if len(find(d, projections.ChangeDeposit, "United States of America")) != 0 {
		t.Error("the US deposit of 2016-09-03 lies before the span and must not be listed")
	}
	if from, to := count(t, d, "in_force_for"); from != 0 || to < 55 {
		t.Errorf("in force for: %v → %v", from, to)
	}
	if from, to := count(t, d, "counted"); to-from != float64(len(find(d, projections.ChangeDeposit, ""))) {
		t.Errorf("counted %v → %v does not match the %d deposits listed", from, to, len(find(d, projections.ChangeDeposit, "")))
	}
	share := one(t, d, projections.ChangeCondition, "")
	if *share.From >= 55 || *share.To < 55 {
		t.Errorf("emissions share: %v → %v, want it to cross 55", *share.From, *share.To)
	}
	// Sorted by date: the threshold comes after the deposits of its day
	// and before entry into force.
	var last events.Date
	for _, c := range d.Changes {
		if c.Date == nil {
			continue
		}
		if c.Date.Before(last) {
			t.Fatalf("changes out of date order at %+v", c)
		}
		last = *c.Date
	}
}

// The United States' first withdrawal from the Paris Agreement: notified
// 4 November 2019, effective 4 November 2020 (art. 28(2); UN note to
// correspondents of 4 November 2019); a new acceptance on 20 January 2021,
// in force for it on 19 February 2021.
func TestDiffParisAgreementUSWithdrawal(t *testing.T) {
	s := mustSeededLedger(t)
	us := "United States of America"

	notified := s.diff(t, "XXVII-7-d", "2019-11-01", "2019-11-10")
	c := one(t, notified, projections.ChangeWithdrawalNotified, us)
	if c.Op != projections.Added || ds(c.Date) != "2019-11-04" || ds(c.ToDate) != "2020-11-04" {
		t.Errorf("notified: %+v", c)
	}
	if len(find(notified, projections.ChangeWithdrawalEffective, us)) != 0 {
		t.Error("the withdrawal does not take effect in 2019")
	}

	effective := s.diff(t, "XXVII-7-d", "2020-11-01", "2020-11-10")
	if c := one(t, effective, projections.ChangeWithdrawalEffective, us); c.Op != projections.Added || ds(c.Date) != "2020-11-04" {
		t.Errorf("effective: %+v", c)
	}
	if from, to := count(t, effective, "parties"); to != from-1 {
		t.Errorf("parties %v → %v, want one fewer", from, to)
	}

	rejoined := s.diff(t, "XXVII-7-d", "2020-12-01", "2021-03-01")
	if c := one(t, rejoined, projections.ChangeDeposit, us); c.Op != projections.Added || c.Action != events.Acceptance || ds(c.Date) != "2021-01-20" {
		t.Errorf("new acceptance: %+v", c)
	}
	if c := one(t, rejoined, projections.ChangeParticipantInForce, us); ds(c.Date) != "2021-02-19" {
		t.Errorf("in force for the US again: %+v", c)
	}
}

// The ATT's declarations of provisional application (art. 23): ten on
// 2 April 2014 and more through 2014, none counted.
func TestDiffATTProvisionalApplication(t *testing.T) {
	s := mustSeededLedger(t)
	d := s.diff(t, "XXVI-8", "2014-04-01", "2014-04-03")
	pa := find(d, projections.ChangeProvisionalApplication, "")
	if len(pa) < 8 {
		t.Fatalf("provisional applications on 2014-04-02: %d, want the day's declarations (Denmark, Germany, UK, ...)", len(pa))
	}
	if c := one(t, d, projections.ChangeProvisionalApplication, "Germany"); c.Op != projections.Added || ds(c.Date) != "2014-04-02" {
		t.Errorf("Germany: %+v", c)
	}
	if len(find(d, projections.ChangeThresholdMet, "")) != 0 {
		t.Error("the ATT's threshold was met on 25 September 2014, not in April")
	}
}

// The TPNW's fiftieth instrument (Honduras, 24 October 2020) moved by a
// correction to a HYPOTHETICAL 2 November 2020, and a signature
// retracted: the diff between what the ledger said before and after, at
// one as-of date, shows the corrections, the threshold and the date of
// entry into force moving with them.
func TestDiffKnownAtShowsCorrectionsAndRetractions(t *testing.T) {
	s := mustSeededLedger(t)
	ctx := context.Background()
	h, err := s.ledger.History(ctx, "XXVI-9", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var honduras, zimbabwe int64
	for _, f := range h.Facts() {
		switch {
		case f.Participant == "Honduras" && f.Action == events.Ratification:
			honduras = f.Position
		case f.Participant == "Zimbabwe" && f.Action == events.Signature:
			zimbabwe = f.Position
		}
	}
	if honduras == 0 || zimbabwe == 0 {
		t.Fatal("seed: Honduras's ratification or Zimbabwe's signature of the TPNW not found")
	}
	before := seededToday.Add(12 * time.Hour) // after the seed, before the corrections
	if _, err := s.ledger.Correct(ctx, events.CorrectInput{Treaty: "XXVI-9", Position: honduras, Reason: "test: hypothetical date", Date: "2020-11-02"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ledger.Retract(ctx, "XXVI-9", zimbabwe, "test: hypothetical retraction", events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if err := projections.CheckSpan(events.MustDate("2021-06-01"), events.MustDate("2021-06-01"), before, time.Time{}); err != nil {
		t.Fatal(err)
	}
	d := projections.DiffStatuses(s.status(t, "XXVI-9", "2021-06-01", before), s.status(t, "XXVI-9", "2021-06-01", time.Time{}))

	if d.From.KnownAt == nil || !d.From.KnownAt.Equal(before) || d.To.KnownAt != nil {
		t.Errorf("known-at sides: %v, %v", d.From.KnownAt, d.To.KnownAt)
	}
	if c := one(t, d, projections.ChangeDeposit, "Honduras"); c.Op != projections.Changed || ds(c.FromDate) != "2020-10-24" || ds(c.ToDate) != "2020-11-02" {
		t.Errorf("Honduras: %+v", c)
	}
	if c := one(t, d, projections.ChangeThresholdMet, ""); c.Op != projections.Changed || ds(c.FromDate) != "2020-10-24" || ds(c.ToDate) != "2020-11-02" {
		t.Errorf("threshold: %+v", c)
	}
	// 90 days after the fiftieth instrument (art. 15(1)).
	if c := one(t, d, projections.ChangeEntryIntoForceDate, ""); c.Op != projections.Changed || ds(c.FromDate) != "2021-01-22" || ds(c.ToDate) != "2021-01-31" {
		t.Errorf("entry into force: %+v", c)
	}
	if c := one(t, d, projections.ChangeSignature, "Zimbabwe"); c.Op != projections.Removed || ds(c.Date) != "2020-12-04" {
		t.Errorf("Zimbabwe's signature: %+v", c)
	}
	if from, to := count(t, d, "signatories"); to != from-1 {
		t.Errorf("signatories %v → %v", from, to)
	}
	if c := one(t, d, projections.ChangeParticipantInForce, "Honduras"); c.Op != projections.Changed || ds(c.ToDate) != "2021-01-31" {
		t.Errorf("in force for Honduras: %+v", c)
	}
}

func TestDiffOfAStatusWithItselfIsEmpty(t *testing.T) {
	s := mustSeededLedger(t)
	st := s.status(t, "XXVI-8", "2015-01-01", time.Time{})
	d := projections.DiffStatuses(st, st)
	if d.Changes == nil || len(d.Changes) != 0 {
		t.Fatalf("changes: %#v, want an empty list", d.Changes)
	}
}

func TestCheckSpanRefusesABackwardsSpan(t *testing.T) {
	k1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	k2 := k1.Add(time.Hour)
	cases := []struct {
		name               string
		from, to           string
		fromKnown, toKnown time.Time
		axis               string
	}{
		{"as-of backwards", "2016-11-10", "2016-10-01", time.Time{}, time.Time{}, "as_of"},
		{"known-at backwards", "2016-11-10", "2016-11-10", k2, k1, "known_at"},
		{"now before a moment", "2016-11-10", "2016-11-10", time.Time{}, k1, "known_at"},
	}
	for _, c := range cases {
		err := projections.CheckSpan(events.MustDate(c.from), events.MustDate(c.to), c.fromKnown, c.toKnown)
		se, ok := errors.AsType[*projections.SpanError](err)
		if !ok || se.Axis != c.axis || !errors.Is(err, events.ErrInvalid) {
			t.Errorf("%s: %v, want a *SpanError on %s wrapping ErrInvalid", c.name, err, c.axis)
		}
	}
	if err := projections.CheckSpan(events.MustDate("2016-10-01"), events.MustDate("2016-11-10"), k1, k2); err != nil {
		t.Errorf("a forward span: %v", err)
	}
}
