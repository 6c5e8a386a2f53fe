package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/treatywatch/treatywatch/events"
)

// A full page of the log is the same whenever it is read (it is kept),
// while the last page, still growing, shows every new event at once.
func TestLogPagesFullAndGrowing(t *testing.T) {
	e := MustEnv(t, envOptions{})
	type page struct {
		Events []events.Envelope `json:"events"`
		Next   int64             `json:"next"`
		More   bool              `json:"more"`
	}
	get := func(path string) (page, []byte) {
		t.Helper()
		r := e.Get(path)
		wantStatus(t, r, http.StatusOK)
		var p page
		r.JSON(t, &p)
		return p, r.Body
	}
	first, firstBody := get("/api/v1/events?limit=3")
	if len(first.Events) != 3 || first.Events[0].Position != 1 || !first.More {
		t.Fatalf("first page: %+v", first)
	}
	head := e.Head()
	tail, _ := get("/api/v1/events?limit=5&after=" + strconv.FormatInt(head-1, 10))
	if len(tail.Events) != 1 || tail.Events[0].Position != head || tail.More {
		t.Fatalf("tail page before: %+v", tail)
	}
	pos := mustRecord(t, e, events.RecordInput{Action: "declaration", Participant: "Viet Nam", Date: "2026-05-04", Note: "a new declaration"})[0]
	if _, again := get("/api/v1/events?limit=3"); string(again) != string(firstBody) {
		t.Errorf("the first page changed:\n%s\n%s", firstBody, again)
	}
	tail, _ = get("/api/v1/events?limit=5&after=" + strconv.FormatInt(head-1, 10))
	if len(tail.Events) != 2 || tail.Events[1].Position != pos || tail.Events[1].Type != "act.declaration" {
		t.Fatalf("tail page after a write: %+v; want the new event at %d", tail, pos)
	}
	// A filtered full page is kept under its own filter.
	acts, _ := get("/api/v1/events?limit=2&type=act.declaration")
	all, _ := get("/api/v1/events?limit=2")
	if len(acts.Events) != 1 || acts.Events[0].Position != pos || all.Events[0].Position != 1 {
		t.Fatalf("filtered %+v, unfiltered %+v", acts, all)
	}
}
