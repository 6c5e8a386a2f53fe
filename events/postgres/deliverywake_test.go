package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// TestListenDeliveriesWakesOnDeliveriesOnly: a listener of the
// deliveries' channel is woken when it starts and by another instance's
// AnnounceDeliveries, not by its AnnounceAppend — an append announced
// before a deliveries' announcement has not woken it when that one does.
func TestListenDeliveriesWakesOnDeliveriesOnly(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := mustOpenPorts(t, url), mustOpenPorts(t, url)
	wakes := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ListenDeliveries(ctx, func() { wakes <- struct{}{} }, 50*time.Millisecond) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up: %s", what)
		}
	}
	wait("when it started listening")
	if err := a.AnnounceDeliveries(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait("after the deliveries' announcement")
	// The sentinel: an append's announcement, then a deliveries' one.
	// Notifications of one sender arrive in order, so one wake-up, then
	// none pending, means the append's woke nothing.
	if err := a.AnnounceAppend(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.AnnounceDeliveries(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait("after the second deliveries' announcement")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenDeliveries returned %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenDeliveries did not return after its context ended")
	}
	if n := len(wakes); n != 0 {
		t.Errorf("%d more wake-ups: the append's announcement woke the deliveries' listener", n)
	}
}
