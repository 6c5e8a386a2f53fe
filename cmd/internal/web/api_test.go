package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

func TestReadEndpoints(t *testing.T) {
	e := MustEnv(t, envOptions{})

	t.Run("treaties", func(t *testing.T) {
		r := e.Get("/api/v1/treaties")
		wantStatus(t, r, http.StatusOK)
		var body struct {
			AsOf     string `json:"as_of"`
			Treaties []struct {
				ID          string `json:"id"`
				Required    int    `json:"required"`
				Counted     int    `json:"counted"`
				Signatories int    `json:"signatories"`
			} `json:"treaties"`
		}
		r.JSON(t, &body)
		if body.AsOf != "2026-06-15" {
			t.Errorf("as_of = %s; want today, 2026-06-15", body.AsOf)
		}
		found := false
		for _, tr := range body.Treaties {
			if tr.ID == hanoi {
				found = true
				if tr.Required != 40 || tr.Counted != 0 || tr.Signatories != 69 {
					t.Errorf("Hanoi = %+v; want 0 of 40 counted, 69 signatories", tr)
				}
			}
		}
		if !found || len(body.Treaties) < 4 {
			t.Errorf("treaties = %+v; want the Hanoi Convention among the seeded treaties", body.Treaties)
		}
	})

	t.Run("definition by name", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/hanoi")
		wantStatus(t, r, http.StatusOK)
		var def events.Definition
		r.JSON(t, &def)
		if def.ID != hanoi || def.EntryIntoForce.Instruments != 40 {
			t.Errorf("definition = %+v", def)
		}
	})

	t.Run("status is the status --json contract", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/" + hanoi + "/status?statements=full")
		wantStatus(t, r, http.StatusOK)
		var raw map[string]json.RawMessage
		r.JSON(t, &raw)
		for _, k := range []string{"treaty", "title", "as_of", "rule", "required", "counted", "remaining", "percent", "signatories", "parties",
			"threshold_met_on", "entry_into_force", "in_force", "days_until_entry_into_force", "days_since_entry_into_force", "conditions", "milestones", "participants"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("status has no %q", k)
			}
		}
		want, err := projections.StatusFromLog(t.Context(), e.Store, e.Ledger.Registry(), mustDirectory(t, e), hanoi, events.MustDate("2026-06-15"), timeZero())
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := json.Marshal(want)
		if strings.TrimSpace(string(r.Body)) != string(wb) {
			t.Errorf("status differs from the CLI's StatusFromLog:\n got %s\nwant %s", r.Body, wb)
		}
	})

	t.Run("status as of a date", func(t *testing.T) {
		st := e.Status(hanoi, "?as_of=2025-10-25")
		if st.Signatories != 65 {
			t.Errorf("signatories on opening day = %d; want 65", st.Signatories)
		}
		if st := e.Status(hanoi, "?as_of=2025-10-24"); st.Signatories != 0 || len(st.Participants) != 0 {
			t.Errorf("before opening: %d signatories", st.Signatories)
		}
	})

	t.Run("status known at", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/" + hanoi + "/status?known_at=2000-01-01")
		wantStatus(t, r, http.StatusNotFound) // not yet registered then
		st := e.Status(hanoi, "?known_at=2100-01-01T00:00:00Z")
		if st.KnownAt == nil || st.Signatories != 69 {
			t.Errorf("known_at = %v, %d signatories", st.KnownAt, st.Signatories)
		}
	})

	t.Run("bad query parameters", func(t *testing.T) {
		for _, q := range []string{"?as_of=2026-02-30", "?as_of=yesterday", "?known_at=soon"} {
			r := e.Get("/api/v1/treaties/" + hanoi + "/status" + q)
			wantStatus(t, r, http.StatusBadRequest)
			if e := r.Err(t); e.Code != "bad_request" {
				t.Errorf("%s: code %q", q, e.Code)
			}
		}
	})

	t.Run("unknown treaty", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/no-such-treaty/status")
		wantStatus(t, r, http.StatusNotFound)
		er := r.Err(t)
		if er.Code != "unknown_treaty" || !strings.Contains(er.Message, "known treaties") {
			t.Errorf("error = %+v", er)
		}
	})

	t.Run("participants of a treaty", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/" + hanoi + "/participants")
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Participants []projections.Participation `json:"participants"`
		}
		r.JSON(t, &body)
		if len(body.Participants) != 69 {
			t.Fatalf("%d participants; want 69", len(body.Participants))
		}
		if p := body.Participants[0]; p.Signature == nil {
			t.Errorf("first row %+v has no signature", p)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		r := e.Get("/api/v1/treaties/" + hanoi + "/timeline")
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Required int                 `json:"required"`
			Points   []projections.Point `json:"points"`
		}
		r.JSON(t, &body)
		if body.Required != 40 || body.Points == nil || len(body.Points) != 0 {
			t.Errorf("timeline = %+v; want no counted instrument yet, required 40", body)
		}
	})

	t.Run("participants across treaties", func(t *testing.T) {
		r := e.Get("/api/v1/participants")
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Participants []struct {
				Name     string `json:"name"`
				Treaties []struct {
					Treaty string `json:"treaty"`
				} `json:"treaties"`
			} `json:"participants"`
		}
		r.JSON(t, &body)
		// Every participant of the reference list (198) has an act in at
		// least one seeded treaty (the Paris Agreement alone has 195
		// signatories).
		if len(body.Participants) != 198 {
			t.Errorf("%d participants; want the 198 with an act in a seeded treaty", len(body.Participants))
		}
	})

	t.Run("participant by alias", func(t *testing.T) {
		r := e.Get("/api/v1/participants/Vietnam")
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Participant struct {
				Name     string `json:"name"`
				ISO3     string `json:"iso3"`
				Treaties []struct {
					Treaty    string       `json:"treaty"`
					Signature *events.Date `json:"signature"`
				} `json:"treaties"`
			} `json:"participant"`
		}
		r.JSON(t, &body)
		p := body.Participant
		// Viet Nam has acts in five seeded treaties (not the ATT): UNCAC,
		// the Hanoi Convention, BBNJ, the TPNW and the Paris Agreement.
		var inHanoi bool
		for _, tr := range p.Treaties {
			inHanoi = inHanoi || (tr.Treaty == hanoi && tr.Signature.String() == "2025-10-25")
		}
		if p.Name != "Viet Nam" || p.ISO3 != "VNM" || len(p.Treaties) != 5 || !inHanoi {
			t.Errorf("participant = %+v", p)
		}
	})

	t.Run("unknown participant", func(t *testing.T) {
		r := e.Get("/api/v1/participants/Freedonia")
		wantStatus(t, r, http.StatusNotFound)
		if er := r.Err(t); er.Code != "unknown_participant" {
			t.Errorf("error = %+v", er)
		}
	})

	t.Run("events with cursor and filters", func(t *testing.T) {
		var all []events.Envelope
		after := int64(0)
		for range 100 {
			r := e.Get(fmt.Sprintf("/api/v1/events?after=%d&limit=25", after))
			wantStatus(t, r, http.StatusOK)
			var p struct {
				Events []events.Envelope `json:"events"`
				Next   int64             `json:"next"`
				More   bool              `json:"more"`
			}
			r.JSON(t, &p)
			all = append(all, p.Events...)
			after = p.Next
			if !p.More {
				break
			}
		}
		if int64(len(all)) != e.Head() {
			t.Fatalf("paged %d events; the log has %d", len(all), e.Head())
		}
		for i, ev := range all {
			if ev.Position != int64(i+1) {
				t.Fatalf("event %d has position %d", i, ev.Position)
			}
			if ev.Type == events.TypeTokenCreated && strings.Contains(string(ev.Payload), "hash") {
				t.Errorf("token hash exposed: %s", ev.Payload)
			}
		}
		r := e.Get("/api/v1/events?treaty=hanoi&type=act.signature&limit=1000")
		var p struct {
			Events []events.Envelope `json:"events"`
			More   bool              `json:"more"`
		}
		r.JSON(t, &p)
		if len(p.Events) != 69 || p.More {
			t.Errorf("%d Hanoi signatures (more %v); want 69", len(p.Events), p.More)
		}
		r = e.Get("/api/v1/events?type=treaty.*")
		r.JSON(t, &p)
		if len(p.Events) < 4 {
			t.Errorf("%d treaty events", len(p.Events))
		}
		for _, q := range []string{"?limit=0", "?limit=5000", "?after=-1", "?after=x"} {
			wantStatus(t, e.Get("/api/v1/events"+q), http.StatusBadRequest)
		}
	})

	t.Run("unrouted", func(t *testing.T) {
		r := e.Get("/api/v1/nothing")
		wantStatus(t, r, http.StatusNotFound)
		if r.Err(t).Code != "not_found" {
			t.Errorf("body %s", r.Body)
		}
		r = e.Do(http.MethodDelete, "/api/v1/treaties", e.Officer, "", nil)
		wantStatus(t, r, http.StatusMethodNotAllowed)
		if got := r.Header.Get("Allow"); !strings.Contains(got, "GET") || !strings.Contains(got, "PUT") {
			t.Errorf("Allow = %q", got)
		}
	})
}

