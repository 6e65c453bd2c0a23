-- SPDX-License-Identifier: MIT
-- Analysis database, migration 2: the collectors' passive capture (collector migration 2),
-- ingested with the same per-collector high-water marks as observations (hwm.tbl
-- 'passive_packet', 'capture'). Passive observations themselves are ordinary observation rows
-- (their target has kind 'passive': origin = the client's address, address = the server's);
-- these tables add what a fetch needs beside them. Times are microseconds in the clock of the
-- collector that made the row, as in migration 1.

-- passive_pair: one DNS query seen on the wire with its response (or without one), copied from
-- the collector's passive_packet joined to its observation. Denormalised for the fetch
-- analysis (analyzer/fetch.h): one row per passive observation.
--   collector_id, src_id: the collector and its passive_packet.observation_id (= the
--     collector's observation id); observation_id: the same observation in this database.
--   zone: the zone the question falls under ('' for none of the configured zones).
--   client, client_port: who asked (a resolver's upstream address, or a stub).
--   server, server_port: who was asked (an authoritative server, or a resolver).
--   t_query: capture time of the query; t_response: of the response (NULL: unanswered).
--   transport: 0 UDP, 1 TCP.
--   qname, qtype: the question; qflags: the query's bits (bit 0 RD, 1 CD, 2 DO), so RD = 0
--     is an iterative query (a resolver fetching from an authoritative server) and RD = 1 a
--     client asking a resolver.
--   status, rcode, rflags, ede: the observation's (status 0 answered, 1 unanswered, 7 a
--     response without a query; rflags the response bits: 1 AA, 2 TC, 4 RD, 8 RA, 16 AD,
--     32 CD; ede comma separated).
--   version_id: the version the response carried, mapped through version_map (NULL: none);
--     ttl_s: its TTL as served in this response.
CREATE TABLE passive_pair (
	id INTEGER PRIMARY KEY,
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	observation_id INTEGER NOT NULL REFERENCES observation (id),
	zone TEXT NOT NULL,
	client TEXT NOT NULL,
	client_port INTEGER NOT NULL,
	server TEXT NOT NULL,
	server_port INTEGER NOT NULL,
	t_query INTEGER NOT NULL,
	t_response INTEGER,
	transport INTEGER NOT NULL,
	qname TEXT NOT NULL,
	qtype INTEGER NOT NULL,
	qflags INTEGER NOT NULL,
	status INTEGER NOT NULL,
	rcode INTEGER,
	rflags INTEGER,
	ede TEXT,
	version_id INTEGER REFERENCES version (id),
	ttl_s INTEGER,
	UNIQUE (collector_id, src_id)
) STRICT;
CREATE INDEX passive_pair_by_client ON passive_pair (zone, client, t_query);
CREATE INDEX passive_pair_by_server ON passive_pair (zone, server, t_query);

-- capture: one capture source of a collector (a live interface or a file), copied.
--   source: 'live:IFACE' or 'file:PATH'; linktype, snaplen: libpcap's; started, ended: when
--   the collector opened and closed it (for a file: when it was read, not the packets' times;
--   ended NULL while a live capture runs; updated at every ingest).
CREATE TABLE capture (
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	src_id INTEGER NOT NULL,
	source TEXT NOT NULL,
	linktype INTEGER NOT NULL,
	snaplen INTEGER NOT NULL,
	started INTEGER NOT NULL,
	ended INTEGER,
	PRIMARY KEY (collector_id, src_id)
) STRICT;

-- capture_drop: the capture windows [t_start, t_end) of a collector's capture_stats in which
-- libpcap dropped packets (dropped by the kernel, ifdropped by the interface; received as
-- counted). In such a window the passive evidence is incomplete: nothing is concluded from a
-- packet's absence in it. Windows without drops are not copied (they are complete).
CREATE TABLE capture_drop (
	collector_id INTEGER NOT NULL REFERENCES collector (id),
	capture_src_id INTEGER NOT NULL,
	t_start INTEGER NOT NULL,
	t_end INTEGER NOT NULL,
	received INTEGER NOT NULL,
	dropped INTEGER NOT NULL,
	ifdropped INTEGER NOT NULL,
	PRIMARY KEY (collector_id, capture_src_id, t_start)
) STRICT, WITHOUT ROWID;
