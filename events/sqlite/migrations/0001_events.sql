-- 0001_events: the event log.
--
-- One row per event. position is the global position: an alias of the
-- rowid, assigned by Store.Append inside an immediate transaction, so commit
-- order is position order. UNIQUE (stream, version) is the optimistic
-- concurrency guard and the index ReadStream, Streams and the version check
-- use. Empty metadata and the absent valid date are stored as NULL.
CREATE TABLE events (
	position       INTEGER PRIMARY KEY,
	stream         TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	type           TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	valid_date     TEXT,             -- YYYY-MM-DD, NULL when the event is not an act
	recorded_at    INTEGER NOT NULL, -- Unix nanoseconds, UTC
	actor          TEXT,
	reference      TEXT,             -- depositary reference
	source         TEXT,
	correlation_id TEXT,
	causation_id   TEXT,
	payload        TEXT    NOT NULL, -- JSON, as given to Append
	hash           BLOB    NOT NULL, -- SHA-256 chain, see events.Chain
	UNIQUE (stream, version)
) STRICT;

-- The log is append-only: the database itself refuses to change or remove
-- an event, whoever asks.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;
