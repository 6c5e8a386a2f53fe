package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// errNotHolder is the tests' fence refusal.
var errNotHolder = errors.New("not the holder of the lease")

// holderFence lets a write through only while holder holds lease.
func holderFence(lease, holder string) events.Fence {
	return events.Fence{Lease: lease, Check: func(h string) error {
		if h != holder {
			return errNotHolder
		}
		return nil
	}}
}

func digestLease(holder string, ttl time.Duration) events.Lease {
	return events.Lease{Holder: holder, Host: holder, PID: 4242, TTL: ttl, ExpiresAt: time.Now().Add(ttl)}
}

// TestDigestLeaseMovesWhenItsHolderStopsRenewing runs the cron digests'
// lease on two instances (two stores on one database): while the first
// renews it the second never takes it; once the first stops renewing (it
// died, releasing nothing), the second takes it after the holder's TTL,
// never before, within a bounded time; and the first, come back, can
// neither renew it nor write under its fence.
func TestDigestLeaseMovesWhenItsHolderStopsRenewing(t *testing.T) {
	const (
		name  = "digest"
		ttl   = time.Second
		renew = 100 * time.Millisecond
		poll  = 20 * time.Millisecond
	)
	url := pgtest.NewMigratedDatabase(t)
	a, b := mustOpenPorts(t, url), mustOpenPorts(t, url)
	ctx := t.Context()
	if ok, err := a.TakeLease(ctx, name, 0, digestLease("instance-a", ttl)); err != nil || !ok {
		t.Fatalf("instance a taking the free digest lease: %v %v", ok, err)
	}

	// b waits as the notifier's lease does: it takes the lease once it
	// has seen the same version for the holder's TTL by its own clock.
	type took struct {
		at  time.Time
		err error
	}
	taken := make(chan took, 1)
	waiting := make(chan struct{}) // b has read the lease held by a
	go func() {
		var (
			seen   int64 = -1
			seenAt time.Time
			once   sync.Once
		)
		for {
			l, err := b.Lease(ctx, name)
			if err != nil {
				taken <- took{err: err}
				return
			}
			now := time.Now()
			if l.Holder == "instance-a" {
				once.Do(func() { close(waiting) })
			}
			if l.Version != seen {
				seen, seenAt = l.Version, now
			}
			if now.Sub(seenAt) >= l.TTL {
				ok, err := b.TakeLease(ctx, name, l.Version, digestLease("instance-b", ttl))
				if err != nil || ok {
					taken <- took{at: time.Now(), err: err}
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
	}()
	<-waiting

	// a renews for two TTLs: every renewal finds it still the holder.
	var lastRenewal time.Time
	for i := 0; time.Duration(i)*renew < 2*ttl; i++ {
		time.Sleep(renew) // the holder's renewal period, not an assertion
		start := time.Now()
		ok, err := a.RenewLease(ctx, name, "instance-a", ttl, start.Add(ttl))
		if err != nil || !ok {
			t.Fatalf("renewal %d by the holder: %v %v (the other instance took a lease being renewed)", i+1, ok, err)
		}
		lastRenewal = start
	}
	select {
	case tk := <-taken:
		t.Fatalf("instance b took the lease while instance a renewed it: %+v", tk)
	default:
	}

	// a dies: it renews no more. b takes over after the TTL.
	tk := <-taken
	if tk.err != nil {
		t.Fatalf("instance b taking the lease: %v", tk.err)
	}
	if gap := tk.at.Sub(lastRenewal); gap < ttl {
		t.Errorf("instance b took the lease %v after the holder's last renewal, before its TTL of %v ended", gap, ttl)
	} else if bound := ttl + 2*renew + 2*poll + time.Second; gap > bound {
		t.Errorf("instance b took the lease %v after the holder's last renewal; want within %v", gap, bound)
	}
	l, err := a.Lease(ctx, name)
	if err != nil || l.Holder != "instance-b" {
		t.Fatalf("the lease after the takeover, read by instance a: %+v %v", l, err)
	}

	// a, back, changes nothing.
	if ok, err := a.RenewLease(ctx, name, "instance-a", ttl, time.Now().Add(ttl)); err != nil || ok {
		t.Errorf("a renewal by the former holder: %v %v, want false", ok, err)
	}
	if err := a.SetPace(ctx, holderFence(name, "instance-a"), "slack:C0123456789", time.Now(), time.Time{}); !errors.Is(err, errNotHolder) {
		t.Errorf("a write fenced by the former holder: %v, want the fence's refusal", err)
	}
	if err := b.SetPace(ctx, holderFence(name, "instance-b"), "slack:C0123456789", time.Now(), time.Time{}); err != nil {
		t.Errorf("a write fenced by the new holder: %v", err)
	}
	if p, err := a.Paces(ctx); err != nil || len(p) != 1 {
		t.Errorf("paces after the new holder's write: %v %v, want its one row", p, err)
	}
}

// TestFencedWriteHoldsOffATake checks the fence on PostgreSQL: a take of
// the lease on another instance waits while a write fenced by the lease
// is between its check and its commit, so the write the check let through
// commits while its holder still holds the lease, and the holder's next
// write sees the new holder. (Without the FOR SHARE of the fence's read,
// the take would go through at once.)
func TestFencedWriteHoldsOffATake(t *testing.T) {
	url := pgtest.NewMigratedDatabase(t)
	a, b := mustOpenPorts(t, url), mustOpenPorts(t, url)
	ctx := t.Context()
	l, err := a.Lease(ctx, "sender")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TakeLease(ctx, "sender", l.Version, digestLease("instance-a", 15*time.Second)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	inCheck, release := make(chan struct{}), make(chan struct{})
	written := make(chan error, 1)
	go func() {
		written <- a.SetPace(ctx, events.Fence{Lease: "sender", Check: func(holder string) error {
			close(inCheck)
			<-release // the write is held between its check and its commit
			if holder != "instance-a" {
				return errNotHolder
			}
			return nil
		}}, "slack:C0123456789", time.UnixMilli(1_764_230_400_000), time.Time{})
	}()
	<-inCheck
	takenOver := make(chan error, 1)
	go func() {
		ok, err := b.TakeLease(context.Background(), "sender", l.Version+1, digestLease("instance-b", 15*time.Second))
		if err == nil && !ok {
			err = errors.New("the take found the lease moved on")
		}
		takenOver <- err
	}()
	// The positive sentinel: the take waits for the fenced write's lock.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case err := <-takenOver:
			close(release)
			t.Fatalf("the take went through (%v) while a fenced write was between its check and its commit", err)
		default:
		}
		var waiting int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE notify_sender_lease%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the take never waited for the fenced write")
		}
		time.Sleep(5 * time.Millisecond) // polling for the sentinel
	}
	close(release)
	if err := <-written; err != nil {
		t.Fatalf("the fenced write its check let through: %v", err)
	}
	if err := <-takenOver; err != nil {
		t.Fatalf("the take after the fenced write committed: %v", err)
	}
	if err := a.SetPace(ctx, holderFence("sender", "instance-a"), "slack:C0123456789", time.UnixMilli(1_764_230_401_000), time.Time{}); !errors.Is(err, errNotHolder) {
		t.Errorf("the former holder's next write: %v, want the fence's refusal", err)
	}
	p, err := b.Paces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := p["slack:C0123456789"].LastSend; !got.Equal(time.UnixMilli(1_764_230_400_000).UTC()) {
		t.Errorf("the channel's last send %v, want the one the fenced write committed", got)
	}
}

// TestOnePaceRowPerChannelAcrossInstances has two instances record calls
// to one channel at once, in no order: there is one pacing row, which
// both read, holding the latest call and the latest Retry-After.
func TestOnePaceRowPerChannelAcrossInstances(t *testing.T) {
	url := pgtest.NewMigratedDatabase(t)
	stores := []*postgres.Store{mustOpenPorts(t, url), mustOpenPorts(t, url)}
	const channel = "slack:C0123456789"
	base := time.UnixMilli(1_764_230_400_000).UTC()
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for k := range 50 {
				// Instance 0 writes the even milliseconds upwards, instance
				// 1 the odd ones downwards.
				ms := 2*k + i
				if i == 1 {
					ms = 99 - 2*k
				}
				var nb time.Time
				if k%10 == 0 {
					nb = base.Add(time.Duration(30_000+ms) * time.Millisecond)
				}
				if err := s.SetPace(context.Background(), events.Fence{}, channel, base.Add(time.Duration(ms)*time.Millisecond), nb); err != nil {
					t.Errorf("instance %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := events.Pace{LastSend: base.Add(99 * time.Millisecond), NotBefore: base.Add(30_099 * time.Millisecond)}
	for i, s := range stores {
		p, err := s.Paces(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 1 || !p[channel].LastSend.Equal(want.LastSend) || !p[channel].NotBefore.Equal(want.NotBefore) {
			t.Errorf("instance %d reads paces %+v, want one row %+v", i, p, want)
		}
	}
}

// TestTwoInstancesEnqueueEachDeliveryOnce has the routers of two
// instances write the deliveries of the same events at once, in opposite
// orders (without the outbox lock, PostgreSQL aborts one as a deadlock):
// each delivery is kept once, none fails.
func TestTwoInstancesEnqueueEachDeliveryOnce(t *testing.T) {
	url := pgtest.NewMigratedDatabase(t)
	stores := []*postgres.Store{mustOpenPorts(t, url), mustOpenPorts(t, url)}
	var batch []events.Delivery
	for pos := int64(1); pos <= 200; pos++ {
		batch = append(batch, events.Delivery{Subscription: "3f9a1c2b7d4e", DedupKey: "event:" + time.Duration(pos).String() + ":deposit",
			Position: pos, ChannelKey: "slack:C0123456789", ThreadKey: "XVIII-16", Notice: []byte(`{"kind":"deposit"}`), CreatedAt: time.UnixMilli(pos)})
	}
	reversed := make([]events.Delivery, len(batch))
	for i, d := range batch {
		reversed[len(batch)-1-i] = d
	}
	added := make([]int, 4)
	var wg sync.WaitGroup
	for i := range added {
		wg.Go(func() {
			ds := batch
			if i%2 == 1 {
				ds = reversed
			}
			n, err := stores[i%2].EnqueueDeliveries(context.Background(), ds)
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			added[i] = n
		})
	}
	wg.Wait()
	if total := added[0] + added[1] + added[2] + added[3]; total != len(batch) {
		t.Errorf("the writers added %v deliveries, %d in all; want %d in all", added, total, len(batch))
	}
	counts, err := stores[1].DeliveryCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if counts[events.DeliveryPending] != len(batch) || len(counts) != 1 {
		t.Errorf("counts %v, want %d pending", counts, len(batch))
	}
}
