#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end: the dashboard in a real headless Chromium during a live testbed scenario.
# In the network namespace obs-web-e2e: the testbed (tests/testbed/tb), obs-collector writing its
# database, obs-web in live mode on it (127.0.0.1:8053, with a token) and Chromium (playwright-core,
# tests/browser/dashboard.mjs). `tb scenario zsk-roll --form sign-early` (DNSKEY TTL 20 s, 25 s of
# baseline) resets the testbed, then the collector, obs-web and the page start; the page opens
# with ?step=sign-with a KSK ZSK2 (provider A's next ZSK) and the token entered in its whatif
# form; the scenario publishes A.zsk2 and signs with it early. Checked against the scenario's
# truth.json: the status badge goes ok -> broken/degraded during the violation -> ok again, and
# the step's verdict counts down from wait to go, never before the DNSKEY TTL after the key was
# served everywhere; the timeline and the graphs are drawn. Output in tests/out/browser/
# (screenshots dashboard.png and dashboard-violation.png, trace.json, logs, the scenario's files).
# One line per check (PASS name / FAIL name: why), then "N passed, M failed". About 2 minutes.
# Cleans up its processes and the namespace on exit, also after a failure or a signal.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

NS=obs-web-e2e
export TB_NETNS=$NS TB_DIR=/tmp/obs-web-e2e
TB=$ROOT/tests/testbed/tb
OUT=$ROOT/tests/out/browser
TTLS=(TTL_DATA=2 TTL_DNSKEY=20 TTL_DS=20 TTL_NS=5)
LISTEN=127.0.0.1:8053
PASS=0 FAIL=0
CP="" WP="" NP="" SP="" W="" ALL=""

pass() { printf 'PASS %s\n' "$1"; PASS=$((PASS + 1)); }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAIL=$((FAIL + 1)); }
stop_pid() { # stop_pid PID [group]: SIGTERM (the process group with "group"), SIGKILL after 5 s
	local p=$1 target=$1 i
	[ -n "$p" ] || return 0
	[ "${2:-}" = group ] && target=-$p
	kill -TERM -- "$target" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL -- "$target" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
cleanup() {
	trap - EXIT INT TERM
	stop_pid "$NP" group
	stop_pid "$SP" group
	stop_pid "$WP"
	stop_pid "$CP"
	for p in $ALL; do kill -0 "$p" 2>/dev/null && fail cleanup "process $p still runs"; done
	# Chromium runs in its own process group (playwright): any left in our namespace goes too
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		case $(ps -o comm= -p "$p" 2>/dev/null) in chromium* | chrome* | node) kill -KILL "$p" 2>/dev/null ;; esac
	done
	"$TB" stop >"$OUT/tb-stop.log" 2>&1 || true
	ip netns list 2>/dev/null | grep -qw "$NS" && ip netns del "$NS" 2>/dev/null
	if ip netns list 2>/dev/null | grep -qw "$NS"; then fail cleanup "namespace $NS is still there"; fi
	[ -n "$W" ] && [ -z "${KEEP:-}" ] && rm -rf "$W"
	echo "total $((SECONDS)) s" >&2
	printf '%d passed, %d failed\n' "$PASS" "$FAIL"
	[ "$FAIL" = 0 ]
	exit $?
}
trap cleanup EXIT
trap 'fail interrupted "signal"; exit 1' INT TERM
in_ns() { ip netns exec "$NS" "$@"; }
ms() { date -d "$1" +%s.%N; } # RFC 3339 -> epoch seconds

