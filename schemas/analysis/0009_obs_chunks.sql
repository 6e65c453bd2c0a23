-- SPDX-License-Identifier: MIT
-- Analysis database, migration 9: the polls are stored in chunks (analyzer/ochunk.h).
--
-- One row per poll made ingest copy and index every repetition of the same answer
-- (tests/bench/analyzer-replay.sh: 1.2 million polls, 3.4 s to ingest). obs_chunk holds up to
-- 512 consecutive polls of one series that share their key; what varies from poll to poll
-- is delta-coded in `polls` (see ochunk.c for the coding):
--   key      collector_id, attempt, transport, status, rcode, flags, ede, version_id,
--            recursive (1 for RD=1 series, else NULL): as the former observation columns
--   n        the number of polls; t_min, t_max their first and last time (times never go back
--            inside a chunk); id_first, id_last their first and last observation id (ids grow
--            inside a chunk); src_first, src_last the collector's row ids of the first and
--            last poll
--   ttl_last, wire_last  the last TTL and wire id coded (the next poll is coded against them)
-- `observation` is now the virtual table "obs_chunks" over these chunks: one row per poll,
-- the same columns and ids as the former table, so its readers are unchanged. Tools that open
-- the database without the analyzer (the sqlite3 shell) see obs_chunk but not observation.
--
-- The old rows cannot be re-coded in SQL: everything ingested from the collectors is
-- dropped here and the next ingest reads every collector database again from its start (the
-- analysis database only derives from them). The signature memo (sigcheck) is kept.
DROP TABLE observation;
DELETE FROM hwm;
DELETE FROM ttl_anomaly;
DELETE FROM passive_pair;
DELETE FROM capture_drop;
DELETE FROM capture;
DELETE FROM ns_address;
DELETE FROM ns_listing;
DELETE FROM zkey_version;
DELETE FROM zkey;
DELETE FROM run;
DELETE FROM version_map;
DELETE FROM version;
DELETE FROM series;
DELETE FROM target;
DELETE FROM collector;
CREATE TABLE obs_chunk (
	id INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL REFERENCES series (id),
	collector_id INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	transport INTEGER NOT NULL,
	status INTEGER NOT NULL,
	rcode INTEGER,
	flags INTEGER,
	ede TEXT,
	version_id INTEGER,
	recursive INTEGER,
	n INTEGER NOT NULL,
	t_min INTEGER NOT NULL,
	t_max INTEGER NOT NULL,
	id_first INTEGER NOT NULL,
	id_last INTEGER NOT NULL,
	src_first INTEGER NOT NULL,
	src_last INTEGER NOT NULL,
	ttl_last INTEGER NOT NULL,
	wire_last INTEGER NOT NULL,
	polls BLOB NOT NULL
) STRICT;
CREATE INDEX obs_chunk_by_series ON obs_chunk (series_id, t_min);
CREATE INDEX obs_chunk_by_id ON obs_chunk (id_last);
CREATE VIRTUAL TABLE observation USING obs_chunks;

-- obs_unsettled: the resolver polls ingested without an outcome among the last 100,000
-- collector rows (a collector sets a resolver poll's outcome once both answers of the round
-- are in, maybe after the row was ingested): the next ingest sets the outcomes that arrived
-- (in place, in the chunk) and forgets them, and those older than the window.
CREATE TABLE obs_unsettled (
	collector_id INTEGER NOT NULL,
	src_id INTEGER NOT NULL,
	id INTEGER NOT NULL,
	PRIMARY KEY (collector_id, src_id)
) STRICT, WITHOUT ROWID;
