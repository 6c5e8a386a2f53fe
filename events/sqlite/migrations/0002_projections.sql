-- 0002_projections: the persisted read models of package projections.
--
-- They are a cache of the fold of the log, rebuildable at any time
-- (treatywatch replay): the runner writes them and its checkpoint in one
-- transaction. Statuses are stored as computed with everything known
-- ("as of the end of time"); date-dependent fields are recomputed when read.
CREATE TABLE projection_checkpoints (
	name     TEXT PRIMARY KEY,
	position INTEGER NOT NULL
) STRICT;

CREATE TABLE projection_treaties (
	treaty    TEXT PRIMARY KEY,
	version   INTEGER NOT NULL, -- stream version folded
	position  INTEGER NOT NULL, -- global position of the last event folded
	status    TEXT    NOT NULL  -- projections.Status as JSON
) STRICT;

CREATE TABLE projection_participants (
	treaty               TEXT NOT NULL,
	participant          TEXT NOT NULL,
	iso3                 TEXT,
	signature            TEXT,
	consent_kind         TEXT,
	consent_date         TEXT,
	entry_into_force     TEXT,
	withdrawal_effective TEXT,
	PRIMARY KEY (treaty, participant)
) STRICT;
CREATE INDEX projection_participants_by_participant ON projection_participants (participant);

CREATE TABLE projection_timeline (
	treaty  TEXT    NOT NULL,
	date    TEXT    NOT NULL,
	counted INTEGER NOT NULL,
	PRIMARY KEY (treaty, date)
) STRICT;

CREATE TABLE projection_milestones (
	treaty  TEXT    NOT NULL,
	percent INTEGER NOT NULL,
	date    TEXT    NOT NULL,
	PRIMARY KEY (treaty, percent)
) STRICT;
