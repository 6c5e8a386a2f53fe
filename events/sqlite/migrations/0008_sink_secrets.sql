-- 0008_sink_secrets: the secrets of subscription sinks (webhook URLs,
-- HMAC secrets), which never enter the immutable log. One row per
-- subscription, deleted with it (events.SecretStore). The value is the
-- JSON of events.SinkSecret sealed with AES-256-GCM under the key kept
-- beside the database (Config.SecretsKeyFile), the subscription id as
-- additional data, so a copy of the file alone reveals nothing.
CREATE TABLE sink_secrets (
	subscription TEXT    PRIMARY KEY,
	sealed       BLOB    NOT NULL, -- nonce ‖ AES-GCM ciphertext and tag
	created_at   INTEGER NOT NULL  -- Unix nanoseconds
) STRICT;

-- Earlier versions keyed the notifier's pacing and threading by the
-- webhook URL itself, a credential. Key those rows by subscription
-- instead (new rows use the secrets' fingerprint, notifiers.ChannelKey).
UPDATE notify_deliveries SET channel_key = substr(channel_key, 1, instr(channel_key, ':')) || 'subscription-' || subscription
WHERE channel_key LIKE 'slack-webhook:%://%' OR channel_key LIKE 'webhook:%://%';
DELETE FROM notify_threads WHERE channel_key LIKE '%://%';
DELETE FROM notify_channel_pace WHERE channel_key LIKE '%://%';
