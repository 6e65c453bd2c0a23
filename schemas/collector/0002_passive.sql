-- SPDX-License-Identifier: MIT
-- Collector database, migration 2: passive capture (libpcap, live or from files).

-- target gains kind 'passive': a (client, server) pair seen on the wire. origin is the
-- client's address (a resolver's upstream side), host and address the server's.
-- SQLite cannot alter a CHECK constraint: the table is rebuilt with the same rows and ids.
CREATE TABLE target_v2 (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('parent', 'provider', 'resolver', 'passive')),
	zone TEXT NOT NULL,             -- '' for passive traffic outside every configured zone
	origin TEXT NOT NULL,
	host TEXT NOT NULL,
	address TEXT NOT NULL,
	pinned TEXT,
	first_seen INTEGER NOT NULL,
	UNIQUE (kind, zone, origin, host, address)
) STRICT;
INSERT INTO target_v2 SELECT id, kind, zone, origin, host, address, pinned, first_seen FROM target;
DROP TABLE target;
ALTER TABLE target_v2 RENAME TO target;

-- observation.status gains 7: unmatched (a response seen on the wire with no query before
-- it). For passive series, status 1 (timeout) means a query seen without a response within
-- the pairing window, t is the query's capture time and rtt the response's delay.

-- passive_packet: the wire facts of a passive observation that the observation row does not
-- hold: the client's and server's ports, the response's capture time, and the transport.
CREATE TABLE passive_packet (
	observation_id INTEGER PRIMARY KEY,
	client_port INTEGER NOT NULL,
	server_port INTEGER NOT NULL,
	t_response INTEGER,             -- NULL for unanswered queries
	transport INTEGER NOT NULL      -- 0 UDP, 1 TCP
) STRICT;

-- capture: one capture source: a live interface or a file.
CREATE TABLE capture (
	id INTEGER PRIMARY KEY,
	source TEXT NOT NULL,           -- 'live:IFACE' or 'file:PATH'
	linktype INTEGER NOT NULL,
	snaplen INTEGER NOT NULL,
	started INTEGER NOT NULL,
	ended INTEGER
) STRICT;

-- capture_stats: libpcap's counters for a live capture over [t_start, t_end): packets
-- received, dropped by the kernel (buffer full) and by the interface. A window with drops is
-- incomplete: nothing may be concluded from a packet's absence in it.
CREATE TABLE capture_stats (
	capture_id INTEGER NOT NULL,
	t_start INTEGER NOT NULL,
	t_end INTEGER NOT NULL,
	received INTEGER NOT NULL,
	dropped INTEGER NOT NULL,
	ifdropped INTEGER NOT NULL,
	PRIMARY KEY (capture_id, t_start)
) STRICT, WITHOUT ROWID;
