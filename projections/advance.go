package projections

import (
	"github.com/treatywatch/treatywatch/events"
)

// maxRecent bounds the events kept per treaty for advancing kept statuses.
const maxRecent = 256

// recentAct is one followed event of a treaty, as much of it as bringing a
// kept status up to date needs: whether it is an act, and if so its fact
// and whether it is a statement (keepsHeadline), which changes nothing in
// a status but its participant's row.
type recentAct struct {
	version   int64
	act       bool
	statement bool
	fact      events.Fact
}

// noteRecentLocked records the event at version of treaty, just applied to
// h, for advanced. The entries of a treaty are consecutive versions: a gap
// starts them again. The caller holds r.mu for writing.
func (r *Runner) noteRecentLocked(treaty string, version int64, p events.Payload, h *events.History, position int64) {
	if r.recent == nil {
		r.recent = map[string][]recentAct{}
	}
	rec := r.recent[treaty]
	if n := len(rec); n > 0 && rec[n-1].version != version-1 {
		rec = rec[:0]
	}
	a := recentAct{version: version}
	if _, ok := p.(*events.Act); ok {
		if f, ok := h.Fact(position); ok {
			a.act, a.statement, a.fact = true, keepsHeadline(p), f
		}
	}
	if len(rec) >= maxRecent {
		rec = append(rec[:0], rec[len(rec)-maxRecent/2:]...)
	}
	r.recent[treaty] = append(rec, a)
}

// sinceLocked returns the acts of treaty after version from up to version
// to that may change its standing as of asOf, and true when all of them
// are statements (and none is anything else that may): then a status kept
// at from becomes the status at to by adding those statements to their
// rows, and a timeline kept at from is still the timeline. It returns
// false when the events in between are not all kept. The caller holds
// r.mu.
func (r *Runner) sinceLocked(treaty string, from, to int64, asOf events.Date) ([]events.Fact, bool) {
	rec := r.recent[treaty]
	if len(rec) == 0 || rec[0].version > from+1 || rec[len(rec)-1].version < to {
		return nil, false
	}
	var out []events.Fact
	for _, a := range rec {
		if a.version <= from || a.version > to {
			continue
		}
		switch {
		case !a.act:
			return nil, false // a correction, a retraction, a definition: any date
		case a.fact.Date.IsZero() || a.fact.Date.After(asOf):
			// not part of the standing as of asOf
		case !a.statement:
			return nil, false
		default:
			out = append(out, a.fact)
		}
	}
	return out, true
}

// advanced returns the status of k brought up to date from the one kept
// for it at an earlier stamp, when only statements were followed since
// (sinceLocked), and keeps it; false when there is no such status.
func (r *Runner) advanced(k statusKey) (Status, bool) {
	r.cacheMu.Lock()
	c, ok := r.cache[k]
	r.cacheMu.Unlock()
	if !ok {
		return Status{}, false
	}
	r.mu.RLock()
	now := r.stampAtLocked(k.treaty, k.asOf)
	if now.parentVersion != c.stamp.parentVersion || now.dirGen != c.stamp.dirGen || now.version <= c.stamp.version {
		r.mu.RUnlock()
		return Status{}, false
	}
	facts, ok := r.sinceLocked(k.treaty, c.stamp.version, now.version, k.asOf)
	r.mu.RUnlock()
	if !ok {
		return Status{}, false
	}
	st, ok := withStatements(c.status, facts)
	if !ok {
		return Status{}, false
	}
	r.remember(k, now, st)
	return st, true
}

// withStatements returns st with the statements of facts (later than all
// st holds, in log order) added to their participants' rows, in the place
// collect gives them, sharing everything else with st; false when one's
// participant has no row in st (a new row: compute the status instead).
func withStatements(st Status, facts []events.Fact) (Status, bool) {
	if len(facts) == 0 {
		return st, true
	}
	rows := append([]Participation(nil), st.Participants...)
	for _, f := range facts {
		i := -1
		for j := range rows {
			if rows[j].Participant == f.Participant {
				i = j
				break
			}
		}
		if i < 0 {
			return st, false
		}
		row := &rows[i]
		s := Statement{Kind: f.Action, Date: f.Date, Subject: f.Subject, Note: f.Note, Reference: f.Reference}
		switch a := f.Action; {
		case a == events.Reservation || a == events.ReservationWithdrawn:
			row.Reservations = insertStatement(row.Reservations, s)
		case a == events.Declaration || a == events.Objection || a == events.TerritorialApplication:
			row.Declarations = insertStatement(row.Declarations, s)
		case a.IsUnofficial():
			row.Unofficial = insertStatement(row.Unofficial, s)
		case a == events.ProvisionalApplication:
			if row.ProvisionalApplication == nil || s.Date.Before(row.ProvisionalApplication.Date) {
				row.ProvisionalApplication = &s
			}
		default:
			return st, false
		}
	}
	st.Participants = rows
	return st, true
}

// insertStatement returns a new list: sts with s after every statement
// dated on or before it (collect's order: by date, then by position, and
// s is the latest recorded), sts itself untouched.
func insertStatement(sts []Statement, s Statement) []Statement {
	i := len(sts)
	for i > 0 && sts[i-1].Date.After(s.Date) {
		i--
	}
	out := make([]Statement, 0, len(sts)+1)
	out = append(out, sts[:i]...)
	out = append(out, s)
	return append(out, sts[i:]...)
}
