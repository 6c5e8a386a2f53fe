-- 0012_watermill_offsets: the consumer groups' offsets and claims of
-- package notifiers/pubsub (OffsetStore), SQLite's table of migration 0003.
--
-- One row per (topic, consumer group): position is the global position of
-- the last event the group acknowledged; the group resumes after it. A row
-- is written only by the subscription that holds the group's claim
-- (holder), which keeps it while lease_until (Unix milliseconds) is in the
-- future and renews it while it runs, so that the subscribers of one group,
-- on any instance, deliver each event once, in order. Every write is one
-- conditional UPDATE, which PostgreSQL re-checks on the row's latest
-- version when it waited for another writer's lock.
CREATE TABLE watermill_offsets (
	topic          text   NOT NULL,
	consumer_group text   NOT NULL,
	position       bigint NOT NULL DEFAULT 0,
	holder         text,
	lease_until    bigint,
	PRIMARY KEY (topic, consumer_group)
);
