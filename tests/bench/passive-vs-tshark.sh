#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Passive capture benchmark: offline decoding rate of `obs-collector run -r` (decode, pair,
# parse, store) against tshark extracting the same DNS fields from the same file, medians of
# 3 alternating runs; then a live capture on lo while dnsperf sends 20,000 queries per second
# to a loopback NSD: kernel drops must be zero.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
T=$(mktemp -d /tmp/obs-pbench.XXXXXX)
NSDP=""
cleanup() {
	[ -n "$NSDP" ] && kill "$NSDP" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
COPIES=${BENCH_COPIES:-300}
LIVE_RUNS=${BENCH_LIVE_RUNS:-3}
now() { date +%s.%N; }
median() { sort -g | sed -n 2p; }
if [ -z "${BENCH_LIVE_ONLY:-}" ]; then
files=()
for i in $(seq 1 "$COPIES"); do files+=(tests/fixtures/pcap/lab.pcap); done
mergecap -a -w "$T/big.pcap" "${files[@]}"
frames=$(capinfos -c -M "$T/big.pcap" | awk '/Number of packets/ {print $NF}')
cat >"$T/p.yaml" <<C
collector: { name: bench, db: $T/p.db }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.1]
    providers: { x: { ns: [ns.provx.lab.] } }
C
declare -a ours theirs
for i in 1 2 3; do
	rm -f "$T"/p.db*
	s=$(now)
	bin/obs-collector run -c "$T/p.yaml" -r "$T/big.pcap" -q
	ours+=("$(awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}')")
	s=$(now)
	tshark -r "$T/big.pcap" -T fields -e dns.qry.name -e dns.flags.rcode -e dns.resp.ttl >/dev/null 2>&1
	theirs+=("$(awk -v a="$s" -v b="$(now)" 'BEGIN {print b - a}')")
	echo "run $i: obs-collector -r ${ours[-1]} s, tshark ${theirs[-1]} s"
done
O=$(printf '%s\n' "${ours[@]}" | median)
S=$(printf '%s\n' "${theirs[@]}" | median)
awk -v f="$frames" -v o="$O" -v s="$S" 'BEGIN {
	printf "offline: %d frames; obs-collector -r %.0f frames/s (decoded, paired, stored), tshark %.0f frames/s; ratio %.2f (goal >= 2)\n", f, f / o, f / s, s / o }'
fi

# live: dnsperf at 20,000 q/s to NSD on 127.0.2.5 (port 53: the capture filter), captured on lo
mkdir -p "$T"/{keys,zones,run}
W=$T
gen_key ksk example.lab. -k
gen_key zsk example.lab.
printf '$TTL 300\nexample.lab. IN SOA ns.example.lab. h.example.lab. 1 10 10 600 300\nexample.lab. IN NS ns.example.lab.\nwww.example.lab. IN A 192.0.2.1\n%s\n%s\n' \
	"$(dnskey_line ksk)" "$(dnskey_line zsk)" >"$T/zones/e.zone"
sign_zone example.lab. "$T/zones/e.zone" "$T/keys/ksk" "$T/keys/zsk"
write_nsd_conf "$T/nsd.conf" 127.0.2.5@53 example.lab.=e.zone.signed
nsd -d -c "$T/nsd.conf" >/dev/null 2>&1 &
NSDP=$!
wait_until 10 bash -c "dig +time=1 +tries=1 @127.0.2.5 example.lab SOA | grep -q NOERROR"
cat >"$T/l.yaml" <<C
collector: { name: live, db: $T/l.db, stats-interval: 1s }
defaults: { poll: 10s }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.5]
    providers: { x: { ns: [ns.example.lab.] } }
    ns-addresses: { ns.example.lab.: [127.0.2.5] }
C
printf 'www.example.lab A\nexample.lab DNSKEY\n' >"$T/q"
# LIVE_RUNS captures (BENCH_LIVE_RUNS, default 3), each with a fresh database
for i in $(seq 1 "$LIVE_RUNS"); do
	rm -f "$T"/l.db*
	bin/obs-collector run -c "$T/l.yaml" -i lo -q &
	CP=$!
	wait_until 10 bash -c "[ \"\$(sqlite3 $T/l.db 'SELECT count(*) FROM capture' 2>/dev/null)\" = 1 ]"
	dnsperf -s 127.0.2.5 -d "$T/q" -Q 20000 -l 10 -c 4 >"$T/dp.log" 2>&1
	answered=$(awk '/Queries completed:/ {print $3}' "$T/dp.log")
	wait_until 20 bash -c "[ \$(sqlite3 $T/l.db 'SELECT count(*) FROM observation WHERE status = 0' 2>/dev/null || echo 0) -ge ${answered:-0} ]"
	kill -TERM $CP
	wait $CP
	sent=$(awk '/Queries sent:/ {print $3}' "$T/dp.log")
	done_=$(awk '/Queries completed:/ {print $3}' "$T/dp.log")
	awk -v i="$i" -v s="$sent" -v c="$done_" -v r="$(sqlite3 "$T/l.db" "SELECT coalesce(sum(received), 0) FROM capture_stats")" \
		-v d="$(sqlite3 "$T/l.db" "SELECT coalesce(sum(dropped + ifdropped), 0) FROM capture_stats")" \
		-v p="$(sqlite3 "$T/l.db" "SELECT count(*) FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id WHERE t.kind = 'passive' AND o.status = 0")" \
		'BEGIN { printf "live run %d: dnsperf sent %d queries in 10 s (20,000/s), %d answered; capture received %d packets, dropped %d (goal 0), stored %d answered pairs\n", i, s, c, r, d, p }'
done
