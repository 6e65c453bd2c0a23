#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Verdict latency benchmark (issue 5): a zone with 3 providers and a day of 1 s polls. The
# recorded transfer dataset (providers a, b, c and the parent) is extended by SQL with 86,400
# more rounds of every authoritative series (the last answer repeated), ingested, and then
# `obs-analyzer whatif` (a process per question: database open, model load, evaluation) and
# `status` are timed, 11 runs each, and the same whatif in process (build/bench/whatif-bench,
# 101 answers on one open database: what obs-web pays); medians and 90th percentiles.
# Target: a whatif answered in at most 10 ms.
# Usage: tests/bench/whatif-latency.sh [ROUNDS]  (default 86400)
set -euo pipefail
cd "$(dirname "$0")/../.."
AN=${AN:-bin/obs-analyzer}
ROUNDS=${1:-86400}
T=$(mktemp -d /tmp/obs-wibench.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
gz=datasets/add-provider-correct/collector.db.gz
[ -f "$gz" ] || { echo "whatif-latency: $gz missing (datasets/record.sh); skipped"; exit 0; }
gzip -dc "$gz" >"$T/c.db"
s=$(date +%s.%N)
sqlite3 "$T/c.db" <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TEMP TABLE last AS
  SELECT o.series_id AS sid, o.status, o.rtt, o.rcode, o.flags, o.outcome, o.version_id,
         o.ttl_s, o.wire_id, o.t - (SELECT max(t) FROM observation) AS off
  FROM observation o JOIN series s ON s.id = o.series_id JOIN target g ON g.id = s.target_id
  WHERE g.kind IN ('parent', 'provider') AND (s.flags & 1) = 0
    AND o.id = (SELECT max(id) FROM observation WHERE series_id = o.series_id);
WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $ROUNDS)
INSERT INTO observation (t, series_id, attempt, transport, status, rtt, rcode, flags, outcome,
                         version_id, ttl_s, wire_id)
  SELECT (SELECT max(t) FROM observation) + n * 1000000 + l.off, l.sid, 0, 0, l.status, l.rtt,
         l.rcode, l.flags, l.outcome, l.version_id, l.ttl_s, l.wire_id
  FROM k, last l;
SQL
rows=$(sqlite3 "$T/c.db" 'SELECT count(*) FROM observation')
gen=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
s=$(date +%s.%N)
"$AN" ingest --db "$T/an.db" "$T/c.db" >/dev/null
ing=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
end=$(sqlite3 "$T/an.db" 'SELECT max(t_max) FROM obs_chunk')
at=$(jq -rn --argjson t "$end" '($t / 1e6 + 0.5) as $s | ($s | floor | todate | sub("Z$"; "")) + "." + ((($s * 1000 | floor) % 1000 + 1000 | tostring)[1:]) + "Z"')
provs=$(sqlite3 "$T/an.db" "SELECT count(DISTINCT origin) FROM target WHERE kind = 'provider'")
echo "whatif-latency: $rows observations ($ROUNDS rounds, $provs providers; generated in ${gen} s, ingested in ${ing} s)"
stats() { sort -g | awk '{ v[NR] = $1 } END { printf "median %.1f ms, p90 %.1f ms", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)] }'; }
timeit() {
	for i in $(seq 11); do
		s=$(date +%s%N)
		"$AN" "$@" >/dev/null
		echo "$(( ($(date +%s%N) - s) / 1000 ))" | awk '{ print $1 / 1000 }'
	done | stats
}
echo "  whatif sign-with (one step):       $(timeit whatif --db "$T/an.db" --zone example.lab. --at "$at" sign-with a 13/15951)"
echo "  whatif ns-set + ds-set (compound): $(timeit whatif --db "$T/an.db" --zone example.lab. --at "$at" ns-set parent ns.prova.lab. + ds-set 13/64206)"
echo "  status:                            $(timeit status --db "$T/an.db" --zone example.lab. --at "$at")"
echo "  (each figure above is a whole process: exec, open the database, load the model, answer)"
if [ -x build/bench/whatif-bench ]; then
	echo "  in process (as obs-web answers), one step:  $(build/bench/whatif-bench "$T/an.db" example.lab. "$at" 101 sign-with a 13/15951)"
	echo "  in process, compound step:                  $(build/bench/whatif-bench "$T/an.db" example.lab. "$at" 101 ns-set parent ns.prova.lab. + ds-set 13/64206)"
fi
echo "  (target: a whatif answered in at most 10 ms)"