func TestRecord(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()

	r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification())
	wantStatus(t, r, http.StatusCreated)
	var ev events.Envelope
	r.JSON(t, &ev)
	if ev.Position != before+1 || ev.Type != "act.ratification" || ev.Meta.Actor != "Officer Ada" || ev.Meta.Reference != "C.N.12.2026.TREATIES-XVIII.16" {
		t.Errorf("event = %+v; want the ratification at %d by Officer Ada", ev, before+1)
	}
	if ev.Meta.CorrelationID == "" || ev.Meta.CorrelationID != r.Header.Get("X-Request-Id") {
		t.Errorf("correlation id %q; want the request id %q", ev.Meta.CorrelationID, r.Header.Get("X-Request-Id"))
	}
	var act events.Act
	if err := json.Unmarshal(ev.Payload, &act); err != nil || act.Participant != "Viet Nam" {
		t.Errorf("payload %s: %v", ev.Payload, err)
	}
	if st := e.Status(hanoi); st.Counted != 1 {
		t.Errorf("counted = %d after the ratification; want 1", st.Counted)
	}
	if !strings.Contains(e.Logs.String(), `"actor":"Officer Ada"`) {
		t.Errorf("the request log does not name the actor:\n%s", e.Logs.String())
	}
}

func TestWriteAuthorization(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"no token", "", http.StatusUnauthorized, "unauthorized"},
		{"unknown token", "tw_0000000000000000000000000000000000000000000000000000000000000000", http.StatusUnauthorized, "unauthorized"},
		{"not a treatywatch token", "hunter2", http.StatusUnauthorized, "unauthorized"},
		{"viewer token", e.Viewer, http.StatusForbidden, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.PostJSON("/api/v1/treaties/hanoi/actions", tt.token, ratification())
			wantStatus(t, r, tt.status)
			if got := r.Err(t); got.Code != tt.code {
				t.Errorf("code = %q; want %q", got.Code, tt.code)
			}
			if tt.status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if e.Head() != before {
		t.Errorf("the log moved from %d to %d", before, e.Head())
	}

	t.Run("revoked token", func(t *testing.T) {
		secret, tok, err := e.Ledger.CreateToken(t.Context(), "Officer Temp", events.RoleOfficer, events.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		r := e.PostJSON("/api/v1/treaties/hanoi/actions", secret, map[string]string{"action": "ratification", "participant": "France", "date": "2026-05-05"})
		wantStatus(t, r, http.StatusCreated)
		wantStatus(t, e.Do(http.MethodDelete, "/api/v1/tokens/"+tok.ID, e.Admin, "", nil), http.StatusNoContent)
		r = e.PostJSON("/api/v1/treaties/hanoi/actions", secret, map[string]string{"action": "ratification", "participant": "Chile", "date": "2026-05-05"})
		wantStatus(t, r, http.StatusUnauthorized)
	})
}

func TestRecordRefusals(t *testing.T) {
	e := MustEnv(t, envOptions{})
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification()), http.StatusCreated)
	before := e.Head()
	act := func(action, participant, date string) map[string]string {
		return map[string]string{"action": action, "participant": participant, "date": date}
	}
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
		msg    string
	}{
		{"unknown participant", act("ratification", "Freedonia", "2026-05-04"), "", http.StatusNotFound, "unknown_participant", `unknown participant "Freedonia"`},
		{"impossible date", act("ratification", "France", "2026-02-30"), "", http.StatusUnprocessableEntity, "invalid", "February 2026 has 28 days"},
		{"date after today", act("ratification", "France", "2026-07-01"), "", http.StatusUnprocessableEntity, "invalid", "after today"},
		{"duplicate deposit", ratification(), "", http.StatusConflict, "duplicate", "already recorded"},
		{"already bound", act("accession", "Viet Nam", "2026-06-01"), "", http.StatusConflict, "refused", "already bound"},
		{"not signed", act("ratification", "Germany", "2026-05-04"), "", http.StatusConflict, "refused", "has not signed"},
		{"unknown action", act("ratifcation", "France", "2026-05-04"), "", http.StatusUnprocessableEntity, "invalid", "unknown action"},
		{"unknown field", map[string]string{"action": "ratification", "participant": "France", "date": "2026-05-04", "country": "x"}, "", http.StatusBadRequest, "bad_request", "unknown field"},
		{"malformed JSON", `{"action":`, "", http.StatusBadRequest, "bad_request", "invalid JSON"},
		{"empty body", nil, "", http.StatusBadRequest, "bad_request", "empty"},
		{"wrong content type", act("ratification", "France", "2026-05-04"), "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", "application/json"},
		{"too large", map[string]string{"note": strings.Repeat("x", 2<<20)}, "", http.StatusRequestEntityTooLarge, "too_large", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			switch v := tt.body.(type) {
			case string:
				b = []byte(v)
			case nil:
			default:
				b, _ = json.Marshal(v)
			}
			ct := tt.ctype
			if ct == "" {
				ct = "application/json"
			}
			r := e.Do(http.MethodPost, "/api/v1/treaties/hanoi/actions", e.Officer, ct, b)
			wantStatus(t, r, tt.status)
			got := r.Err(t)
			if got.Code != tt.code || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("error = %+v; want code %s with %q", got, tt.code, tt.msg)
			}
		})
	}
	if e.Head() != before {
		t.Errorf("refused requests wrote: the log moved from %d to %d", before, e.Head())
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	first := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification(), "Idempotency-Key: k-1")
	wantStatus(t, first, http.StatusCreated)
	retry := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification(), "Idempotency-Key: k-1")
	wantStatus(t, retry, http.StatusCreated)
	if string(retry.Body) != string(first.Body) {
		t.Errorf("retry answered\n%s\nwant the first answer\n%s", retry.Body, first.Body)
	}
	if retry.Header.Get("Idempotency-Replayed") != "true" {
		t.Error("the retry is not marked as replayed")
	}
	if e.Head() != before+1 {
		t.Errorf("the log moved by %d; want exactly one write", e.Head()-before)
	}

	other := ratification()
	other["participant"] = "France"
	r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, other, "Idempotency-Key: k-1")
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if r.Err(t).Code != "idempotency_key_reused" {
		t.Errorf("body %s", r.Body)
	}

	// Keys are per token: the admin's k-1 is another request.
	r = e.PostJSON("/api/v1/treaties/hanoi/actions", e.Admin, other, "Idempotency-Key: k-1")
	wantStatus(t, r, http.StatusCreated)

	// A refusal is final for its key too; a retry answers the same.
	dup := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, map[string]string{"action": "ratification", "participant": "Freedonia", "date": "2026-05-04"}, "Idempotency-Key: k-2")
	wantStatus(t, dup, http.StatusNotFound)
	again := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, map[string]string{"action": "ratification", "participant": "Freedonia", "date": "2026-05-04"}, "Idempotency-Key: k-2")
	if again.Status != dup.Status || string(again.Body) != string(dup.Body) {
		t.Errorf("retry of a refusal: %d %s", again.Status, again.Body)
	}
}

