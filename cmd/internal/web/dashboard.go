package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) error {
	sts, err := s.statuses(r.Context(), s.today(), time.Time{})
	if err != nil {
		return err
	}
	data := map[string]any{"Treaties": sts}
	if err := s.homeMap(r, sts, data); err != nil { // the world map (worldmap.go)
		return err
	}
	return s.render(w, r, http.StatusOK, "home", data)
}

// participantSorts are the participant table's columns the server can
// sort by (the no-JavaScript fallback of the table sorter).
func participantSorts() []string { return []string{"participant", "signature", "consent", "eif"} }

func sortParticipants(rows []projections.Participation, by string, desc bool) {
	key := func(p projections.Participation) string {
		switch by {
		case "signature":
			return sortKey(p.Signature)
		case "consent":
			if p.Consent != nil {
				return p.Consent.Date.String()
			}
			return ""
		case "eif":
			return sortKey(p.EntryIntoForce)
		}
		return events.Normalize(p.Participant)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := key(rows[i]), key(rows[j])
		if (a == "") != (b == "") {
			return b == "" // rows without a date last, in either direction
		}
		if desc {
			return a > b
		}
		return a < b
	})
}

func (s *Server) pageTreaty(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st, err := s.cfg.Runner.Status(ctx, id, asOf, knownAt)
	if _, unknown := errors.AsType[*events.UnknownTreatyError](err); unknown && !knownAt.IsZero() {
		// Registered now, not yet then: say what the ledger knew then.
		if now, herr := s.cfg.Ledger.History(ctx, id, time.Time{}); herr == nil && now.Registered {
			return &events.NotYetRegisteredError{Treaty: id, KnownAt: knownAt, RegisteredAt: now.RegisteredAt}
		}
	}
	if err != nil {
		return err
	}
	h, err := s.cfg.Ledger.History(ctx, id, knownAt)
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(ctx)
	if err != nil {
		return err
	}
	points := projections.Timeline(h, dir, asOf)

	q := r.URL.Query()
	by, desc := q.Get("sort"), q.Get("dir") == "desc"
	valid := false
	for _, c := range participantSorts() {
		valid = valid || c == by
	}
	if !valid {
		by, desc = "participant", false
	}
	rows := append([]projections.Participation(nil), st.Participants...)
	sortParticipants(rows, by, desc)

	var latest []events.Fact
	for _, f := range h.Facts() {
		if !f.Date.After(asOf) {
			latest = append(latest, f)
		}
	}
	sort.SliceStable(latest, func(i, j int) bool { return latest[i].Position > latest[j].Position })
	if len(latest) > 15 {
		latest = latest[:15]
	}

	flash := ""
	if p, err := strconv.ParseInt(q.Get("recorded"), 10, 64); err == nil && p > 0 {
		flash = recordedFlash(h.Facts(), p)
	}
	if n, err := strconv.Atoi(q.Get("imported")); err == nil && n > 0 {
		flash = fmt.Sprintf("Imported %s.", plural(n, "act"))
	}
	filter := filterOf(q)
	sorted := st
	sorted.Participants = rows
	table := participantRows(sorted, h.Facts(), dir)
	shown := 0
	for i := range table {
		table[i].Hidden = !filter.match(table[i])
		if !table[i].Hidden {
			shown++
		}
	}
	columns := []map[string]any{}
	for _, c := range []struct{ key, label string }{{"participant", "Participant"}, {"signature", "Signature"}, {"consent", "Consent to be bound"}, {"eif", "Entry into force"}} {
		dir := "asc"
		aria := "none"
		if c.key == by {
			aria = "ascending"
			if desc {
				aria = "descending"
			} else {
				dir = "desc"
			}
		}
		columns = append(columns, map[string]any{"Key": c.key, "Label": c.label, "Dir": dir, "Aria": aria})
	}
	asOfText, knownAtText := "", q.Get("known_at")
	if q.Get("as_of") != "" {
		asOfText = asOf.String()
	}
	worldMap, err := s.worldMap(st, dir) // the world map (worldmap.go)
	if err != nil {
		return err
	}
	forecast, err := s.treatyForecast(ctx, id, asOf, knownAt)
	if err != nil {
		return err
	}
	tok := tokenOf(ctx)
	return s.render(w, r, http.StatusOK, "treaty", map[string]any{
		"Map":    worldMap,
		"Status": st, "Definition": h.Definition, "Rows": table, "Columns": columns,
		"Latest": latest, "Flash": flash, "AsOf": asOf, "AsOfParam": asOfText, "KnownAt": knownAtText,
		"Officer": tok != nil && tok.Allows(events.RoleOfficer), "Points": len(points),
		"Filter": filter, "Shown": shown, "Regions": regionsOf(table), "StatusChoices": statusChoices(), "StatementColumns": statementColumns(),
		"Sort": by, "SortDir": q.Get("dir"), "KnownAtTime": knownAt,
		"TreatyFeed": "/treaties/" + url.PathEscape(st.Treaty) + "/feed.atom",
		"Forecast":   forecast, // the forecast section (analysis.go)
	})
}

