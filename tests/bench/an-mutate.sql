-- SPDX-License-Identifier: MIT
-- tests/bench/an-outputs-diff.sh: applied to a copy of datasets/alg-roll-keys-early's collector
-- database, it makes a history that raises what the recorded datasets never do: T-1 (TTLs
-- above the authoritative one), O-4 (late, and never served), O-2 (EDE 7, 8, 17), A-5, O-3, a
-- tie in time across two series, and a lost-resolution glitch left open at the end.
-- T-1: bind DNSKEY answers with TTLs far above the authoritative one; kresd one poll
UPDATE observation SET ttl_s = ttl_s + 100 WHERE series_id = 17 AND id IN (SELECT id FROM observation WHERE series_id = 17 AND status = 0 AND ttl_s IS NOT NULL ORDER BY t LIMIT 10 OFFSET 20);
UPDATE observation SET ttl_s = ttl_s + 7 WHERE id = (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 4 AND qtype = 48 AND flags = 5) AND status = 0 AND ttl_s IS NOT NULL ORDER BY t LIMIT 1 OFFSET 30);
-- O-4 late: bind's DS answers return the old DS (45) near the end, TTLs 31, 29, 20
UPDATE observation SET version_id = 45, ttl_s = 31 WHERE id IN (SELECT id FROM observation WHERE series_id = 19 AND status = 0 ORDER BY t DESC LIMIT 4);
UPDATE observation SET version_id = 45, ttl_s = 29 WHERE id IN (SELECT id FROM observation WHERE series_id = 19 AND status = 0 ORDER BY t DESC LIMIT 2 OFFSET 4);
UPDATE observation SET version_id = 45, ttl_s = 25, ede = '3' WHERE id IN (SELECT id FROM observation WHERE series_id = 20 AND status = 0 ORDER BY t DESC LIMIT 2);
UPDATE observation SET version_id = 45, ttl_s = 31, ede = '19' WHERE id IN (SELECT id FROM observation WHERE series_id = 20 AND status = 0 ORDER BY t DESC LIMIT 1 OFFSET 3);
-- O-4 never served: a www A version only a resolver returned
INSERT INTO version (id, hash, kind, owner, type, rr_count, sig_count, rdata, rrsig, ttl_max_s, ttl_min_s, first_seen, last_seen) SELECT 900, randomblob(32), kind, owner, type, rr_count, sig_count, CAST(rdata || x'00' AS BLOB), rrsig, ttl_max_s, ttl_min_s, first_seen, last_seen FROM version WHERE id = 12;
UPDATE observation SET version_id = 900 WHERE id IN (SELECT id FROM observation WHERE series_id = 23 AND status = 0 AND version_id IS NOT NULL ORDER BY t LIMIT 3 OFFSET 10);
-- O-2: EDE 7 / 8 / 17 / "7,8"
UPDATE observation SET ede = '7' WHERE id IN (SELECT id FROM observation WHERE series_id = 25 ORDER BY t LIMIT 3 OFFSET 10);
UPDATE observation SET ede = '8' WHERE id IN (SELECT id FROM observation WHERE series_id = 21 ORDER BY t LIMIT 1 OFFSET 12);
UPDATE observation SET ede = '17' WHERE id IN (SELECT id FROM observation WHERE series_id = 21 ORDER BY t LIMIT 1 OFFSET 14);
UPDATE observation SET ede = '7,8' WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 4 AND role = 'canary' AND flags = 7 LIMIT 1) ORDER BY t LIMIT 2 OFFSET 50);
-- a tie in time across two series of bind, both EDE 7 (and an A-5 EDE 1 tie)
UPDATE observation SET ede = '7,1', t = (SELECT t FROM observation WHERE series_id = 25 ORDER BY t LIMIT 1 OFFSET 30) WHERE id = (SELECT id FROM observation WHERE series_id = 23 ORDER BY t LIMIT 1 OFFSET 30);
UPDATE observation SET ede = '7,1' WHERE id = (SELECT id FROM observation WHERE series_id = 25 ORDER BY t LIMIT 1 OFFSET 30);
-- A-5: pdns EDE 1, 2, "1,2" and answers without AD on canaries
UPDATE observation SET ede = '1' WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 5 AND role = 'canary' AND flags = 5 LIMIT 1) ORDER BY t LIMIT 2 OFFSET 5);
UPDATE observation SET ede = '2' WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 5 AND role = 'soa' AND flags = 5 LIMIT 1) ORDER BY t LIMIT 1 OFFSET 25);
UPDATE observation SET ede = '1,2' WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 5 AND role = 'nx' AND flags = 5 LIMIT 1) ORDER BY t LIMIT 1 OFFSET 27);
UPDATE observation SET ede = '1' WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 5 AND role = 'bogus' AND flags = 5 LIMIT 1) ORDER BY t LIMIT 1 OFFSET 27);
UPDATE observation SET outcome = 2 WHERE outcome = 1 AND id IN (SELECT id FROM observation WHERE series_id IN (SELECT id FROM series WHERE target_id = 5 AND role IN ('canary', 'dnskey') AND flags = 5) ORDER BY t LIMIT 6 OFFSET 40);
-- O-3: pinned-c never validates, its bogus canary resolves
UPDATE observation SET outcome = 2 WHERE outcome = 1 AND series_id IN (SELECT id FROM series WHERE target_id = 8);
UPDATE observation SET outcome = 2 WHERE outcome = 3 AND series_id IN (SELECT id FROM series WHERE target_id = 8 AND role = 'bogus');
-- glitches: unbound loses resolution of its SOA for a while, a glitch left open at the end
UPDATE observation SET outcome = 4 WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 2 AND role = 'soa' AND flags = 5) ORDER BY t LIMIT 5 OFFSET 20);
UPDATE observation SET outcome = 3 WHERE id IN (SELECT id FROM observation WHERE series_id = (SELECT id FROM series WHERE target_id = 2 AND role = 'canary' AND flags = 5 LIMIT 1) ORDER BY t DESC LIMIT 3);
