package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// The analysts' reads: what changed between two points (diff) and the
// estimated entry into force (forecast). The domain is in projections
// (DiffStatuses, ForecastProgress); these handlers parse the query, fetch
// the statuses from the runner and answer JSON, as `treatywatch diff` and
// `treatywatch forecast --json` print it.

// knownAtParam parses a known-at query parameter: RFC 3339, or a date
// meaning the end of that day; zero when absent.
func knownAtParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if k, err := time.Parse(time.RFC3339, v); err == nil {
		return k, nil
	}
	d, err := events.ParseDate(v)
	if err != nil {
		return time.Time{}, badRequestf("%s %q: want an RFC 3339 timestamp (2026-03-01T12:00:00Z) or a date", name, v)
	}
	return d.Time().Add(24*time.Hour - time.Nanosecond), nil
}

// dateParam parses a date query parameter, def when absent.
func dateParam(r *http.Request, name string, def events.Date) (events.Date, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	d, err := events.ParseDate(v)
	if err != nil {
		return d, badRequestf("%s: %v", name, err)
	}
	return d, nil
}

// defaultDiffDays is how far before to a diff starts without from, unless
// it compares two known-at moments: the last week (as the CLI's diff).
const defaultDiffDays = 7

// handleDiff answers GET /api/v1/treaties/{id}/diff: from and to (two
// as-of dates; to defaults to as_of, default today; from to 7 days before
// to, or to itself when known_at_a or known_at_b is given), and known_at
// (both sides) or known_at_a and known_at_b (each side; default now). A
// backwards span is 422; a bad parameter 400.
func (s *Server) handleDiff(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("as_of") != "" && (q.Get("from") != "" || q.Get("to") != "") {
		return badRequestf("as_of is the date of both sides: with from and to, leave it out")
	}
	if q.Get("known_at") != "" && (q.Get("known_at_a") != "" || q.Get("known_at_b") != "") {
		return badRequestf("known_at is the moment of both sides: with known_at_a and known_at_b, leave it out")
	}
	base, err := dateParam(r, "as_of", s.today())
	if err != nil {
		return err
	}
	to, err := dateParam(r, "to", base)
	if err != nil {
		return err
	}
	fromDefault := to.AddDays(-defaultDiffDays) // the last week
	if q.Get("to") == "" && (q.Get("known_at_a") != "" || q.Get("known_at_b") != "") {
		fromDefault = to // two moments at one date
	}
	from, err := dateParam(r, "from", fromDefault)
	if err != nil {
		return err
	}
	both, err := knownAtParam(r, "known_at")
	if err != nil {
		return err
	}
	ka, kb := both, both
	if q.Get("known_at_a") != "" || q.Get("known_at_b") != "" {
		if ka, err = knownAtParam(r, "known_at_a"); err != nil {
			return err
		}
		if kb, err = knownAtParam(r, "known_at_b"); err != nil {
			return err
		}
	}
	if err := projections.CheckSpan(from, to, ka, kb); err != nil {
		return err
	}
	ctx := r.Context()
	before, err := s.diffSide(ctx, id, from, ka)
	if err != nil {
		return err
	}
	after, err := s.diffSide(ctx, id, to, kb)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projections.DiffStatuses(before, after))
	return nil
}

// diffSide is one side's status; a side known at a moment before the
// treaty (resolved, so registered now) was registered is the status of a
// treaty nobody had acted on: what the ledger knew then is nothing.
func (s *Server) diffSide(ctx context.Context, id string, asOf events.Date, knownAt time.Time) (projections.Status, error) {
	st, err := s.cfg.Runner.Status(ctx, id, asOf, knownAt)
	_, nyr := errors.AsType[*events.NotYetRegisteredError](err)
	_, unknown := errors.AsType[*events.UnknownTreatyError](err)
	if nyr || unknown && !knownAt.IsZero() {
		k := knownAt.UTC()
		return projections.Status{Treaty: id, AsOf: asOf, KnownAt: &k, Participants: []projections.Participation{}}, nil
	}
	return st, err
}

// handleForecast answers GET /api/v1/treaties/{id}/forecast?as_of=.
func (s *Server) handleForecast(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	asOf, err := dateParam(r, "as_of", s.today())
	if err != nil {
		return err
	}
	fc, err := s.forecast(r.Context(), id, asOf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fc)
	return nil
}

// forecast is a treaty's forecast as of a date, against the curves of
// every treaty the runner knows as of today (projections.ForecastProgress
// leaves the treaty itself out of its model).
func (s *Server) forecast(ctx context.Context, id string, asOf events.Date) (projections.Forecast, error) {
	today := s.today()
	var refs []projections.Progress
	var target *projections.Progress
	for _, tid := range s.cfg.Runner.Treaties() {
		def, ok := s.cfg.Runner.Definition(tid)
		if !ok {
			continue
		}
		st, err := s.cfg.Runner.Status(ctx, tid, today, time.Time{})
		if err != nil {
			return projections.Forecast{}, err
		}
		refs = append(refs, projections.NewProgress(def, st))
		if tid != id {
			continue
		}
		if asOf != today {
			if st, err = s.cfg.Runner.Status(ctx, tid, asOf, time.Time{}); err != nil {
				return projections.Forecast{}, err
			}
		}
		c := projections.NewProgress(def, st)
		target = &c
	}
	if target == nil {
		return projections.Forecast{}, &events.UnknownTreatyError{Treaty: id, Known: s.cfg.Runner.Treaties()}
	}
	return projections.ForecastProgress(*target, refs), nil
}

// forecastView is the treaty page's forecast section (templates/treaty.html,
// the "forecast" block): nil when there is nothing to say (in force, or a
// page as known at a past moment).
type forecastView struct {
	Estimate                  bool
	Earliest, Central, Latest *events.Date
	// Known is the date of entry into force when the threshold is met.
	Known *events.Date
	// Reason says why there is no estimate.
	Reason string
	// Method and Verdict state how the estimate was made and how it did
	// against a straight line in the backtest made with it.
	Method, Verdict string
	References      int
}

// treatyForecast is the forecast section of a treaty page as of asOf;
// nil for a page as known at a past moment (the forecast uses what the
// ledger knows now), a treaty in force, or a forecast that failed (logged:
// the page is shown without it).
func (s *Server) treatyForecast(ctx context.Context, id string, asOf events.Date, knownAt time.Time) (*forecastView, error) {
	if !knownAt.IsZero() {
		return nil, nil
	}
	fc, err := s.forecast(ctx, id, asOf)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil { // the page without its forecast section, rather than no page
		s.logger.Warn("treaty page: no forecast", "treaty", id, "err", err)
		return nil, nil
	}
	v := &forecastView{Reason: fc.Reason, References: len(fc.References)}
	switch fc.Outcome {
	case projections.InForce:
		return nil, nil
	case projections.Pending:
		v.Known = fc.EntryIntoForce
	case projections.Estimated:
		v.Estimate, v.Earliest, v.Central, v.Latest = true, fc.Earliest, fc.EntryIntoForce, fc.Latest
		v.Method, v.Verdict = fc.Method, fc.BacktestVerdict()
	case projections.TooFew, projections.Unknowable: // the reason alone
	}
	return v, nil
}
