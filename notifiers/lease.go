package notifiers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/internal/process"
)

// senderLeaseName is the lease (LeaseStore) that the senders of one
// ledger share.
const senderLeaseName = "sender"

// errNotHolder is what a write of a sender gets when the sender does not
// hold the ledger's sender lease: another sender took it over.
var errNotHolder = errors.New("this sender does not hold the ledger's sender lease (another sender took it over)")

// errLeaseLapsed is why a holder stops holding when its renewals failed
// until its hold ended.
var errLeaseLapsed = errors.New("the sender lease lapsed: it could not be renewed")

// errLeaseShort is what a sender gets when it would start a call to a
// sink with too little of its lease left (its renewals are failing).
var errLeaseShort = errors.New("too little of the sender lease is left to start a call to a sink")

// lease is a sender's hold on its ledger's sender lease: at most one
// sender of a ledger holds it at any moment, and only the holder sends.
//
// Its safety does not rest on the clocks of two processes agreeing. The
// holder counts its hold from the moment it started the transaction that
// took or renewed the lease, by its own clock; it starts a call to a sink
// only with a deadline before that hold ends (less a margin), and stops
// starting calls as soon as a renewal fails. A sender that waits takes the
// lease over only after it has seen the same version of the row for the
// holder's whole TTL by its own clock — so after the holder's hold ended —
// or when the holder's process is provably gone, or when the holder
// released it. And every write of a sender to the outbox checks, in its
// own transaction, that the sender still holds the lease: a holder that
// comes back after it was taken over changes nothing. Durations are
// measured with the sender's Now: with time.Now, on the monotonic clock,
// so that a step of the wall clock changes nothing (expires_at, by the
// wall clock, is for people and logs).
type lease struct {
	name   string // the lease's name in the LeaseStore
	role   string // what holds it, for the logs: "sender", "scheduler"
	note   string // said when it is taken over from another holder
	store  LeaseStore
	now    func() time.Time
	logger *slog.Logger
	ttl    time.Duration // how long a hold lasts after the start of its take or renewal
	renew  time.Duration // how often the holder renews
	poll   time.Duration // how often a waiting sender looks at the lease
	guard  time.Duration // the margin kept between a call's deadline and the end of the hold
	self   events.Lease  // Holder, Host, PID and Process of this sender

	mu      sync.Mutex
	until   time.Time // the end of the hold; zero when not held
	failing bool      // the last renewal failed: no call starts until one succeeds
}

func newLease(store LeaseStore, now func() time.Time, logger *slog.Logger, ttl, renew, poll time.Duration) *lease {
	l := newNamedLease(senderLeaseName, "sender", store, now, logger, ttl, renew, poll)
	l.note = "; its deliveries left \"sending\" are confirmed before any is sent again"
	return l
}

// newNamedLease returns a hold on the lease name, taken by a role
// ("sender", "scheduler") for the logs.
func newNamedLease(name, role string, store LeaseStore, now func() time.Time, logger *slog.Logger, ttl, renew, poll time.Duration) *lease {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails
	pid := os.Getpid()
	return &lease{name: name, role: role, store: store, now: now, logger: logger, ttl: ttl, renew: renew, poll: poll, guard: ttl / 10,
		self: events.Lease{Holder: fmt.Sprintf("%s:%d:%s", host, pid, hex.EncodeToString(nonce[:])), Host: host, PID: pid, Process: process.Identity()}}
}

// budget is how long a call to a sink may last if it starts now: until
// the hold ends, less the margin; zero when the lease is not held.
func (l *lease) budget() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.budgetLocked()
}

func (l *lease) budgetLocked() time.Duration {
	if l.until.IsZero() {
		return 0
	}
	return max(0, l.until.Add(-l.guard).Sub(l.now()))
}

// canStart reports whether a call to a sink may start: the lease is held,
// its last renewal succeeded, and more than a renewal period of it is left.
func (l *lease) canStart() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.failing && l.budgetLocked() >= l.renew
}

// held reports whether the lease is held by this sender as far as it
// knows (its hold has not ended).
func (l *lease) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.until.IsZero() && l.now().Before(l.until)
}

// fence guards each write of the sender's outbox: the store reads the
// lease in the write's transaction, and the write fails with errNotHolder
// unless this sender holds it, and, when the write lets a call to a sink
// start, with errLeaseShort unless enough of the hold is left for it.
func (l *lease) fence(starting bool) events.Fence {
	return events.Fence{Lease: l.name, Check: func(holder string) error {
		if holder != l.self.Holder {
			return errNotHolder
		}
		if starting && !l.canStart() {
			return errLeaseShort
		}
		return nil
	}}
}

// read returns the lease as stored.
func (l *lease) read(ctx context.Context) (events.Lease, error) {
	r, err := l.store.Lease(ctx, l.name)
	if err != nil {
		return r, fmt.Errorf("read the %s lease: %w", l.name, err)
	}
	return r, nil
}

// take takes the lease if it is still at version, and reports whether it
// did.
func (l *lease) take(ctx context.Context, version int64) (bool, error) {
	start := l.now()
	take := l.self
	take.TTL, take.ExpiresAt = l.ttl, start.Add(l.ttl)
	ok, err := l.store.TakeLease(ctx, l.name, version, take)
	if err != nil {
		return false, fmt.Errorf("take the %s lease: %w", l.name, err)
	}
	if ok {
		l.mu.Lock()
		l.until, l.failing = start.Add(l.ttl), false
		l.mu.Unlock()
	}
	return ok, nil
}

