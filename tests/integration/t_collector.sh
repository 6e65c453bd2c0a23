#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration tests of the collector against real servers, all started here on 127.0.2.0/24:
# NSD (root, lab., broken.lab.) on 127.0.2.1, Knot (example.lab., signed) on 127.0.2.2 and a
# validating Unbound on 127.0.2.9 with lab.'s key as trust anchor. Ends "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

COLL=${COLL:-build/san/obs-collector}
. tests/integration/lab.sh
lab_wait

cat >"$W/c.yaml" <<C
collector: { name: it-1, db: $W/c.db, stats-interval: 1s, udp-offload: 1 }
defaults: { poll: 1s, timeout: 500ms, retries: 1, rate-per-server: 200 }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.1]
    providers:
      x: { ns: [ns.provx.lab.], suffix: [provx.lab.] }
    canaries: [www.example.lab./A, big.example.lab./TXT]
    bogus-canary: www.broken.lab./A
resolvers:
  - { name: unbound, address: 127.0.2.9 }
C
DB=$W/c.db
q() { sqlite3 "$DB" "$1"; }

# --- one round against healthy servers
"$COLL" run -c "$W/c.yaml" --once >"$W/once1.log" 2>&1
check_eq "collector --once exits 0" 0 $?
check_eq "provider servers discovered (glue), ns2 by suffix" "x|ns.provx.lab.|127.0.2.2 x|ns2.provx.lab.|127.0.2.6" \
	"$(q "SELECT origin, host, address FROM target WHERE kind='provider' ORDER BY host" | tr '\n' ' ' | sed 's/ $//')"
check_eq "provider DNSKEY version: 2 keys, 1 RRSIG" "2|1" \
	"$(q "SELECT DISTINCT v.rr_count, v.sig_count FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id JOIN version v ON v.id=o.version_id WHERE t.kind='provider' AND s.role='dnskey'")"
check_eq "parent DS version: 1 DS, 1 RRSIG" "1|1" \
	"$(q "SELECT v.rr_count, v.sig_count FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id JOIN version v ON v.id=o.version_id WHERE t.kind='parent' AND s.role='ds'")"
check_eq "parent NS is a referral (kind 2)" "2" \
	"$(q "SELECT v.kind FROM observation o JOIN series s ON s.id=o.series_id JOIN version v ON v.id=o.version_id WHERE s.role='referral'")"
check_eq "resolver (CD=1) holds the version the provider serves" "1" \
	"$(q "SELECT count(DISTINCT o.version_id) FROM observation o JOIN series s ON s.id=o.series_id WHERE s.role='dnskey' AND (s.target_id IN (SELECT id FROM target WHERE kind='provider') OR s.flags & 2)")"
check_eq "canary through the resolver is secure" "secure" \
	"$(q "SELECT DISTINCT CASE o.outcome WHEN 1 THEN 'secure' WHEN 2 THEN 'insecure' WHEN 3 THEN 'bogus' WHEN 4 THEN 'lost' END FROM observation o JOIN series s ON s.id=o.series_id WHERE s.role='canary' AND s.qname='www.example.lab.' AND s.target_id IN (SELECT id FROM target WHERE kind='resolver')")"
check_eq "NXDOMAIN canary is secure" "1" \
	"$(q "SELECT DISTINCT o.outcome FROM observation o JOIN series s ON s.id=o.series_id WHERE s.role='nx' AND o.outcome IS NOT NULL")"
check_eq "broken chain of trust classified bogus" "3" \
	"$(q "SELECT DISTINCT o.outcome FROM observation o JOIN series s ON s.id=o.series_id WHERE s.role='bogus'")"
check_eq "bogus: EDE recorded on the CD=0 answer" "1" \
	"$(q "SELECT count(*) > 0 FROM observation o JOIN series s ON s.id=o.series_id WHERE s.role='bogus' AND o.ede IS NOT NULL AND s.flags & 2 = 0")"
check_eq "large TXT: UDP truncated then TCP answer" "3|0|1" \
	"$(q "SELECT group_concat(status || '|' || transport, '|') FROM (SELECT o.status, o.transport FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.address='127.0.2.2' AND s.qname='big.example.lab.' ORDER BY o.id)" | cut -d'|' -f1,3,4)"
check_eq "every answered provider poll is in a run" "0" \
	"$(q "SELECT count(*) FROM series s WHERE s.target_id IN (SELECT id FROM target WHERE kind='provider') AND NOT EXISTS (SELECT 1 FROM run r WHERE r.series_id=s.id)")"

# --- segmentation offload: equal-sized queries to one server leave as one send; where the
# kernel refuses it (EIO, as on a device without checksum offload) they go one by one
check_ge "equal-sized queries to one server leave in offload groups" 1 \
	"$(q "SELECT max(value) FROM counter WHERE name='gso'")"
