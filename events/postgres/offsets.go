package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Consumer groups' offsets and claims (package notifiers/pubsub's
// OffsetStore, whose contract suite is notifiers/pubsub/offsettest) are
// rows of watermill_offsets (migration 0012). lease_until is in Unix
// milliseconds.
//
// Each write is one conditional UPDATE on the group's row (a take after
// an INSERT … ON CONFLICT DO NOTHING that creates it): of two instances
// that take one claim at once, the second waits for the first's row lock
// and then finds the claim held, and a commit by a holder that lost the
// claim matches no row.
const (
	sqlPeekClaim = `SELECT coalesce(holder, ''), coalesce(lease_until, 0) FROM watermill_offsets
WHERE topic = $1 AND consumer_group = $2`
	sqlCreateOffset = `INSERT INTO watermill_offsets (topic, consumer_group, position) VALUES ($1, $2, 0)
ON CONFLICT (topic, consumer_group) DO NOTHING`
	sqlTakeClaim = `UPDATE watermill_offsets SET holder = $1, lease_until = $2
WHERE topic = $3 AND consumer_group = $4 AND (holder IS NULL OR holder = $1 OR lease_until < $5 OR holder = $6)
RETURNING position`
	sqlRenewClaim = `UPDATE watermill_offsets SET lease_until = $1
WHERE topic = $2 AND consumer_group = $3 AND holder = $4`
	sqlCommitOffset = `UPDATE watermill_offsets SET position = $1, lease_until = $2
WHERE topic = $3 AND consumer_group = $4 AND holder = $5`
	sqlReleaseClaim = `UPDATE watermill_offsets SET holder = NULL, lease_until = NULL
WHERE topic = $1 AND consumer_group = $2 AND holder = $3`
	sqlGroupOffset = `SELECT position FROM watermill_offsets WHERE topic = $1 AND consumer_group = $2`
)

// PeekClaim implements pubsub.OffsetStore.
func (s *Store) PeekClaim(ctx context.Context, topic, group string) (events.Claim, error) {
	c := events.Claim{Topic: topic, Group: group}
	var until int64
	err := s.pool.QueryRow(ctx, sqlPeekClaim, topic, group).Scan(&c.Holder, &until)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		ok = false
		if _, err := tx.Exec(ctx, sqlCreateOffset, c.Topic, c.Group); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, sqlTakeClaim, c.Holder, c.Until.UnixMilli(), c.Topic, c.Group, now.UnixMilli(), nullString(replacing)).Scan(&pos)
		if errors.Is(err, pgx.ErrNoRows) {
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

// RenewClaim implements pubsub.OffsetStore.
func (s *Store) RenewClaim(ctx context.Context, c events.Claim) (bool, error) {
	ok, err := s.execOne(ctx, sqlRenewClaim, c.Until.UnixMilli(), c.Topic, c.Group, c.Holder)
	if err != nil {
		return false, fmt.Errorf("renew the claim of %s/%s: %w", c.Topic, c.Group, err)
	}
	return ok, nil
}

// CommitOffset implements pubsub.OffsetStore.
func (s *Store) CommitOffset(ctx context.Context, c events.Claim, position int64) (bool, error) {
	ok, err := s.execOne(ctx, sqlCommitOffset, position, c.Until.UnixMilli(), c.Topic, c.Group, c.Holder)
	if err != nil {
		return false, fmt.Errorf("commit the offset of %s/%s: %w", c.Topic, c.Group, err)
	}
	return ok, nil
}

// ReleaseClaim implements pubsub.OffsetStore.
func (s *Store) ReleaseClaim(ctx context.Context, c events.Claim) (bool, error) {
	ok, err := s.execOne(ctx, sqlReleaseClaim, c.Topic, c.Group, c.Holder)
	if err != nil {
		return false, fmt.Errorf("release the claim of %s/%s: %w", c.Topic, c.Group, err)
	}
	return ok, nil
}

// GroupOffset implements pubsub.OffsetStore.
func (s *Store) GroupOffset(ctx context.Context, topic, group string) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, sqlGroupOffset, topic, group).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the offset of %s/%s: %w", topic, group, err)
	}
	return pos, nil
}
