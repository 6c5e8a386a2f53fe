-- 0009_slack_replays: the verified Slack slash-command requests of the last
-- minutes (package cmd/internal/web), so that a replay of a signed request
-- within the five minutes its timestamp is accepted is refused, across
-- restarts of the server.
CREATE TABLE slack_requests_seen (
	signature_hash TEXT PRIMARY KEY,  -- hex SHA-256 of the X-Slack-Signature header
	expires_at     INTEGER NOT NULL   -- Unix nanoseconds: the request's timestamp + the window
) STRICT;
CREATE INDEX slack_requests_seen_expires ON slack_requests_seen (expires_at);
