#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Passive capture: golden tests (checked-in pcap fixtures through `obs-collector run -r`,
# the database dumped and compared with a golden file), hostile captures (snap length too
# short, flipped bytes, a file cut mid-record), and a live capture on lo next to active polls
# against the integration lab. GOLDEN=1 rewrites the golden files.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

COLL=${COLL:-build/san/obs-collector}
FIX=tests/fixtures/pcap
T=$(mktemp -d /tmp/obs-passive.XXXXXX)
trap 'rm -rf "$T"' EXIT

cat >"$T/p.yaml" <<C
collector: { name: passive-1, db: $T/p.db }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.1]
    providers: { x: { ns: [ns.provx.lab.] } }
C

dump() {
	sqlite3 -separator ' ' "$1" "SELECT o.t, t.kind, t.zone, t.origin, t.host, s.qname, s.qtype,
		s.flags, o.status, o.rcode, o.flags, coalesce(o.ede, '-'), coalesce(hex(v.hash), '-'),
		coalesce(v.rr_count, '-'), coalesce(v.sig_count, '-'), coalesce(o.ttl_s, '-'),
		coalesce(o.rtt, '-'), p.client_port, p.server_port, p.transport
	FROM observation o JOIN series s ON s.id = o.series_id JOIN target t ON t.id = s.target_id
	LEFT JOIN version v ON v.id = o.version_id
	LEFT JOIN passive_packet p ON p.observation_id = o.id ORDER BY o.t, o.id;
	SELECT name, value FROM counter WHERE name LIKE 'pcap_%' AND value > 0 ORDER BY name"
}

# --- golden tests
for f in lab.pcap lab.pcapng lab-any.pcap; do
	rm -f "$T"/p.db*
	"$COLL" run -c "$T/p.yaml" -r "$FIX/$f" >"$T/$f.log" 2>&1
	rc=$?
	dump "$T/p.db" >"$T/$f.dump"
	g="$FIX/${f%%.*}${f#lab}"
	g="$FIX/$f.golden"
	[ -n "${GOLDEN:-}" ] && cp "$T/$f.dump" "$g"
	if [ "$rc" -eq 0 ] && diff -u "$g" "$T/$f.dump" >"$T/$f.diff"; then
		pass "golden: $f ($(wc -l <"$g") rows)"
	else
		fail "golden: $f" "exit $rc; $(head -c 600 "$T/$f.diff")"
	fi
done
check_eq "pcap and pcapng give the same observations" "" \
	"$(diff <(grep -v '^pcap_' "$T/lab.pcap.dump") <(grep -v '^pcap_' "$T/lab.pcapng.dump"))"
check_ge "golden capture holds resolver DNSKEY fetches from the provider" 1 \
	"$(grep -cE ' passive example.lab. 127.0.0.1 127.0.2.[26] example.lab. 48 ' "$T/lab.pcap.dump")"
check_ge "golden capture holds a TCP pair" 1 "$(awk '$NF == 1' "$T/lab.pcap.dump" | wc -l)"

# --- hostile captures: no crash, clear error or counted anomalies
editcap -s 60 "$FIX/lab.pcap" "$T/short.pcap" 2>/dev/null
rm -f "$T"/p.db*
"$COLL" run -c "$T/p.yaml" -r "$T/short.pcap" >"$T/short.log" 2>&1
check_eq "snap length too short: exits 0" 0 $?
check_ge "snap length too short: truncation counted" 1 \
	"$(sqlite3 "$T/p.db" "SELECT max(value) FROM counter WHERE name='pcap_truncated'")"
for seed in 1 2 3 4 5; do
	# editcap changes bytes at random (probability 0.02 per byte), headers included
	editcap -E 0.02 "$FIX/lab.pcap" "$T/flip$seed.pcap" 2>/dev/null
	rm -f "$T"/p.db*
	"$COLL" run -c "$T/p.yaml" -r "$T/flip$seed.pcap" >"$T/flip$seed.log" 2>&1
	rc=$?
	if [ "$rc" -le 1 ] && ! grep -q 'Sanitizer' "$T/flip$seed.log"; then
		pass "randomly changed bytes (run $seed): exit $rc, no sanitizer report"
	else
		fail "randomly changed bytes (run $seed)" "exit $rc: $(tail -3 "$T/flip$seed.log")"
	fi
