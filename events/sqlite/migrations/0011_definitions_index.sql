-- 0011_definitions_index: the treaty definitions among the events, so
-- that listing the registered treaties (and resolving a treaty by name)
-- costs what the definitions cost, not what the whole log costs. A
-- partial index: only definition events have an entry, so appends of
-- other events pay nothing for it.
CREATE INDEX events_definitions ON events (position)
WHERE type IN ('treaty.registered', 'treaty.definition-amended');
