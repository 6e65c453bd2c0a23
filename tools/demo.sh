#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: start the loopback multi-signer testbed, watch it with the collector for a while,
# and show what was recorded. (The live provider change gated on verdicts comes with the
# analyzer and web issues.) Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${DEMO_SECONDS:-20}
DB=/tmp/obs-demo-vantage-1.db
export TB_DIR=${TB_DIR:-/tmp/obs-demo-testbed}
rm -f "$DB" "$DB-wal" "$DB-shm"

stop() {
	[ -n "${CP:-}" ] && kill "$CP" 2>/dev/null && wait "$CP" 2>/dev/null
	tests/testbed/tb stop >/dev/null 2>&1 || true
}
trap stop EXIT INT TERM

echo "== starting the testbed (root, lab., providers A/B/C on Knot/NSD/BIND, 4 resolvers, 3 pinned)"
tests/testbed/tb start
echo "== collecting for $SECS s into $DB (stats every 5 s)"
sed -e "s|db: /tmp/obs-vantage-1.db|db: $DB|" -e 's/stats-interval: 10s/stats-interval: 5s/' \
	collector/example.yaml >/tmp/obs-demo.yaml
bin/obs-collector run -c /tmp/obs-demo.yaml &
CP=$!
sleep "$SECS"
kill -TERM "$CP"
wait "$CP" || true
CP=""
q() { sqlite3 -header -column "$DB" "$1"; }
echo
echo "== servers found and what they answered"
q "SELECT t.kind, t.origin, t.host, t.address,
	  sum(o.status = 0) AS answered, sum(o.status = 1) AS timeouts
   FROM target t JOIN series s ON s.target_id = t.id JOIN observation o ON o.series_id = s.id
   WHERE t.kind != 'resolver' GROUP BY t.id ORDER BY t.kind, t.origin"
echo
echo "== DNSKEY RRsets served per provider (versions: keys, signatures, largest TTL)"
q "SELECT t.origin AS provider, v.id AS version, v.rr_count AS keys, v.sig_count AS sigs,
	  v.ttl_max_s AS ttl, count(*) AS polls
   FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id
   JOIN version v ON v.id = o.version_id
   WHERE t.kind = 'provider' AND s.role = 'dnskey' GROUP BY 1, 2 ORDER BY 1"
echo
echo "== what clients saw through each resolver (outcome classes of CD=0/CD=1 pairs)"
q "SELECT t.origin AS resolver, s.role,
	  sum(o.outcome = 1) AS secure, sum(o.outcome = 2) AS insecure,
	  sum(o.outcome = 3) AS bogus, sum(o.outcome = 4) AS lost
   FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id
   WHERE t.kind = 'resolver' AND s.flags & 2 = 0 AND o.outcome IS NOT NULL
   GROUP BY 1, 2 ORDER BY 1, 2"
echo
echo "Database: $DB (schema: schemas/collector/0001_init.sql)"
