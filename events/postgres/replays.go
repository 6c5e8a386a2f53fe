package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store remembers the requests it is shown.
var _ events.SeenRequestStore = (*Store)(nil)

// Seen requests (events.SeenRequestStore, contract suite
// events/replaytest) are rows of slack_requests_seen (migration 0015);
// expires_at is in Unix nanoseconds. Of several instances shown one
// request at once, one records it: the others' INSERT … ON CONFLICT DO
// NOTHING waits for its commit and then inserts nothing.
const (
	sqlForgetRequests  = `DELETE FROM slack_requests_seen WHERE expires_at < $1`
	sqlRememberRequest = `INSERT INTO slack_requests_seen (signature_hash, expires_at) VALUES ($1, $2) ON CONFLICT (signature_hash) DO NOTHING`
)

// RememberRequest implements events.SeenRequestStore.
func (s *Store) RememberRequest(ctx context.Context, signatureHash string, expires, now time.Time) (bool, error) {
	fresh := false
	err := s.portTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlForgetRequests, now.UnixNano()); err != nil {
			return fmt.Errorf("purge expired requests: %w", err)
		}
		tag, err := tx.Exec(ctx, sqlRememberRequest, signatureHash, expires.UnixNano())
		if err != nil {
			return fmt.Errorf("remember a request: %w", err)
		}
		fresh = tag.RowsAffected() == 1
		return nil
	})
	return fresh, err
}
