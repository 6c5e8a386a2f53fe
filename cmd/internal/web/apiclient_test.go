package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/apiclient"
)

// TestTheGeneratedClientAgainstTheCheckedServer: the client generated from
// openapi.json, on the API tests' server (which checks every request and
// answer against the document): list, record, read, refuse.
func TestTheGeneratedClientAgainstTheCheckedServer(t *testing.T) {
	e := MustEnv(t, envOptions{})
	ctx := context.Background()
	officer, err := apiclient.NewClientWithResponses(e.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+e.Officer)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := officer.ListParticipantsWithResponse(ctx, &apiclient.ListParticipantsParams{}); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("listParticipants: %v %s", err, r.Body)
	}
	p := "Viet Nam"
	rec, err := officer.RecordActWithResponse(ctx, hanoi, &apiclient.RecordActParams{}, apiclient.RecordActJSONRequestBody{Action: "ratification", Participant: &p, Date: "2026-06-01"})
	if err != nil || rec.JSON201 == nil {
		t.Fatalf("recordAct: %v %d %s", err, rec.StatusCode(), rec.Body)
	}
	st, err := officer.GetTreatyStatusWithResponse(ctx, hanoi, &apiclient.GetTreatyStatusParams{})
	if err != nil || st.JSON200 == nil || st.JSON200.Counted == nil || *st.JSON200.Counted != 1 {
		t.Fatalf("getTreatyStatus: %v %s", err, st.Body)
	}
	if r, err := officer.RecordActWithResponse(ctx, hanoi, &apiclient.RecordActParams{}, apiclient.RecordActJSONRequestBody{Action: "ratification", Participant: &p, Date: "2026-06-01"}); err != nil || r.JSON409 == nil {
		t.Fatalf("recordAct again: %v %d %s", err, r.StatusCode(), r.Body)
	}
}