done
head -c 10000 "$FIX/lab.pcap" >"$T/cut.pcap"
rm -f "$T"/p.db*
"$COLL" run -c "$T/p.yaml" -r "$T/cut.pcap" >"$T/cut.log" 2>&1
rc=$?
if [ "$rc" -le 1 ] && ! grep -q 'Sanitizer' "$T/cut.log"; then pass "file cut mid-record: exit $rc, no crash"; else
	fail "file cut mid-record" "exit $rc"; fi
"$COLL" run -c "$T/p.yaml" -r /nonexistent.pcap >"$T/none.log" 2>&1
check_eq "missing capture file: exit 1" 1 $?
check_ge "missing capture file: error names the file" 1 "$(grep -c '/nonexistent.pcap' "$T/none.log")"

# --- live: capture on lo while polling the integration lab actively
. tests/integration/lab.sh
trap 'cleanup; rm -rf "$T"' EXIT
lab_wait
cat >"$W/live.yaml" <<C
collector: { name: live-1, db: $W/live.db, stats-interval: 1s }
defaults: { poll: 1s, timeout: 500ms, retries: 1, rate-per-server: 200 }
zones:
  - name: example.lab.
    parent-servers: [127.0.2.1]
    providers:
      x: { ns: [ns.provx.lab.], suffix: [provx.lab.] }
    canaries: [www.example.lab./A]
resolvers:
  - { name: unbound, address: 127.0.2.9 }
C
"$COLL" run -c "$W/live.yaml" -i lo >"$W/live.log" 2>&1 &
CP=$!
LDB=$W/live.db
fetches() { sqlite3 "$LDB" "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='passive' AND t.origin='127.0.0.1' AND s.qname='example.lab.' AND s.qtype=48 AND o.status=0" 2>/dev/null; }
wait_until 20 bash -c "[ \$(sqlite3 $LDB \"SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='passive' AND t.origin='127.0.0.1' AND s.qtype=48 AND s.qname='example.lab.' AND o.status=0\" 2>/dev/null || echo 0) -ge 2 ]"
kill -TERM $CP
wait $CP
check_eq "live capture: clean exit" 0 $?
check_ge "live: the resolver's DNSKEY fetches from the provider are recorded" 2 "$(fetches)"
check_eq "live: fetched DNSKEY versions are versions the active polls saw" "0" \
	"$(sqlite3 "$LDB" "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='passive' AND s.qtype=48 AND s.qname='example.lab.' AND o.version_id IS NOT NULL AND o.version_id NOT IN (SELECT o2.version_id FROM observation o2 JOIN series s2 ON s2.id=o2.series_id JOIN target t2 ON t2.id=s2.target_id WHERE t2.kind='provider' AND s2.qtype=48 AND o2.version_id IS NOT NULL)")"
check_ge "live: the collector's own polls are seen too (4 servers)" 4 \
	"$(sqlite3 "$LDB" "SELECT count(*) FROM target WHERE kind='passive'")"
check_ge "live: capture windows recorded" 1 "$(sqlite3 "$LDB" "SELECT count(*) FROM capture_stats")"
check_eq "live: no kernel drops" "0" "$(sqlite3 "$LDB" "SELECT coalesce(sum(dropped + ifdropped), 0) FROM capture_stats")"
check_eq "live: no segmentation-offload sends while capturing (one datagram per query)" "0" \
	"$(sqlite3 "$LDB" "SELECT coalesce(max(value), 0) FROM counter WHERE name='gso'")"
check_eq "live: every captured query of the collector's own polls is paired" "0" \
	"$(sqlite3 "$LDB" "SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='passive' AND o.status=7")"

# --- -w FILE: the collector's own traffic, replayed with -r, gives the same answers
"$COLL" run -c "$W/live.yaml" --once --db "$W/w.db" -w "$W/self.pcap" >"$W/w.log" 2>&1
check_eq "-w: active run writing its traffic exits 0" 0 $?
"$COLL" run -c "$W/live.yaml" --db "$W/r.db" -r "$W/self.pcap" >"$W/r.log" 2>&1
check_eq "-w: the written capture reads back" 0 $?
active=$(sqlite3 "$W/w.db" "SELECT count(*) FROM observation WHERE status = 0")
replayed=$(sqlite3 "$W/r.db" "SELECT count(*) FROM observation WHERE status = 0")
check_eq "-w: every answered query is in the capture, paired ($active)" "$active" "$replayed"
check_eq "-w: the replay holds exactly the versions the active run stored" "" \
	"$(diff <(sqlite3 "$W/w.db" 'SELECT DISTINCT hex(hash) FROM version ORDER BY 1') \
		<(sqlite3 "$W/r.db" 'SELECT DISTINCT hex(hash) FROM version ORDER BY 1'))"

summary >/dev/null
