package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DB is the SQLite file a durable IdempotencyStore keeps its answers in:
// the ledger's own. *sqlite.Store satisfies it.
type DB interface {
	WriteTx(ctx context.Context, fn func(*sql.Tx) error) error
	ReadDB() *sql.DB
}

// SQLIdempotency is an IdempotencyStore in the ledger's SQLite file (table
// http_idempotency): answers survive a restart of the server, so a client
// that retries after a crash gets the first answer replayed. Answers older
// than the time to live are ignored and purged. Safe for concurrent use.
type SQLIdempotency struct {
	db  DB
	ttl time.Duration
	now func() time.Time
}

// NewSQLIdempotency returns a durable IdempotencyStore keeping answers for
// ttl (24 h when zero), dated by now.
func NewSQLIdempotency(db DB, ttl time.Duration, now func() time.Time) *SQLIdempotency {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &SQLIdempotency{db: db, ttl: ttl, now: now}
}

// Get returns the answer stored under key, unless it expired.
func (s *SQLIdempotency) Get(ctx context.Context, key string) (StoredResponse, bool, error) {
	var r StoredResponse
	var created int64
	err := s.db.ReadDB().QueryRowContext(ctx, `SELECT fingerprint, status, content_type, body, created_at FROM http_idempotency WHERE key = CAST(? AS TEXT)`, key).
		Scan(&r.Fingerprint, &r.Status, &r.ContentType, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredResponse{}, false, nil
	}
	if err != nil {
		return StoredResponse{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	if s.now().Sub(time.Unix(0, created)) > s.ttl {
		return StoredResponse{}, false, nil
	}
	return r, true, nil
}

// Put stores an answer under key and purges expired ones.
func (s *SQLIdempotency) Put(ctx context.Context, key string, resp StoredResponse) error {
	now := s.now()
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO http_idempotency (key, fingerprint, status, content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, content_type = excluded.content_type,
			body = excluded.body, created_at = excluded.created_at`, key, resp.Fingerprint, resp.Status, resp.ContentType, resp.Body, now.UnixNano()); err != nil {
			return fmt.Errorf("store idempotency key: %w", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM http_idempotency WHERE created_at < CAST(? AS INTEGER)`, now.Add(-s.ttl).UnixNano())
		return err
	})
}
