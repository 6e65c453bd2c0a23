#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# obs-web under 200 concurrent API clients on loopback (issue 7): obs-web serves a recorded
# dataset; build/bench/web-load opens 200 keep-alive connections that each ask 20 times for
# a cheap document (the API index), the zone's status (the cache-state model) and its
# servers; median and p99 latency per endpoint, 3 runs each (the median run is reported).
set -euo pipefail
cd "$(dirname "$0")/../.."
WEB=${WEB:-bin/obs-web}
LOAD=build/bench/web-load
T=$(mktemp -d /tmp/obs-webload.XXXXXX)
PID=""
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
gz=datasets/zsk-roll-sign-early/collector.db.gz
[ -f "$gz" ] || { echo "web-load: $gz missing; skipped"; exit 0; }
gzip -dc "$gz" >"$T/c.db"
bin/obs-analyzer ingest --db "$T/a.db" "$T/c.db" >/dev/null
ADDR=127.0.3.8
PORT=$((20000 + RANDOM % 20000))
"$WEB" --db "$T/a.db" --listen "$ADDR:$PORT" --state-dir "$T/rrd" -q >"$T/web.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://$ADDR:$PORT/api/v1" >/dev/null 2>&1 && break; sleep 0.1; done
for path in /api/v1 /api/v1/zones/example.lab./status /api/v1/zones/example.lab./servers; do
	for _ in 1 2 3; do "$LOAD" "$ADDR" "$PORT" "$path" 200 20; done >"$T/runs"
	# the run with the median p99
	line=$(awk '{ match($0, /p99 [0-9.]+/); print substr($0, RSTART + 4, RLENGTH - 4) "\t" $0 }' "$T/runs" |
		sort -g | sed -n 2p | cut -f2-)
	echo "web-load $path (median of 3 runs by p99): $line"
done