func TestConcurrentRetriesWriteOnce(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	body, _ := json.Marshal(ratification())
	const n = 8
	results := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/treaties/hanoi/actions", strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+e.Officer)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "same")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- 0
				return
			}
			res.Body.Close()
			results <- res.StatusCode
		}()
	}
	for range n {
		if s := <-results; s != http.StatusCreated {
			t.Errorf("a concurrent retry answered %d; want 201 for all", s)
		}
	}
	if e.Head() != before+1 {
		t.Errorf("%d events written; want 1", e.Head()-before)
	}
}

func TestImport(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	good := "participant,action,date,reference,source\nViet Nam,ratification,2026-05-04,C.N.1.2026,https://example.org/1\nFrance,approval,2026-05-10,,\n"

	t.Run("dry run previews and writes nothing", func(t *testing.T) {
		r := e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports?dry_run=true", e.Officer, "text/csv", []byte(good))
		wantStatus(t, r, http.StatusOK)
		var res events.ImportResult
		r.JSON(t, &res)
		if !res.DryRun || len(res.Acts) != 2 || res.Acts[0].Position != 0 || res.Acts[0].Act.Participant != "Viet Nam" {
			t.Errorf("preview = %+v", res)
		}
		if e.Head() != before {
			t.Error("a dry run wrote")
		}
	})

	t.Run("row errors", func(t *testing.T) {
		bad := "participant,action,date\nViet Nam,ratification,2026-05-04\nFreedonia,ratification,2026-05-04\nGermany,ratification,2026-05-04\nFrance,approval,2026-13-01\n"
		r := e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports", e.Officer, "text/csv", []byte(bad))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		var body struct {
			Code    string `json:"code"`
			Details struct {
				Rows []struct {
					Line    int    `json:"line"`
					Message string `json:"message"`
				} `json:"rows"`
			} `json:"details"`
		}
		r.JSON(t, &body)
		if body.Code != "import_rejected" || len(body.Details.Rows) != 3 {
			t.Fatalf("body = %s", r.Body)
		}
		wantLines := []int{3, 4, 5}
		for i, row := range body.Details.Rows {
			if row.Line != wantLines[i] || row.Message == "" {
				t.Errorf("row %d = %+v; want line %d", i, row, wantLines[i])
			}
		}
		if e.Head() != before {
			t.Error("a refused import wrote")
		}
	})

	t.Run("bad file and media type", func(t *testing.T) {
		r := e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports", e.Officer, "text/csv", []byte("country,action,date\n"))
		wantStatus(t, r, http.StatusUnprocessableEntity)
		r = e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports", e.Officer, "application/json", []byte(good))
		wantStatus(t, r, http.StatusUnsupportedMediaType)
		r = e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports?dry_run=maybe", e.Officer, "text/csv", []byte(good))
		wantStatus(t, r, http.StatusBadRequest)
	})

	t.Run("import", func(t *testing.T) {
		r := e.Do(http.MethodPost, "/api/v1/treaties/hanoi/imports", e.Officer, "text/csv", []byte(good))
		wantStatus(t, r, http.StatusCreated)
		var res events.ImportResult
		r.JSON(t, &res)
		if res.DryRun || len(res.Acts) != 2 || res.Acts[1].Position != before+2 {
			t.Errorf("result = %+v", res)
		}
		if st := e.Status(hanoi); st.Counted != 2 {
			t.Errorf("counted = %d; want 2", st.Counted)
		}
	})
}

