-- SPDX-License-Identifier: MIT
-- Collector database, migration 3: TTL anomalies of an answered RRset (reference §3.3 T-5 (i)
-- and (ii)). The observation row keeps one TTL per answer (the minimum over the set); the
-- rarer facts that the RRs of the set carry different TTLs (RFC 2181 §5.2) or that its RRSIGs'
-- TTLs differ from the set's are recorded here, one row per observation that shows them, so an
-- ordinary observation costs nothing more. Answer and referral RRsets only (not the records
-- of a negative proof).
-- ttl_min_s / ttl_max_s: the smallest and largest TTL among the RRs of the set;
-- sig_ttl_min_s / sig_ttl_max_s: the same over the RRSIGs covering it (NULL: unsigned).
CREATE TABLE ttl_anomaly (
	observation_id INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL,
	t INTEGER NOT NULL,
	version_id INTEGER NOT NULL,
	ttl_min_s INTEGER NOT NULL,
	ttl_max_s INTEGER NOT NULL,
	sig_ttl_min_s INTEGER,
	sig_ttl_max_s INTEGER
) STRICT;
