package projections

import (
	"github.com/treatywatch/treatywatch/events"
)

// Timeline returns the number of counted instruments over time up to
// asOf: one point per date on which it changes, including decreases when
// a withdrawal takes effect. It applies the treaty's rule for what counts
// (kinds, regional organizations) as Compute does; dir tells regional
// organizations apart (nil: none are known).
func Timeline(h *events.History, dir *events.Directory, asOf events.Date) []Point {
	_, _, instruments := collect(h, dir, asOf, false)
	series := Evaluate(h.Definition.EntryIntoForce, 0, instruments, asOf).Series
	if series == nil {
		return []Point{}
	}
	return series
}

// MilestoneKind says what a Milestone announces.
type MilestoneKind string

// Milestone kinds, in the order Milestones reports them.
const (
	// PercentReached: the counted instruments reached a Status.Milestones
	// mark (25, 50, 75, 90 or 100 % of the required number).
	PercentReached MilestoneKind = "percent-reached"
	// FewToGo: 5 or fewer instruments are missing, fewer than before.
	FewToGo MilestoneKind = "to-go"
	// ThresholdMet: every condition holds; the date of entry into force
	// is now known.
	ThresholdMet MilestoneKind = "threshold-met"
	// EnteredIntoForce: the treaty is now in force.
	EnteredIntoForce MilestoneKind = "entered-into-force"
)

// Milestone is something worth announcing that happened between two
// statuses of the same treaty.
type Milestone struct {
	Kind   MilestoneKind `json:"kind"`
	Treaty string        `json:"treaty"`
	// Date is when it happened: the day the mark or the threshold was
	// reached, the date of entry into force, or the after status's as-of
	// date for FewToGo.
	Date events.Date `json:"date"`
	// Percent is set for PercentReached.
	Percent int `json:"percent,omitempty"`
	// Remaining is set for FewToGo.
	Remaining int `json:"remaining,omitempty"`
	// EntryIntoForce is set for ThresholdMet: the date the treaty will
	// enter into force.
	EntryIntoForce *events.Date `json:"entry_into_force,omitempty"`
}

// Milestones returns what after has reached that before had not: newly
// reached percentage marks, "N to go" when N ≤ 5 instruments are missing
// and fewer than before, the threshold, and entry into force. Comparing
// the statuses before and after an event gives the event's milestones;
// comparing the statuses of two consecutive days gives the time-driven
// ones (entry into force). The zero Status as before means "nothing
// reached yet". Milestones reports progress only: a correction that
// undoes a milestone yields nothing.
func Milestones(before, after Status) []Milestone {
	var out []Milestone
	had := map[int]bool{}
	for _, m := range before.Milestones {
		if m.Date != nil {
			had[m.Percent] = true
		}
	}
	for _, m := range after.Milestones {
		if m.Date != nil && !had[m.Percent] {
			out = append(out, Milestone{Kind: PercentReached, Treaty: after.Treaty, Date: *m.Date, Percent: m.Percent})
		}
	}
	if after.Required > 0 && after.ThresholdMetOn == nil && after.Remaining >= 1 && after.Remaining <= 5 &&
		(before.Required == 0 || after.Remaining < before.Remaining) {
		out = append(out, Milestone{Kind: FewToGo, Treaty: after.Treaty, Date: after.AsOf, Remaining: after.Remaining})
	}
	if before.ThresholdMetOn == nil && after.ThresholdMetOn != nil {
		out = append(out, Milestone{Kind: ThresholdMet, Treaty: after.Treaty, Date: *after.ThresholdMetOn, EntryIntoForce: after.EntryIntoForce})
	}
	if !before.InForce && after.InForce {
		out = append(out, Milestone{Kind: EnteredIntoForce, Treaty: after.Treaty, Date: *after.EntryIntoForce})
	}
	return out
}