func TestCorrectAndRetract(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification())
	wantStatus(t, r, http.StatusCreated)
	var ev events.Envelope
	r.JSON(t, &ev)
	base := fmt.Sprintf("/api/v1/treaties/hanoi/events/%d", ev.Position)

	r = e.PostJSON(base+"/correction", e.Officer, map[string]string{"reason": "the notification gives 3 May", "date": "2026-05-03"})
	wantStatus(t, r, http.StatusCreated)
	var corr events.Envelope
	r.JSON(t, &corr)
	if corr.Type != events.TypeActCorrected || corr.Meta.Actor != "Officer Ada" || corr.Meta.CausationID != fmt.Sprint(ev.Position) {
		t.Errorf("correction = %+v", corr)
	}
	st := e.Status(hanoi)
	for _, p := range st.Participants {
		if p.Participant == "Viet Nam" && (p.Consent == nil || p.Consent.Date.String() != "2026-05-03") {
			t.Errorf("Viet Nam's consent = %+v after the correction", p.Consent)
		}
	}

	wantStatus(t, e.PostJSON(base+"/correction", e.Officer, map[string]string{"date": "2026-05-02"}), http.StatusUnprocessableEntity)
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/events/999999/correction", e.Officer, map[string]string{"reason": "x", "date": "2026-05-02"}), http.StatusNotFound)
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/events/abc/retraction", e.Officer, map[string]string{"reason": "x"}), http.StatusBadRequest)
	wantStatus(t, e.PostJSON(base+"/retraction", e.Viewer, map[string]string{"reason": "x"}), http.StatusForbidden)

	r = e.PostJSON(base+"/retraction", e.Officer, map[string]string{"reason": "recorded in error"})
	wantStatus(t, r, http.StatusCreated)
	if st := e.Status(hanoi); st.Counted != 0 {
		t.Errorf("counted = %d after the retraction; want 0", st.Counted)
	}
	r = e.PostJSON(base+"/retraction", e.Officer, map[string]string{"reason": "again"})
	wantStatus(t, r, http.StatusNotFound)
}

