#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Do two obs-analyzer builds give the same answers on the recorded datasets? Each build ingests
# every datasets/*/collector.db.gz into a fresh analysis database and writes findings,
# glitches (observed and --predicted), fetches, transitions, audit and status (--json, at a
# fixed instant) and the JSON report over a fixed period; then the two sets are diffed. The
# report's "at" and open-ended "minutes" follow the wall clock and are left out of the diff.
# For changes to ingest or the analysis schema that must not change any result.
# Usage: tests/bench/an-outputs-diff.sh OLD_OBS_ANALYZER NEW_OBS_ANALYZER [OUTDIR]
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
snap "$old" "$out/old"
snap "$new" "$out/new"
n=$(find "$out/new" -name '*.json' | wc -l)
if diff -r -I '^  "at": ' -I '"minutes": ' "$out/old" "$out/new"; then
	echo "an-outputs-diff: $n outputs identical"
else
	echo "an-outputs-diff: outputs differ" >&2
	exit 1
fi
