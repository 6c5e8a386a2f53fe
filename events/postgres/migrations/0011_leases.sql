-- 0011_leases: named leases (package notifiers' LeaseStore): the ledger's
-- sender lease, 'sender' (one sender at a time for all the instances on
-- this database), and any other a component takes (a take creates its
-- row), such as the scheduler's digest lease. SQLite's table of migration
-- 0010, under its name.
--
-- Every take, renewal and release bumps version. One that does not hold
-- a lease takes it when holder is NULL, or when it has seen the same
-- version for ttl_ms by its own clock (the holder stopped renewing), or
-- when the holder's process is provably gone; TakeLease is conditional on
-- the version it saw, so of several instances that try at once one wins.
-- A write fenced by a lease (events.Fence) reads its row FOR SHARE in the
-- write's own transaction: a take waits for that write to commit, so a
-- holder that lost the lease changes nothing after the take.
CREATE TABLE notify_sender_lease (
	name       text    PRIMARY KEY,
	holder     text,                       -- host:pid:nonce of the holder; NULL when free
	host       text,                       -- the holder's host name
	pid        bigint,                     -- the holder's process id
	process    text,                       -- the holder's boot id and PID namespace ('' when unknown)
	version    bigint  NOT NULL DEFAULT 0,
	ttl_ms     bigint  NOT NULL DEFAULT 0, -- the holder's lease duration
	expires_at bigint                      -- Unix nanoseconds by the holder's wall clock (for people and logs)
);

INSERT INTO notify_sender_lease (name) VALUES ('sender');
