-- SPDX-License-Identifier: MIT
-- Analysis database, migration 7: the per-series covering index of migration 4 also carries
-- the Extended DNS Error codes, the last column the readers of a resolver's polls ask for
-- (O-2 clock skew, O-4 coverage, A-5, fetch linking): those scans read the index alone instead
-- of one table row per poll (tests/bench/analyzer-replay.sh: findings over 1.2 million
-- observations). Same leading columns as before, so every query that used the old index uses
-- this one.
DROP INDEX observation_by_series_cover;
CREATE INDEX observation_by_series_cover2 ON observation (series_id, t, status, outcome,
	version_id, ttl_s, rtt, ede);
