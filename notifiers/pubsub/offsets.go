package pubsub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/treatywatch/treatywatch/notifiers/internal/process"
)

// The statements on watermill_offsets (migration 0003_watermill.sql).
// lease_until is in Unix milliseconds.
const (
	sqlPeekClaim = `SELECT holder, lease_until FROM watermill_offsets
WHERE topic = ? AND consumer_group = ?`
	sqlCreateOffset = `INSERT INTO watermill_offsets (topic, consumer_group, position) VALUES (?, ?, 0)
ON CONFLICT (topic, consumer_group) DO NOTHING`
	sqlTakeClaim = `UPDATE watermill_offsets SET holder = ?1, lease_until = ?2
WHERE topic = ?3 AND consumer_group = ?4 AND (holder IS NULL OR holder = ?1 OR lease_until < ?5 OR holder = ?6)
RETURNING position`
	sqlRenewClaim = `UPDATE watermill_offsets SET lease_until = ?
WHERE topic = ? AND consumer_group = ? AND holder = ?`
	sqlCommitOffset = `UPDATE watermill_offsets SET position = ?, lease_until = ?
WHERE topic = ? AND consumer_group = ? AND holder = ?`
	sqlReleaseClaim = `UPDATE watermill_offsets SET holder = NULL, lease_until = NULL
WHERE topic = ? AND consumer_group = ? AND holder = ?`
	sqlReadOffset = `SELECT position FROM watermill_offsets WHERE topic = ? AND consumer_group = ?`
)

// claim is one subscription's hold on the offset of (topic, group): only
// its holder delivers the group's messages of the topic and moves its
// offset. It lapses lease_until after its last renewal, so that a crashed
// holder does not block the group for ever.
type claim struct {
	store        Store
	topic, group string
	holder       string
	ttl          time.Duration
	now          func() time.Time
	renewed      atomic.Int64 // Unix ms of the last take, commit or renewal

	// gone is a holder free found whose process has provably ended
	// (a crash): take replaces it at once rather than after its lease.
	gone string
}

// newHolder names a claim's holder: "PID-NONCE@PROCESS-SPACE", so that a
// successor on the same machine can tell when the holder's process has
// ended (see process.Gone).
func newHolder(nonce string) string {
	return fmt.Sprintf("%d-%s@%s", os.Getpid(), nonce, process.Identity())
}

// holderGone reports whether the process of holder (as newHolder names
// it) has provably ended. Holders named otherwise (by earlier versions)
// are never gone: their claims lapse after their lease.
func holderGone(holder string) bool {
	id, space, ok := strings.Cut(holder, "@")
	if !ok || space == "" {
		return false
	}
	pidText, _, _ := strings.Cut(id, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return false
	}
	return process.Gone(process.Identity(), space, pid)
}

func (c *claim) until() int64 { return c.now().Add(c.ttl).UnixMilli() }

// free reports whether the claim looks free (no row, no holder, an
// expired lease, or ours), reading without the write lock: a cheap test
// before take.
func (c *claim) free(ctx context.Context) (bool, error) {
	var (
		holder sql.NullString
		until  sql.NullInt64
	)
	err := c.store.ReadDB().QueryRowContext(ctx, sqlPeekClaim, c.topic, c.group).Scan(&holder, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read the claim of %s/%s: %w", c.topic, c.group, err)
	}
	if !holder.Valid || holder.String == c.holder || !until.Valid || until.Int64 < c.now().UnixMilli() {
		return true, nil
	}
	if holderGone(holder.String) {
		c.gone = holder.String
		return true, nil
	}
	return false, nil
}

// take claims the offset, creating it at 0 if the group has none, and
// returns the committed position and true; false if another subscription
// holds an unexpired claim.
func (c *claim) take(ctx context.Context) (pos int64, ok bool, err error) {
	err = c.store.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlCreateOffset, c.topic, c.group); err != nil {
			return err
		}
		var gone any // NULL: no dead holder to replace
		if c.gone != "" {
			gone = c.gone
		}
		err := tx.QueryRowContext(ctx, sqlTakeClaim, c.holder, c.until(), c.topic, c.group, c.now().UnixMilli(), gone).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("claim the offset of %s/%s: %w", c.topic, c.group, err)
	}
	return pos, ok, nil
}

// exec runs one statement on the claim's row in its own write
// transaction and returns errClaimLost if it changed no row (another
// subscription holds the claim).
func (c *claim) exec(ctx context.Context, what, query string, args ...any) error {
	err := c.store.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errClaimLost
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s of %s/%s: %w", what, c.topic, c.group, err)
	}
	return nil
}

// renew extends the claim; errClaimLost if another subscription took it.
func (c *claim) renew(ctx context.Context) error {
	return c.exec(ctx, "renew the claim", sqlRenewClaim, c.until(), c.topic, c.group, c.holder)
}

// commit moves the offset to pos (and renews the claim), in one
// transaction; errClaimLost if another subscription took the claim.
func (c *claim) commit(ctx context.Context, pos int64) error {
	return c.exec(ctx, "commit the offset", sqlCommitOffset, pos, c.until(), c.topic, c.group, c.holder)
}

// release gives the claim up, so that another subscriber of the group
// takes over at once.
func (c *claim) release(ctx context.Context) error {
	err := c.exec(ctx, "release the claim", sqlReleaseClaim, c.topic, c.group, c.holder)
	if errors.Is(err, errClaimLost) {
		return nil // not ours any more: nothing to release
	}
	return err
}

// Offset returns the position after which the consumer group resumes on
// topic: the global log position of the last event it acknowledged, 0 if
// it has acknowledged none. The lag of a LogTopic group is the store's
// head minus its offset.
func Offset(ctx context.Context, store Store, topic, consumerGroup string) (int64, error) {
	var pos int64
	err := store.ReadDB().QueryRowContext(ctx, sqlReadOffset, topic, consumerGroup).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the offset of %s/%s: %w", topic, consumerGroup, err)
	}
	return pos, nil
}
