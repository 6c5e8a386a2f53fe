-- 0005_notify_due_index: the sender asks for the first due delivery of each
-- channel; this partial index holds only the waiting ones.
CREATE INDEX notify_deliveries_waiting ON notify_deliveries (channel_key, id)
	WHERE status IN ('pending', 'sending');
