-- 0010_notify_sender_lease: one sender at a time per ledger (package
-- notifiers).
--
-- The sender that holds the row named 'sender' is the only one that sends
-- (serve and `notify run` on one file, or two `notify run`). Every take,
-- renewal and release bumps version; a sender that does not hold the lease
-- takes it when holder is NULL, or when it has seen the same version for
-- ttl_ms by its own clock (the holder stopped renewing), or when the holder's
-- process is provably gone (same machine: process names the boot and the
-- PID namespace). Each write of a sender to the outbox first checks, in the
-- same transaction, that it still holds the lease.
CREATE TABLE notify_sender_lease (
	name       TEXT    PRIMARY KEY,
	holder     TEXT,                      -- host:pid:nonce of the holding sender; NULL when free
	host       TEXT,                      -- the holder's host name
	pid        INTEGER,                   -- the holder's process id
	process    TEXT,                      -- the holder's boot id and PID namespace ('' when unknown)
	version    INTEGER NOT NULL DEFAULT 0,
	ttl_ms     INTEGER NOT NULL DEFAULT 0,-- the holder's lease duration
	expires_at INTEGER                    -- Unix nanoseconds by the holder's wall clock (for people and logs)
) STRICT;

INSERT INTO notify_sender_lease (name) VALUES ('sender');
