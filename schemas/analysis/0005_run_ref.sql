-- SPDX-License-Identifier: MIT
-- Analysis database, migration 5: runs in the reference collector's clock, for every reader
-- that combines runs of several collectors (the cache-state model, NS reachability, the
-- detectors). run keeps each collector's own clock (ingest derives it from that collector's
-- polls, and the clock offsets are estimated from it); this view shifts it by the measured
-- offset (collector.clock_offset_us: that clock minus the reference's), and widens the
-- conservative bounds by the offset's uncertainty: the true offset lies in
-- [offset_lo_us, offset_hi_us], so the change before first_seen happened no earlier than
-- prev_poll - offset_hi_us and the one after last_seen no later than next_poll -
-- offset_lo_us. The reference collector (offset 0, no interval) reads exactly as run.
CREATE VIEW run_ref AS
SELECT r.id AS id, r.series_id AS series_id, r.version_id AS version_id,
	r.first_seen - c.clock_offset_us AS first_seen,
	r.last_seen - c.clock_offset_us AS last_seen,
	r.count AS count,
	r.prev_poll - coalesce(c.offset_hi_us, c.clock_offset_us) AS prev_poll,
	r.next_poll - coalesce(c.offset_lo_us, c.clock_offset_us) AS next_poll,
	r.ttl_max_s AS ttl_max_s, r.first_obs_id AS first_obs_id, r.last_obs_id AS last_obs_id
FROM run r JOIN series s ON s.id = r.series_id JOIN collector c ON c.id = s.collector_id;
