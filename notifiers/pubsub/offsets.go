package pubsub

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers/internal/process"
)

// OffsetStore keeps, per (topic, consumer group), the group's offset and
// the claim that lets one subscription of the group deliver and move it
// at a time. events/sqlite's Store implements it (table
// watermill_offsets); notifiers/pubsub/offsettest is its contract suite.
// Each method is one transaction; implementations must be safe for
// concurrent use, and by several processes on one store. Claim times are
// kept to the millisecond.
type OffsetStore interface {
	// PeekClaim returns the claim of (topic, group) as kept, without
	// taking the write lock: Holder is "" when nobody holds it or the
	// group has no offset yet.
	PeekClaim(ctx context.Context, topic, group string) (events.Claim, error)
	// TakeClaim creates the group's offset at 0 if it has none, then gives
	// c.Holder the claim until c.Until if nobody holds it, c.Holder
	// already does, the holder's claim lapsed before now, or the holder is
	// replacing (not ""): one whose process is known to have ended. It
	// returns the group's offset and true when it took the claim, false
	// otherwise.
	TakeClaim(ctx context.Context, c events.Claim, now time.Time, replacing string) (position int64, ok bool, err error)
	// RenewClaim extends the claim to c.Until if c.Holder holds it, and
	// reports whether it does.
	RenewClaim(ctx context.Context, c events.Claim) (bool, error)
	// CommitOffset moves the group's offset to position and extends the
	// claim to c.Until, in one transaction, if c.Holder holds the claim;
	// it reports whether it does (false: nothing moved).
	CommitOffset(ctx context.Context, c events.Claim, position int64) (bool, error)
	// ReleaseClaim frees the claim if c.Holder holds it, keeping the
	// offset, and reports whether it did.
	ReleaseClaim(ctx context.Context, c events.Claim) (bool, error)
	// GroupOffset returns the group's offset: the position of the last
	// message it acknowledged on topic, 0 if none.
	GroupOffset(ctx context.Context, topic, group string) (int64, error)
}

// claim is one subscription's hold on the offset of (topic, group): only
// its holder delivers the group's messages of the topic and moves its
// offset. It lapses ttl after its last renewal, so that a crashed holder
// does not block the group for ever.
type claim struct {
	store        OffsetStore
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

// mine is the claim as this subscription takes, renews or commits it: to
// last until ttl from now.
func (c *claim) mine() events.Claim {
	return events.Claim{Topic: c.topic, Group: c.group, Holder: c.holder, Until: c.now().Add(c.ttl)}
}

// free reports whether the claim looks free (no row, no holder, an
// expired lease, or ours), reading without the write lock: a cheap test
// before take.
func (c *claim) free(ctx context.Context) (bool, error) {
	kept, err := c.store.PeekClaim(ctx, c.topic, c.group)
	if err != nil {
		return false, fmt.Errorf("read the claim of %s/%s: %w", c.topic, c.group, err)
	}
	if kept.Holder == "" || kept.Holder == c.holder || kept.Until.UnixMilli() < c.now().UnixMilli() {
		return true, nil
	}
	if holderGone(kept.Holder) {
		c.gone = kept.Holder
		return true, nil
	}
	return false, nil
}

// take claims the offset, creating it at 0 if the group has none, and
// returns the committed position and true; false if another subscription
// holds an unexpired claim.
func (c *claim) take(ctx context.Context) (pos int64, ok bool, err error) {
	pos, ok, err = c.store.TakeClaim(ctx, c.mine(), c.now(), c.gone)
	if err != nil {
		return 0, false, fmt.Errorf("claim the offset of %s/%s: %w", c.topic, c.group, err)
	}
	return pos, ok, nil
}

// held turns the answer of a write on the claim into errClaimLost when it
// changed nothing (another subscription holds the claim).
func (c *claim) held(what string, ok bool, err error) error {
	if err == nil && !ok {
		err = errClaimLost
	}
	if err != nil {
		return fmt.Errorf("%s of %s/%s: %w", what, c.topic, c.group, err)
	}
	return nil
}

// renew extends the claim; errClaimLost if another subscription took it.
func (c *claim) renew(ctx context.Context) error {
	ok, err := c.store.RenewClaim(ctx, c.mine())
	return c.held("renew the claim", ok, err)
}

// commit moves the offset to pos (and renews the claim), in one
// transaction; errClaimLost if another subscription took the claim.
func (c *claim) commit(ctx context.Context, pos int64) error {
	ok, err := c.store.CommitOffset(ctx, c.mine(), pos)
	return c.held("commit the offset", ok, err)
}

// release gives the claim up, so that another subscriber of the group
// takes over at once.
func (c *claim) release(ctx context.Context) error {
	ok, err := c.store.ReleaseClaim(ctx, c.mine())
	if err == nil && !ok {
		return nil // not ours any more: nothing to release
	}
	return c.held("release the claim", ok, err)
}

// Offset returns the position after which the consumer group resumes on
// topic: the global log position of the last event it acknowledged, 0 if
// it has acknowledged none. The lag of a LogTopic group is the store's
// head minus its offset.
func Offset(ctx context.Context, store OffsetStore, topic, consumerGroup string) (int64, error) {
	pos, err := store.GroupOffset(ctx, topic, consumerGroup)
	if err != nil {
		return 0, fmt.Errorf("read the offset of %s/%s: %w", topic, consumerGroup, err)
	}
	return pos, nil
}
