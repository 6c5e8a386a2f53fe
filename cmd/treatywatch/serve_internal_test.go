package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestSuperviseStopsEverythingWhenOneFails: the first component that
// fails stops the others in reverse order, and its failure is the result.
func TestSuperviseStopsEverythingWhenOneFails(t *testing.T) {
	var (
		mu      sync.Mutex
		stopped []string
	)
	started := make(chan string, 5)
	waiter := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			started <- name
			<-ctx.Done()
			mu.Lock()
			stopped = append(stopped, name)
			mu.Unlock()
			return nil
		}
	}
	boom := errors.New("listen tcp 127.0.0.1:8080: bind: address already in use")
	release := make(chan struct{})
	stages := []stage{
		{"projections", waiter("projections")},
		{"sender", waiter("sender")},
		{"router", waiter("router")},
		{"http", func(context.Context) error { <-release; return boom }},
		{"scheduler", waiter("scheduler")},
	}
	go func() {
		for range 4 {
			<-started
		}
		close(release) // fail once the others run
	}()
	var after []string
	err := supervise(context.Background(), stages, func(name string) { after = append(after, name) })
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "http: ") {
		t.Fatalf("supervise = %v, want the http failure", err)
	}
	if want := []string{"scheduler", "router", "sender", "projections"}; !slices.Equal(stopped, want) {
		t.Errorf("stopped %v, want %v", stopped, want)
	}
	if want := []string{"scheduler", "http", "router", "sender", "projections"}; !slices.Equal(after, want) {
		t.Errorf("after %v, want %v", after, want)
	}
}

// TestSuperviseTreatsAQuietExitAsAFailure: a component that returns nil
// before the stop has stopped working; that is a failure too.
func TestSuperviseTreatsAQuietExitAsAFailure(t *testing.T) {
	err := supervise(context.Background(), []stage{
		{"projections", func(ctx context.Context) error { <-ctx.Done(); return nil }},
		{"router", func(context.Context) error { return nil }},
	}, nil)
	if err == nil || err.Error() != "router: stopped on its own" {
		t.Fatalf("supervise = %v", err)
	}
}

// TestSuperviseOrderlyStop: when the context ends, every stage stops in
// reverse order and the result is nil.
func TestSuperviseOrderlyStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var order []string
	var mu sync.Mutex
	ready := make(chan struct{}, 3)
	mk := func(name string) stage {
		return stage{name, func(ctx context.Context) error {
			ready <- struct{}{}
			<-ctx.Done()
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}}
	}
	go func() {
		for range 3 {
			<-ready
		}
		cancel()
	}()
	if err := supervise(ctx, []stage{mk("a"), mk("b"), mk("c")}, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"c", "b", "a"}) {
		t.Errorf("stopped in order %v", order)
	}
}

// TestSuperviseOrderlyStopIgnoresTheCancellation: a stage that, told to
// stop, returns its context's cancellation (wrapped: a read in flight when
// the stop came) stopped as asked; one that fails otherwise while stopping
// is reported. serve stopped right after its start used to exit 1 with
// "router: read log after 0: context canceled".
func TestSuperviseOrderlyStopIgnoresTheCancellation(t *testing.T) {
	boom := errors.New("flush: disk full")
	for _, tc := range []struct {
		name   string
		onStop error
		want   error
	}{
		{"the cancellation, wrapped", nil, nil},
		{"another error", boom, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan struct{})
			go func() { <-ready; cancel() }()
			err := supervise(ctx, []stage{{"router", func(ctx context.Context) error {
				close(ready)
				<-ctx.Done()
				if tc.onStop != nil {
					return tc.onStop
				}
				return fmt.Errorf("read log after 0: %w", ctx.Err())
			}}}, nil)
			if tc.want == nil && err != nil || tc.want != nil && (!errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "router: ")) {
				t.Fatalf("supervise = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRunAllIgnoresTheCancellationOnly: `notify run` stopped while its
// router read the log exited 1 with "read log after 0: context
// canceled"; a real failure is still its result.
func TestRunAllIgnoresTheCancellationOnly(t *testing.T) {
	boom := errors.New("sender: disk full")
	ctx, cancel := context.WithCancel(context.Background())
	waiting := func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("read log after 0: %w", ctx.Err()) }
	go cancel()
	if err := runAll(ctx, waiting, waiting); err != nil {
		t.Fatalf("runAll after the stop = %v, want nil", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go cancel()
	if err := runAll(ctx, waiting, func(ctx context.Context) error { <-ctx.Done(); return boom }); !errors.Is(err, boom) || errors.Is(err, context.Canceled) {
		t.Fatalf("runAll = %v, want the failure alone", err)
	}
	// Before the stop, a cancellation of another context is a failure.
	other, stop := context.WithCancel(context.Background())
	stop()
	if err := runAll(context.Background(), func(context.Context) error { return other.Err() }); !errors.Is(err, context.Canceled) {
		t.Fatalf("runAll = %v, want the cancellation reported", err)
	}
}
