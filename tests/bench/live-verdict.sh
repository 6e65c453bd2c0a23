#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live verdict freshness (issue 5): obs-web in live mode over a collector database; a new
# authoritative observation is committed to that database (as the collector would), and the
# zone's status document is polled every 20 ms until its model_hash changes. Reports the
# median and the largest delay over 9 commits. Target: within 1 s of the commit.
# Usage: tests/bench/live-verdict.sh [INGEST_PERIOD]  (default: obs-web's default)
set -euo pipefail
cd "$(dirname "$0")/../.."
WEB=${WEB:-bin/obs-web}
T=$(mktemp -d /tmp/obs-livebench.XXXXXX)
PID=""
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
gz=datasets/zsk-roll-correct/collector.db.gz
[ -f "$gz" ] || { echo "live-verdict: $gz missing; skipped"; exit 0; }
gzip -dc "$gz" >"$T/c.db"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/token"
chmod 600 "$T/token"
PORT=$((20000 + RANDOM % 20000))
ADDR=127.0.3.7
args=(--db "$T/a.db" --listen "$ADDR:$PORT" --token-file "$T/token" --collector "$T/c.db"
	--state-dir "$T/rrd")
[ -n "${1:-}" ] && args+=(--ingest-every "$1")
"$WEB" "${args[@]}" >"$T/web.log" 2>&1 &
PID=$!
URL="http://$ADDR:$PORT/api/v1/zones/example.lab./status"
for _ in $(seq 100); do curl -sf "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
hash() { curl -sf "$URL" | jq -r .model_hash; }
sid=$(sqlite3 "$T/c.db" "SELECT s.id FROM series s JOIN target t ON t.id = s.target_id
	WHERE t.kind = 'provider' AND s.role = 'soa' ORDER BY s.id LIMIT 1")
for i in $(seq 9); do
	h0=$(hash)
	# the next poll of that series: a timeout (lame) answer, so the model changes
	now_us=$(date +%s%6N)
	sqlite3 "$T/c.db" "INSERT INTO observation (t, series_id, attempt, transport, status)
		VALUES ($now_us, $sid, 0, 0, 1)"
	s=$(date +%s%N)
	while [ "$(hash)" = "$h0" ]; do
		sleep 0.02
		[ $(($(date +%s%N) - s)) -lt 10000000000 ] || break
	done
	echo "$(( ($(date +%s%N) - s) / 1000000 ))"
	# and a good answer again
	sqlite3 "$T/c.db" "INSERT INTO observation (t, series_id, attempt, transport, status, rcode,
		flags, version_id, ttl_s) SELECT $(date +%s%6N), series_id, 0, 0, 0, rcode, flags,
		version_id, ttl_s FROM observation WHERE series_id = $sid AND status = 0
		ORDER BY t DESC LIMIT 1"
	sleep 1.2
done | sort -n | awk '{ v[NR] = $1 } END { printf "live-verdict: status reflects a committed observation after median %d ms, max %d ms over %d commits (target <= 1000 ms)\n", v[int((NR + 1) / 2)], v[NR], NR }'
