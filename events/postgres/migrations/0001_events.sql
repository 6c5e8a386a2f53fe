-- 0001_events: the event log.
--
-- One row per event. position is the global position, assigned by
-- Store.Append under the append lock (pg_advisory_xact_lock, see
-- locks.go): appends are serialised, so commit order is position order and
-- a catch-up reader never meets a gap that fills in later. It is not a
-- sequence: a sequence hands out numbers outside the transaction, leaving
-- gaps and committing out of order. UNIQUE (stream, version) is the
-- optimistic concurrency guard and the index ReadStream, Streams and the
-- version check use. Text is compared bytewise (COLLATE "C"), as SQLite
-- does. recorded_at is Unix nanoseconds (timestamptz keeps microseconds;
-- the hash chain covers nanoseconds). payload is text, not jsonb: jsonb
-- reorders keys and drops whitespace, and the hash chain covers the bytes
-- as written. Empty metadata and the absent valid date are stored as NULL.
CREATE TABLE events (
	position       bigint  PRIMARY KEY CHECK (position > 0),
	stream         text    COLLATE "C" NOT NULL CHECK (stream <> ''),
	version        bigint  NOT NULL CHECK (version > 0),
	type           text    COLLATE "C" NOT NULL CHECK (type <> ''),
	schema_version integer NOT NULL CHECK (schema_version > 0),
	valid_date     text    COLLATE "C", -- YYYY-MM-DD, NULL when the event is not an act
	recorded_at    bigint  NOT NULL,    -- Unix nanoseconds, UTC
	actor          text,
	reference      text,                -- depositary reference
	source         text,
	correlation_id text,
	causation_id   text,
	payload        text    NOT NULL,    -- compact JSON, as given to Append
	hash           bytea   NOT NULL,    -- SHA-256 chain, see events.Chain
	UNIQUE (stream, version)
);

-- ReadDefinitions reads the treaty definitions through this index rather
-- than the whole log.
CREATE INDEX events_definitions ON events (position)
	WHERE type IN ('treaty.registered', 'treaty.definition-amended');

-- The log is append-only: the database itself refuses to change or remove
-- an event, whoever asks (a superuser or the table's owner could drop the
-- triggers: the service does not connect as either, see GrantService).
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'events are append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
	FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
	FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

REVOKE ALL ON events FROM PUBLIC;