// recordedFlash is the confirmation after a write: what was recorded, at
// which position ("Ratification by Viet Nam on 1 June 2026 recorded,
// position 79").
func recordedFlash(facts []events.Fact, pos int64) string {
	for _, f := range facts {
		if f.Position == pos || f.CorrectedBy == pos {
			s := fmt.Sprintf("%s by %s on %s", f.Action.Label(), f.Participant, longDate(f.Date))
			if f.Subject != "" {
				s += " (" + f.Subject + ")"
			}
			return fmt.Sprintf("%s recorded, position %d.", s, pos)
		}
	}
	return fmt.Sprintf("Recorded at log position %d.", pos)
}

// eventTypes are the event log page's type filter choices.
func eventTypes() [][2]string {
	return [][2]string{
		{"", "All events"},
		{"act.*", "Acts (all kinds)"},
		{"act.signature", "Signatures"},
		{"act.ratification,act.acceptance,act.approval,act.accession,act.succession,act.definitive-signature", "Consents to be bound"},
		{"act.corrected,act.retracted", "Corrections and retractions"},
		{"treaty.*", "Treaty definitions"},
		{"participant.*", "Participants registered"},
		{"subscription.*", "Subscriptions"},
		{"token.*", "API tokens"},
	}
}

func (s *Server) pageEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := intParam(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	f, err := s.filter(r)
	if err != nil {
		return err
	}
	const limit = 50
	if r.URL.Query().Get("after") == "" { // open on the latest events
		head, err := s.head(r.Context())
		if err != nil {
			return err
		}
		if f.stream == "" && len(f.types) == 0 {
			after = max(head-limit, 0)
		}
	}
	p, err := s.readPage(r.Context(), after, limit, f)
	if err != nil {
		return err
	}
	treaties, err := s.cfg.Ledger.Treaties(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	signedIn := tokenOf(r.Context()) != nil
	types := eventTypes()
	if !signedIn { // token names and roles, and who subscribed, are not public
		p.Events = slices.DeleteFunc(p.Events, func(e events.Envelope) bool { return privateEvent(e.Type) })
		types = slices.DeleteFunc(types, func(t [2]string) bool { return privateEvent(t[0]) })
	}
	return s.render(w, r, http.StatusOK, "events", map[string]any{
		"Page": p, "Treaties": treaties, "Types": types, "Treaty": q.Get("treaty"), "Type": q.Get("type"), "After": after, "SignedIn": signedIn,
	})
}

// privateEvent reports whether events of a type (or type filter) are
// left out of the public event log page: API tokens (their names and
// roles) and subscriptions.
func privateEvent(typ string) bool {
	return strings.HasPrefix(typ, "token.") || strings.HasPrefix(typ, "subscription.")
}

func (s *Server) pageParticipants(w http.ResponseWriter, r *http.Request) error {
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" {
		dir, err := s.cfg.Ledger.Directory(r.Context())
		if err != nil {
			return err
		}
		p, err := dir.Resolve(q)
		if err == nil {
			http.Redirect(w, r, "/participants/"+url.PathEscape(p.Name), http.StatusSeeOther)
			return nil
		}
		var upe *events.UnknownParticipantError
		if !errors.As(err, &upe) {
			return err
		}
		return s.participantsIndex(w, r, http.StatusNotFound, upe)
	}
	return s.participantsIndex(w, r, http.StatusOK, nil)
}

