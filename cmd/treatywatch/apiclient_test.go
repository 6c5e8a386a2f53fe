package main_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/cmd/internal/apiclient"
)

// TestTheGeneratedClientDrivesTheService is an end-to-end test through the
// Go client generated from openapi.json (cmd/internal/apiclient): against
// `treatywatch serve` on a seeded ledger, with a token made by `token
// create`, it lists the treaties, records a ratification with an
// Idempotency-Key (and replays it), reads the status that counts it, and
// gets the typed errors the document declares: 401 without a token, 404
// for an unknown treaty, 409 for a refused act.
func TestTheGeneratedClientDrivesTheService(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("seed")
	out := strings.TrimSpace(c.ok("token", "create", "--role", "officer", "--name", "Client Officer"))
	token := out[strings.LastIndex(out, "\n")+1:]
	srv, base := c.serve()
	defer srv.mustStop(t)
	ctx := context.Background()
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	anon, err := apiclient.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	officer, err := apiclient.NewClientWithResponses(base, apiclient.WithRequestEditorFn(bearer))
	if err != nil {
		t.Fatal(err)
	}

	list, err := anon.ListTreatiesWithResponse(ctx, &apiclient.ListTreatiesParams{})
	if err != nil || list.JSON200 == nil || list.JSON200.Treaties == nil {
		t.Fatalf("listTreaties: %v %s", err, list.Body)
	}
	found := false
	for _, tr := range *list.JSON200.Treaties {
		found = found || tr.Id != nil && *tr.Id == "XVIII-16"
	}
	if !found {
		t.Fatalf("listTreaties has no XVIII-16: %s", list.Body)
	}
	before, err := anon.GetTreatyStatusWithResponse(ctx, "hanoi", &apiclient.GetTreatyStatusParams{})
	if err != nil || before.JSON200 == nil || before.JSON200.Counted == nil {
		t.Fatalf("getTreatyStatus: %v %s", err, before.Body)
	}

	ref, participant := "C.N.100.2026.TREATIES-XVIII.16", "Viet Nam"
	act := apiclient.RecordActJSONRequestBody{Action: "ratification", Participant: &participant, Date: "2026-06-01", Reference: &ref}
	key := "client-e2e-1"
	if r, err := anon.RecordActWithResponse(ctx, "XVIII-16", &apiclient.RecordActParams{}, act); err != nil || r.JSON401 == nil || r.JSON401.Code != "unauthorized" {
		t.Fatalf("recordAct without a token: %v %d %s", err, r.StatusCode(), r.Body)
	}
	rec, err := officer.RecordActWithResponse(ctx, "XVIII-16", &apiclient.RecordActParams{IdempotencyKey: &key}, act)
	if err != nil || rec.JSON201 == nil || rec.JSON201.Position == nil || rec.JSON201.Type == nil || *rec.JSON201.Type != "act.ratification" {
		t.Fatalf("recordAct: %v %d %s", err, rec.StatusCode(), rec.Body)
	}
	again, err := officer.RecordActWithResponse(ctx, "XVIII-16", &apiclient.RecordActParams{IdempotencyKey: &key}, act)
	if err != nil || again.JSON201 == nil || *again.JSON201.Position != *rec.JSON201.Position || again.HTTPResponse.Header.Get("Idempotency-Replayed") != "true" {
		t.Fatalf("recordAct replayed: %v %d %s", err, again.StatusCode(), again.Body)
	}
	after, err := anon.GetTreatyStatusWithResponse(ctx, "XVIII-16", &apiclient.GetTreatyStatusParams{})
	if err != nil || after.JSON200 == nil || *after.JSON200.Counted != *before.JSON200.Counted+1 {
		t.Fatalf("getTreatyStatus after: %v %s", err, after.Body)
	}

	if r, err := anon.GetTreatyStatusWithResponse(ctx, "XXVII-99", &apiclient.GetTreatyStatusParams{}); err != nil || r.JSON404 == nil || r.JSON404.Code != "unknown_treaty" {
		t.Fatalf("getTreatyStatus of an unknown treaty: %v %d %s", err, r.StatusCode(), r.Body)
	}
	japan := "Japan"
	refused := apiclient.RecordActJSONRequestBody{Action: "ratification", Participant: &japan, Date: "2026-06-01"}
	if r, err := officer.RecordActWithResponse(ctx, "XVIII-16", &apiclient.RecordActParams{}, refused); err != nil || r.JSON409 == nil || r.JSON409.Code != "refused" {
		t.Fatalf("recordAct refused: %v %d %s", err, r.StatusCode(), r.Body)
	}
}
