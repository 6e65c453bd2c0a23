-- SPDX-License-Identifier: MIT
-- Collector database, migration 1: the evidence store of one collector (one writer).
-- Times are integers: microseconds since the epoch, UTC. Durations are microseconds unless the
-- column name ends in _s (seconds, as in DNS TTLs).

-- meta: facts about this database: collector name, created time.
CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- target: one thing the collector queries: an address of a parent server, an address of a
-- provider's name server, or a resolver (a vantage). origin is 'PARENT', the provider name,
-- '?' for an NS name that maps to no configured provider, or the resolver name.
CREATE TABLE target (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('parent', 'provider', 'resolver')),
	zone TEXT NOT NULL,
	origin TEXT NOT NULL,
	host TEXT NOT NULL,             -- NS host name, or resolver name
	address TEXT NOT NULL,          -- "ADDR" or "ADDR@PORT"
	pinned TEXT,                    -- resolvers only: the provider it is pinned to
	first_seen INTEGER NOT NULL,    -- when the target was first polled
	UNIQUE (kind, zone, origin, host, address)
) STRICT;

-- series: one question asked of one target with one set of flags; runs and observations
-- hang off it. flags: bit 0 RD, bit 1 CD, bit 2 DO. role says why it is asked: soa, dnskey,
-- cds, cdnskey, csync, ns, ds, referral, canary, nx, bogus, addr.
CREATE TABLE series (
	id INTEGER PRIMARY KEY,
	target_id INTEGER NOT NULL REFERENCES target (id),
	qname TEXT NOT NULL,
	qtype INTEGER NOT NULL,
	flags INTEGER NOT NULL,
	role TEXT NOT NULL,
	UNIQUE (target_id, qname, qtype, flags)
) STRICT;

-- wire: the raw bytes of every response, deduplicated. The two ID bytes are zeroed before
-- hashing and storing (the ID is random per query). hash = SHA-256 of data.
CREATE TABLE wire (
	id INTEGER PRIMARY KEY,
	hash BLOB NOT NULL UNIQUE,
	data BLOB NOT NULL
) STRICT;

-- version: one distinct RRset content, content-addressed; TTL is not part of the identity.
-- kind: 1 answer (the RRset of qname/qtype), 2 referral (the delegation NS RRset),
-- 3 nxdomain and 4 nodata (the negative proof: SOA, NSEC/NSEC3 and their RRSIGs).
-- rdata: for kinds 1 and 2 the RDATA set in canonical form and order (RFC 4034 6.2, 6.3),
-- each record as a 2-byte length then the RDATA; for kinds 3 and 4 each record of the proof
-- as a 2-byte length then its canonical wire form (owner, type, class, TTL 0, RDATA).
-- rrsig: the RRSIG RDATA covering the set, same encoding, sorted by wire form.
-- hash = SHA-256 over kind, owner, type and both blobs.
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
	ttl_max_s INTEGER NOT NULL,     -- the largest TTL ever seen for this version
	ttl_min_s INTEGER NOT NULL,     -- the smallest
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
) STRICT;

-- observation: one query attempt and its outcome; every attempt is a row.
-- status: 0 answered, 1 timeout, 2 network error, 3 truncated (TC=1 over UDP; a TCP attempt
-- follows), 4 malformed (failed the guard or ldns), 5 mismatched (only answers that did not
-- match arrived before the deadline), 6 dropped (a queue cap was reached; never sent).
-- transport: 0 UDP, 1 TCP. flags: the response header bits: 1 AA, 2 TC, 4 RD, 8 RA, 16 AD,
-- 32 CD. ede: Extended DNS Error codes, comma separated. outcome (resolver series with
-- CD=0 and CD=1 pairs): 1 secure, 2 insecure, 3 bogus, 4 lost. ttl_s: the TTL of the
-- version as served in this answer (for a resolver: the remaining TTL in its cache).
CREATE TABLE observation (
	id INTEGER PRIMARY KEY,
	t INTEGER NOT NULL,
	series_id INTEGER NOT NULL,
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
	wire_id INTEGER
) STRICT;

-- run: a maximal stretch of answered polls of one series that returned one version.
-- prev_poll: the last answered poll of the series before first_seen (NULL: none, i.e. -inf);
-- next_poll: the first answered poll after last_seen, which returned something else (NULL
-- while the run is open). Polls without an answer (timeouts, errors) neither extend nor close
-- a run. These are the conservative bounds of the cache-state model.
CREATE TABLE run (
	id INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL,
	version_id INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	count INTEGER NOT NULL,
	prev_poll INTEGER,
	next_poll INTEGER,
	ttl_max_s INTEGER NOT NULL
) STRICT;
CREATE INDEX run_by_series ON run (series_id, first_seen);

-- ns_listing: an NS host name listed for the zone by a target (the parent's referral, or a
-- provider's apex NS RRset), with the NS TTL and the first and last time it was listed. The
-- collector keeps polling a name's servers until last_listed + ttl_s (reachability).
CREATE TABLE ns_listing (
	id INTEGER PRIMARY KEY,
	zone TEXT NOT NULL,
	source_target_id INTEGER NOT NULL,
	ns TEXT NOT NULL,
	ttl_s INTEGER NOT NULL,
	first_listed INTEGER NOT NULL,
	last_listed INTEGER NOT NULL,
	UNIQUE (zone, source_target_id, ns)
) STRICT;

-- ns_address: an address of an NS host name and where it was learnt: 'config', 'glue', or
-- 'resolver' (the address-resolver's answer).
CREATE TABLE ns_address (
	id INTEGER PRIMARY KEY,
	zone TEXT NOT NULL,
	ns TEXT NOT NULL,
	address TEXT NOT NULL,
	source TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	UNIQUE (zone, ns, address, source)
) STRICT;

-- counter: the collector's cumulative counters (polls, answers by status, drops, caps),
-- sampled at every stats interval; nothing dropped is silent.
CREATE TABLE counter (
	t INTEGER NOT NULL,
	name TEXT NOT NULL,
	value INTEGER NOT NULL,
	PRIMARY KEY (t, name)
) STRICT, WITHOUT ROWID;
