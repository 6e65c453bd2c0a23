#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real IP fragments through the passive collector (issue 9: "overlapping fragments ... real
# fragments need a veth with MTU 1500 between network namespaces").
#
# Two namespaces, obs-frag-s (NSD on 10.53.0.1 and fd53::1) and obs-frag-c (the clients, the
# collector and tcpdump), are joined by a veth pair with MTU 1500; nothing leaves them. NSD
# serves frag.lab., signed, whose DNSKEY RRset (20 keys) and big.frag.lab. TXT exceed 1500
# bytes: asked over UDP with an EDNS buffer of 4096, the kernel fragments the answers (IPv4 at
# 1500, IPv6 at 1280 since NSD sends with the minimum MTU). The same RRsets are also asked over
# TCP (not fragmented) and a small A over UDP.
#
# Live: build/san/obs-collector `run -i frag-c0` captures while the queries run, tcpdump
# records the same traffic. Checks: tcpdump sees IPv4 and IPv6 fragments; the collector's
# pcap_frag_reassembled equals the number of fragmented datagrams tcpdump saw, nothing is
# dropped; every client query is paired; the fragmented UDP answers store the same versions
# as the TCP answers of the same RRsets.
#
# Hostile: tests/tools/fragmangle.py rewrites tcpdump's capture into variants (overlaps with
# different or identical bytes, duplicates, reordering, missing first or last fragment, an
# offset past 65,535, a tiny first fragment, a fragment cutting the UDP header, more incomplete
# datagrams than the reassembly table holds), each for IPv4 and IPv6, mangling every other
# fragmented datagram. Each runs through `obs-collector run -r`: exit 0, no sanitizer report,
# frag_reassembled / frag_dropped / bad_header / paired / unanswered exactly as predicted from
# the untouched file, the untouched datagrams still paired with the same versions.
#
# Needs root (namespaces); without it, prints a SKIP line and no PASS. About 5 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP t_frag.sh: needs root for network namespaces"
	exit 0
fi

COLL=${COLL:-build/san/obs-collector}
MANGLE=tests/tools/fragmangle.py
NS_S=obs-frag-s
NS_C=obs-frag-c
W=$(mktemp -d /tmp/obs-frag.XXXXXX)
PIDS=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null && sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
C() { ip netns exec "$NS_C" "$@"; }

# --- two namespaces, one veth with MTU 1500
ip netns del "$NS_S" 2>/dev/null
ip netns del "$NS_C" 2>/dev/null
if ! { ip netns add "$NS_S" && ip netns add "$NS_C" &&
	ip -n "$NS_S" link set lo up && ip -n "$NS_C" link set lo up &&
	ip link add frag-s0 netns "$NS_S" type veth peer name frag-c0 netns "$NS_C" &&
	ip -n "$NS_S" link set frag-s0 mtu 1500 up && ip -n "$NS_C" link set frag-c0 mtu 1500 up &&
	ip -n "$NS_S" addr add 10.53.0.1/24 dev frag-s0 &&
	ip -n "$NS_S" addr add fd53::1/64 dev frag-s0 nodad &&
	ip -n "$NS_C" addr add 10.53.0.2/24 dev frag-c0 &&
	ip -n "$NS_C" addr add fd53::2/64 dev frag-c0 nodad &&
	ip -n "$NS_C" addr add 10.53.0.3/24 dev frag-c0 preferred_lft 0 &&
	ip -n "$NS_C" addr add fd53::3/64 dev frag-c0 nodad preferred_lft 0; }; then
	fail setup "cannot create namespaces and veth"
	summary
	exit 1
fi

