#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-resolver fetches from passive evidence (issue 9, the analyzer side): checked-in pcap
# fixtures through `obs-collector run -r`, ingested, `obs-analyzer fetches --json` compared with
# a golden file. ttl.pcap (tests/fixtures/pcap/make-ttl-fixture.sh) holds a resolver honouring
# the DNSKEY TTL, one stretching it to 30 s and one serving stale; lab.pcap the integration
# lab's Unbound starting cold. Offline: no servers. GOLDEN=1 rewrites the golden files.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

COLL=${COLL:-build/san/obs-collector}
AN=${AN:-build/san/obs-analyzer}
FIX=tests/fixtures/pcap
T=$(mktemp -d /tmp/obs-fetches.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
AT=2026-11-28T21:08:00Z

cat >"$T/p.yaml" <<C
collector: { name: passive-1, db: $T/p.db }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.1]
    providers: { x: { ns: [ns.provx.lab.] } }
C

for f in ttl lab; do
	rm -f "$T"/p.db* "$T"/a.db*
	"$COLL" run -c "$T/p.yaml" -r "$FIX/$f.pcap" >"$T/$f.coll.log" 2>&1
	rc=$?
	"$AN" ingest --db "$T/a.db" "$T/p.db" >"$T/$f.ing.log" 2>&1
	rc=$((rc + $?))
	"$AN" fetches --db "$T/a.db" --zone example.lab. --at "$AT" --json >"$T/$f.json" 2>"$T/$f.err"
	"$AN" report --db "$T/a.db" --at "$AT" --json >"$T/$f.pop.json" 2>"$T/$f.pop.err"
	"$AN" report --db "$T/a.db" --at "$AT" >"$T/$f.pop.txt" 2>&1
	rc=$((rc + $?))
	g="$FIX/$f.fetches.golden"
	[ -n "${GOLDEN:-}" ] && cp "$T/$f.json" "$g"
	if [ "$rc" -eq 0 ] && diff -u "$g" "$T/$f.json" >"$T/$f.diff"; then
		pass "fetches golden: $f.pcap ($(jq '.resolvers | length' "$g") resolvers)"
	else
		fail "fetches golden: $f.pcap" "exit $rc; $(head -c 600 "$T/$f.diff") $(head -c 300 "$T/$f.err")"
	fi
	"$AN" ingest --db "$T/a.db" "$T/p.db" >"$T/$f.ing2.log" 2>&1
	"$AN" fetches --db "$T/a.db" --zone example.lab. --at "$AT" --json >"$T/$f.2.json" 2>&1
	check_eq "fetches: $f.pcap ingested twice gives the same document" "" \
		"$(diff "$T/$f.json" "$T/$f.2.json")"
done

prof() { jq -r --arg r "$1" '.resolvers[] | select(.resolver == $r) | .profile' "$T/ttl.json"; }
flags() { jq -r --arg r "$1" '[.resolvers[] | select(.resolver == $r) | .flags[].id] | unique | join(",")' "$T/ttl.json"; }
check_eq "ttl.pcap: the honouring resolver is HONOUR without flags" "HONOUR:" \
	"$(prof 127.0.4.8):$(flags 127.0.4.8)"
check_eq "ttl.pcap: the stretching resolver is STRETCH(30) with T-1 and T-2x" "STRETCH:30:T-1,T-2x" \
	"$(prof 127.0.4.9):$(jq -r '.resolvers[] | select(.resolver == "127.0.4.9") | .stretch' "$T/ttl.json"):$(flags 127.0.4.9)"
check_eq "ttl.pcap: the serve-stale resolver is STALE with T-2s" "STALE:T-2s" \
	"$(prof 127.0.4.7):$(flags 127.0.4.7)"
check_eq "ttl.pcap: its service address is linked to its upstream address" "127.0.4.17" \
	"$(jq -r '.resolvers[] | select(.resolver == "127.0.4.7") | .links[0].upstream' "$T/ttl.json")"
check_eq "ttl.pcap: every flag carries evidence rows" "0" \
	"$(jq '[.resolvers[].flags[] | select(.evidence.first_observation < 1)] | length' "$T/ttl.json")"
"$AN" fetches --db "$T/a.db" --zone example.lab. --at "$AT" >"$T/lab.txt" 2>&1
check_ge "fetches: text output names the resolver's DNSKEY fetches" 1 \
	"$(grep -c 'fetch .* example.lab./DNSKEY' "$T/lab.txt")"

# the population report (of ttl.pcap) lists the resolvers that held a version past its fetched expiry
check_eq "population report: T-2x for the stretching resolver, T-2s for the serve-stale one" \
	"T-2s:127.0.4.7 T-2x:127.0.4.9" \
	"$(jq -r '[.ttl_violations[] | select(.id | startswith("T-2")) | "\(.id):\(.vantage)"] | sort | join(" ")' "$T/ttl.pop.json")"
check_ge "population report: held past expiry by at least 20 s (TTL 30 stretched to 60)" 20 \
	"$(jq '[.ttl_violations[] | select(.id == "T-2x") | .max_excess_s] | max // 0' "$T/ttl.pop.json")"
validate "population report with T-2 entries: schema" schemas/report.schema.json "$T/ttl.pop.json"
check_ge "population report, text: T-2x named" 1 "$(grep -c '^  T-2x 127.0.4.9' "$T/ttl.pop.txt")"

# passive evidence alone: the model has no authoritative polls, so --predicted says so and fails
out=$("$AN" fetches --db "$T/a.db" --zone example.lab. --at "$AT" --predicted 2>&1)
check_eq "fetches --predicted without authoritative polls: exit 1 with the reason" "1 yes" \
	"$? $(grep -q 'no authoritative polls' <<<"$out" && echo yes)"

summary >/dev/null