const testTreatyYAML = `id: TEST-1
title: Convention on Testing Things
short_title: Test Convention
adopted: 2025-01-10
signature: {opens: 2025-02-01}
entry_into_force:
  instruments: 3
  delay: 30 days
`

func TestDefineTreaty(t *testing.T) {
	e := MustEnv(t, envOptions{})
	r := e.Do(http.MethodPut, "/api/v1/treaties", e.Officer, "application/yaml", []byte(testTreatyYAML))
	wantStatus(t, r, http.StatusCreated)
	var body struct {
		Treaty  string           `json:"treaty"`
		Changed bool             `json:"changed"`
		Event   *events.Envelope `json:"event"`
	}
	r.JSON(t, &body)
	if body.Treaty != "TEST-1" || !body.Changed || body.Event == nil || body.Event.Type != events.TypeTreatyRegistered || body.Event.Meta.Actor != "Officer Ada" {
		t.Errorf("body = %s", r.Body)
	}
	if st := e.Status("TEST-1"); st.Required != 3 {
		t.Errorf("required = %d", st.Required)
	}

	r = e.Do(http.MethodPost, "/api/v1/treaties", e.Officer, "application/yaml", []byte(testTreatyYAML))
	wantStatus(t, r, http.StatusOK)
	r.JSON(t, &body)
	if body.Changed || body.Event != nil {
		t.Errorf("unchanged definition: %s", r.Body)
	}

	r = e.Do(http.MethodPut, "/api/v1/treaties", e.Officer, "application/yaml", []byte(strings.Replace(testTreatyYAML, "instruments: 3", "instruments: 4", 1)))
	wantStatus(t, r, http.StatusOK)
	r.JSON(t, &body)
	if !body.Changed || body.Event.Type != events.TypeTreatyAmended {
		t.Errorf("amendment: %s", r.Body)
	}

	r = e.Do(http.MethodPut, "/api/v1/treaties", e.Officer, "application/yaml", []byte("id: BAD\ntitle: Bad\nentry_into_force:\n  instrumnts: 3\n  delay: 30 days\n"))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	er := r.Err(t)
	if er.Code != "invalid_definition" || er.Details["problems"] == nil {
		t.Errorf("error = %+v", er)
	}
	wantStatus(t, e.Do(http.MethodPut, "/api/v1/treaties", e.Viewer, "application/yaml", []byte(testTreatyYAML)), http.StatusForbidden)
	wantStatus(t, e.Do(http.MethodPut, "/api/v1/treaties", e.Officer, "application/json", []byte(`{}`)), http.StatusUnsupportedMediaType)
}

