package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// apiFunc is a JSON API handler; a returned error is written by writeError.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// treatyID resolves the {id} path value: an id, or a name like the CLI
// takes ("hanoi").
func (s *Server) treatyID(r *http.Request) (string, error) {
	return s.resolveTreaty(r.Context(), r.PathValue("id"))
}

// resolveTreaty resolves a treaty id or name. An exact id the runner has
// folded is taken as is (Ledger.ResolveTreaty folds every treaty stream);
// anything else goes through the ledger, as on the command line.
func (s *Server) resolveTreaty(ctx context.Context, name string) (string, error) {
	if slices.Contains(s.cfg.Runner.Treaties(), name) {
		return name, nil
	}
	return s.cfg.Ledger.ResolveTreaty(ctx, name)
}

// timeAxes parses the as_of (valid time, default today) and known_at
// (transaction time, RFC 3339 or a date meaning the end of that day;
// default now) query parameters, as the CLI parses --as-of and --known-at.
func (s *Server) timeAxes(r *http.Request) (events.Date, time.Time, error) {
	q := r.URL.Query()
	d := s.today()
	if v := q.Get("as_of"); v != "" {
		var err error
		if d, err = events.ParseDate(v); err != nil {
			return d, time.Time{}, badRequestf("as_of: %v", err)
		}
	}
	var k time.Time
	if v := q.Get("known_at"); v != "" {
		var err error
		if k, err = time.Parse(time.RFC3339, v); err != nil {
			kd, derr := events.ParseDate(v)
			if derr != nil {
				return d, k, badRequestf("known_at %q: want an RFC 3339 timestamp (2026-03-01T12:00:00Z) or a date", v)
			}
			k = kd.Time().Add(24*time.Hour - time.Nanosecond)
		}
	}
	return d, k, nil
}

// treatySummary is a treaty's line in GET /api/v1/treaties: the status
// without its participant table.
type treatySummary struct {
	ID                      string       `json:"id"`
	Title                   string       `json:"title"`
	ShortTitle              string       `json:"short_title,omitempty"`
	Parent                  string       `json:"parent,omitempty"`
	AsOf                    events.Date  `json:"as_of"`
	Rule                    string       `json:"rule"`
	Required                int          `json:"required"`
	Counted                 int          `json:"counted"`
	Remaining               int          `json:"remaining"`
	Percent                 float64      `json:"percent"`
	Signatories             int          `json:"signatories"`
	Parties                 int          `json:"parties"`
	InForceFor              int          `json:"in_force_for"`
	WithdrawalRule          string       `json:"withdrawal_rule"`
	ThresholdMetOn          *events.Date `json:"threshold_met_on"`
	EntryIntoForce          *events.Date `json:"entry_into_force"`
	InForce                 bool         `json:"in_force"`
	DaysUntilEntryIntoForce *int         `json:"days_until_entry_into_force"`
	DaysSinceEntryIntoForce *int         `json:"days_since_entry_into_force"`
}

func summarize(st projections.Status) treatySummary {
	return treatySummary{
		ID: st.Treaty, Title: st.Title, ShortTitle: st.ShortTitle, Parent: st.Parent, AsOf: st.AsOf, Rule: st.Rule,
		Required: st.Required, Counted: st.Counted, Remaining: st.Remaining, Percent: st.Percent,
		Signatories: st.Signatories, Parties: st.Parties, InForceFor: st.InForceFor, WithdrawalRule: st.WithdrawalRule, ThresholdMetOn: st.ThresholdMetOn, EntryIntoForce: st.EntryIntoForce,
		InForce: st.InForce, DaysUntilEntryIntoForce: st.DaysUntilEntryIntoForce, DaysSinceEntryIntoForce: st.DaysSinceEntryIntoForce,
	}
}