# --- the signed zone: 20 DNSKEYs and a 3.6 kB TXT
mkdir -p "$W"/{keys,zones,run}
gen_key ksk frag.lab. -k && gen_key zsk frag.lab. || { fail setup "ldns-keygen"; exit 1; }
for i in $(seq 1 18); do gen_key "pub$i" frag.lab.; done
big=$(for i in $(seq 1 18); do printf '"%0190d" ' "$i"; done)
{
	cat <<Z
\$TTL 300
frag.lab. IN SOA ns.frag.lab. h.frag.lab. 1 3600 600 86400 300
frag.lab. IN NS ns.frag.lab.
ns.frag.lab. IN A 10.53.0.1
ns.frag.lab. IN AAAA fd53::1
www.frag.lab. IN A 192.0.2.1
big.frag.lab. IN TXT $big
Z
	for k in ksk zsk $(seq -f 'pub%g' 1 18); do awk '{sub(/;.*/, ""); $2 = "300 IN"; print}' "$W/keys/$k.key"; done
} >"$W/zones/frag.zone"
sign_zone frag.lab. "$W/zones/frag.zone" "$W/keys/ksk" "$W/keys/zsk"
write_nsd_conf "$W/nsd.conf" $'10.53.0.1\n\tip-address: fd53::1' frag.lab.=frag.zone.signed
sed -i 's/^server:$/server:\n\tipv4-edns-size: 4096\n\tipv6-edns-size: 4096/' "$W/nsd.conf"
ip netns exec "$NS_S" nsd -d -c "$W/nsd.conf" >"$W/run/nsd.out" 2>&1 &
PIDS+=($!)
up() { C dig +time=1 +tries=1 @"$1" frag.lab. SOA | grep -q 'status: NOERROR'; }
if wait_until 10 up 10.53.0.1 && wait_until 5 up fd53::1; then pass "NSD answers on both sides of the veth"; else
	fail setup "NSD does not answer: $(tail -3 "$W/run/nsd.out")"
	summary
	exit 1
fi

# --- live: tcpdump and the collector on the client's side of the veth while queries run
cat >"$W/c.yaml" <<C
collector: { name: frag-1, db: $W/live.db, stats-interval: 1s }
defaults: { poll: 1h, timeout: 500ms, retries: 0 }
zones:
  - name: frag.lab.
    parent-servers: [10.53.0.1]
    providers: { x: { ns: [ns.frag.lab.] } }
C
ip netns exec "$NS_C" tcpdump -Z root -i frag-c0 -U -s 0 -w "$W/frag.pcap" 'udp port 53 or tcp port 53 or (ip[6:2] & 0x3fff != 0) or ip6' >"$W/tcpdump.log" 2>&1 &
TD=$!
PIDS+=($TD)
ip netns exec "$NS_C" "$COLL" run -c "$W/c.yaml" -i frag-c0 >"$W/live.log" 2>&1 &
CP=$!
PIDS+=($CP)
wait_until 10 grep -q 'capturing DNS' "$W/live.log"
wait_until 10 grep -q 'listening on' "$W/tcpdump.log"
sleep 0.5

# the client queries come from 10.53.0.3 / fd53::3 (deprecated addresses: the kernel picks
# them only when asked to); the collector's own polls from .2 / ::2
N=5
for srv in 10.53.0.1 fd53::1; do
	case $srv in *:*) b=fd53::3 ;; *) b=10.53.0.3 ;; esac
	for i in $(seq 1 $N); do
		C dig -b $b +time=2 +tries=1 +bufsize=4096 +dnssec +ignore @$srv frag.lab. DNSKEY >>"$W/dig.out"
		C dig -b $b +time=2 +tries=1 +bufsize=4096 +dnssec +ignore @$srv big.frag.lab. TXT >>"$W/dig.out"
		C dig -b $b +time=2 +tries=1 +bufsize=4096 +dnssec @$srv www.frag.lab. A >>"$W/dig.out"
	done
	C dig -b $b +time=2 +tries=1 +tcp +dnssec @$srv frag.lab. DNSKEY >>"$W/dig.out"
	C dig -b $b +time=2 +tries=1 +tcp +dnssec @$srv big.frag.lab. TXT >>"$W/dig.out"
done
check_eq "every client query answered (dig)" $((2 * (3 * N + 2))) "$(grep -c 'status: NOERROR' "$W/dig.out")"
check_eq "no client answer truncated (TC)" 0 "$(grep -c 'flags:.* tc' "$W/dig.out")"
sleep 1 # the collector reads the kernel's blocks every 10 ms
kill -TERM $CP
wait $CP
rc=$?
kill -TERM $TD
wait $TD 2>/dev/null
check_eq "live capture: clean exit" 0 $rc
if grep -qE 'Sanitizer|runtime error' "$W/live.log"; then
	fail "live: no sanitizer report" "$(grep -m3 -A3 -E 'Sanitizer|runtime error' "$W/live.log")"
else
	pass "live: no sanitizer report"
fi

