#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Do two obs-analyzer builds give the same answers on the recorded datasets? Each build ingests
# every datasets/*/collector.db.gz into a fresh analysis database and writes findings,
# glitches (observed and --predicted), fetches, transitions, audit and status (--json, at a
# fixed instant) and the JSON report over a fixed period; then the two sets are diffed. The
# report's "at" and open-ended "minutes" follow the wall clock and are left out of the diff.
# For changes to ingest or the analysis schema that must not change any result.
# Beyond the recordings: a mutated history (tests/bench/an-mutate.sql: T-1, O-2, O-3, O-4, A-5,
# ties), alone (m1) and with a second collector 1.234567 s off missing a third of a vantage's
# polls (m2); and the passive captures tests/fixtures/pcap/{ttl,lab}.pcap (through
# bin/obs-collector run -r), alone and mixed with m1 and m2; at several instants.
# Usage: tests/bench/an-outputs-diff.sh OLD_OBS_ANALYZER NEW_OBS_ANALYZER [OUTDIR]
# COLL=PATH: the obs-collector that writes the passive databases (default bin/obs-collector);
# after a collector schema change, give the old one, which both analyzers read.
# Exit status 0 when identical, 1 when they differ (the diff is printed).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_OBS_ANALYZER NEW_OBS_ANALYZER [OUTDIR]" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2")
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/obs-andiff.XXXXXX)
trap 'rm -rf "$T"' EXIT
out=${3:-$T/out}
at=2027-01-01T00:00:00Z
snap() { # BIN DIR
	mkdir -p "$2"
	for d in datasets/*/; do
		n=$(basename "$d")
		[ -f "$d/collector.db.gz" ] || continue
		gzip -dc "$d/collector.db.gz" >"$T/c.db"
		rm -f "$T"/a.db*
		"$1" ingest --db "$T/a.db" "$T/c.db" >/dev/null
		for cmd in findings glitches "glitches --predicted" fetches transitions audit status; do
			f=$(echo "$cmd" | tr ' ' '_')
			# shellcheck disable=SC2086
			"$1" $cmd --db "$T/a.db" --json --at "$at" >"$2/$n.$f.json" 2>&1 ||
				echo "exit status $?" >>"$2/$n.$f.json"
		done
		"$1" report --db "$T/a.db" --format json --from 2026-01-01T00:00:00Z --to "$at" \
			>"$2/$n.report.json" 2>&1 || echo "exit status $?" >>"$2/$n.report.json"
	done
}
# the extra collector databases (built once, used by both)
X=$T/extra
mkdir -p "$X"
gzip -dc datasets/alg-roll-keys-early/collector.db.gz >"$X/m1.db"
sqlite3 "$X/m1.db" <tests/bench/an-mutate.sql
cp "$X/m1.db" "$X/m2.db"
sqlite3 "$X/m2.db" "UPDATE meta SET value = 'vantage-2' WHERE key = 'collector'; UPDATE observation
	SET t = t + 1234567; DELETE FROM observation WHERE id % 3 = 0 AND series_id IN (SELECT s.id
	FROM series s JOIN target t ON t.id = s.target_id WHERE t.host = 'pinned-b')"
for f in ttl lab; do
	printf 'collector: { name: passive-%s, db: %s }\nzones:\n  - name: example.lab.\n    parent-servers: [127.0.2.1]\n    providers: { x: { ns: [ns.provx.lab.] } }\n' \
		"$f" "$X/$f.db" >"$X/$f.yaml"
	"${COLL:-bin/obs-collector}" run -c "$X/$f.yaml" -r "tests/fixtures/pcap/$f.pcap" >/dev/null 2>&1
done
extra() { # BIN DIR
	local combo n dbs x at cmd f
	for combo in "m1" "m1 m2" "ttl" "lab" "ttl m1" "lab m1 m2"; do
		n=$(echo "$combo" | tr ' ' '+') dbs=()
		for x in $combo; do dbs+=("$X/$x.db"); done
		rm -f "$T"/a.db*
		"$1" ingest --db "$T/a.db" "${dbs[@]}" >/dev/null
		for at in 2027-01-01T00:00:00Z 2026-11-28T01:22:55Z 2026-11-28T01:23:10.5Z \
			2026-11-28T01:23:50.1Z 2026-11-28T21:08:00Z; do
			for cmd in findings glitches "glitches --predicted" fetches "fetches --predicted" \
				audit; do
				f=$(echo "$n.$cmd.$at" | tr ' ' '_')
				# shellcheck disable=SC2086
				"$1" $cmd --db "$T/a.db" --json --at "$at" >"$2/x.$f.json" 2>&1 ||
					echo "exit status $?" >>"$2/x.$f.json"
			done
		done
	done
}
snap "$old" "$out/old"
snap "$new" "$out/new"
extra "$old" "$out/old"
extra "$new" "$out/new"
n=$(find "$out/new" -name '*.json' | wc -l)
if diff -r -I '^  "at": ' -I '"minutes": ' "$out/old" "$out/new"; then
	echo "an-outputs-diff: $n outputs identical"
else
	echo "an-outputs-diff: outputs differ" >&2
	exit 1
fi