ans1=$(q "SELECT count(*) FROM observation WHERE status=0")
pre="$PWD/build/tools/nogso.so"
ldd "$COLL" | grep -q libasan && pre="$(cc -print-file-name=libasan.so) $pre"
# ASan's link-order check is flaky with a preloaded runtime (ASLR); libasan is first anyway
LD_PRELOAD="$pre" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$COLL" run -c "$W/c.yaml" --once >"$W/nogso.log" 2>&1
rc=$?; [ $rc -ne 0 ] && tail -5 "$W/nogso.log"
check_eq "offload refused: collector --once exits 0" 0 $rc
check_ge "offload refused: targets fall back to one-by-one sends" 1 \
	"$(q "SELECT max(value) FROM counter WHERE name='gso_off'")"
check_eq "offload refused: no network errors" 0 "$(q "SELECT count(*) FROM observation WHERE status=2")"
check_eq "offload refused: as many answers as the round before" "$ans1" \
	"$(($(q "SELECT count(*) FROM observation WHERE status=0") - ans1))"

# --- a server removed from the parent's NS set is polled until its NS TTL has run out
"$COLL" run -c "$W/c.yaml" >"$W/reach.log" 2>&1 &
CP=$!
ns2_obs() { q "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.address='127.0.2.6'"; }
n0=$(ns2_obs)
wait_until 10 bash -c "[ \$(sqlite3 $DB \"SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.address='127.0.2.6'\") -gt $((n0 + 20)) ]"
write_lab one 2
sign_zone lab. "$W/zones/lab.zone" "$W/keys/lab"
kill -HUP "$NSDP"
if wait_until 30 grep -q "ns2.provx.lab.@127.0.2.6 is no longer in any NS set" "$W/reach.log"; then
	pass "removed server stops being polled"
else
	fail "removed server stops being polled" "no log line in 30 s"
fi
kill -TERM $CP
wait $CP
last_listed=$(q "SELECT max(last_listed) FROM ns_listing WHERE ns='ns2.provx.lab.'")
last_poll=$(q "SELECT max(o.t) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.address='127.0.2.6'")
kept=$(((last_poll - last_listed) / 1000))
if [ "$kept" -ge 4000 ] && [ "$kept" -le 8000 ]; then
	pass "polled for the NS TTL (5 s) after it was last listed: ${kept} ms"
else
	fail "polled for the NS TTL after last listed" "${kept} ms (want 4000..8000)"
fi

# --- the provider stops: timeouts are data
kill "$KNOT"
wait_until 5 bash -c "! kill -0 $KNOT"
"$COLL" run -c "$W/c.yaml" --once >"$W/once2.log" 2>&1
check_eq "collector --once with a dead server exits 0" 0 $?
nprov=$(q "SELECT count(*) FROM series WHERE target_id IN (SELECT id FROM target WHERE address='127.0.2.2')")
check_eq "dead server: retries+1 timeouts per provider series" "$((nprov * 2))" \
	"$(q "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.address='127.0.2.2' AND o.status=1")"
check_eq "timeouts do not close runs" "0" "$(q "SELECT count(*) FROM run r JOIN series s ON s.id=r.series_id WHERE s.target_id IN (SELECT id FROM target WHERE kind='provider') AND r.next_poll IS NOT NULL")"

# --- continuous run: SIGTERM commits and exits 0; SIGKILL loses nothing committed
"$COLL" run -c "$W/c.yaml" >"$W/run.log" 2>&1 &
CP=$!
before=$(q "SELECT count(*) FROM observation")
wait_until 10 bash -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM observation') -gt $((before + 40)) ]"
kill -TERM $CP
wait $CP
check_eq "SIGTERM: clean exit" 0 $?
check_ge "stats line printed" 1 "$(grep -c 'stats: polls=' "$W/run.log")"
check_ge "source ports rotate (idle sockets reopened)" 1 "$(q "SELECT max(value) FROM counter WHERE name='rotations'")"
check_ge "byte-identical answers skip ldns (fast path)" 1 "$(q "SELECT max(value) FROM counter WHERE name='fast'")"
check_eq "fast-path answers keep their versions" "0" \
	"$(q "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='provider' AND s.role='dnskey' AND o.status=0 AND o.version_id IS NULL")"
"$COLL" run -c "$W/c.yaml" >"$W/run2.log" 2>&1 &
CP=$!
wait_until 10 bash -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM observation') -gt $((before + 200)) ]"
kill -KILL $CP
wait $CP 2>/dev/null
check_eq "SIGKILL: database intact" "ok" "$(q 'PRAGMA integrity_check')"
check_ge "SIGKILL: committed rows kept" $((before + 200)) "$(q 'SELECT count(*) FROM observation')"

