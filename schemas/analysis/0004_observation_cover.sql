-- SPDX-License-Identifier: MIT
-- Analysis database, migration 4: the per-series index of observations carries the columns the
-- readers of a series' polls ask for (status, resolver outcome, version, TTL, RTT), so that
-- scanning a resolver's day of polls (observed glitches, fetch linking, T-1) reads the index
-- alone instead of one table row per poll: findings over 1.2 million observations took half
-- the time (tests/bench/analyzer-replay.sh). Same leading columns, so every query that used
-- observation_by_series uses this one.
DROP INDEX observation_by_series;
CREATE INDEX observation_by_series_cover ON observation (series_id, t, status, outcome,
	version_id, ttl_s, rtt);
