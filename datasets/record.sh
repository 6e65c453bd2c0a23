#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerate datasets/: run every testbed scenario (correct and violating forms) in its own
# network namespace while obs-collector records it, and keep, per run, the collector's
# database, the ground truth and the resolvers' observed failures. Takes about 12 minutes.
# Usage: datasets/record.sh [NAME-FORM ...]   (default: all runs below)
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
export TB_NETNS=${TB_NETNS:-obs-datasets}
export TB_DIR=${TB_DIR:-/tmp/obs-datasets-testbed}
TB=tests/testbed/tb
OUT=datasets
SHORT="TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5"
LONG="TTL_DATA=2 TTL_DNSKEY=20 TTL_DS=20 TTL_NS=5"
DSLONG="TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=20 TTL_NS=5"
# name form TTLs (the same settings as tests/testbed/run-tests.sh)
RUNS=(
	"add-provider correct $SHORT"
	"add-provider ns-early $LONG"
	"zsk-roll correct $SHORT"
	"zsk-roll sign-early $LONG"
	"zsk-roll withdraw-early $LONG"
	"zsk-roll-both correct $SHORT"
	"zsk-roll-both sign-early $LONG"
	"ksk-roll correct $SHORT"
	"ksk-roll swap-early $DSLONG"
	"remove-provider correct $SHORT"
	"remove-provider ds-del-early TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=15 TTL_NS=5"
	"transfer correct $SHORT"
	"transfer hard-cutover TTL_DATA=2 TTL_DNSKEY=15 TTL_DS=15 TTL_NS=15"
	"alg-roll correct $SHORT"
	"alg-roll keys-early TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=30 TTL_NS=5"
)

CP=""
stop_all() {
	[ -n "$CP" ] && kill -TERM "$CP" 2>/dev/null && wait "$CP" 2>/dev/null
	"$TB" stop >/dev/null 2>&1 || true
}
trap stop_all EXIT

"$TB" start
for run in "${RUNS[@]}"; do
	read -r name form ttls <<<"$run"
	[ $# -gt 0 ] && [[ " $* " != *" $name-$form "* ]] && continue
	dir=$OUT/$name-$form
	rm -rf "$dir"
	mkdir -p "$dir"
	sed -e "s|db: /tmp/obs-vantage-1.db|db: $dir/collector.db|" collector/example.yaml >"$dir/collector.yaml"
	ip netns exec "$TB_NETNS" bin/obs-collector run -c "$dir/collector.yaml" -q &
	CP=$!
	echo "== $name $form ($ttls)"
	# shellcheck disable=SC2086
	env $ttls "$TB" scenario "$name" --form "$form" --out "$dir/run" >"$dir/scenario.log" 2>&1
	kill -TERM "$CP"
	wait "$CP" || true
	CP=""
	mv "$dir/run/truth.json" "$dir/run/failures.json" "$dir/run/resolvers.tsv" "$dir/"
	rm -rf "$dir/run"
	sqlite3 "$dir/collector.db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
	rm -f "$dir/collector.db-wal" "$dir/collector.db-shm"
	printf '   %s: %s observations, %s KB\n' "$dir" \
		"$(sqlite3 "$dir/collector.db" 'SELECT count(*) FROM observation')" \
		"$(($(stat -c %s "$dir/collector.db") / 1024))"
	gzip -9 -f "$dir/collector.db"
done