// statuses returns every treaty's status as of a date, sorted by id.
func (s *Server) statuses(ctx context.Context, asOf events.Date, knownAt time.Time) ([]projections.Status, error) {
	var out []projections.Status
	for _, id := range s.cfg.Runner.Treaties() {
		st, err := s.cfg.Runner.Status(ctx, id, asOf, knownAt)
		var ute *events.UnknownTreatyError
		if errors.As(err, &ute) {
			continue // not registered yet at known_at
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Server) handleTreaties(w http.ResponseWriter, r *http.Request) error {
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil {
		return err
	}
	sts, err := s.statuses(r.Context(), asOf, knownAt)
	if err != nil {
		return err
	}
	list := make([]treatySummary, 0, len(sts))
	for _, st := range sts {
		list = append(list, summarize(st))
	}
	writeJSON(w, http.StatusOK, map[string]any{"as_of": asOf, "treaties": list})
	return nil
}

func (s *Server) handleTreaty(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	_, knownAt, err := s.timeAxes(r)
	if err != nil {
		return err
	}
	if knownAt.IsZero() {
		if def, ok := s.cfg.Runner.Definition(id); ok {
			writeJSON(w, http.StatusOK, def)
			return nil
		}
	}
	h, err := s.cfg.Ledger.History(r.Context(), id, knownAt)
	if err != nil {
		return err
	}
	if !h.Registered {
		if now, err := s.cfg.Ledger.History(r.Context(), id, time.Time{}); err == nil && now.Registered && !knownAt.IsZero() {
			return &events.NotYetRegisteredError{Treaty: id, KnownAt: knownAt, RegisteredAt: now.RegisteredAt}
		}
		return &events.UnknownTreatyError{Treaty: id}
	}
	writeJSON(w, http.StatusOK, h.Definition)
	return nil
}

// requestedStatus is the status the request's {id}, as_of and known_at
// ask for.
func (s *Server) requestedStatus(r *http.Request) (projections.Status, error) {
	id, err := s.treatyID(r)
	if err != nil {
		return projections.Status{}, err
	}
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil {
		return projections.Status{}, err
	}
	return s.cfg.Runner.Status(r.Context(), id, asOf, knownAt)
}

// cacheKey returns the body-cache key and stamp of a read of one
// treaty's standing, and false when it cannot be cached (known_at given,
// or the treaty is not resolved yet).
func (s *Server) cacheKey(r *http.Request, route string) (string, string, bool) {
	id, err := s.treatyID(r)
	if err != nil {
		return "", "", false
	}
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil || !knownAt.IsZero() {
		return "", "", false
	}
	return route + "|" + id + "|" + asOf.String(), s.cfg.Runner.StampAt(id, asOf), true
}

// statementsParam reads the statements parameter of the status and
// participant-table reads: "summary" (the default: statements counted)
// or "full" (their texts inlined).
func statementsParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("statements"); v {
	case "", "summary":
		return false, nil
	case "full":
		return true, nil
	default:
		return false, badRequestf("statements %q: must be summary (the default: statements counted) or full (their texts inlined)", v)
	}
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) error {
	full, err := statementsParam(r)
	if err != nil {
		return err
	}
	if key, stamp, ok := s.cacheKey(r, "status"); ok {
		sb := statusBodies{s: s, rowsKey: "rows" + key[len("status"):] + "|" + strconv.FormatBool(full), stamp: stamp, full: full}
		return s.writeCachedBody(w, key+"|"+strconv.FormatBool(full), stamp, func() ([]byte, error) {
			st, err := s.requestedStatus(r)
			if err != nil {
				return nil, err
			}
			return sb.status(st)
		})
	}
	st, err := s.requestedStatus(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusAnswer(st, full))
	return nil
}

func (s *Server) handleTreatyParticipants(w http.ResponseWriter, r *http.Request) error {
	full, err := statementsParam(r)
	if err != nil {
		return err
	}
	if key, stamp, ok := s.cacheKey(r, "participants"); ok {
		sb := statusBodies{s: s, rowsKey: "rows" + key[len("participants"):] + "|" + strconv.FormatBool(full), stamp: stamp, full: full}
		return s.writeCachedBody(w, key+"|"+strconv.FormatBool(full), stamp, func() ([]byte, error) {
			st, err := s.requestedStatus(r)
			if err != nil {
				return nil, err
			}
			return sb.participants(st)
		})
	}
	st, err := s.requestedStatus(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, participantsAnswer(st, full))
	return nil
}

// handleTreatyParticipant answers one participant's row in one treaty's
// status, whole: its declarations, reservations and unofficial steps with
// their texts, which the table answers count.
func (s *Server) handleTreatyParticipant(w http.ResponseWriter, r *http.Request) error {
	st, err := s.requestedStatus(r)
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(r.Context())
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	p, err := dir.Resolve(name)
	if err != nil {
		return err
	}
	for _, row := range st.Participants {
		if row.Participant == p.Name {
			writeJSON(w, http.StatusOK, map[string]any{"treaty": st.Treaty, "as_of": st.AsOf, "participant": row})
			return nil
		}
	}
	return fmt.Errorf("%w: %s has no act on %s as of %s", events.ErrNotFound, p.Name, st.Treaty, st.AsOf)
}

// timeline returns a treaty's counted instruments over time, folded from
// the ledger as known at knownAt.
func (s *Server) timeline(ctx context.Context, id string, asOf events.Date, knownAt time.Time) ([]projections.Point, error) {
	return s.cfg.Runner.Timeline(ctx, id, asOf, knownAt)
}

func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request) error {
	build := func() (any, error) {
		id, err := s.treatyID(r)
		if err != nil {
			return nil, err
		}
		asOf, knownAt, err := s.timeAxes(r)
		if err != nil {
			return nil, err
		}
		st, err := s.cfg.Runner.Status(r.Context(), id, asOf, knownAt)
		if err != nil {
			return nil, err
		}
		points, err := s.timeline(r.Context(), id, asOf, knownAt)
		if err != nil {
			return nil, err
		}
		return map[string]any{"treaty": id, "as_of": asOf, "required": st.Required, "points": points}, nil
	}
	if key, stamp, ok := s.cacheKey(r, "timeline"); ok {
		return s.writeCachedJSON(w, key, stamp, build)
	}
	v, err := build()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// participantRecord is a participant across the tracked treaties.
type participantRecord struct {
	Name     string                          `json:"name"`
	ISO3     string                          `json:"iso3,omitempty"`
	Region   string                          `json:"region,omitempty"`
	Kind     string                          `json:"kind,omitempty"`
	Aliases  []string                        `json:"aliases,omitempty"`
	Treaties []projections.ParticipantTreaty `json:"treaties"`
}

// acted returns the cross-treaty view (projections.ParticipantViews) of
// every participant with an act on a tracked treaty as of a date.
func (s *Server) acted(ctx context.Context, asOf events.Date) ([]projections.ParticipantView, error) {
	sts, err := s.statuses(ctx, asOf, time.Time{})
	if err != nil {
		return nil, err
	}
	return projections.ParticipantViews(sts), nil
}

func (s *Server) handleParticipants(w http.ResponseWriter, r *http.Request) error {
	asOf, _, err := s.timeAxes(r)
	if err != nil {
		return err
	}
	views, err := s.acted(r.Context(), asOf)
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(r.Context())
	if err != nil {
		return err
	}
	list := make([]participantRecord, 0, len(views))
	for _, v := range views {
		rec := participantRecord{Name: v.Participant, Treaties: v.Treaties}
		if p, ok := dir.Lookup(v.Participant); ok {
			rec.ISO3, rec.Region, rec.Kind = p.ISO3, p.Region, p.Kind
		}
		list = append(list, rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"as_of": asOf, "participants": list})
	return nil
}

// participant resolves a name, alias or ISO code and returns its record.
func (s *Server) participant(ctx context.Context, name string, asOf events.Date) (participantRecord, error) {
	dir, err := s.cfg.Ledger.Directory(ctx)
	if err != nil {
		return participantRecord{}, err
	}
	p, err := dir.Resolve(name)
	if err != nil {
		return participantRecord{}, err
	}
	sts, err := s.statuses(ctx, asOf, time.Time{})
	if err != nil {
		return participantRecord{}, err
	}
	v := projections.ParticipantViewOf(sts, p.Name)
	return participantRecord{Name: p.Name, ISO3: p.ISO3, Region: p.Region, Kind: p.Kind, Aliases: p.Aliases, Treaties: v.Treaties}, nil
}

func (s *Server) handleParticipant(w http.ResponseWriter, r *http.Request) error {
	asOf, _, err := s.timeAxes(r)
	if err != nil {
		return err
	}
	rec, err := s.participant(r.Context(), r.PathValue("name"), asOf)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"as_of": asOf, "participant": rec})
	return nil
}

