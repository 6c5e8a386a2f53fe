package web_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

func TestDurableIdempotencySurvivesReopeningAndExpires(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := web.StoredResponse{Fingerprint: "f1", Status: 201, ContentType: "application/json", Body: []byte(`{"position":76}`)}
	if err := web.NewDurableIdempotency(st, time.Hour, clock).Put(ctx, "tok:key-1", want); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = sqlite.Open(ctx, path, sqlite.Config{}, nil) // a restarted server
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := web.NewDurableIdempotency(st, time.Hour, clock)
	got, ok, err := s.Get(ctx, "tok:key-1")
	if err != nil || !ok || got.Fingerprint != want.Fingerprint || got.Status != 201 || string(got.Body) != string(want.Body) {
		t.Fatalf("after reopening: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := s.Get(ctx, "tok:other"); ok {
		t.Fatal("an unknown key was found")
	}
	now = now.Add(2 * time.Hour)
	if _, ok, _ := s.Get(ctx, "tok:key-1"); ok {
		t.Fatal("an expired answer was replayed")
	}
}