# --- prerequisites
mkdir -p "$OUT"
rm -rf "${OUT:?}"/*
for f in /usr/bin/chromium bin/obs-web bin/obs-collector; do
	[ -x "$f" ] || { fail setup "$f missing (tools/install-deps.sh test; make build)"; exit 1; }
done
command -v node >/dev/null && command -v jq >/dev/null && command -v curl >/dev/null ||
	{ fail setup "node, jq or curl missing (tools/install-deps.sh test)"; exit 1; }
if [ ! -d tests/browser/node_modules/playwright-core ]; then
	(cd tests/browser && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
		{ fail setup "npm install of playwright-core failed"; exit 1; }
fi
# testbed tests are timing-sensitive on 2 cores: never overlap with a testbed CI run
ci_runs() { pgrep -f '^(timeout [0-9]+ |/usr/bin/env bash |/bin/bash |bash )*[^ ]*tests/testbed/run-tests\.sh' >/dev/null; }
for i in $(seq 240); do ci_runs || break; [ "$i" = 1 ] && echo "waiting for a testbed CI run to end" >&2; sleep 5; done
ci_runs && { fail setup "a testbed CI run is still going after 20 min"; exit 1; }

# --- the testbed in its own namespace (a leftover of a crashed run is stopped first)
"$TB" stop >/dev/null 2>&1 || true
if env "${TTLS[@]}" "$TB" start >"$OUT/tb-start.log" 2>&1; then pass "testbed start in netns $NS"
else fail "testbed start in netns $NS" "$(tail -n 1 "$OUT/tb-start.log")"; exit 1; fi
# shellcheck disable=SC1091
. "$TB_DIR/testbed.env"
STEP="sign-with a $A_KSK_ALG/$A_KSK_TAG $A_ZSK2_ALG/$A_ZSK2_TAG"

# --- the scenario; it first resets the testbed to its baseline (A+B delegated). The collector
# starts only then: C, delegated after `tb start`, is never seen in the delegation (the analyzer
# would keep C's DNSKEY RRset, still served, as a version resolvers once fetched). BASE_OBS: 25 s
# of baseline before the first step, for the collector, obs-web and the page to settle on ok.
W=$(mktemp -d /tmp/obs-web-e2e-work.XXXXXX)
READY=$W/ready DONE=$W/done
setsid env "${TTLS[@]}" BASE_OBS=25 "$TB" scenario zsk-roll --form sign-early --out "$OUT/scenario" >"$OUT/scenario.log" 2>&1 &
SP=$!
for i in $(seq 240); do grep -q 'baseline ready' "$OUT/scenario.log" && break; kill -0 "$SP" 2>/dev/null || break; sleep 0.25; done
if grep -q 'baseline ready' "$OUT/scenario.log"; then pass "scenario baseline ready"
else fail "scenario baseline ready" "$(tail -n 1 "$OUT/scenario.log")"; exit 1; fi

# --- collector and obs-web (live mode) inside the namespace
sed -e "s|db: /tmp/obs-vantage-1.db|db: $W/collector.db|" collector/example.yaml >"$W/collector.yaml"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/token"
chmod 600 "$W/token"
# (`ip netns exec` execs the program: $! is its pid)
ip netns exec "$NS" bin/obs-collector run -c "$W/collector.yaml" -q >"$OUT/collector.log" 2>&1 &
CP=$!
ip netns exec "$NS" bin/obs-web --db "$W/analysis.db" --collector "$W/collector.db" --state-dir "$W/rrd" \
	--listen "$LISTEN" --token-file "$W/token" --ingest-every 1s >"$OUT/obs-web.log" 2>&1 &
WP=$!
ALL="$CP $WP"
api_up() { in_ns curl -sf "http://$LISTEN/api/v1/zones/example.lab." >/dev/null; }
for i in $(seq 100); do api_up && break; sleep 0.2; done
if api_up; then pass "collector and obs-web up ($LISTEN in $NS)"
else fail "collector and obs-web up" "$(tail -n 2 "$OUT/obs-web.log" "$OUT/collector.log" | tr '\n' ' ')"; exit 1; fi

# --- Chromium on the zone page (in the namespace too)
setsid ip netns exec "$NS" env E2E_URL="http://$LISTEN/zones/example.lab." E2E_STEP="$STEP" \
	E2E_TOKEN_FILE="$W/token" E2E_OUT="$OUT" E2E_READY="$READY" E2E_DONE="$DONE" \
	E2E_READY_MAX_S=25 E2E_AFTER_MAX_S=45 E2E_TOTAL_MAX_S=200 \
	node tests/browser/dashboard.mjs >"$OUT/browser.out" 2>"$OUT/browser.log" &
NP=$!
ALL="$ALL $NP"
for i in $(seq 120); do [ -e "$READY" ] && break; kill -0 "$NP" 2>/dev/null || break; sleep 0.25; done
if [ "$(cat "$READY" 2>/dev/null)" = ok ]; then pass "page shows status ok at the baseline"
else fail "page shows status ok at the baseline" "$(cat "$READY" 2>/dev/null || echo "browser: $(tail -n 1 "$OUT/browser.log")")"; fi

wait "$SP"
rc=$?
SP=""
if [ "$rc" = 0 ] && jq empty "$OUT/scenario/truth.json" 2>/dev/null; then pass "scenario zsk-roll sign-early"
else fail "scenario zsk-roll sign-early" "rc $rc: $(tail -n 1 "$OUT/scenario.log")"; fi
touch "$DONE"
wait "$NP"
NP=""
grep -E '^(PASS|FAIL) ' "$OUT/browser.out"
PASS=$((PASS + $(grep -c '^PASS ' "$OUT/browser.out")))
FAIL=$((FAIL + $(grep -c '^FAIL ' "$OUT/browser.out")))
TRACE=$OUT/trace.json TRUTH=$OUT/scenario/truth.json
if ! jq empty "$TRACE" 2>/dev/null || ! jq empty "$TRUTH" 2>/dev/null; then
	fail "trace and truth" "no trace.json or truth.json (see $OUT/browser.log)"
	exit 1
fi

# --- what the page showed, against the ground truth (epoch seconds, one clock)
TV=$(ms "$(jq -r '.steps[] | select(.violation != null) | .time' "$TRUTH")")
TU=$(jq -r '[.expected[].until] | max' "$TRUTH")
TU=$(ms "$TU")
TEND=$(ms "$(jq -r .end "$TRUTH")")
# the change sign-with must wait for: A.zsk2 served at A and at B, plus the DNSKEY TTL. The
# driver records a step as served when its rebuild returned, which can be after the change was
# visible: per step, the collector's first sighting of a new DNSKEY run at that server counts
# when it is earlier (as in tests/acceptance/t_verdicts.sh).
SAFE=0
while IFS=$'\t' read -r addr start served; do
	seen=$(sqlite3 "$W/collector.db" "SELECT min(r.first_seen) FROM run r JOIN series s ON
		s.id = r.series_id JOIN target g ON g.id = s.target_id WHERE g.address = '$addr' AND
		s.role = 'dnskey' AND (s.flags & 1) = 0 AND r.first_seen >= $(awk -v t="$(ms "$start")" 'BEGIN { printf "%.0f", t * 1e6 }')")
	SAFE=$(awk -v a="$SAFE" -v s="$(ms "$served")" -v f="${seen:-}" 'BEGIN {
		e = s; if (f != "" && f / 1e6 < e) e = f / 1e6; printf "%.3f", (e > a ? e : a) }')
done < <(jq -r '.steps[] | select(.name == "publish-zsk2-a" or .name == "import-zsk2-b")
	| [.changes[0].server, .time, .served] | @tsv' "$TRUTH")
SAFE=$(awk -v s="$SAFE" -v t="$(jq .ttl.dnskey "$TRUTH")" 'BEGIN { printf "%.3f", s + t }')
jqt() { jq -r --argjson tv "$TV" --argjson tu "$TU" --argjson tend "$TEND" --argjson safe "$SAFE" "$@" "$TRACE"; }
echo "    violation at $TV, expected windows until $TU, scenario end $TEND, sign-with safe from $SAFE" >&2
jqt '[.samples[] | {t: (.t | floor), status, verdict, remaining}] | group_by(.t) | map(.[0]) | .[] | "    \(.t) \(.status) \(.verdict) \(.remaining)"' >"$OUT/trace.txt"

T0=$(ms "$(jq -r .t0 "$TRUTH")")
if [ "$(jqt --argjson t0 "$T0" '[.samples[] | select(.status == "ok" and .t >= $t0 and .t < $tv)] | length')" -gt 0 ] &&
	[ "$(jqt '[.samples[] | select(.t < $tv)] | last | .status')" = ok ]; then pass "status ok at the baseline, up to the violation"
else fail "status ok at the baseline, up to the violation" "$(jqt --argjson t0 "$T0" '[.samples[] | select(.t >= $t0 and .t < $tv) | .status] | unique | join(",")')"; fi
bad=$(jqt '[.samples[] | select((.status == "broken" or .status == "degraded") and .t >= $tv and .t <= $tu + 10)] | (first | .t) // empty')
if [ -n "$bad" ]; then
	pass "status $(jqt "[.samples[] | select(.t == $bad)][0].status") during the violation ($(awk -v a="$bad" -v b="$TV" 'BEGIN { printf "%.1f", a - b }') s after the early step)"
else fail "status broken or degraded during the violation" "$(jqt '[.samples[] | select(.t >= $tv and .t <= $tu + 10) | .status] | unique | join(",")')"; fi
lastbad=$(jqt '[.samples[] | select(.status != "ok") | .t] | max // 0')
okafter=$(jqt "[.samples[] | select(.status == \"ok\" and .t > $lastbad)] | length")
if [ -n "$bad" ] && [ "$okafter" -gt 0 ] && [ "$(jqt '.samples[-1].status')" = ok ]; then
	pass "status ok again ($(awk -v a="$lastbad" -v b="$TV" 'BEGIN { printf "%.1f", a - b }') s after the early step)"
else fail "status ok again" "last sample $(jqt '.samples[-1].status'), last non-ok at $lastbad"; fi

# the countdown: wait with a countdown that goes down, then go
wt=$(jqt '[.samples[] | select(.verdict == "wait" and .remaining != null and .remaining > 0)]')
nwait=$(jq length <<<"$wt")
if [ "$nwait" -gt 0 ] && [ "$(jq '[.[].remaining] | unique | length' <<<"$wt")" -ge 3 ] &&
	[ "$(jq '.[0].remaining > .[-1].remaining' <<<"$wt")" = true ] &&
	[ "$(jq '[range(1; length) as $i | select(.[$i].remaining > .[$i - 1].remaining + 1)] | length' <<<"$wt")" = 0 ]; then
	pass "countdown to earliest_safe goes down ($(jq -r '"\(.[0].remaining) s .. \(.[-1].remaining) s"' <<<"$wt"))"
else fail "countdown to earliest_safe goes down" "$(jq -c '[.[].remaining] | unique' <<<"$wt")"; fi
es=$(jqt '[.samples[] | select(.verdict == "wait") | .earliest_safe] | last // empty')
if [ -n "$es" ]; then
	d=$(awk -v e="$(ms "$es")" -v s="$SAFE" 'BEGIN { printf "%.1f", e - s }')
	# never earlier than the truth; at most two poll periods (1 s) and the ingest period later
	if awk -v d="$d" 'BEGIN { exit !(d >= -0.05 && d <= 5) }'; then pass "earliest_safe $es is the DNSKEY TTL after A.zsk2 was served (+$d s)"
	else fail "earliest_safe against the truth" "$es is $d s after $SAFE"; fi
else fail "earliest_safe against the truth" "no wait verdict seen"; fi
go=$(jqt '. as $d | [.samples[] | select(.verdict == "wait")] | (last | .t) as $w | [$d.samples[] | select(.verdict == "go" and .t > ($w // 1e12))] | (first | .t) // empty')
if [ -n "$go" ] && [ -n "$es" ] && awk -v g="$go" -v e="$(ms "$es")" 'BEGIN { exit !(g >= e - 0.5) }'; then
	pass "whatif wait then go ($(awk -v g="$go" -v e="$(ms "$es")" 'BEGIN { printf "%.1f", g - e }') s after earliest_safe)"
else fail "whatif wait then go" "go at ${go:-never}, earliest_safe ${es:-none}"; fi
if [ "$(jqt '[.samples[] | select(.verdict == "go" and .t < ($safe - 0.5))] | length')" = 0 ]; then pass "never go before the DNSKEY TTL ran out"
else fail "never go before the DNSKEY TTL ran out" "$(jqt '[.samples[] | select(.verdict == "go" and .t < ($safe - 0.5)) | .t] | first')"; fi

# obs-web and the collector kept running and stop cleanly
stop_pid "$WP"
wait "$WP" 2>/dev/null
WP=""
if grep -qiE 'AddressSanitizer|runtime error|segmentation' "$OUT/obs-web.log"; then fail "obs-web log clean" "$(grep -m1 -iE 'sanitizer|runtime error|segmentation' "$OUT/obs-web.log")"
else pass "obs-web log clean"; fi
ls -l "$OUT"/dashboard*.png >&2 2>/dev/null
exit 0
