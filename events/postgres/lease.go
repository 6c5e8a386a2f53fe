package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Leases (package notifiers' LeaseStore, whose contract suite is
// notifiers/outboxtest) are rows of notify_sender_lease (migration 0011),
// by name: the ledger's sender lease, "sender", which the migration
// creates, and any other, which its first take creates (the scheduler's
// digest lease). expires_at is in Unix nanoseconds, ttl_ms in
// milliseconds.
//
// Of several instances that take a lease at once, one wins: the row is
// created by INSERT … ON CONFLICT DO NOTHING (an insert that meets a
// concurrent one waits for it), and the take is an UPDATE conditional on
// the version the taker saw, which PostgreSQL re-checks on the row's
// latest version once the concurrent take committed. A lease expires when
// its holder stops renewing it: another instance that has seen the same
// version for the holder's TTL, by its own clock, takes it at that
// version (see notifiers' lease), so the clocks of two machines need not
// agree.
const (
	sqlLease = `SELECT coalesce(holder, ''), coalesce(host, ''), coalesce(pid, 0), coalesce(process, ''), version, ttl_ms, coalesce(expires_at, 0)
FROM notify_sender_lease WHERE name = $1`
	sqlLeaseHolder = `SELECT coalesce(holder, '') FROM notify_sender_lease WHERE name = $1 FOR SHARE`
	sqlCreateLease = `INSERT INTO notify_sender_lease (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`
	sqlTakeLease   = `UPDATE notify_sender_lease SET holder = $1, host = $2, pid = $3, process = $4, version = version + 1, ttl_ms = $5, expires_at = $6
WHERE name = $7 AND version = $8`
	sqlRenewLease = `UPDATE notify_sender_lease SET version = version + 1, ttl_ms = $1, expires_at = $2
WHERE name = $3 AND holder = $4`
	sqlReleaseLease = `UPDATE notify_sender_lease SET holder = NULL, host = NULL, pid = NULL, process = NULL, version = version + 1, expires_at = NULL
WHERE name = $1 AND holder = $2`
)

// leaseHolder reads, in tx, the holder of a lease ("" when it is free or
// was never taken) and locks its row FOR SHARE until tx ends: a take,
// renewal or release by another transaction waits for tx, while the
// holder's other fenced writes share the lock.
func leaseHolder(ctx context.Context, tx pgx.Tx, name string) (string, error) {
	var holder string
	err := tx.QueryRow(ctx, sqlLeaseHolder, name).Scan(&holder)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read the lease %s: %w", name, err)
	}
	return holder, nil
}

// Lease implements notifiers.LeaseStore.
func (s *Store) Lease(ctx context.Context, name string) (events.Lease, error) {
	var (
		l       events.Lease
		pid     int64
		ttlMS   int64
		expires int64
	)
	err := s.pool.QueryRow(ctx, sqlLease, name).Scan(&l.Holder, &l.Host, &pid, &l.Process, &l.Version, &ttlMS, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Lease{}, nil
	}
	if err != nil {
		return events.Lease{}, fmt.Errorf("read the lease %s: %w", name, err)
	}
	l.PID = int(pid)
	l.TTL, l.ExpiresAt = time.Duration(ttlMS)*time.Millisecond, timeOf(expires)
	return l, nil
}

// leaseExec runs one statement that changes a lease in a transaction,
// after creating the lease's row when create is set, and reports whether
// it changed the row.
func (s *Store) leaseExec(ctx context.Context, create bool, name, q string, args ...any) (bool, error) {
	changed := false
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		if create {
			if _, err := tx.Exec(ctx, sqlCreateLease, name); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, q, args...)
		changed = tag.RowsAffected() > 0
		return err
	})
	return changed, err
}

// TakeLease implements notifiers.LeaseStore.
func (s *Store) TakeLease(ctx context.Context, name string, version int64, l events.Lease) (bool, error) {
	ok, err := s.leaseExec(ctx, true, name, sqlTakeLease, nullString(l.Holder), nullString(l.Host), int64(l.PID), nullString(l.Process),
		l.TTL.Milliseconds(), nanos(l.ExpiresAt), name, version)
	if err != nil {
		return false, fmt.Errorf("take the lease %s: %w", name, err)
	}
	return ok, nil
}

// RenewLease implements notifiers.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration, expires time.Time) (bool, error) {
	ok, err := s.leaseExec(ctx, false, name, sqlRenewLease, ttl.Milliseconds(), nanos(expires), name, holder)
	if err != nil {
		return false, fmt.Errorf("renew the lease %s: %w", name, err)
	}
	return ok, nil
}

// ReleaseLease implements notifiers.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) (bool, error) {
	ok, err := s.leaseExec(ctx, false, name, sqlReleaseLease, name, holder)
	if err != nil {
		return false, fmt.Errorf("release the lease %s: %w", name, err)
	}
	return ok, nil
}
