-- 0003_watermill: the consumers' offsets of package notifiers/pubsub.
--
-- One row per (topic, consumer group): position is the global position of
-- the last event the group acknowledged; the group resumes after it. A row
-- is written only by the subscription that holds the group's claim
-- (holder), which it keeps while lease_until (Unix milliseconds) is in the
-- future and renews while it runs, so that the subscribers of one group
-- deliver each event once, in order, whichever process they run in.
CREATE TABLE watermill_offsets (
	topic          TEXT    NOT NULL,
	consumer_group TEXT    NOT NULL,
	position       INTEGER NOT NULL DEFAULT 0,
	holder         TEXT,
	lease_until    INTEGER,
	PRIMARY KEY (topic, consumer_group)
) STRICT;
