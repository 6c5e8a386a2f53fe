package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Consumer groups' offsets and claims (package notifiers/pubsub's
// OffsetStore, whose contract suite is notifiers/pubsub/offsettest) are
// rows of watermill_offsets (migration 0003). lease_until is in Unix
// milliseconds.
const (
	sqlPeekClaim = `SELECT coalesce(holder, ''), coalesce(lease_until, 0) FROM watermill_offsets
WHERE topic = CAST(? AS TEXT) AND consumer_group = CAST(? AS TEXT)`
	sqlCreateOffset = `INSERT INTO watermill_offsets (topic, consumer_group, position) VALUES (?, ?, 0)
ON CONFLICT (topic, consumer_group) DO NOTHING`
	sqlTakeClaim = `UPDATE watermill_offsets SET holder = ?1, lease_until = ?2
WHERE topic = ?3 AND consumer_group = ?4 AND (holder IS NULL OR holder = ?1 OR lease_until < ?5 OR holder = ?6)
RETURNING position`
	sqlRenewClaim = `UPDATE watermill_offsets SET lease_until = ?
WHERE topic = CAST(? AS TEXT) AND consumer_group = CAST(? AS TEXT) AND holder = CAST(? AS TEXT)`
	sqlCommitOffset = `UPDATE watermill_offsets SET position = ?, lease_until = ?
WHERE topic = CAST(? AS TEXT) AND consumer_group = CAST(? AS TEXT) AND holder = CAST(? AS TEXT)`
	sqlReleaseClaim = `UPDATE watermill_offsets SET holder = NULL, lease_until = NULL
WHERE topic = CAST(? AS TEXT) AND consumer_group = CAST(? AS TEXT) AND holder = CAST(? AS TEXT)`
	sqlGroupOffset = `SELECT position FROM watermill_offsets WHERE topic = CAST(? AS TEXT) AND consumer_group = CAST(? AS TEXT)`
)

// millisOf is the time of Unix milliseconds n, the zero time for 0.
func millisOf(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// PeekClaim implements pubsub.OffsetStore.
func (s *Store) PeekClaim(ctx context.Context, topic, group string) (events.Claim, error) {
	c := events.Claim{Topic: topic, Group: group}
	var until int64
	err := s.read.QueryRowContext(ctx, sqlPeekClaim, topic, group).Scan(&c.Holder, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read the claim of %s/%s: %w", topic, group, err)
	}
	c.Until = millisOf(until)
	return c, nil
}

// TakeClaim implements pubsub.OffsetStore.
func (s *Store) TakeClaim(ctx context.Context, c events.Claim, now time.Time, replacing string) (int64, bool, error) {
	var pos int64
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlCreateOffset, c.Topic, c.Group); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, sqlTakeClaim, c.Holder, c.Until.UnixMilli(), c.Topic, c.Group, now.UnixMilli(), nullString(replacing)).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("take the claim of %s/%s: %w", c.Topic, c.Group, err)
	}
	return pos, ok, nil
}

// claimExec runs one statement on a claim's row in a write transaction
// and reports whether it changed it.
func (s *Store) claimExec(ctx context.Context, q string, args ...any) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// RenewClaim implements pubsub.OffsetStore.
func (s *Store) RenewClaim(ctx context.Context, c events.Claim) (bool, error) {
	return s.claimExec(ctx, sqlRenewClaim, c.Until.UnixMilli(), c.Topic, c.Group, c.Holder)
}

// CommitOffset implements pubsub.OffsetStore.
func (s *Store) CommitOffset(ctx context.Context, c events.Claim, position int64) (bool, error) {
	return s.claimExec(ctx, sqlCommitOffset, position, c.Until.UnixMilli(), c.Topic, c.Group, c.Holder)
}

// ReleaseClaim implements pubsub.OffsetStore.
func (s *Store) ReleaseClaim(ctx context.Context, c events.Claim) (bool, error) {
	return s.claimExec(ctx, sqlReleaseClaim, c.Topic, c.Group, c.Holder)
}

// GroupOffset implements pubsub.OffsetStore.
func (s *Store) GroupOffset(ctx context.Context, topic, group string) (int64, error) {
	var pos int64
	err := s.read.QueryRowContext(ctx, sqlGroupOffset, topic, group).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the offset of %s/%s: %w", topic, group, err)
	}
	return pos, nil
}