func (s *Server) participantsIndex(w http.ResponseWriter, r *http.Request, status int, notFound *events.UnknownParticipantError) error {
	views, err := s.acted(r.Context(), s.today())
	if err != nil {
		return err
	}
	type line struct {
		Name     string
		Treaties []projections.ParticipantTreaty
	}
	lines := make([]line, len(views))
	for i, v := range views {
		lines[i] = line{Name: v.Participant, Treaties: v.Treaties}
	}
	return s.render(w, r, status, "participants", map[string]any{"Participants": lines, "NotFound": notFound, "Q": r.URL.Query().Get("q")})
}

// participantTreaty is one treaty on a participant's page: its status
// row for the participant and the participant's acts in order.
type participantTreaty struct {
	Treaty, Name string
	Row          participantRow
	Acts         []events.Fact
	// ObjectedBy are the objections of others to the participant's acts.
	ObjectedBy []events.Fact
}

func (s *Server) pageParticipant(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	today := s.today()
	rec, err := s.participant(ctx, r.PathValue("name"), today)
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(ctx)
	if err != nil {
		return err
	}
	ref, _ := dir.Lookup(rec.Name)
	sts, err := s.statuses(ctx, today, time.Time{})
	if err != nil {
		return err
	}
	var treaties []participantTreaty
	for _, st := range sts {
		i := slices.IndexFunc(st.Participants, func(p projections.Participation) bool { return p.Participant == rec.Name })
		if i < 0 {
			continue
		}
		h, err := s.cfg.Ledger.History(ctx, st.Treaty, time.Time{})
		if err != nil {
			return err
		}
		one := st
		one.Participants = st.Participants[i : i+1]
		var acts, objections []events.Fact
		for _, f := range h.Facts() {
			if f.Date.After(today) {
				continue
			}
			if f.Participant == rec.Name {
				acts = append(acts, f)
			}
			if f.Action == events.Objection && f.Subject == rec.Name {
				objections = append(objections, f)
			}
		}
		sort.SliceStable(acts, func(i, j int) bool {
			if acts[i].Date != acts[j].Date {
				return acts[i].Date.Before(acts[j].Date)
			}
			return acts[i].Position < acts[j].Position
		})
		treaties = append(treaties, participantTreaty{Treaty: st.Treaty, Name: treatyName(st), Row: participantRows(one, acts, dir)[0], Acts: acts, ObjectedBy: objections})
	}
	return s.render(w, r, http.StatusOK, "participant", map[string]any{
		"Participant": rec, "Subregion": ref.Subregion, "M49": ref.M49, "Treaties": treaties, "StatementColumns": statementColumns(),
	})
}

// recordForm is the officer's record form: its values, kept when the
// ledger refuses them.
type recordForm struct {
	Action, Participant, Date, Reference, Source, Note, Subject string
}

func (s *Server) recordPage(w http.ResponseWriter, r *http.Request, status int, id string, form recordForm, formErr error) error {
	h, err := s.cfg.Ledger.History(r.Context(), id, time.Time{})
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(r.Context())
	if err != nil {
		return err
	}
	names := make([]string, 0, 256)
	for _, p := range dir.All() {
		names = append(names, p.Name)
	}
	sort.Slice(names, func(i, j int) bool { return events.Normalize(names[i]) < events.Normalize(names[j]) })
	var ae *apiError
	if formErr != nil {
		ae = toAPIError(formErr)
	}
	return s.render(w, r, status, "record", map[string]any{
		"Treaty": h.Definition, "Actions": events.AllActions(), "Names": names, "Form": form, "Error": ae,
	})
}

func (s *Server) pageRecord(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	return s.recordPage(w, r, http.StatusOK, id, recordForm{Action: string(events.Ratification), Date: s.today().String()}, nil)
}

func (s *Server) pageRecordPost(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	f := recordForm{Action: r.PostFormValue("action"), Participant: r.PostFormValue("participant"), Date: r.PostFormValue("date"),
		Reference: r.PostFormValue("reference"), Source: r.PostFormValue("source"), Note: r.PostFormValue("note"), Subject: r.PostFormValue("subject")}
	e, err := s.record(r, id, actionRequest(f))
	if err != nil {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			return err
		}
		return s.recordPage(w, r, ae.Status, id, f, err)
	}
	http.Redirect(w, r, fmt.Sprintf("/treaties/%s?recorded=%d", url.PathEscape(id), e.Position), http.StatusSeeOther)
	return nil
}

