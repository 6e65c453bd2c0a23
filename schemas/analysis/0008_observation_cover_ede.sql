-- SPDX-License-Identifier: MIT
-- Analysis database, migration 7: cheaper observation indexes (tests/bench/analyzer-replay.sh,
-- 1.2 million observations).
--
-- The per-series covering index of migration 4 also carries the Extended DNS Error codes, the
-- last column the readers of a resolver's polls ask for (O-2 clock skew, O-4 coverage, A-5,
-- fetch linking): those scans read the index alone instead of one table row per poll. Its
-- third column is the row id, so the readers that order a series' polls by (t, id) (observed
-- glitches, the lameness stretches) get them in index order instead of sorting each run of
-- equal times. Same leading columns as before, so every query that used the old index uses
-- this one.
DROP INDEX observation_by_series_cover;
CREATE INDEX observation_by_series_cover2 ON observation (series_id, t, id, status, outcome,
	version_id, ttl_s, rtt, ede);

-- recursive: 1 when the series' question was asked with RD=1 (a resolver poll, or a client's
-- query to a resolver seen on the wire); NULL otherwise (and for rows written without it).
-- Resolvers answer with AA=0, so every resolver poll passed migration 3's lameness test and
-- two thirds of the observations sat in observation_lame, which only the cache-state model
-- reads, for RD=0 (authoritative) series. The index now leaves the rows marked recursive out;
-- its readers add `recursive IS NULL`, which holds for every row of an RD=0 series.
ALTER TABLE observation ADD COLUMN recursive INTEGER;
UPDATE observation SET recursive = 1 WHERE series_id IN (SELECT id FROM series WHERE
	(flags & 1) != 0);
DROP INDEX observation_lame;
CREATE INDEX observation_lame2 ON observation (series_id, t)
	WHERE recursive IS NULL AND (status != 0 OR rcode NOT IN (0, 3) OR (flags & 1) = 0);
