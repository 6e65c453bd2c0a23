#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: the collector's engine+store against dnsperf, same loopback NSD (signed zone,
# rrl-ratelimit 0), same number of outstanding queries, same query mix with DO=1. Three
# alternating runs each; medians reported. CPU per answered query is the whole process's
# user + system time for both (the shell's time of the child), so the collector's setup, SQLite
# commits and teardown count as dnsperf's start and stop do. The load average before each run
# and the code's commit are printed with the figures. The collector runs with its default
# (udp-offload: 0, one send per query); OFFLOAD=1 measures segmentation-offload sends. Also: memory per query in flight at 10,000 in
# flight, and SQLite bytes per observation that repeats a stored version.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

ADDR=127.0.2.5
PORT=5399
SECS=${BENCH_SECONDS:-8}
INFLIGHT=${BENCH_INFLIGHT:-100}
BENCH=build/bench/collector-bench
# the collector's default sends each query on its own; OFFLOAD=1 measures udp-offload: 1
OFFLOAD_ARG=""
[ "${OFFLOAD:-0}" = 1 ] && OFFLOAD_ARG=--offload
W=$(mktemp -d /tmp/obs-bench.XXXXXX)
NSDP=""
cleanup() {
	[ -n "$NSDP" ] && kill "$NSDP" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W"/{keys,zones,run}

gen_key ksk example.lab. -k
gen_key zsk example.lab.
cat >"$W/zones/example.zone" <<Z
\$TTL 300
example.lab. IN SOA ns.example.lab. h.example.lab. 1 10 10 600 300
example.lab. IN NS ns.example.lab.
ns.example.lab. IN A 127.0.2.5
www.example.lab. IN A 192.0.2.1
$(dnskey_line ksk)
$(dnskey_line zsk)
Z
sign_zone example.lab. "$W/zones/example.zone" "$W/keys/ksk" "$W/keys/zsk"
write_nsd_conf "$W/nsd.conf" $ADDR@$PORT example.lab.=example.zone.signed
nsd -d -c "$W/nsd.conf" >"$W/run/nsd.out" 2>&1 &
NSDP=$!
wait_until 10 bash -c "dig +time=1 +tries=1 -p $PORT @$ADDR example.lab SOA | grep -q NOERROR" || {
	echo "NSD did not start"
	exit 1
}
printf 'example.lab DNSKEY\nwww.example.lab A\nexample.lab SOA\n' >"$W/queries"

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -a dp_qps dp_cpu co_qps co_cpu
TIMEFORMAT='%U %S'
# CPU per answered query, both sides measured alike: the whole process's user + system time
# (the shell's time of the child, i.e. its rusage) over the answers it reports
per_answer() { awk -v t="$1" -v n="$2" 'BEGIN {split(t, a, " "); printf "%.2f", (a[1] + a[2]) * 1e6 / (n > 0 ? n : 1)}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "code: $(git log -1 --format='%h %cd' --date=iso-strict 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "machine: $(nproc) cores, load average before the runs: $(load)"
for i in 1 2 3; do
	l_dp=$(load)
	# dnsperf: -D sets DO; -q outstanding
	t=$({ time dnsperf -s $ADDR -p $PORT -d "$W/queries" -D -q "$INFLIGHT" -l "$SECS" \
		-c 1 -T 1 >"$W/dp.$i" 2>&1; } 2>&1)
	answered=$(awk '/Queries completed:/ {print $3}' "$W/dp.$i")
	dp_qps+=("$(awk '/Queries per second:/ {printf "%.0f", $4}' "$W/dp.$i")")
	dp_cpu+=("$(per_answer "$t" "$answered")")
	rm -f "$W"/c.db*
	l_co=$(load)
	t=$({ time $BENCH $OFFLOAD_ARG --server "$ADDR@$PORT" --inflight "$INFLIGHT" --seconds "$SECS" \
		--db "$W/c.db" example.lab/DNSKEY www.example.lab/A example.lab/SOA >"$W/co.$i" 2>&1; } 2>&1)
	answered=$(sed -E 's/.*answered=([0-9]+).*/\1/' "$W/co.$i")
	co_qps+=("$(sed -E 's/.*qps=([0-9]+).*/\1/' "$W/co.$i")")
	co_cpu+=("$(per_answer "$t" "$answered")")
	commit=$(sed -E 's/.*commit_ms=([0-9.]+).*/\1/' "$W/co.$i")
	echo "run $i: dnsperf ${dp_qps[-1]} q/s ${dp_cpu[-1]} us/answer (load $l_dp)" \
		"| collector ${co_qps[-1]} q/s ${co_cpu[-1]} us/answer, ${commit} ms in SQLite commits (load $l_co)"
done
bytes=$(sqlite3 "$W/c.db" "SELECT (SELECT sum(pgsize) FROM dbstat) * 1.0 / (SELECT count(*) FROM observation)")
mem=$($BENCH --blackhole --inflight 10000 --db "$W/m.db" www.example.lab/A)

DQ=$(printf '%s\n' "${dp_qps[@]}" | median)
DC=$(printf '%s\n' "${dp_cpu[@]}" | median)
CQ=$(printf '%s\n' "${co_qps[@]}" | median)
CC=$(printf '%s\n' "${co_cpu[@]}" | median)
echo
echo "outstanding queries: $INFLIGHT, $SECS s per run, medians of 3 alternating runs, load after: $(load)"
printf 'rate:  collector %s q/s, dnsperf %s q/s, ratio %.2f (goal >= 1.0)\n' "$CQ" "$DQ" \
	"$(awk -v a="$CQ" -v b="$DQ" 'BEGIN {print a / b}')"
printf 'CPU:   collector %s us/answer, dnsperf %s us/answer, ratio %.2f (goal <= 1.0)\n' "$CC" "$DC" \
	"$(awk -v a="$CC" -v b="$DC" 'BEGIN {print a / b}')"
echo "memory at 10,000 in flight: $mem (goal <= 256)"
printf 'SQLite per observation (whole database / observations, repeated versions): %.1f bytes (goal <= 64)\n' "$bytes"
