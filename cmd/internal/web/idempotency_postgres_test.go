package web_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the PostgreSQL tests of
// this package start (pgtest), if any.
func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDurableIdempotencyOnPostgresIsSharedByInstances keeps the answers of
// two instances on one PostgreSQL database: an answer kept by one, alone
// or in the transaction of a ledger write, is replayed by the other, until
// it expires.
func TestDurableIdempotencyOnPostgresIsSharedByInstances(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewMigratedDatabase(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, url, postgres.Config{Now: clock}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	a, b := open(), open()
	ia, ib := web.NewDurableIdempotency(a, time.Hour, clock), web.NewDurableIdempotency(b, time.Hour, clock)

	// A refusal's answer, kept after it was sent.
	refusal := web.StoredResponse{Fingerprint: "f1", Status: 422, ContentType: "application/json", Body: []byte(`{"code":"invalid"}`)}
	if err := ia.Put(ctx, "tok1:key-1", refusal); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := ib.Get(ctx, "tok1:key-1"); err != nil || !ok || got.Fingerprint != "f1" || got.Status != 422 || string(got.Body) != string(refusal.Body) {
		t.Fatalf("the other instance: %+v %v %v", got, ok, err)
	}

	// A write's answer, kept with its events by the instance that wrote.
	l, err := events.NewLedger(a, events.LedgerConfig{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	wctx := events.WithAnswer(ctx, func(result any) (events.Answer, error) {
		e := result.(*events.Envelope)
		return events.Answer{Key: "tok1:key-2", Fingerprint: "f2", Status: 201, ContentType: "application/json",
			Body: []byte(`{"position":` + strconv.FormatInt(e.Position, 10) + `}`)}, nil
	})
	if _, _, err := l.CreateToken(wctx, "Officer Ada", events.RoleOfficer, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := ib.Get(ctx, "tok1:key-2"); err != nil || !ok || got.Status != 201 || string(got.Body) != `{"position":1}` {
		t.Fatalf("the write's answer, read by the other instance: %+v %v %v", got, ok, err)
	}

	now = now.Add(2 * time.Hour)
	if _, ok, err := ib.Get(ctx, "tok1:key-1"); err != nil || ok {
		t.Errorf("an expired answer was replayed: %v %v", ok, err)
	}
	// A later Put purges the expired answers.
	if err := ib.Put(ctx, "tok1:key-3", refusal); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := a.Answer(ctx, "tok1:key-1"); err != nil || ok {
		t.Errorf("an expired answer is still kept after a Put: %v %v", ok, err)
	}
}

// TestDurableReplaysOnPostgresAreSharedByInstances has a signed Slack
// request accepted by one instance and its replay sent to another: the
// other refuses it, until the signature's window ends.
func TestDurableReplaysOnPostgresAreSharedByInstances(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewMigratedDatabase(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var rs []*web.DurableReplays
	for range 2 {
		st, err := postgres.Open(ctx, url, postgres.Config{Now: clock}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rs = append(rs, web.NewDurableReplays(st, clock))
	}
	const sig = "5f2b1e9c0d3a4b6c7d8e9f00112233445566778899aabbccddeeff0011223344"
	if fresh, err := rs[0].Remember(ctx, sig, now.Add(5*time.Minute)); err != nil || !fresh {
		t.Fatalf("the first instance refused a new request: %v %v", fresh, err)
	}
	if fresh, err := rs[1].Remember(ctx, sig, now.Add(5*time.Minute)); err != nil || fresh {
		t.Errorf("the other instance accepted its replay: %v %v", fresh, err)
	}
	now = now.Add(6 * time.Minute)
	if fresh, err := rs[1].Remember(ctx, sig, now.Add(5*time.Minute)); err != nil || !fresh {
		t.Errorf("after the window, the request again: %v %v, want accepted (the signature check refuses it by then)", fresh, err)
	}
}
