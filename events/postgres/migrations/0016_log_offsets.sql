-- 0016_log_offsets: the consumer groups' offsets on the ledger's log read as
-- a watermill-sql topic (NewLogSubscriber, watermill_log.go).
--
-- One row per consumer group: position is the global position of the last
-- event the group acknowledged; its subscribers resume after it. A
-- subscriber reads with the group's row locked FOR UPDATE and moves
-- position in the transaction that acknowledges the event, so the
-- subscribers of one group, on any instance, handle each event once, in
-- order. The events themselves are not copied: the topic is the events
-- table.
CREATE TABLE log_offsets (
	consumer_group text   PRIMARY KEY CHECK (consumer_group <> ''),
	position       bigint NOT NULL DEFAULT 0 CHECK (position >= 0)
);

-- A database whose notifier read the log through package notifiers/pubsub
-- (migration 0012's watermill_offsets) resumes where it stopped.
INSERT INTO log_offsets (consumer_group, position)
SELECT consumer_group, position FROM watermill_offsets
WHERE topic = 'treatywatch.log' AND consumer_group <> '';