func TestTokens(t *testing.T) {
	e := MustEnv(t, envOptions{})
	wantStatus(t, e.PostJSON("/api/v1/tokens", e.Officer, map[string]string{"name": "x", "role": "officer"}), http.StatusForbidden)
	wantStatus(t, e.Do(http.MethodGet, "/api/v1/tokens", e.Officer, "", nil), http.StatusForbidden)

	r := e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "Officer Bo", "role": "officer"})
	wantStatus(t, r, http.StatusCreated)
	var created struct {
		Secret string       `json:"secret"`
		Token  events.Token `json:"token"`
	}
	r.JSON(t, &created)
	if !strings.HasPrefix(created.Secret, "tw_") || created.Token.Hash != "" || created.Token.Name != "Officer Bo" {
		t.Errorf("created = %+v", created)
	}
	r = e.PostJSON("/api/v1/treaties/hanoi/actions", created.Secret, ratification())
	wantStatus(t, r, http.StatusCreated)
	var ev events.Envelope
	r.JSON(t, &ev)
	if ev.Meta.Actor != "Officer Bo" {
		t.Errorf("actor = %q", ev.Meta.Actor)
	}

	r = e.Do(http.MethodGet, "/api/v1/tokens", e.Admin, "", nil)
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(string(r.Body), `"hash"`) || !strings.Contains(string(r.Body), "Officer Bo") {
		t.Errorf("list = %s", r.Body)
	}
	wantStatus(t, e.PostJSON("/api/v1/tokens", e.Admin, map[string]string{"name": "x", "role": "king"}), http.StatusUnprocessableEntity)
	wantStatus(t, e.Do(http.MethodDelete, "/api/v1/tokens/"+created.Token.ID, e.Admin, "", nil), http.StatusNoContent)
	wantStatus(t, e.Do(http.MethodDelete, "/api/v1/tokens/"+created.Token.ID, e.Admin, "", nil), http.StatusConflict)
	wantStatus(t, e.Do(http.MethodDelete, "/api/v1/tokens/nope", e.Admin, "", nil), http.StatusNotFound)
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", created.Secret, ratification()), http.StatusUnauthorized)
}

