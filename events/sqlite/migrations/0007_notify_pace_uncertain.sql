-- 0007_notify_pace_uncertain: pacing that survives a restart, and dead
-- letters that remember they may have arrived (package notifiers).
--
-- notify_channel_pace holds, per channel (the channel_key of its
-- deliveries), when the last message to it was sent and until when Slack
-- asked it to wait (a 429's Retry-After), so that a sender starting right
-- after another one stopped still keeps Slack's pace.
CREATE TABLE notify_channel_pace (
	channel_key  TEXT    PRIMARY KEY,
	last_send_at INTEGER NOT NULL,          -- Unix nanoseconds: the later of the last call's start and end
	not_before   INTEGER NOT NULL DEFAULT 0 -- Unix nanoseconds: Retry-After of a 429; 0 if none
) STRICT;

-- redrive_confirms is 1 on a dead delivery that may have arrived (it died
-- while its outcome was unknown, and the sink can be asked): a redrive puts
-- it back as 'sending', so the sender confirms before posting it again.
ALTER TABLE notify_deliveries ADD COLUMN redrive_confirms INTEGER NOT NULL DEFAULT 0;