# --- T-5 (i), (ii) against a real server: NSD serves mixed.broken.lab. TXT with RRs of TTLs 5
# and 60 s and sigttl.broken.lab. TXT with an RRSIG of TTL 77 s over a 5 s set (lab.sh); the
# collector records them as ttl_anomaly rows (only those), the analyzer reports T-5 (i), (ii)
AN=${AN:-build/san/obs-analyzer}
cat >"$W/t5.yaml" <<C
collector: { name: it-t5, db: $W/t5.db }
defaults: { poll: 1s, timeout: 500ms, retries: 1, rate-per-server: 200 }
zones:
  - name: broken.lab.
    parent-servers: [127.0.2.1]
    providers:
      n: { ns: [ns.lab.] }
    canaries: [mixed.broken.lab./TXT, sigttl.broken.lab./TXT, www.broken.lab./A]
resolvers:
  - { name: unbound, address: 127.0.2.9 }
C
echo "served: $(dig +norec +dnssec +noall +answer @127.0.2.1 mixed.broken.lab TXT | awk '{print $2, $4, $5}' | tr '\n' ';')"
echo "served: $(dig +norec +dnssec +noall +answer @127.0.2.1 sigttl.broken.lab TXT | awk '{print $2, $4, $5}' | tr '\n' ';')"
"$COLL" run -c "$W/t5.yaml" --once >"$W/t5.log" 2>&1
check_eq "T-5 collector --once exits 0" 0 $?
t5q() { sqlite3 "$W/t5.db" "$1"; }
check_eq "T-5 (i): mixed RR TTLs recorded as 5..60 (its RRSIG 5)" "5|60|5|5" \
	"$(t5q "SELECT DISTINCT a.ttl_min_s, a.ttl_max_s, a.sig_ttl_min_s, a.sig_ttl_max_s FROM ttl_anomaly a JOIN series s ON s.id = a.series_id JOIN target t ON t.id = s.target_id WHERE s.qname = 'mixed.broken.lab.' AND t.kind = 'provider'")"
check_eq "T-5 (ii): RRSIG TTL 77 over a 5 s set recorded" "5|5|77|77" \
	"$(t5q "SELECT DISTINCT a.ttl_min_s, a.ttl_max_s, a.sig_ttl_min_s, a.sig_ttl_max_s FROM ttl_anomaly a JOIN series s ON s.id = a.series_id JOIN target t ON t.id = s.target_id WHERE s.qname = 'sigttl.broken.lab.' AND t.kind = 'provider'")"
check_eq "T-5: ordinary answers leave no anomaly row" "0" \
	"$(t5q "SELECT count(*) FROM ttl_anomaly a JOIN series s ON s.id = a.series_id WHERE s.qname NOT IN ('mixed.broken.lab.', 'sigttl.broken.lab.')")"
check_ge "T-5: the provider's answers were polled" 2 \
	"$(t5q "SELECT count(*) FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id WHERE t.kind = 'provider' AND s.qname IN ('mixed.broken.lab.', 'sigttl.broken.lab.') AND o.status = 0")"
"$AN" ingest --db "$W/t5an.db" "$W/t5.db" >"$W/t5an.log" 2>&1
"$AN" findings --db "$W/t5an.db" --zone broken.lab. --json >"$W/t5f.json" 2>>"$W/t5an.log"
check_eq "T-5 (i) and (ii) reported as WARN by the analyzer" "(i) mixed.broken.lab.|(ii) sigttl.broken.lab." \
	"$(jq -r '[.findings[] | select(.id == "T-5" and .severity == "WARN" and .evidence.observations != []) | .message | select(test("^\\((i|ii)\\) ")) | capture("^(?<c>\\(i+\\)) the (RRs|RRSIG TTL) of (?<n>[^ ]+)") | "\(.c) \(.n)"] | unique | join("|")' "$W/t5f.json")"

# --- bad configuration: file:line:key: problem, exit 2
printf 'zones:\n - name: example.lab.\n   parent-servers: [300.1.1.1]\n   providers: { x: { ns: [a.] } }\n' >"$W/bad.yaml"
"$COLL" check -c "$W/bad.yaml" >"$W/bad.out" 2>&1
check_eq "check: bad config exits 2" 2 $?
check_eq "check: names file:line:key" "$W/bad.yaml:3:zones[0].parent-servers: '300.1.1.1': not an IP address[@port]" "$(head -1 "$W/bad.out")"

# --- every configuration key is documented in the man page
missing=""
for k in $("$COLL" keys | awk '/^  [a-z]/ && $1 ~ /[.]/ {print $1}' | sed 's/.*\.//'); do
	grep -q "^\.B $k\$" man/obs-collector.yaml.5 || missing="$missing $k"
done
check_eq "every configuration key is in obs-collector.yaml(5)" "" "$missing"

summary >/dev/null
