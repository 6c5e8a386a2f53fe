-- 0015_slack_replays: the verified Slack slash-command requests of the last
-- minutes (events.SeenRequestStore), so that a replay of a signed request
-- within the five minutes its timestamp is accepted is refused by every
-- instance, across restarts. SQLite's table of migration 0009.
CREATE TABLE slack_requests_seen (
	signature_hash text   PRIMARY KEY, -- hex SHA-256 of the X-Slack-Signature header
	expires_at     bigint NOT NULL     -- Unix nanoseconds: the request's timestamp + the window
);
CREATE INDEX slack_requests_seen_expires ON slack_requests_seen (expires_at);
