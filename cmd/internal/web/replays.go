package web

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers the signed requests a server accepted (Slack slash
// commands), for as long as their signature is valid, so that the same
// request sent again is refused. Implementations must be safe for
// concurrent use.
type ReplayStore interface {
	// Remember records a request, named by the hash of its signature, until
	// expires. It returns false when the request was already recorded and
	// has not expired: a replay.
	Remember(ctx context.Context, signatureHash string, expires time.Time) (bool, error)
}

// DB is the SQLite file a durable ReplayStore keeps its table in: the
// ledger's own. *sqlite.Store satisfies it.
type DB interface {
	WriteTx(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// SQLReplays is a ReplayStore in the ledger's SQLite file (table
// slack_requests_seen), so that a replay is refused after a restart of the
// server too. Expired requests are purged as new ones are recorded. Safe
// for concurrent use.
type SQLReplays struct {
	db  DB
	now func() time.Time
}

// NewSQLReplays returns a durable ReplayStore dated by now.
func NewSQLReplays(db DB, now func() time.Time) *SQLReplays { return &SQLReplays{db: db, now: now} }

// Remember implements ReplayStore.
func (s *SQLReplays) Remember(ctx context.Context, signatureHash string, expires time.Time) (bool, error) {
	fresh := false
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM slack_requests_seen WHERE expires_at < CAST(? AS INTEGER)`, s.now().UnixNano()); err != nil {
			return fmt.Errorf("purge expired Slack requests: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO slack_requests_seen (signature_hash, expires_at) VALUES (?, ?) ON CONFLICT (signature_hash) DO NOTHING`,
			signatureHash, expires.UnixNano())
		if err != nil {
			return fmt.Errorf("remember a Slack request: %w", err)
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	return fresh, err
}

// memoryReplays is the ReplayStore of a server without a SQLite file.
type memoryReplays struct {
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

func newMemoryReplays(now func() time.Time) *memoryReplays {
	return &memoryReplays{now: now, seen: map[string]time.Time{}}
}

func (m *memoryReplays) Remember(_ context.Context, signatureHash string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, exp := range m.seen {
		if exp.Before(now) {
			delete(m.seen, k)
		}
	}
	if _, ok := m.seen[signatureHash]; ok {
		return false, nil
	}
	m.seen[signatureHash] = expires
	return true, nil
}
