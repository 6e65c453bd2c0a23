-- SPDX-License-Identifier: MIT
-- Analysis database, migration 1: what the analyzer ingests from any number of collector
-- databases, and what it derives. One writer (obs-analyzer ingest, or obs-web in live mode).
-- Times are integers: microseconds since the epoch, UTC, in the clock of the collector that
-- made the row (collector.clock_offset_us says how far that clock is from the reference
-- collector's). Durations are microseconds unless the column name ends in _s (seconds).

-- collector: one ingested collector database. name is the collector's meta 'collector' value
-- (a collector owns one file). schema_version is the collector schema seen at the last ingest.
-- clock_offset_us: this collector's clock minus the reference collector's (the one with the
-- lowest id, offset 0), estimated from transitions both saw at the same server and question;
-- [offset_lo_us, offset_hi_us] is the interval every sample allows (NULL when there are no
-- samples); offset_samples counts the shared transitions used.
CREATE TABLE collector (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	path TEXT NOT NULL,
	schema_version INTEGER NOT NULL,
	first_ingest INTEGER NOT NULL,
	last_ingest INTEGER NOT NULL,
	clock_offset_us INTEGER NOT NULL DEFAULT 0,
	offset_lo_us INTEGER,
	offset_hi_us INTEGER,
	offset_samples INTEGER NOT NULL DEFAULT 0
) STRICT;

-- hwm: per collector and source table, the largest source row id already ingested.
-- Ingest copies only rows above it, so ingesting twice changes nothing.
CREATE TABLE hwm (
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	tbl TEXT NOT NULL,
	last_id INTEGER NOT NULL,
	PRIMARY KEY (collector_id, tbl)
) STRICT, WITHOUT ROWID;

-- target: the collector's target rows (see the collector schema), one per collector.
-- src_id is the row id in the collector database.
CREATE TABLE target (
	id INTEGER PRIMARY KEY,
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	kind TEXT NOT NULL,
	zone TEXT NOT NULL,
	origin TEXT NOT NULL,
	host TEXT NOT NULL,
	address TEXT NOT NULL,
	pinned TEXT,
	first_seen INTEGER NOT NULL,
	UNIQUE (collector_id, src_id)
) STRICT;
CREATE INDEX target_by_zone ON target (zone, kind);

-- series: one question asked of one target with one set of flags (bit 0 RD, 1 CD, 2 DO).
CREATE TABLE series (
	id INTEGER PRIMARY KEY,
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	target_id INTEGER NOT NULL REFERENCES target (id),
	qname TEXT NOT NULL,
	qtype INTEGER NOT NULL,
	flags INTEGER NOT NULL,
	role TEXT NOT NULL,
	UNIQUE (collector_id, src_id)
) STRICT;
CREATE INDEX series_by_target ON series (target_id);

-- version: one distinct RRset content, merged across collectors by its content hash (the
-- collector's hash and blob encodings). ttl_max_s / ttl_min_s: the largest / smallest TTL an
-- authoritative server (parent or provider target) ever served for it; NULL while only
-- resolvers returned it. first_seen / last_seen: over authoritative observations.
CREATE TABLE version (
	id INTEGER PRIMARY KEY,
	hash BLOB NOT NULL UNIQUE,
	kind INTEGER NOT NULL,
	owner TEXT NOT NULL,
	type INTEGER NOT NULL,
	rr_count INTEGER NOT NULL,
	sig_count INTEGER NOT NULL,
	rdata BLOB NOT NULL,
	rrsig BLOB NOT NULL,
	ttl_max_s INTEGER,
	ttl_min_s INTEGER,
	first_seen INTEGER,
	last_seen INTEGER
) STRICT;

-- version_map: a collector's version row id -> the merged version.
CREATE TABLE version_map (
	collector_id INTEGER NOT NULL,
	src_id INTEGER NOT NULL,
	version_id INTEGER NOT NULL REFERENCES version (id),
	PRIMARY KEY (collector_id, src_id)
) STRICT, WITHOUT ROWID;

-- observation: every query attempt of every collector (status, rcode, flags, outcome as in
-- the collector schema). wire_src_id: the response's row in the collector's wire table (the
-- raw bytes stay there, for replay).
CREATE TABLE observation (
	id INTEGER PRIMARY KEY,
	collector_id INTEGER NOT NULL,
	src_id INTEGER NOT NULL,
	t INTEGER NOT NULL,
	series_id INTEGER NOT NULL REFERENCES series (id),
	attempt INTEGER NOT NULL,
	transport INTEGER NOT NULL,
	status INTEGER NOT NULL,
	rtt INTEGER,
	rcode INTEGER,
	flags INTEGER,
	ede TEXT,
	outcome INTEGER,
	version_id INTEGER,
	ttl_s INTEGER,
	wire_src_id INTEGER,
	UNIQUE (collector_id, src_id)
) STRICT;
CREATE INDEX observation_by_series ON observation (series_id, t);

-- run: a maximal stretch of answered polls (status 0) of one series that returned one
-- version (version_id 0: answered without the RRset, e.g. REFUSED). Derived from observation
-- at ingest (reference §5.2): lo = prev_poll (the last answered poll before first_seen, NULL
-- = -inf), hi = next_poll (the first answered poll that returned something else, NULL while
-- open). ttl_max_s: the largest TTL served in the run.
CREATE TABLE run (
	id INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL REFERENCES series (id),
	version_id INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	count INTEGER NOT NULL,
	prev_poll INTEGER,
	next_poll INTEGER,
	ttl_max_s INTEGER,
	first_obs_id INTEGER NOT NULL,
	last_obs_id INTEGER NOT NULL
) STRICT;
CREATE INDEX run_by_series ON run (series_id, first_seen);
CREATE INDEX run_by_version ON run (version_id);

-- zkey: the zone key table (reference §5.5): every DNSKEY or CDNSKEY RDATA ever seen for a
-- zone. fp = SHA-256 over the DNSKEY RDATA; tag = RFC 4034 App. B key tag.
CREATE TABLE zkey (
	id INTEGER PRIMARY KEY,
	zone TEXT NOT NULL,
	alg INTEGER NOT NULL,
	tag INTEGER NOT NULL,
	flags INTEGER NOT NULL,
	fp BLOB NOT NULL,
	rdata BLOB NOT NULL,
	UNIQUE (zone, fp)
) STRICT;

-- zkey_version: which DNSKEY / CDNSKEY versions publish a key (the providers that publish it
-- follow through run -> series -> target.origin).
CREATE TABLE zkey_version (
	zkey_id INTEGER NOT NULL REFERENCES zkey (id),
	version_id INTEGER NOT NULL REFERENCES version (id),
	PRIMARY KEY (zkey_id, version_id)
) STRICT, WITHOUT ROWID;

-- sigcheck: the memo of cryptographic verification, one row per (RRset content, RRSIG, key):
-- hash = SHA-256(version hash || RRSIG RDATA || DNSKEY RDATA). ok: 1 the signature verifies,
-- 0 it does not. Time validity is not part of it: that is the segment
-- [inception, expiration] of the RRSIG, judged at any instant.
CREATE TABLE sigcheck (
	hash BLOB PRIMARY KEY,
	ok INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- ns_listing, ns_address: copies of the collector tables (upserted at every ingest).
CREATE TABLE ns_listing (
	collector_id INTEGER NOT NULL,
	src_id INTEGER NOT NULL,
	zone TEXT NOT NULL,
	source_target_id INTEGER NOT NULL,
	ns TEXT NOT NULL,
	ttl_s INTEGER NOT NULL,
	first_listed INTEGER NOT NULL,
	last_listed INTEGER NOT NULL,
	PRIMARY KEY (collector_id, src_id)
) STRICT;

CREATE TABLE ns_address (
	collector_id INTEGER NOT NULL,
	src_id INTEGER NOT NULL,
	zone TEXT NOT NULL,
	ns TEXT NOT NULL,
	address TEXT NOT NULL,
	source TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (collector_id, src_id)
) STRICT;
