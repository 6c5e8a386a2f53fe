-- 0014_sink_secrets: the secrets of subscription sinks (webhook URLs,
-- HMAC secrets), which never enter the immutable log (events.SecretStore).
-- One row per subscription, deleted with it. The value is the JSON of
-- events.SinkSecret sealed with AES-256-GCM under the secrets key every
-- instance is given (never stored in the database), the subscription id
-- as additional data. SQLite's table of migration 0008.
CREATE TABLE sink_secrets (
	subscription text   PRIMARY KEY,
	sealed       bytea  NOT NULL, -- nonce ‖ AES-GCM ciphertext and tag
	created_at   bigint NOT NULL  -- Unix nanoseconds
);

-- The check of the secrets key: HMAC-SHA-256 of a fixed label under the
-- key, written by the first instance that seals a secret. An instance
-- given another key refuses to seal or open any secret, rather than seal
-- with a key the other instances cannot open. It reveals nothing of the
-- key.
CREATE TABLE sink_secrets_key (
	id         integer PRIMARY KEY CHECK (id = 1),
	key_check  text    NOT NULL, -- hex HMAC-SHA-256("treatywatch sink secrets key check")
	created_at bigint  NOT NULL
);
