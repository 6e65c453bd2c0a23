#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Analyzer replay benchmark: ingest + findings over a large collector database, against the
# rate at which the sqlite3 command line scans the same database's observations. Medians of 3
# alternating runs (scans, replay, scans, replay, ...). Two scans: the table (every column of
# every row, `SELECT *`, the issue's "scans the same database") and a lighter one (three
# columns summed, nothing printed). An analyzer reads every poll's 14 columns, so the lighter
# one is a stricter reference than any reader of every row can meet: reading those 14 columns
# alone from C takes ~4x its time.
# The database is generated here (build/bench/replay-gen, deterministic, a few seconds): the
# recording datasets/alg-roll-keys-early (3 providers, 7 resolvers, an algorithm rollover:
# new DNSKEY and RRSIG versions) replayed through the collector's store with every poll
# repeated STRETCH times at the recorded spacing (a run STRETCH times longer with the same
# transitions) and a second server per provider: about 1.2 million observations.
# Usage: tests/bench/analyzer-replay.sh [COLLECTOR.db]   (env STRETCH, default 125)
# Targets: replay rate >= 0.25 x the sqlite3 scan rate; signature verifications <= 1.05 x the
# distinct (RRset, RRSIG, key) triples (each (RRSIG, key) pair verified once).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/obs-anbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
db=${1:-}
if [ -z "$db" ]; then
	src=datasets/alg-roll-keys-early/collector.db.gz
	[ -x build/bench/replay-gen ] || make --no-print-directory build/bench/replay-gen >/dev/null
	gzip -dc "$src" >"$T/src.db"
	s=$(date +%s.%N)
	build/bench/replay-gen --src "$T/src.db" --out "$T/c.db" --stretch "${STRETCH:-125}" \
		--servers 2
	echo "analyzer-replay: generated in $(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
	db=$T/c.db
fi
rows=$(sqlite3 "$db" 'SELECT count(*) FROM observation')
now() { date +%s.%N; }
median() { sort -g | sed -n 2p; }
: >"$T/scan" >"$T/full" >"$T/an"
for i in 1 2 3; do
	s=$(now)
	sqlite3 "$db" 'SELECT * FROM observation' >/dev/null
	awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}' >>"$T/full"
	s=$(now)
	sqlite3 "$db" 'SELECT total(t), total(status), total(coalesce(version_id, 0)) FROM observation' >/dev/null
	awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}' >>"$T/scan"
	rm -f "$T"/an.db*
	s=$(now)
	OBS_SIGV_STATS=1 bin/obs-analyzer ingest --db "$T/an.db" "$db" >/dev/null 2>"$T/sigv"
	OBS_SIGV_STATS=1 bin/obs-analyzer findings --db "$T/an.db" >"$T/findings" 2>>"$T/sigv"
	awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}' >>"$T/an"
done
t_scan=$(median <"$T/scan")
t_full=$(median <"$T/full")
t_an=$(median <"$T/an")
# verifications over both processes (the memo persists in sigcheck), against the distinct
# (RRset, RRSIG, key) triples either process met
read -r verif triples < <(awk '/^sigv:/ {v += $2; if ($4 > p) p = $4} END {print v + 0, p + 0}' "$T/sigv")
awk -v r="$rows" -v s="$t_scan" -v u="$t_full" -v a="$t_an" -v f="$(wc -l <"$T/findings")" 'BEGIN {
	printf "analyzer-replay: %d observations; ingest+findings %.3f s (%d findings)\n", r, a, f
	printf "analyzer-replay: sqlite3 table scan (SELECT *) %.3f s: replay rate = %.3f x (goal >= 0.25)\n", u, u / a
	printf "analyzer-replay: sqlite3 3-column sum %.3f s: replay rate = %.3f x (stricter: 3 columns, nothing printed)\n", s, s / a }'
ls -l "$T"/an.db 2>/dev/null | awk '{printf "analyzer-replay: analysis database %.1f MB\n", $5 / 1e6}'
awk -v v="$verif" -v p="$triples" 'BEGIN {
	printf "analyzer-replay: %d signature verifications for %d distinct (RRset, RRSIG, key) = %.3f x (goal <= 1.05)\n", v, p, p ? v / p : 0 }'
