package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// TestListenAppendsWakesOnAnotherInstancesAnnouncement: an instance that
// listens is woken once when it starts listening (to read what it may
// have missed) and then once per announcement of another instance, and
// it stops when its context ends.
func TestListenAppendsWakesOnAnotherInstancesAnnouncement(t *testing.T) {
	url := pgtest.NewMigratedDatabase(t)
	a, b := mustOpenPorts(t, url), mustOpenPorts(t, url)
	wakes := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ListenAppends(ctx, func() { wakes <- struct{}{} }, 50*time.Millisecond) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up: %s", what)
		}
	}
	wait("when it started listening")
	for i := range 3 {
		if err := a.AnnounceAppend(context.Background()); err != nil {
			t.Fatal(err)
		}
		wait("after announcement " + string(rune('1'+i)))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAppends returned %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAppends did not return after its context ended")
	}
}
