package projections_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// The three figures the UN Treaty Collection shows: signatories; parties
// (every participant that consented to be bound, by any instrument, less
// those whose withdrawal has taken effect — before entry into force as
// after it); and the participants the treaty is in force for. The Hanoi
// Convention's real definition with HYPOTHETICAL deposits (none is
// deposited yet), its withdrawal clause left out as shipped, so a
// denunciation takes the Vienna Convention's twelve months.
func TestComputeCountsAsTheUNTCDoes(t *testing.T) {
	dir := MustDirectory(t)
	states := MustFillers(t, dir, "Hanoi Party", 40)
	def := hanoiDef(t)
	def.Withdrawal = events.Withdrawal{}
	h := MustHistory(t, dir, def,
		on("2025-10-25", events.Signature, "European Union", "Viet Nam", "Spain"),
		spread(events.Ratification, "2026-01-05", states[:39]...),
		on("2026-03-01", events.Approval, "European Union"),
		on("2026-03-02", events.ProvisionalApplication, "Spain"),
		on("2026-03-03", events.Ratification, "Viet Nam"),
		on("2026-03-10", events.Denunciation, "Viet Nam"),
		on("2026-04-01", events.Ratification, states[39]),
	)
	tests := []struct {
		asOf                                      string
		signatories, parties, inForceFor, counted int
	}{
		// threshold 3 Mar 2026, Viet Nam's the 40th counted instrument (the
		// EU's approval is not additional); in force 1 Jun 2026. Before
		// that, 39 + the EU + Viet Nam are parties all the same.
		{"2026-03-31", 3, 41, 0, 40},
		{"2026-04-01", 3, 42, 0, 41},
		{"2026-06-30", 3, 42, 42, 41},
		// Viet Nam's denunciation of 10 Mar 2026 takes effect twelve
		// months later, 10 Mar 2027 (Vienna Convention art. 56(2))
		{"2027-03-09", 3, 42, 42, 41},
		{"2027-03-10", 3, 41, 41, 40},
	}
	for _, tt := range tests {
		s := projections.Compute(h, dir, events.MustDate(tt.asOf), nil)
		if s.Signatories != tt.signatories || s.Parties != tt.parties || s.InForceFor != tt.inForceFor || s.Counted != tt.counted {
			t.Errorf("%s: signatories %d, parties %d, in force for %d, counted %d; want %d, %d, %d, %d", tt.asOf,
				s.Signatories, s.Parties, s.InForceFor, s.Counted, tt.signatories, tt.parties, tt.inForceFor, tt.counted)
		}
		if s.WithdrawalRule != events.ViennaDefaultRule {
			t.Errorf("withdrawal rule %q, want %q", s.WithdrawalRule, events.ViennaDefaultRule)
		}
	}
	s := projections.Compute(h, dir, events.MustDate("2026-06-30"), nil)
	vn := row(t, s, "Viet Nam")
	if ds(vn.WithdrawalEffective) != "2027-03-10" {
		t.Errorf("Viet Nam's withdrawal effective %s, want 2027-03-10", ds(vn.WithdrawalEffective))
	}
	es := row(t, s, "Spain")
	if es.ProvisionalApplication == nil || es.ProvisionalApplication.Date.String() != "2026-03-02" || es.Consent != nil || len(es.Declarations) != 0 {
		t.Errorf("Spain row %+v; want a provisional application of 2026-03-02, no consent, no declaration", es)
	}
	v := projections.ParticipantViewOf([]projections.Status{s}, "Spain")
	if len(v.Treaties) != 1 || ds(v.Treaties[0].ProvisionalApplication) != "2026-03-02" {
		t.Errorf("Spain's participant view %+v; want its provisional application", v)
	}
}