func TestPrivateInstance(t *testing.T) {
	e := MustEnv(t, envOptions{private: true})
	wantStatus(t, e.Get("/api/v1/treaties"), http.StatusUnauthorized)
	wantStatus(t, e.Do(http.MethodGet, "/api/v1/treaties", e.Viewer, "", nil), http.StatusOK)
	wantStatus(t, e.Do(http.MethodGet, "/api/v1/treaties/hanoi/status", e.Officer, "", nil), http.StatusOK)
	wantStatus(t, e.Get("/healthz"), http.StatusOK)
	wantStatus(t, e.Get("/api/v1/openapi.json"), http.StatusOK)
	r := e.Get("/treaties/hanoi")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/signin?next=%2Ftreaties%2Fhanoi" {
		t.Errorf("Location = %q", loc)
	}
}

// TestCachedAnswersFollowTheLedger: the status, participants and timeline
// answers are kept encoded per treaty and date, and each is replaced as
// soon as the treaty changes — by this server or by another process.
func TestCachedAnswersFollowTheLedger(t *testing.T) {
	e := MustEnv(t, envOptions{})
	read := func() (projections.Status, int, int) {
		var st projections.Status
		e.Get("/api/v1/treaties/hanoi/status").JSON(t, &st)
		var parts struct {
			Participants []projections.Participation `json:"participants"`
		}
		e.Get("/api/v1/treaties/XVIII-16/participants").JSON(t, &parts)
		var tl struct {
			Points []projections.Point `json:"points"`
		}
		e.Get("/api/v1/treaties/XVIII-16/timeline").JSON(t, &tl)
		return st, len(parts.Participants), len(tl.Points)
	}
	st0, p0, t0 := read()
	if again, p, tl := read(); again.Counted != st0.Counted || p != p0 || tl != t0 {
		t.Fatalf("the cached answers differ from the first ones")
	}
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification()), http.StatusCreated)
	st1, p1, t1 := read()
	if st1.Counted != st0.Counted+1 || p1 < p0 || t1 <= t0 {
		t.Fatalf("after a ratification through the API: counted %d → %d, %d → %d participants, %d → %d points", st0.Counted, st1.Counted, p0, p1, t0, t1)
	}
	// Another process's write (straight through a ledger on the store)
	// is seen once the read side has followed it.
	ev, err := e.Ledger.Record(t.Context(), events.RecordInput{Treaty: "XVIII-16", Action: "accession", Participant: "Japan", Date: "2026-03-03"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Runner.WaitFor(t.Context(), ev.Position); err != nil {
		t.Fatal(err)
	}
	if st2, _, _ := read(); st2.Counted != st1.Counted+1 {
		t.Fatalf("after an accession recorded elsewhere: counted %d, want %d", st2.Counted, st1.Counted+1)
	}
}