# --- what the live capture saw
# fragmented datagrams in tcpdump's file: first fragments (offset 0, MF) of each family
tdn() { tcpdump -nr "$W/frag.pcap" "$1" 2>/dev/null | wc -l; }
F4=$(tdn 'ip[6:2] & 0x3fff = 0x2000')
F6=$(tdn 'ip6 and ip6[6] = 44 and (ip6[42:2] & 0xfff9) = 1')
check_ge "tcpdump sees fragmented IPv4 answers" $((2 * N)) "$F4"
check_ge "tcpdump sees fragmented IPv6 answers" $((2 * N)) "$F6"
check_ge "tcpdump sees IPv4 non-first fragments" $((2 * N)) "$(tdn 'ip[6:2] & 0x1fff != 0')"
check_ge "tcpdump sees IPv6 non-first fragments" $((2 * N)) "$(tdn 'ip6 and ip6[6] = 44 and (ip6[42:2] & 0xfff8) != 0')"
ctr() { sqlite3 "$1" "SELECT coalesce(max(value), 0) FROM counter WHERE name = 'pcap_$2'"; }
L=$W/live.db
check_eq "live: every fragmented datagram reassembled ($F4 + $F6)" $((F4 + F6)) "$(ctr "$L" frag_reassembled)"
check_eq "live: no fragment dropped" 0 "$(ctr "$L" frag_dropped)"
check_eq "live: no kernel drops" 0 "$(sqlite3 "$L" "SELECT coalesce(sum(dropped + ifdropped), 0) FROM capture_stats")"
for c in truncated bad_header unanswered unmatched malformed; do
	check_eq "live: pcap_$c is 0" 0 "$(ctr "$L" $c)"
done
# the client's observations: (family, qname, qtype, transport, version) -> count
obs() {
	sqlite3 -separator ' ' "$1" "SELECT t.origin, s.qname, s.qtype, p.transport, o.status,
		ifnull(nullif(hex(v.hash), ''), '-'), count(*)
	FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id
	LEFT JOIN version v ON v.id = o.version_id JOIN passive_packet p ON p.observation_id = o.id
	WHERE t.kind = 'passive' AND t.origin IN ('10.53.0.3', 'fd53::3')
	GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
}
obs "$L" >"$W/live.obs"
check_eq "live: every client query paired and stored ($((2 * (3 * N + 2))))" $((2 * (3 * N + 2))) \
	"$(awk '$5 == 0 && $6 != "-" {n += $7} END {print n + 0}' "$W/live.obs")"
# per family and RRset: one version, the same over fragmented UDP (5) and TCP (1)
for fam in 10.53.0.3 fd53::3; do
	for q in "frag.lab. 48" "big.frag.lab. 16"; do
		got=$(awk -v f=$fam -v q="$q" '$1 == f && $2 " " $3 == q {print $4 ":" $7 ":" $6}' "$W/live.obs" |
			sort | tr '\n' ' ')
		udp=$(echo "$got" | tr ' ' '\n' | awk -F: '$1 == 0 {print $3}')
		tcp=$(echo "$got" | tr ' ' '\n' | awk -F: '$1 == 1 {print $3}')
		if [ -n "$udp" ] && [ "$udp" = "$tcp" ] && [ "$(echo "$got" | wc -w)" = 2 ] &&
			[ "$(echo "$got" | tr ' ' '\n' | awk -F: '$1 == 0 {print $2}')" = "$N" ]; then
			pass "live $fam $q: $N fragmented UDP answers store the version of the TCP answer"
		else
			fail "live $fam $q: fragmented vs TCP versions" "$got"
		fi
	done
done
grep -E ' (48|16) ' "$W/live.obs" | awk '$6 != "-" {print $6}' | sort -u >"$W/versions"

# --- hostile variants of the recorded capture, through -r
cat >"$W/r.yaml" <<C
collector: { name: frag-r, db: $W/r.db }
zones:
  - name: frag.lab.
    parent-servers: [10.53.0.1]
    providers: { x: { ns: [ns.frag.lab.] } }
