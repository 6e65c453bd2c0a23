#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The collector against a hostile server (tests/tools/dns-hostile.c on 127.0.2.3, spoofing
# from 127.0.2.4): off-path answers never end a query (RFC 5452), bombs and double TSIG are
# recorded as malformed without blowing memory, an EDNS CHAIN option is parsed (never
# printed), a late answer is a timeout and a stray.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

COLL=${COLL:-build/san/obs-collector}
HOSTILE=build/tools/dns-hostile
W=$(mktemp -d /tmp/obs-hostile.XXXXXX)
HP=""
cleanup() {
	[ -n "$HP" ] && kill "$HP" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

for a in 127.0.2.3 127.0.2.4; do
	if ss -Hlnu "src $a:53" | grep -q .; then
		fail setup "address $a:53 taken"
		exit 1
	fi
done
"$HOSTILE" 127.0.2.3 53 127.0.2.4 &
HP=$!
wait_until 5 bash -c "ss -Hlnu 'src 127.0.2.3:53' | grep -q ."

cat >"$W/c.yaml" <<C
collector: { name: hostile-1, db: $W/c.db, stats-interval: 1s }
defaults: { poll: 2s, timeout: 500ms, retries: 1, rate-per-server: 500 }
zones:
  - name: hostile.lab.
    parent-servers: [127.0.2.3]
    providers:
      h: { ns: [ns.h.lab.] }
    ns-addresses: { ns.h.lab.: [127.0.2.3] }
    canaries: [spoof.hostile.lab./A, bomb.hostile.lab./TXT, tsig.hostile.lab./A,
               chain.hostile.lab./A, late.hostile.lab./A]
C
DB=$W/c.db
q() { sqlite3 "$DB" "$1"; }
status_of() { q "SELECT group_concat(o.status) FROM observation o JOIN series s ON s.id=o.series_id JOIN target t ON t.id=s.target_id WHERE t.kind='provider' AND s.qname='$1' ORDER BY o.id"; }

"$COLL" run -c "$W/c.yaml" --once >"$W/once.log" 2>&1
check_eq "collector survives the hostile server" 0 $?
check_eq "spoofed answers ignored, genuine accepted" "0" "$(status_of spoof.hostile.lab.)"
check_eq "genuine answer's data stored" "1" \
	"$(q "SELECT v.rr_count FROM observation o JOIN series s ON s.id=o.series_id JOIN version v ON v.id=o.version_id WHERE s.qname='spoof.hostile.lab.'")"
check_ge "every off-path answer counted" 5 "$(q "SELECT max(value) FROM counter WHERE name='spoofed'")"
check_eq "TXT bomb: malformed, both attempts" "4,4" "$(status_of bomb.hostile.lab.)"
check_eq "two TSIG records: malformed, both attempts" "4,4" "$(status_of tsig.hostile.lab.)"
check_eq "EDNS CHAIN option: answered" "0" "$(status_of chain.hostile.lab.)"
check_eq "late answer: timeouts" "1,1" "$(status_of late.hostile.lab.)"
check_eq "database intact" "ok" "$(q 'PRAGMA integrity_check')"

# memory: many bombs in a continuous run must not grow the collector
"$COLL" run -c "$W/c.yaml" >"$W/run.log" 2>&1 &
CP=$!
wait_until 15 bash -c "[ \$(sqlite3 $DB \"SELECT count(*) FROM observation o JOIN series s ON s.id=o.series_id WHERE s.qname='bomb.hostile.lab.'\") -ge 10 ]"
hwm=$(awk '/VmHWM/ {print $2}' /proc/$CP/status)
kill -TERM $CP
wait $CP
check_eq "continuous run under bombs exits cleanly" 0 $?
if [ "${hwm:-999999}" -lt 200000 ]; then pass "peak RSS under bombs ${hwm} kB (< 200 MB, ASan build)"; else
	fail "peak RSS under bombs" "${hwm} kB"; fi

# --- politeness: a token bucket of 4 queries/s per server address, shared by parent and
# provider roles of the same address (14 queries per round here)
sed -e 's/rate-per-server: 500/rate-per-server: 4/' -e "s|db: $W/c.db|db: $W/r.db|" \
	-e 's/timeout: 500ms, retries: 1/timeout: 2s, retries: 0/' "$W/c.yaml" >"$W/r.yaml"
"$COLL" run -c "$W/r.yaml" --once >"$W/rate.log" 2>&1
RDB=$W/r.db
worst=$(sqlite3 "$RDB" "SELECT max(n) FROM (SELECT (SELECT count(*) FROM observation b WHERE b.t >= a.t AND b.t < a.t + 1000000) AS n FROM observation a)")
span=$(sqlite3 "$RDB" "SELECT (max(t) - min(t)) / 1000 FROM observation")
total=$(sqlite3 "$RDB" "SELECT count(*) FROM observation")
if [ "${worst:-99}" -le 8 ] && [ "${span:-0}" -ge 2000 ]; then
	pass "rate limit: at most $worst queries in any second (bucket 4/s, burst 4), $total queries over ${span} ms"
else
	fail "rate limit" "worst second $worst queries, span ${span} ms for $total queries"
fi

summary >/dev/null