// eventFilter selects events of the log: by treaty stream and by type
// (exact names, or prefixes written "act.*").
type eventFilter struct {
	stream string
	types  []string
}

func (f eventFilter) match(e events.Envelope) bool {
	if f.stream != "" && e.Stream != f.stream {
		return false
	}
	if len(f.types) == 0 {
		return true
	}
	for _, t := range f.types {
		if p, ok := strings.CutSuffix(t, "*"); ok && strings.HasPrefix(e.Type, p) || e.Type == t {
			return true
		}
	}
	return false
}

// filter parses the treaty and type query parameters.
func (s *Server) filter(r *http.Request) (eventFilter, error) {
	var f eventFilter
	q := r.URL.Query()
	if t := q.Get("treaty"); t != "" {
		id, err := s.resolveTreaty(r.Context(), t)
		if err != nil {
			return f, err
		}
		f.stream = events.TreatyStream(id)
	}
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.types = append(f.types, t)
			}
		}
	}
	return f, nil
}

func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequestf("%s %q: want a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// eventPage is a page of the log.
type eventPage struct {
	Events []events.Envelope `json:"events"`
	// Next is the cursor for the next page: pass it as after.
	Next int64 `json:"next"`
	// More reports whether the log may hold more matching events after Next.
	More bool `json:"more"`
}

// maxScan bounds how many events one page reads when filters skip most.
const maxScan = 20_000

// readPage reads up to limit matching events after a position.
func (s *Server) readPage(ctx context.Context, after int64, limit int, f eventFilter) (eventPage, error) {
	out := eventPage{Events: []events.Envelope{}, Next: after}
	scanned := 0
	for len(out.Events) < limit {
		batch := 500
		if f.stream == "" && len(f.types) == 0 {
			batch = limit - len(out.Events)
		}
		evs, err := s.cfg.Log.ReadAll(ctx, out.Next, batch)
		if err != nil {
			return out, fmt.Errorf("read log after %d: %w", out.Next, err)
		}
		for _, e := range evs {
			out.Next = e.Position
			if f.match(e) {
				out.Events = append(out.Events, redact(e))
				if len(out.Events) == limit {
					break
				}
			}
		}
		scanned += len(evs)
		if len(out.Events) == limit {
			break
		}
		if len(evs) < batch {
			return out, nil // the end of the log
		}
		if scanned >= maxScan {
			break
		}
	}
	out.More = true
	return out, nil
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	f, err := s.filter(r)
	if err != nil {
		return err
	}
	// A full page never changes: the log is append-only, so the matching
	// events after a position, up to limit of them, are fixed once there
	// are limit of them. Such a page is kept; the log's last page, still
	// growing, is read every time.
	key := fmt.Sprintf("events|%d|%d|%s|%s", after, limit, f.stream, strings.Join(f.types, ","))
	if b, ok := s.bodies.get(key, fullPage); ok {
		writeRawJSON(w, http.StatusOK, b)
		return nil
	}
	p, err := s.readPage(r.Context(), after, int(limit), f)
	if err != nil {
		return err
	}
	if len(p.Events) < int(limit) {
		writeJSON(w, http.StatusOK, p)
		return nil
	}
	b, err := encodeJSON(p)
	if err != nil {
		writeJSON(w, http.StatusOK, p) // answers the encoding's failure
		return nil
	}
	s.bodies.put(key, fullPage, b)
	writeRawJSON(w, http.StatusOK, b)
	return nil
}

// fullPage is the stamp of a kept page of the log: valid for ever.
const fullPage = "full"

// redact hides the secrets that some payloads carry from readers of the
// log: events.Redact (a version-1 subscription's webhook URL and HMAC
// secret, a token's hash), then, whatever the schema version, any "url",
// "secret" or "hash" left in a subscription or token payload, so that the
// web layer never shows one even if a payload it does not know holds one.
func redact(e events.Envelope) events.Envelope {
	e = events.Redact(e)
	switch e.Type {
	case events.TypeTokenCreated, events.TypeSubscriptionCreated:
	default:
		return e
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		e.Payload = json.RawMessage(`{"redacted":"unreadable payload"}`)
		return e
	}
	changed := false
	for _, obj := range m {
		for _, k := range []string{"url", "secret", "hash", "token_secret", "webhook_url"} {
			if _, ok := obj[k]; ok {
				obj[k] = "(redacted)"
				changed = true
			}
		}
	}
	if !changed {
		return e
	}
	b, err := json.Marshal(m)
	if err != nil {
		e.Payload = json.RawMessage(`{"redacted":"unreadable payload"}`)
		return e
	}
	e.Payload = b
	return e
}

// Writes.

// readBody reads a body of one of the given media types.
func readBody(r *http.Request, types ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	ok := err == nil
	if ok {
		ok = false
		for _, t := range types {
			ok = ok || mt == t
		}
	}
	if !ok {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf("Content-Type %q: want %s", ct, strings.Join(types, " or "))}
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// meta is the metadata of what a request writes: the token's name as the
// actor and the request id as the correlation id.
func meta(r *http.Request, reference, source string) events.Metadata {
	m := events.Metadata{Reference: reference, Source: source, CorrelationID: requestIDOf(r.Context())}
	if t := tokenOf(r.Context()); t != nil {
		m.Actor = t.Name
	}
	return m
}

// actionRequest is the body of POST /api/v1/treaties/{id}/actions.
type actionRequest struct {
	Action      string `json:"action"`
	Participant string `json:"participant"`
	Date        string `json:"date"`
	Reference   string `json:"reference"`
	Source      string `json:"source"`
	Note        string `json:"note"`
	Subject     string `json:"subject"`
}

// record records one act, the same way for the API and the dashboard.
func (s *Server) record(r *http.Request, id string, in actionRequest) (*events.Envelope, error) {
	e, err := s.cfg.Ledger.Record(r.Context(), events.RecordInput{Treaty: id, Action: strings.TrimSpace(in.Action), Participant: in.Participant,
		Date: in.Date, Subject: in.Subject, Note: in.Note, Meta: meta(r, in.Reference, in.Source)})
	if err != nil {
		return nil, err
	}
	s.afterWrite(r.Context(), "record", 1, e.Position)
	return e, nil
}

func (s *Server) handleRecord(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	var in actionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	r = s.answering(r, createdAnswer)
	e, err := s.record(r, id, in)
	if err != nil {
		return err
	}
	s.reply(w, r, e, createdAnswer, nil)
	return nil
}

// createdAnswer answers a write of one event: 201 and the stored event.
func createdAnswer(result any) (int, any) { return http.StatusCreated, result }

// importAnswer answers an import: 201 and what was recorded, or 200 and
// what would be, for a dry run.
func importAnswer(result any) (int, any) {
	if res, ok := result.(*events.ImportResult); ok && res != nil && res.DryRun {
		return http.StatusOK, res
	}
	return http.StatusCreated, result
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequestf("%s %q: want true or false", name, v)
	}
	return b, nil
}

// importCSV imports (or previews) a CSV, the same way for the API and the
// dashboard.
func (s *Server) importCSV(r *http.Request, id string, data []byte, add, dry bool) (*events.ImportResult, error) {
	rows, err := events.ParseImportCSV(strings.NewReader(string(data)))
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Ledger.Import(r.Context(), id, rows, events.ImportOptions{AddParticipants: add, DryRun: dry, Meta: meta(r, "", "")})
	if err != nil {
		return nil, err
	}
	if !dry && len(res.Acts) > 0 {
		s.afterWrite(r.Context(), "import", len(res.Acts)+len(res.NewParticipants), res.Acts[len(res.Acts)-1].Position)
	}
	return res, nil
}

func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	dry, err := boolParam(r, "dry_run")
	if err != nil {
		return err
	}
	add, err := boolParam(r, "add_participants")
	if err != nil {
		return err
	}
	data, err := readBody(r, "text/csv", "application/csv")
	if err != nil {
		return err
	}
	r = s.answering(r, importAnswer)
	res, err := s.importCSV(r, id, data, add, dry)
	if err != nil {
		return err
	}
	s.reply(w, r, res, importAnswer, nil)
	return nil
}

