#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Analyzer replay benchmark: ingest + findings over a collector database, against the rate at
# which the sqlite3 command line scans the same database's observations. Medians of 3 runs.
# Usage: tests/bench/analyzer-replay.sh [COLLECTOR.db]  (default: the newest datasets/*.db)
# Target: replay rate >= 0.25 x the sqlite3 scan rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${1:-$(ls -t datasets/*.db 2>/dev/null | head -1 || true)}
if [ -z "$db" ] || [ ! -f "$db" ]; then
	echo "analyzer-replay: no collector database (pass one, or record one into datasets/); skipped"
	exit 0
fi
rows=$(sqlite3 "$db" 'SELECT count(*) FROM observation')
median() { sort -n | sed -n 2p; }
t_scan=$(for i in 1 2 3; do
	s=$(date +%s.%N); sqlite3 "$db" 'SELECT sum(t), sum(status), sum(coalesce(version_id,0)) FROM observation' >/dev/null
	echo "$(date +%s.%N) - $s" | bc; done | median)
t_an=$(for i in 1 2 3; do
	a=$(mktemp -u /tmp/obs-bench-XXXXXX.db)
	s=$(date +%s.%N); bin/obs-analyzer ingest --db "$a" "$db" >/dev/null
	bin/obs-analyzer findings --db "$a" >/dev/null
	echo "$(date +%s.%N) - $s" | bc; rm -f "$a" "$a"-wal "$a"-shm; done | median)
ratio=$(echo "scale=3; $t_scan / $t_an" | bc)
echo "analyzer-replay: $rows observations; sqlite3 scan ${t_scan}s, ingest+findings ${t_an}s;" \
	"replay rate = ${ratio} x scan rate (target >= 0.25)"
