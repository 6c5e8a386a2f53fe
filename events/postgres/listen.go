package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LogChannel is the PostgreSQL notification channel (LISTEN/NOTIFY) on
// which the service instances of one database announce their appends to
// the log, so that the others' read sides follow at once rather than at
// their next poll.
//
// An announcement is only a wake-up: it carries nothing, and a listener
// reads the log from its own last position (ReadAll), which never skips an
// event that commits late. Announcements can be lost — one sent while a
// listener's connection was down, or an append by a process that does not
// announce (the CLI) — so the readers keep polling as well; the
// notifications cut the delay, the polling bounds it.
const LogChannel = "treatywatch_log"

// AnnounceAppend tells every instance that listens (ListenAppends) that
// the log has moved: a NOTIFY on LogChannel. Call it after the append
// committed.
func (s *Store) AnnounceAppend(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, LogChannel); err != nil {
		return fmt.Errorf("announce an append on %s: %w", LogChannel, err)
	}
	return nil
}

// ListenAppends calls wake whenever an instance announces an append on
// LogChannel (its own included), until ctx ends; then it returns nil. It
// listens on a connection of its own, outside the pool, and calls wake
// each time it starts listening, so that what was announced while it did
// not listen is read as well. When the connection fails it logs once and
// connects again every retry (default 1 s) until it listens again.
func (s *Store) ListenAppends(ctx context.Context, wake func(), retry time.Duration) error {
	return s.listen(ctx, LogChannel, "the other instances' appends", "their events", wake, retry)
}

// listen calls wake whenever a notification arrives on channel, and each
// time it starts listening, until ctx ends; then it returns nil. It
// listens on a connection of its own, outside the pool, and when the
// connection fails it logs once (what it listens for, and what is found
// by polling meanwhile) and connects again every retry (default 1 s).
func (s *Store) listen(ctx context.Context, channel, what, found string, wake func(), retry time.Duration) error {
	if retry <= 0 {
		retry = time.Second
	}
	failing := false
	for {
		err := s.listenOnce(ctx, channel, wake, func() {
			if failing {
				s.log.InfoContext(ctx, "listening for "+what+" again", "channel", channel)
				failing = false
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if !failing {
			s.log.WarnContext(ctx, "cannot listen for "+what+"; "+found+" are found by polling until it works again",
				"channel", channel, "db", s.where, "err", err)
			failing = true
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// listenOnce listens on one connection until it fails or ctx ends;
// listening is called once the LISTEN took effect.
func (s *Store) listenOnce(ctx context.Context, channel string, wake, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", channel, err)
	}
	listening()
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("wait for a notification on %s: %w", channel, err)
		}
		wake()
	}
}
