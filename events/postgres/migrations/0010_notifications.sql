-- 0010_notifications: the notifier's durable state (package notifiers'
-- OutboxStore, DeadLetterStore, ScheduleStore and SettingStore), the
-- tables of SQLite's migrations 0004, 0005, 0007 and 0008 under the same
-- names and columns, so that migrate-db copies their rows as they are.
-- Times are Unix nanoseconds (bigint), as in SQLite: every time round-trips
-- exactly (timestamptz would keep microseconds).
--
-- notify_deliveries is the outbox of messages: one row per thing to tell a
-- subscription, written idempotently by the router before it acknowledges
-- the ledger event (UNIQUE (subscription, dedup_key): a redelivered event,
-- or two routers racing, adds nothing), then sent and marked by the sender
-- that holds the sender lease. status is pending, sending (the HTTP call
-- may have reached the sink), sent or dead.
CREATE TABLE notify_deliveries (
	id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subscription     text    NOT NULL,
	dedup_key        text    NOT NULL, -- "event:<position>:<kind>", "countdown:<treaty>:<date>:<days>", "digest:<until>"
	position         bigint  NOT NULL, -- ledger position the notice comes from; 0 if time-driven
	channel_key      text    NOT NULL, -- where it goes (sink and channel or subscription): the unit of pacing
	thread_key       text,             -- treaty id: follow-ups thread under its first message
	notice           text    NOT NULL, -- notifiers.Notice as JSON, byte for byte
	status           text    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  bigint  NOT NULL,
	last_error       text,
	created_at       bigint  NOT NULL,
	sent_at          bigint,
	ts               text,             -- Slack message ts
	redrive_confirms boolean NOT NULL DEFAULT false, -- a redrive puts it back 'sending', to be confirmed before it is posted again
	UNIQUE (subscription, dedup_key)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, next_attempt_at);
-- The sender asks for the first waiting delivery of each channel.
CREATE INDEX notify_deliveries_waiting ON notify_deliveries (channel_key, id) WHERE status IN ('pending', 'sending');

-- The first Slack message per (channel, treaty), to thread follow-ups.
CREATE TABLE notify_threads (
	channel_key text NOT NULL,
	thread_key  text NOT NULL,
	ts          text NOT NULL,
	PRIMARY KEY (channel_key, thread_key)
);

-- One pacing row per channel, shared by every instance: when the last
-- message to it was sent and until when Slack asked it to wait (a 429's
-- Retry-After; 0 if none). Neither ever moves back (greatest() in the
-- upsert), so two instances' writes in any order keep the later.
CREATE TABLE notify_channel_pace (
	channel_key  text   PRIMARY KEY,
	last_send_at bigint NOT NULL,
	not_before   bigint NOT NULL DEFAULT 0
);

-- Each schedule's last run, so downtime produces one catch-up.
CREATE TABLE notify_schedules (
	name     text   PRIMARY KEY,
	last_run bigint NOT NULL
);

-- Ledger events the router could not turn into deliveries, with the reason.
CREATE TABLE notify_dead_letters (
	id         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	uuid       text    NOT NULL,
	topic      text    NOT NULL,
	position   bigint,
	payload    bytea   NOT NULL,
	metadata   text    NOT NULL, -- JSON object of strings
	reason     text    NOT NULL,
	created_at bigint  NOT NULL,
	redriven   boolean NOT NULL DEFAULT false
);

-- Small settings of the notifier (the position from which the implicit
-- console subscription starts).
CREATE TABLE notify_state (
	key   text PRIMARY KEY,
	value text NOT NULL
);