C
# offline NAME FILE: run -r on FILE into $W/NAME.db; 0 if exit 0 and no sanitizer report
offline() {
	rm -f "$W/$1.db"*
	"$COLL" run -c "$W/r.yaml" --db "$W/$1.db" -r "$2" >"$W/$1.log" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$W/$1.log"; then
		fail "$1: clean run" "exit $rc: $(grep -m3 -E 'ERROR|runtime error|error' "$W/$1.log")"
		return 1
	fi
}
offline base "$W/frag.pcap" && pass "recorded capture: clean run"
B=$W/base.db
check_eq "recorded capture: every fragmented datagram reassembled" $((F4 + F6)) "$(ctr "$B" frag_reassembled)"
check_eq "recorded capture: nothing dropped" 0 "$(ctr "$B" frag_dropped)"
obs "$B" >"$W/base.obs"
check_eq "recorded capture: the client's observations are the live ones" "" "$(diff "$W/live.obs" "$W/base.obs")"
b_re=$(ctr "$B" frag_reassembled)
b_pa=$(ctr "$B" paired)
b_un=$(ctr "$B" unanswered)
b_bh=$(ctr "$B" bad_header)
b_ok=$(awk '$5 == 0 && $6 != "-" {n += $7} END {print n + 0}' "$W/base.obs")

# the flood: more incomplete datagrams than the reassembly table holds
FMAX=$(awk '$2 == "DEC_MAX_FRAG_DATAGRAMS" {print $3}' collector/decode.h)
# variant, then per mangled datagram: lost (not reassembled, its query unanswered),
# frag_dropped added, bad_header added. Why:
#   overlap-diff     the datagram is given up (1), its last fragment then meets a dead slot (1)
#   duplicate        the last fragment's copy, after reassembly, starts a datagram that never
#                    completes: given up at the end of the file (1)
#   drop-*, offset-overflow  never complete (given up at the end / at the bad fragment)
#   cut-udp          the 4-byte fragment is a bad header; the rest never completes
#   flood            every copy is given up once (evicted, or at the end); the real datagrams
#                    all evict a copy and are reassembled
while read -r v lost drop bad; do
	out=$(python3 "$MANGLE" --count $((FMAX + 16)) "$W/frag.pcap" "$W/$v.pcap" "$v") || {
		fail "$v: fragmangle" "$out"
		continue
	}
	m=$(echo "$out" | sed -n 's/.*mangled=\([0-9]*\).*/\1/p')
	offline "$v" "$W/$v.pcap" || continue
	D=$W/$v.db
	got="$(ctr "$D" frag_reassembled) $(ctr "$D" frag_dropped) $(ctr "$D" bad_header) $(ctr "$D" paired) $(ctr "$D" unanswered)"
	want="$((b_re - lost * m)) $((drop * m)) $((b_bh + bad * m)) $((b_pa - lost * m)) $((b_un + lost * m))"
	check_eq "$v ($m mangled): reassembled dropped bad_header paired unanswered" "$want" "$got"
	obs "$D" >"$W/$v.obs"
	check_eq "$v: the client's answers still stored" $((b_ok - lost * m)) \
		"$(awk '$5 == 0 && $6 != "-" {n += $7} END {print n + 0}' "$W/$v.obs")"
	check_eq "$v: the same versions as the live capture" "" \
		"$(diff "$W/versions" <(grep -E ' (48|16) ' "$W/$v.obs" | awk '$6 != "-" {print $6}' | sort -u))"
done <<V
overlap-diff 1 2 0
overlap-same 0 0 0
duplicate 0 1 0
reorder 0 0 0
drop-last 1 1 0
drop-first 1 1 0
offset-overflow 1 1 0
tiny-first 0 0 0
cut-udp 1 1 1
flood 0 1 0
V

# random byte changes over the fragments (headers included): no crash, no sanitizer report
for run in 1 2 3; do
	editcap -E 0.01 "$W/frag.pcap" "$W/flip$run.pcap" 2>/dev/null
	rm -f "$W/flip.db"*
	"$COLL" run -c "$W/r.yaml" --db "$W/flip.db" -r "$W/flip$run.pcap" >"$W/flip$run.log" 2>&1
	rc=$?
	if [ $rc -le 1 ] && ! grep -qE 'Sanitizer|runtime error' "$W/flip$run.log"; then
		pass "randomly changed bytes (run $run): exit $rc, no sanitizer report"
	else
		fail "randomly changed bytes (run $run)" "exit $rc: $(tail -3 "$W/flip$run.log")"
	fi
done

summary >/dev/null
