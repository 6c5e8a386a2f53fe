-- 0004_notifications: the notifier's durable state (package notifiers).
--
-- notify_deliveries is the outbox of messages: one row per thing to tell a
-- subscription, written idempotently by the router before it acknowledges
-- the ledger event (UNIQUE (subscription, dedup_key): a redelivered event
-- adds nothing), then sent and marked by the sender. status is pending,
-- sending (the HTTP call may have reached the sink), sent or dead.
CREATE TABLE notify_deliveries (
	id              INTEGER PRIMARY KEY,
	subscription    TEXT    NOT NULL,
	dedup_key       TEXT    NOT NULL, -- "event:<position>:<kind>", "countdown:<treaty>:<date>:<days>", "digest:<until>"
	position        INTEGER NOT NULL, -- ledger position the notice comes from; 0 if time-driven
	channel_key     TEXT    NOT NULL, -- where it goes (sink and channel or URL): the unit of pacing
	thread_key      TEXT,             -- treaty id: follow-ups thread under its first message
	notice          TEXT    NOT NULL, -- notifiers.Notice as JSON
	status          TEXT    NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL, -- Unix nanoseconds
	last_error      TEXT,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER,
	ts              TEXT,             -- Slack message ts
	UNIQUE (subscription, dedup_key)
) STRICT;
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, next_attempt_at);

-- The first Slack message per (channel, treaty), to thread follow-ups.
CREATE TABLE notify_threads (
	channel_key TEXT NOT NULL,
	thread_key  TEXT NOT NULL,
	ts          TEXT NOT NULL,
	PRIMARY KEY (channel_key, thread_key)
) STRICT;

-- Each schedule's last run, so downtime produces one catch-up.
CREATE TABLE notify_schedules (
	name     TEXT PRIMARY KEY,
	last_run INTEGER NOT NULL -- Unix nanoseconds
) STRICT;

-- Ledger events the router could not turn into deliveries (watermill's
-- PoisonQueue publishes them here), with the reason.
CREATE TABLE notify_dead_letters (
	id         INTEGER PRIMARY KEY,
	uuid       TEXT    NOT NULL,
	topic      TEXT    NOT NULL,
	position   INTEGER,
	payload    BLOB    NOT NULL,
	metadata   TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	redriven   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Small settings of the notifier (the position from which the implicit
-- console subscription starts).
CREATE TABLE notify_state (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