func (s *Server) importPage(w http.ResponseWriter, r *http.Request, status int, id string, data map[string]any) error {
	h, err := s.cfg.Ledger.History(r.Context(), id, time.Time{})
	if err != nil {
		return err
	}
	data["Treaty"] = h.Definition
	for _, k := range []string{"CSV", "Add", "Error", "Rows", "Preview"} {
		if _, ok := data[k]; !ok {
			data[k] = nil
		}
	}
	if data["CSV"] == nil {
		data["CSV"] = ""
	}
	return s.render(w, r, status, "import", data)
}

func (s *Server) pageImport(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	return s.importPage(w, r, http.StatusOK, id, map[string]any{})
}

// pageImportPost previews an import (a dry run showing exactly the acts
// that would be recorded, or every refused row) and, on confirmation,
// records the same CSV.
func (s *Server) pageImportPost(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	csvText := r.PostFormValue("csv")
	if f, _, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(io.LimitReader(f, maxCSVBody+1))
		_ = f.Close() // read whole; a multipart file part has nothing to flush
		if err != nil {
			return fmt.Errorf("read upload: %w", err)
		}
		if len(b) > maxCSVBody {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the CSV file is over 10 MiB"}
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			csvText = string(b)
		}
	}
	add := r.PostFormValue("add_participants") != ""
	commit := r.PostFormValue("step") == "commit"
	data := map[string]any{"CSV": csvText, "Add": add}
	res, err := s.importCSV(r, id, []byte(csvText), add, !commit)
	if err != nil {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			return err
		}
		data["Error"] = ae
		var ie *events.ImportError
		if errors.As(err, &ie) {
			data["Rows"] = ie.Rows
		}
		return s.importPage(w, r, ae.Status, id, data)
	}
	if commit {
		http.Redirect(w, r, fmt.Sprintf("/treaties/%s?imported=%d", url.PathEscape(id), len(res.Acts)), http.StatusSeeOther)
		return nil
	}
	data["Preview"] = res
	return s.importPage(w, r, http.StatusOK, id, data)
}

// summary is a one-line human description of an event.
func summary(e events.Envelope) string {
	switch {
	case events.IsAct(e.Type):
		var a events.Act
		if json.Unmarshal(e.Payload, &a) != nil {
			return e.Type
		}
		s := fmt.Sprintf("%s by %s on %s", a.Action.Label(), dashIfEmpty(a.Participant), friendlyOrDash(a.Date))
		if a.Subject != "" {
			s += " (" + a.Subject + ")"
		}
		return s
	case e.Type == events.TypeActCorrected:
		var c events.ActCorrected
		if json.Unmarshal(e.Payload, &c) != nil {
			return e.Type
		}
		return fmt.Sprintf("Correction of position %d: %s by %s on %s (%s)", c.Supersedes, c.Act.Action.Label(), c.Act.Participant, friendlyOrDash(c.Act.Date), c.Reason)
	case e.Type == events.TypeActRetracted:
		var c events.ActRetracted
		if json.Unmarshal(e.Payload, &c) != nil {
			return e.Type
		}
		return fmt.Sprintf("Retraction of position %d (%s)", c.Supersedes, c.Reason)
	case e.Type == events.TypeTreatyRegistered, e.Type == events.TypeTreatyAmended:
		var t events.TreatyAmended
		if json.Unmarshal(e.Payload, &t) != nil {
			return e.Type
		}
		if e.Type == events.TypeTreatyAmended {
			return fmt.Sprintf("Definition of %s amended (%s)", t.Definition.ID, strings.Join(t.Changes, ", "))
		}
		return fmt.Sprintf("Treaty %s registered: %s", t.Definition.ID, t.Definition.Title)
	case e.Type == events.TypeParticipantRegistered:
		var p events.ParticipantRegistered
		if json.Unmarshal(e.Payload, &p) != nil {
			return e.Type
		}
		return "Participant registered: " + p.Participant.Name
	case e.Type == events.TypeSubscriptionCreated:
		return "Subscription created"
	case e.Type == events.TypeSubscriptionRemoved:
		return "Subscription removed"
	case e.Type == events.TypeTokenCreated:
		return "API token created"
	case e.Type == events.TypeTokenRevoked:
		return "API token revoked"
	}
	return e.Type
}

func friendlyOrDash(d events.Date) string {
	if d.IsZero() {
		return "—"
	}
	return friendly(d)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
