package projections

import (
	"sort"

	"github.com/treatywatch/treatywatch/events"
)

// CurvePoint is where a treaty's count (and weighted share) stood from a
// date on.
type CurvePoint struct {
	Date events.Date `json:"date"`
	// Counted is the number of participants counted towards entry into
	// force, as Status.Counted counts them.
	Counted int `json:"counted"`
	// Share is the weight of the counted participants under the rule's
	// share condition (a percentage, such as the Paris Agreement's share
	// of emissions); 0 when the rule has none.
	Share float64 `json:"share"`
}

// Withdrawal is a counted participant's withdrawal taking effect.
type Withdrawal struct {
	Participant string      `json:"participant"`
	Date        events.Date `json:"date"`
}

// Curve is a treaty's progress towards entry into force over time, as a
// chart draws it: the counted instruments (and the weighted share) day by
// day, the cumulative signatures, the threshold and the milestones.
type Curve struct {
	Treaty string      `json:"treaty"`
	Title  string      `json:"title"`
	AsOf   events.Date `json:"as_of"`
	// Opened is OpenedForSignature; zero when unknown.
	Opened events.Date `json:"opened_for_signature"`
	// Required is Status.Required: 0 when unknown.
	Required int `json:"required"`
	// ShareName and ShareNeed are the rule's share condition ("emissions",
	// 55); ShareNeed is 0 when the rule has none.
	ShareName string  `json:"share_name,omitempty"`
	ShareNeed float64 `json:"share_need,omitempty"`
	// Points has one point per date on or before AsOf on which the count
	// or the share changes, withdrawals taking effect included.
	Points []CurvePoint `json:"points"`
	// Signatures is the number of signatories over time, one point per
	// date on which it grows.
	Signatures     []Point      `json:"signatures"`
	ThresholdMetOn *events.Date `json:"threshold_met_on"`
	EntryIntoForce *events.Date `json:"entry_into_force"`
	// Withdrawals lists the withdrawals of counted participants that took
	// effect on or before AsOf, in date order.
	Withdrawals []Withdrawal `json:"withdrawals"`
}

// CurveOf returns the curve of the treaty whose stream folds to h, up to
// st.AsOf. st is the treaty's status as of that date, computed from the
// same history (Compute, with the parent if any): the curve takes its
// required number, threshold and entry-into-force dates from it, so the
// chart and the status never disagree. CurveOf is pure.
func CurveOf(h *events.History, dir *events.Directory, st Status) Curve {
	asOf := st.AsOf
	rule := h.Definition.EntryIntoForce
	c := Curve{
		Treaty:         st.Treaty,
		Title:          h.Definition.Name(),
		AsOf:           asOf,
		Opened:         OpenedForSignature(h.Definition, st),
		Required:       st.Required,
		Points:         []CurvePoint{},
		Signatures:     []Point{},
		ThresholdMetOn: st.ThresholdMetOn,
		EntryIntoForce: st.EntryIntoForce,
		Withdrawals:    []Withdrawal{},
	}
	if s := rule.Share; s != nil {
		c.ShareName, c.ShareNeed = s.Name, s.AtLeast
	}

	_, _, instruments := collect(h, dir, asOf, false)
	_, changes := countingChanges(rule, instruments, asOf)
	cl := newChecklist(rule, st.Required)
	last := CurvePoint{}
	for i := 0; i < len(changes); {
		d := changes[i].date
		for ; i < len(changes) && changes[i].date == d; i++ {
			if changes[i].delta < 0 {
				c.Withdrawals = append(c.Withdrawals, Withdrawal{Participant: changes[i].key, Date: d})
			}
			cl.update(changes[i].key, changes[i].delta)
		}
		p := CurvePoint{Date: d, Counted: cl.count}
		if c.ShareNeed > 0 {
			p.Share = float64(cl.share) / shareUnit
		}
		if p.Counted != last.Counted || p.Share != last.Share {
			c.Points = append(c.Points, p)
			last = p
		}
	}

	var signed []events.Date
	for _, p := range st.Participants {
		if p.Signature != nil && !p.Signature.After(asOf) {
			signed = append(signed, *p.Signature)
		}
	}
	sort.Slice(signed, func(i, j int) bool { return signed[i].Before(signed[j]) })
	for i, d := range signed {
		if n := len(c.Signatures); n > 0 && c.Signatures[n-1].Date == d {
			c.Signatures[n-1].Counted = i + 1
			continue
		}
		c.Signatures = append(c.Signatures, Point{Date: d, Counted: i + 1})
	}
	return c
}

// CountedOn returns the number of counted instruments on d (0 before the
// first point).
func (c Curve) CountedOn(d events.Date) int {
	return stepOn(c.Points, d, func(p CurvePoint) (events.Date, int) { return p.Date, p.Counted })
}

// ShareOn returns the weighted share on d (0 before the first point or
// without a share condition).
func (c Curve) ShareOn(d events.Date) float64 {
	return stepOn(c.Points, d, func(p CurvePoint) (events.Date, float64) { return p.Date, p.Share })
}

// stepOn reads a step function given by points in date order: the value
// of the last point dated on or before d, the zero value before the
// first.
func stepOn[P any, V any](points []P, d events.Date, at func(P) (events.Date, V)) V {
	var v V
	for _, p := range points {
		date, pv := at(p)
		if date.After(d) {
			break
		}
		v = pv
	}
	return v
}
