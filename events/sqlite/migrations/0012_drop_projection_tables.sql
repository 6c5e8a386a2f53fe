-- 0012_drop_projection_tables: the persisted read models of the first
-- version (projection_*) are gone. A treaty's own stream is its read
-- model: the read side (projections.Runner) folds a treaty's stream when
-- it needs it and keeps what fits in memory, so a process starts in the
-- time it takes to read the treaty definitions and never refolds the log
-- (README, Design). The tables were written and never read.
DROP TABLE IF EXISTS projection_milestones;
DROP TABLE IF EXISTS projection_timeline;
DROP TABLE IF EXISTS projection_participants;
DROP TABLE IF EXISTS projection_treaties;
DROP TABLE IF EXISTS projection_checkpoints;