func positionParam(r *http.Request) (int64, error) {
	v := r.PathValue("pos")
	p, err := strconv.ParseInt(v, 10, 64)
	if err != nil || p <= 0 {
		return 0, badRequestf("position %q is not a positive number", v)
	}
	return p, nil
}

// correctionRequest is the body of POST .../events/{pos}/correction. Empty
// fields keep the corrected act's value.
type correctionRequest struct {
	Reason      string `json:"reason"`
	Date        string `json:"date"`
	Participant string `json:"participant"`
	Action      string `json:"action"`
	Reference   string `json:"reference"`
	Source      string `json:"source"`
	Note        string `json:"note"`
	Subject     string `json:"subject"`
}

func (s *Server) handleCorrect(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	pos, err := positionParam(r)
	if err != nil {
		return err
	}
	var in correctionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	r = s.answering(r, createdAnswer)
	e, err := s.cfg.Ledger.Correct(r.Context(), events.CorrectInput{Treaty: id, Position: pos, Reason: in.Reason, Action: strings.TrimSpace(in.Action),
		Participant: in.Participant, Date: in.Date, Subject: in.Subject, Note: in.Note, Meta: meta(r, in.Reference, in.Source)})
	if err != nil {
		return err
	}
	s.afterWrite(r.Context(), "correction", 1, e.Position)
	s.reply(w, r, e, createdAnswer, nil)
	return nil
}

// retractionRequest is the body of POST .../events/{pos}/retraction.
type retractionRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) handleRetract(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	pos, err := positionParam(r)
	if err != nil {
		return err
	}
	var in retractionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	r = s.answering(r, createdAnswer)
	e, err := s.cfg.Ledger.Retract(r.Context(), id, pos, in.Reason, meta(r, "", ""))
	if err != nil {
		return err
	}
	s.afterWrite(r.Context(), "retraction", 1, e.Position)
	s.reply(w, r, e, createdAnswer, nil)
	return nil
}
