package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
)

// TestConcurrentAppendersAndCatchUpReader runs appenders on three stores
// (three pools, as three instances would) and a catch-up reader on a
// fourth, paging with ReadAll after the last position it read (with
// read-ahead), while they append. The reader must see every position exactly once, in order: a
// page never skips a position that commits later. Appends mix the fast
// path (one record), pipelined inserts (a few) and COPY (more than 64).
func TestConcurrentAppendersAndCatchUpReader(t *testing.T) {
	url := MustURL(t)
	const (
		instances        = 3
		writersPerStore  = 3
		appendsPerWriter = 40
	)
	sizes := []int{1, 3, 1, 70, 1}
	var stores []*postgres.Store
	for range instances {
		stores = append(stores, MustOpenURL(t, url, postgres.Config{MaxConns: 4}))
	}
	reader := MustOpenURL(t, url, postgres.Config{MaxConns: 2, ReadAhead: 10}) // pages of 50 are read ahead

	var (
		wg       sync.WaitGroup
		written  atomic.Int64
		done     = make(chan struct{})
		appendFn = func(s *postgres.Store, stream string, version int64, n int) error {
			_, err := s.Append(t.Context(), events.StreamAppend{Stream: stream, ExpectedVersion: version, Records: numbered(n)})
			return err
		}
	)
	errs := make(chan error, instances*writersPerStore+1)
	for i, s := range stores {
		for w := range writersPerStore {
			wg.Go(func() {
				stream := events.TreatyStream(fmt.Sprintf("instance-%d-writer-%d", i, w))
				var version int64
				for k := range appendsPerWriter {
					n := sizes[k%len(sizes)]
					if err := appendFn(s, stream, version, n); err != nil {
						errs <- fmt.Errorf("%s at version %d: %w", stream, version, err)
						return
					}
					version += int64(n)
					written.Add(int64(n))
				}
			})
		}
	}

	var seen []int64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var after int64
		finishing := false
		for {
			page, err := reader.ReadAll(t.Context(), after, 50)
			if err != nil {
				errs <- fmt.Errorf("ReadAll(%d): %w", after, err)
				return
			}
			for _, e := range page {
				if e.Position != after+1 {
					errs <- fmt.Errorf("after position %d the reader got %d: a position was skipped or repeated", after, e.Position)
					return
				}
				seen = append(seen, e.Position)
				after = e.Position
			}
			if len(page) == 0 {
				if finishing {
					return
				}
				select {
				case <-done:
					finishing = true // one more pass after the last append
				default:
				}
			}
		}
	}()
	wg.Wait()
	close(done)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	total := written.Load()
	if int64(len(seen)) != total {
		t.Fatalf("the reader saw %d events, the appenders wrote %d", len(seen), total)
	}
	for i, p := range seen {
		if p != int64(i+1) {
			t.Fatalf("the reader's %d-th event has position %d", i, p)
		}
	}
	if err := reader.Verify(t.Context()); err != nil {
		t.Fatalf("Verify after concurrent appends: %v", err)
	}
}

// TestAppendWaitsForAnUncommittedAppend holds the append lock in a
// transaction of its own, as an appender does between reading the head
// and committing, and checks that appends through both of Append's paths
// (a store that knows the head, for the one-statement path, and a batch
// from a second store) wait for it rather than take a later position: a reader can therefore
// never see a position above one that is still to commit.
func TestAppendWaitsForAnUncommittedAppend(t *testing.T) {
	s, url := MustOpen(t)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(2)})

	ctx := t.Context()
	conn := MustConnect(t, url)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, postgres.LockAppend); err != nil {
		t.Fatal(err)
	}

	results := make(chan error, 2)
	go func() { // the one-statement path: s knows the head is 2
		_, err := s.Append(ctx, events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: numbered(1)})
		results <- err
	}()
	// The full path, from another instance (the appends of one Store
	// take turns in the process).
	other := MustOpenURL(t, url, postgres.Config{})
	go func() {
		_, err := other.Append(ctx, events.StreamAppend{Stream: paris, Records: numbered(3)})
		results <- err
	}()
	// The positive sentinel: both appends' backends wait for the lock.
	waitFor(t, "two appends waiting for the append lock", func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, uint32(postgres.LockAppend)).Scan(&n)
		return err == nil && n == 2
	})
	if h, err := s.Head(ctx); err != nil || h != 2 {
		t.Fatalf("while the lock is held, Head = %d, %v; want 2", h, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("Append after the lock was released: %v", err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 100)
	if err != nil || len(all) != 6 {
		t.Fatalf("ReadAll = %d events, %v; want 6", len(all), err)
	}
	if err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// MustConnect opens one connection to url, closed when the test ends.
func MustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	c, err := pgx.Connect(tb.Context(), url)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close(context.WithoutCancel(tb.Context())) })
	return c
}

// TestAppendWaitingItsTurnHonoursItsContext holds the append lock so that
// one Append of a store waits for it, and checks that a second Append of
// the same store, waiting its turn behind the first, returns when its
// context ends, having written nothing.
func TestAppendWaitingItsTurnHonoursItsContext(t *testing.T) {
	s, url := MustOpen(t)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(1)})
	ctx := t.Context()
	conn := MustConnect(t, url)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, postgres.LockAppend); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: numbered(1)})
		first <- err
	}()
	waitFor(t, "the first append waiting for the append lock", func() bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`, uint32(postgres.LockAppend)).Scan(&n)
		return err == nil && n == 1
	})
	second, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Append(second, events.StreamAppend{Stream: paris, Records: numbered(1)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with an ended context, waiting its turn: %v, want context.Canceled", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the first append: %v", err)
	}
	if es, err := s.ReadStream(ctx, paris); err != nil || len(es) != 0 {
		t.Fatalf("%s holds %d events (%v), want none", paris, len(es), err)
	}
}
