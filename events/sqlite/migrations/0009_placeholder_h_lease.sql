-- 0009_placeholder_h_lease: a placeholder on branch h-lease only, standing in
-- for the 0009 migration of another branch so that 0010 applies (migrations
-- are numbered without gaps). The lead drops this file at merge.
SELECT 1;
