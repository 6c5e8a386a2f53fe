package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Leases (package notifiers' LeaseStore, whose contract suite is
// notifiers/outboxtest) are rows of notify_sender_lease (migration 0010),
// by name; migration 0010 creates the ledger's sender lease, "sender", and
// a take creates any other. expires_at is in Unix nanoseconds, ttl_ms in
// milliseconds.
const (
	sqlLease = `SELECT coalesce(holder, ''), coalesce(host, ''), coalesce(pid, 0), coalesce(process, ''), version, ttl_ms, coalesce(expires_at, 0)
FROM notify_sender_lease WHERE name = CAST(? AS TEXT)`
	sqlLeaseHolder = `SELECT coalesce(holder, '') FROM notify_sender_lease WHERE name = CAST(? AS TEXT)`
	sqlCreateLease = `INSERT INTO notify_sender_lease (name) VALUES (?) ON CONFLICT (name) DO NOTHING`
	sqlTakeLease   = `UPDATE notify_sender_lease SET holder = ?, host = ?, pid = ?, process = ?, version = version + 1, ttl_ms = ?, expires_at = ?
WHERE name = CAST(? AS TEXT) AND version = CAST(? AS INTEGER)`
	sqlRenewLease = `UPDATE notify_sender_lease SET version = version + 1, ttl_ms = ?, expires_at = ?
WHERE name = CAST(? AS TEXT) AND holder = CAST(? AS TEXT)`
	sqlReleaseLease = `UPDATE notify_sender_lease SET holder = NULL, host = NULL, pid = NULL, process = NULL, version = version + 1, expires_at = NULL
WHERE name = CAST(? AS TEXT) AND holder = CAST(? AS TEXT)`
)

// leaseHolder reads, in tx, the holder of a lease: "" when it is free or
// was never taken.
func leaseHolder(ctx context.Context, tx *sql.Tx, name string) (string, error) {
	var holder string
	err := tx.QueryRowContext(ctx, sqlLeaseHolder, name).Scan(&holder)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read the lease %s: %w", name, err)
	}
	return holder, nil
}

// Lease implements notifiers.LeaseStore.
func (s *Store) Lease(ctx context.Context, name string) (events.Lease, error) {
	var (
		l       events.Lease
		ttlMS   int64
		expires int64
	)
	err := s.read.QueryRowContext(ctx, sqlLease, name).Scan(&l.Holder, &l.Host, &l.PID, &l.Process, &l.Version, &ttlMS, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return events.Lease{}, nil
	}
	if err != nil {
		return events.Lease{}, fmt.Errorf("read the lease %s: %w", name, err)
	}
	l.TTL, l.ExpiresAt = time.Duration(ttlMS)*time.Millisecond, timeOf(expires)
	return l, nil
}

// leaseExec runs one statement that changes a lease in a write
// transaction and reports whether it changed a row.
func (s *Store) leaseExec(ctx context.Context, create bool, name, q string, args ...any) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if create {
			if _, err := tx.ExecContext(ctx, sqlCreateLease, name); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// TakeLease implements notifiers.LeaseStore.
func (s *Store) TakeLease(ctx context.Context, name string, version int64, l events.Lease) (bool, error) {
	ok, err := s.leaseExec(ctx, true, name, sqlTakeLease, nullString(l.Holder), nullString(l.Host), l.PID, nullString(l.Process),
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
