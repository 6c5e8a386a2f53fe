-- 0013_http_idempotency: answers to HTTP writes made with an
-- Idempotency-Key (events.AnswerStore), replayed to their retries by any
-- instance. The answer of a write that appends events is written in the
-- append's transaction. SQLite's table of migration 0006.
CREATE TABLE http_idempotency (
	key          text    PRIMARY KEY, -- "<token id>:<Idempotency-Key>"
	fingerprint  text    NOT NULL,    -- SHA-256 of method, path, query and body
	status       integer NOT NULL,
	content_type text    NOT NULL,
	body         bytea   NOT NULL,
	created_at   bigint  NOT NULL     -- Unix nanoseconds: the events' recorded time
);
CREATE INDEX http_idempotency_created ON http_idempotency (created_at);
