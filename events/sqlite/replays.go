package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Compile-time check that Store remembers the requests it is shown.
var _ events.SeenRequestStore = (*Store)(nil)

// Seen requests (events.SeenRequestStore) are rows of slack_requests_seen
// (migration 0009); expires_at is in Unix nanoseconds.
const (
	sqlForgetRequests  = `DELETE FROM slack_requests_seen WHERE expires_at < CAST(? AS INTEGER)`
	sqlRememberRequest = `INSERT INTO slack_requests_seen (signature_hash, expires_at) VALUES (?, ?) ON CONFLICT (signature_hash) DO NOTHING`
)

// RememberRequest implements events.SeenRequestStore.
func (s *Store) RememberRequest(ctx context.Context, signatureHash string, expires, now time.Time) (bool, error) {
	fresh := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlForgetRequests, now.UnixNano()); err != nil {
			return fmt.Errorf("purge expired requests: %w", err)
		}
		res, err := tx.ExecContext(ctx, sqlRememberRequest, signatureHash, expires.UnixNano())
		if err != nil {
			return fmt.Errorf("remember a request: %w", err)
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, err
}
