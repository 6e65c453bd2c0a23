#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Analyzer replay benchmark: ingest + findings over a collector database, against the rate at
# which the sqlite3 command line scans the same database's observations. Medians of 3 runs.
# Usage: tests/bench/analyzer-replay.sh [COLLECTOR.db]  (default: the largest recorded dataset)
# Target: replay rate >= 0.25 x the sqlite3 scan rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/obs-anbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
db=${1:-}
if [ -z "$db" ]; then
	gz=$(ls -S datasets/*/collector.db.gz 2>/dev/null | head -1 || true)
	if [ -z "$gz" ]; then
		echo "analyzer-replay: no collector database (pass one, or run datasets/record.sh); skipped"
		exit 0
	fi
	gzip -dc "$gz" >"$T/c.db"
	db=$T/c.db
fi
rows=$(sqlite3 "$db" 'SELECT count(*) FROM observation')
now() { date +%s.%N; }
median() { sort -g | sed -n 2p; }
t_scan=$(for i in 1 2 3; do
	s=$(now)
	sqlite3 "$db" 'SELECT total(t), total(status), total(coalesce(version_id, 0)) FROM observation' >/dev/null
	awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}'
done | median)
t_an=$(for i in 1 2 3; do
	rm -f "$T"/an.db*
	s=$(now)
	bin/obs-analyzer ingest --db "$T/an.db" "$db" >/dev/null
	bin/obs-analyzer findings --db "$T/an.db" >/dev/null
	awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}'
done | median)
awk -v r="$rows" -v s="$t_scan" -v a="$t_an" 'BEGIN {
	printf "analyzer-replay: %d observations; sqlite3 scan %.3f s, ingest+findings %.3f s; replay rate = %.3f x scan rate (goal >= 0.25)\n", r, s, a, s / a }'
