package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The status and participant-table answers count each row's statements
// by default, so a busy treaty's table stays the size of its participants;
// statements=full inlines the texts (the status --json contract), and the
// participant resource gives one row whole, found by name, alias or ISO
// code.
func TestStatementsAreCountedInTablesAndWholeInTheParticipantResource(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)

	type row struct {
		Participant  string          `json:"participant"`
		Statements   map[string]int  `json:"statements"`
		Declarations json.RawMessage `json:"declarations"`
		Reservations json.RawMessage `json:"reservations"`
		Unofficial   json.RawMessage `json:"unofficial"`
	}
	rowsOf := func(path string) map[string]row {
		t.Helper()
		r := e.Get(path)
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Participants []row `json:"participants"`
		}
		r.JSON(t, &body)
		out := map[string]row{}
		for _, p := range body.Participants {
			out[p.Participant] = p
		}
		return out
	}
	for _, path := range []string{"/api/v1/treaties/hanoi/status", "/api/v1/treaties/hanoi/participants", "/api/v1/treaties/hanoi/status?statements=summary"} {
		rows := rowsOf(path)
		austria := rows["Austria"]
		if austria.Statements["declarations"] != 1 || austria.Statements["reservations"] != 1 || austria.Statements["unofficial"] != 0 {
			t.Errorf("%s: Austria's statements = %v; want 1 declaration, 1 reservation", path, austria.Statements)
		}
		if austria.Declarations != nil || austria.Reservations != nil {
			t.Errorf("%s: the summary inlines texts: %s %s", path, austria.Declarations, austria.Reservations)
		}
		if c := rows["Chile"].Statements["unofficial"]; c != 1 {
			t.Errorf("%s: Chile's unofficial steps = %d; want 1", path, c)
		}
		if c := rows["Viet Nam"].Statements; c["declarations"] != 0 || c["reservations"] != 0 {
			t.Errorf("%s: Viet Nam's statements = %v; want none", path, c)
		}
	}
	for _, path := range []string{"/api/v1/treaties/hanoi/status?statements=full", "/api/v1/treaties/hanoi/participants?statements=full"} {
		austria := rowsOf(path)["Austria"]
		if austria.Statements != nil || !strings.Contains(string(austria.Declarations), "central authority (art. 40(13))") ||
			!strings.Contains(string(austria.Reservations), "article 22(2) does not apply") {
			t.Errorf("%s: Austria = %+v; want the texts inlined and no counts", path, austria)
		}
	}

	// One row whole: by its UNTC name, an alias, an ISO code.
	for _, name := range []string{"Austria", "AUT", "austria"} {
		r := e.Get("/api/v1/treaties/XVIII-16/participants/" + name)
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Treaty      string `json:"treaty"`
			AsOf        string `json:"as_of"`
			Participant row    `json:"participant"`
		}
		r.JSON(t, &body)
		p := body.Participant
		if body.Treaty != "XVIII-16" || body.AsOf != "2026-06-15" || p.Participant != "Austria" ||
			!strings.Contains(string(p.Declarations), "central authority") || !strings.Contains(string(p.Reservations), "22(2)") {
			t.Errorf("%s: %s", name, r.Body)
		}
	}
	r := e.Get("/api/v1/treaties/hanoi/participants/Belgium?as_of=2026-05-19")
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(string(r.Body), "objects to the reservation") {
		t.Errorf("Belgium's objection of 20 May shows as of 19 May: %s", r.Body)
	}

	// A participant with no act on the treaty, an unknown one, a bad mode.
	r = e.Get("/api/v1/treaties/hanoi/participants/Iceland")
	wantStatus(t, r, http.StatusNotFound)
	if er := r.Err(t); !strings.Contains(er.Message, "Iceland has no act on XVIII-16 as of 2026-06-15") {
		t.Errorf("no act: %q", er.Message)
	}
	wantStatus(t, e.Get("/api/v1/treaties/hanoi/participants/Atlantis"), http.StatusNotFound)
	r = e.Get("/api/v1/treaties/hanoi/status?statements=some")
	wantStatus(t, r, http.StatusBadRequest)
	if er := r.Err(t); !strings.Contains(er.Message, "statements") || !strings.Contains(er.Message, `"some"`) {
		t.Errorf("bad statements: %q", er.Message)
	}
}
