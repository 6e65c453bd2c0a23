-- SPDX-License-Identifier: MIT
-- Analysis database, migration 7: run_ref (migration 5) made tighter and safe at --at.
-- 1. next_shifted: the poll that ended the run shifted by the collector's offset but not
--    widened by its uncertainty. A reader asking "was this run still served as of AT?" must use
--    it: the widened next_poll of a run the collector saw end at or before AT may lie after
--    AT, and the run would be taken as open (served for ever). Readers cut the widened
--    next_poll at AT instead.
-- 2. The widening is the uncertainty of one collector's clock; where a collector without that
--    uncertainty (offset_lo_us NULL: the reference) watched the same server (kind, zone,
--    address: as the offsets are measured, ingest.c offset_pair) with the same question and saw the same version over an overlapping stretch
--    (same serving period: the reference's poll before lies before this run's first sighting
--    and its poll after after this run's last, whatever the offset in its interval), its polls
--    bound the period too: prev_poll is raised to the reference run's prev_poll and next_poll
--    lowered to its next_poll where they are tighter.
--    Without this, two collectors watching one server make every change look up to the
--    uncertainty wider than either saw it (the union of the two widened runs).
DROP VIEW run_ref;
CREATE VIEW run_ref AS
SELECT r.id AS id, r.series_id AS series_id, r.version_id AS version_id,
	r.first_seen - c.clock_offset_us AS first_seen,
	r.last_seen - c.clock_offset_us AS last_seen,
	r.count AS count,
	CASE WHEN c.offset_hi_us IS NULL OR r.prev_poll IS NULL
		THEN r.prev_poll - c.clock_offset_us
	ELSE max(r.prev_poll - c.offset_hi_us, coalesce((SELECT max(r1.prev_poll) FROM target t
		JOIN target t1 ON t1.zone = t.zone AND t1.kind = t.kind AND t1.address = t.address AND
			t1.collector_id != c.id
		JOIN collector c1 ON c1.id = t1.collector_id AND c1.offset_lo_us IS NULL
		JOIN series s1 ON s1.target_id = t1.id AND s1.qname = s.qname AND
			s1.qtype = s.qtype AND s1.flags = s.flags
		JOIN run r1 ON r1.series_id = s1.id AND r1.version_id = r.version_id AND
			r1.first_seen <= r.last_seen - c.offset_lo_us AND
			r1.last_seen >= r.first_seen - c.offset_hi_us AND
			r1.prev_poll <= r.first_seen - c.offset_hi_us
		WHERE t.id = s.target_id), -9223372036854775807 - 1))
	END AS prev_poll,
	CASE WHEN c.offset_lo_us IS NULL OR r.next_poll IS NULL
		THEN r.next_poll - c.clock_offset_us
	ELSE min(r.next_poll - c.offset_lo_us, coalesce((SELECT min(r1.next_poll) FROM target t
		JOIN target t1 ON t1.zone = t.zone AND t1.kind = t.kind AND t1.address = t.address AND
			t1.collector_id != c.id
		JOIN collector c1 ON c1.id = t1.collector_id AND c1.offset_lo_us IS NULL
		JOIN series s1 ON s1.target_id = t1.id AND s1.qname = s.qname AND
			s1.qtype = s.qtype AND s1.flags = s.flags
		JOIN run r1 ON r1.series_id = s1.id AND r1.version_id = r.version_id AND
			r1.first_seen <= r.last_seen - c.offset_lo_us AND
			r1.last_seen >= r.first_seen - c.offset_hi_us AND
			r1.next_poll >= r.last_seen - c.offset_lo_us
		WHERE t.id = s.target_id), 9223372036854775807))
	END AS next_poll,
	r.ttl_max_s AS ttl_max_s, r.first_obs_id AS first_obs_id, r.last_obs_id AS last_obs_id,
	r.next_poll - c.clock_offset_us AS next_shifted
FROM run r JOIN series s ON s.id = r.series_id JOIN collector c ON c.id = s.collector_id;
