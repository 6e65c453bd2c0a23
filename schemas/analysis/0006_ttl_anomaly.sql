-- SPDX-License-Identifier: MIT
-- Analysis database, migration 6: the collectors' TTL anomalies (collector migration 3; T-5
-- (i) and (ii), reference §3.3), ingested above a per-collector high-water mark (hwm.tbl
-- 'ttl_anomaly', on the collector's observation id). One row per observation whose answered
-- RRset showed one:
--   observation_id: the observation in this database (its series, version and time);
--   collector_id, src_id: the collector and its observation id;
--   t: the observation's time in that collector's clock (as observation.t);
--   ttl_min_s, ttl_max_s: the smallest and largest TTL among the RRs of the set (differ: (i));
--   sig_ttl_min_s, sig_ttl_max_s: the same over its RRSIGs (NULL: unsigned); differing from
--     ttl_min_s, the TTL a resolver keeps for the set: (ii).
CREATE TABLE ttl_anomaly (
	observation_id INTEGER PRIMARY KEY REFERENCES observation (id),
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	series_id INTEGER NOT NULL REFERENCES series (id),
	t INTEGER NOT NULL,
	version_id INTEGER,
	ttl_min_s INTEGER NOT NULL,
	ttl_max_s INTEGER NOT NULL,
	sig_ttl_min_s INTEGER,
	sig_ttl_max_s INTEGER,
	UNIQUE (collector_id, src_id)
) STRICT;
CREATE INDEX ttl_anomaly_by_series ON ttl_anomaly (series_id, t);
