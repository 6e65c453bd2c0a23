-- SPDX-License-Identifier: MIT
-- Analysis database, migration 3: an index of the observations that did not get an
-- authoritative answer (timeout or other failure, an RCODE other than NOERROR/NXDOMAIN, or
-- AA=0), so the cache-state model finds a server's lame periods without scanning a day of
-- good polls. The expression is the model's lameness test (analyzer/model.c) verbatim: SQLite
-- uses a partial index only for a query with the same WHERE term.
CREATE INDEX observation_lame ON observation (series_id, t)
	WHERE status != 0 OR rcode NOT IN (0, 3) OR (flags & 1) = 0;