// acquire waits until this sender holds the lease, looking every poll;
// it returns ctx's error if ctx ends first.
func (l *lease) acquire(ctx context.Context) error {
	var (
		seen       int64     = -1 // the version last seen held by another sender
		seenAt     time.Time      // when it was first seen
		waitingFor string         // the holder the wait was logged for
		failed     bool           // an error was logged
	)
	for {
		r, err := l.read(ctx)
		if err == nil {
			now := l.now()
			var taken bool
			switch {
			case r.Holder == "" || r.Holder == l.self.Holder:
				if taken, err = l.take(ctx, r.Version); taken {
					level := slog.LevelDebug
					if waitingFor != "" {
						level = slog.LevelInfo // the wait was logged: so is its end
					}
					l.logger.Log(ctx, level, "took the ledger's "+l.name+" lease", "holder", l.self.Holder)
				}
			default:
				if r.Version != seen {
					seen, seenAt = r.Version, now
				}
				if waitingFor != r.Holder {
					waitingFor = r.Holder
					l.logger.InfoContext(ctx, "another "+l.role+" holds the ledger's "+l.name+" lease; "+l.waiting()+" until it stops or its lease expires",
						"holder", r.Holder, "host", r.Host, "pid", r.PID, "expires", r.ExpiresAt, "ttl", r.TTL, "self", l.self.Holder)
				}
				ttl := r.TTL
				if ttl <= 0 {
					ttl = l.ttl
				}
				why := ""
				switch {
				case now.Sub(seenAt) >= ttl:
					why = "its lease expired: it has not renewed it for " + ttl.String()
				case process.Gone(l.self.Process, r.Process, r.PID):
					why = "its process has ended"
				}
				if why != "" {
					if taken, err = l.take(ctx, r.Version); taken {
						l.logger.InfoContext(ctx, "took over the ledger's "+l.name+" lease from another "+l.role+": "+why+l.note,
							"previous", r.Holder, "host", r.Host, "pid", r.PID, "holder", l.self.Holder)
					}
				}
			}
			if taken {
				return nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !failed {
				l.logger.ErrorContext(ctx, "cannot read or take the "+l.name+" lease; trying again", "err", err)
				failed = true
			}
		}
		if err := sleepCtx(ctx, l.poll); err != nil {
			return err
		}
	}
}

// keep renews the lease every renew period until ctx ends (it returns
// nil), another sender took it (errNotHolder), or renewals failed until
// the hold ended (errLeaseLapsed). A renewal that fails stops calls from
// starting until one succeeds; it is tried again every poll.
func (l *lease) keep(ctx context.Context) error {
	wait := l.renew
	for {
		if err := sleepCtx(ctx, wait); err != nil {
			return nil
		}
		start := l.now()
		renewed, err := l.store.RenewLease(ctx, l.name, l.self.Holder, l.ttl, start.Add(l.ttl))
		if err == nil && !renewed {
			err = errNotHolder
		}
		l.mu.Lock()
		wasFailing, lapsed := l.failing, false
		switch {
		case err == nil:
			l.until, l.failing = start.Add(l.ttl), false
		case errors.Is(err, errNotHolder):
			l.until, l.failing = time.Time{}, false
		default:
			l.failing = true
			if lapsed = !l.now().Before(l.until); lapsed {
				l.until, l.failing = time.Time{}, false
			}
		}
		l.mu.Unlock()
		switch {
		case err == nil:
			if wasFailing {
				l.logger.InfoContext(ctx, "renewed the "+l.name+" lease again; "+l.role+" resumes", "holder", l.self.Holder)
			}
			wait = l.renew
		case errors.Is(err, errNotHolder):
			l.logger.WarnContext(ctx, "lost the ledger's "+l.name+" lease to another "+l.role+"; "+l.role+" stopped", "holder", l.self.Holder)
			return errNotHolder
		default:
			if ctx.Err() != nil {
				return nil
			}
			if lapsed {
				l.logger.WarnContext(ctx, "the "+l.name+" lease lapsed: it could not be renewed; waiting to take it again", "holder", l.self.Holder, "err", err)
				return errLeaseLapsed
			}
			if !wasFailing {
				l.logger.ErrorContext(ctx, "cannot renew the "+l.name+" lease; the "+l.role+" pauses until it is renewed, and another "+l.role+" takes over if it lapses",
					"holder", l.self.Holder, "err", err)
			}
			wait = min(l.poll, l.renew)
		}
	}
}

// release gives the lease up, so that another sender takes over at once.
func (l *lease) release(ctx context.Context) {
	l.mu.Lock()
	l.until, l.failing = time.Time{}, false
	l.mu.Unlock()
	_, err := l.store.ReleaseLease(ctx, l.name, l.self.Holder)
	if err != nil {
		l.logger.ErrorContext(ctx, "cannot release the "+l.name+" lease; another "+l.role+" takes over when it expires", "holder", l.self.Holder, "err", err)
		return
	}
	l.logger.DebugContext(ctx, "released the ledger's "+l.name+" lease", "holder", l.self.Holder)
}

// waiting is what the holder's role does not do while it waits.
func (l *lease) waiting() string {
	if l.role == "sender" {
		return "not sending"
	}
	return "not running " + l.role + " jobs"
}

// sleepCtx waits d or until ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
