-- 0006_http_idempotency: answers to HTTP writes made with an
-- Idempotency-Key, replayed to their retries (package cmd/internal/web),
-- so a retry is safe across restarts of the server.
CREATE TABLE http_idempotency (
	key          TEXT PRIMARY KEY,  -- "<token id>:<Idempotency-Key>"
	fingerprint  TEXT    NOT NULL,  -- SHA-256 of method, path, query and body
	status       INTEGER NOT NULL,
	content_type TEXT    NOT NULL,
	body         BLOB    NOT NULL,
	created_at   INTEGER NOT NULL   -- Unix nanoseconds
) STRICT;
CREATE INDEX http_idempotency_created ON http_idempotency (created_at);
