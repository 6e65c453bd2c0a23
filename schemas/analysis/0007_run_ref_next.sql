-- SPDX-License-Identifier: MIT
-- Analysis database, migration 7: run_ref (migration 5) gains next_shifted, the poll that ended
-- the run shifted by the collector's offset but not widened by its uncertainty. A reader asking
-- "was this run still served as of AT?" must use it: the widened next_poll of a run the
-- collector saw end at or before AT may lie after AT, and the run would be taken as still open
-- (served for ever). Readers cut the widened next_poll at AT instead.
DROP VIEW run_ref;
CREATE VIEW run_ref AS
SELECT r.id AS id, r.series_id AS series_id, r.version_id AS version_id,
	r.first_seen - c.clock_offset_us AS first_seen,
	r.last_seen - c.clock_offset_us AS last_seen,
	r.count AS count,
	r.prev_poll - coalesce(c.offset_hi_us, c.clock_offset_us) AS prev_poll,
	r.next_poll - coalesce(c.offset_lo_us, c.clock_offset_us) AS next_poll,
	r.ttl_max_s AS ttl_max_s, r.first_obs_id AS first_obs_id, r.last_obs_id AS last_obs_id,
	r.next_poll - c.clock_offset_us AS next_shifted
FROM run r JOIN series s ON s.id = r.series_id JOIN collector c ON c.id = s.collector_id;
