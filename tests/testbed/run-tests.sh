#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests of the loopback testbed: start/stop/flush/status, the canaries, and scenarios in their
# correct and violating forms. One line per check (PASS name / FAIL name: why), then "N passed, M failed".
# Env: TB_DIR (default /tmp/obs-testbed-test); TB_NETNS: the network namespace to run in (default
#      obs-tb-test, so a testbed on the host's loopback is not disturbed; TB_NETNS= for the host);
#      TB_TESTS=quick (7 scenario runs, ~4 min) or full (default: 14 runs, ~8 min).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB=$HERE/tb
export TB_DIR=${TB_DIR:-/tmp/obs-testbed-test} TB_NETNS=${TB_NETNS-obs-tb-test}
OUT=$TB_DIR/test-results
PASS=0 FAIL=0

pass() { printf 'PASS %s\n' "$1"; PASS=$((PASS + 1)); }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAIL=$((FAIL + 1)); }
check() { # check NAME CMD...: PASS if CMD succeeds; its last output line says why it failed
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 1)"; fi
}
finish() {
	"$TB" stop >/dev/null 2>&1 || true
	printf '%d passed, %d failed\n' "$PASS" "$FAIL"
}
trap finish EXIT
command -v jq >/dev/null || { echo "FAIL setup: jq is not installed (tools/install-deps.sh test)"; FAIL=1; exit 1; }

# In a network namespace, resolver queries must run inside it too.
run() { if [ -n "${TB_NETNS:-}" ]; then ip netns exec "$TB_NETNS" "$@"; else "$@"; fi; }
elapsed() { awk -v a="$1" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }

# --- life cycle -----------------------------------------------------------------------------
t_start() {
	local t0=${EPOCHREALTIME/,/.}
	"$TB" stop >/dev/null 2>&1 || true
	"$TB" start || return 1
	echo "start took $(elapsed "$t0") s" >&2
}
t_env() {
	local v
	# shellcheck disable=SC1091
	. "$TB_DIR/testbed.env"
	for v in A_KSK_TAG A_ZSK_TAG B_KSK_TAG B_ZSK_TAG C_KSK_TAG C_ZSK_TAG A_ZSK2_TAG ROOT_CSK_TAG TB_ROOT_DS TB_ADDR_A TB_RES_PINNED_C; do
		[ -n "${!v:-}" ] || { echo "testbed.env lacks $v"; return 1; }
	done
}
t_refuse_second_start() {
	if "$TB" start >/dev/null 2>&1; then echo "a second start succeeded"; return 1; fi
}
t_canaries() { # every resolver: www AD, nx NXDOMAIN with AD, who TXT, bogus SERVFAIL, bogus +cd data
	local r a out
	# shellcheck disable=SC1091
	. "$TB_DIR/testbed.env"
	for r in $TB_RESOLVERS; do
		a=${r#*=} r=${r%%=*}
		out=$(run dig @"$a" +dnssec +tries=2 +time=2 www.example.lab A)
		[[ $out == *"status: NOERROR"* && $out =~ flags:[a-z\ ]*\ ad[\ \;] ]] || { echo "$r: www.example.lab not validated"; return 1; }
		out=$(run dig @"$a" +dnssec +tries=2 +time=2 nx.example.lab A)
		[[ $out == *"status: NXDOMAIN"* && $out =~ flags:[a-z\ ]*\ ad[\ \;] ]] || { echo "$r: nx.example.lab not a validated NXDOMAIN"; return 1; }
		out=$(run dig @"$a" +short +tries=2 +time=2 who.example.lab TXT)
		[[ $out == *provider-* ]] || { echo "$r: who.example.lab TXT missing"; return 1; }
		out=$(run dig @"$a" +tries=2 +time=2 www.broken.lab A)
		[[ $out == *"status: SERVFAIL"* ]] || { echo "$r: www.broken.lab is not SERVFAIL"; return 1; }
		out=$(run dig @"$a" +cd +short +tries=2 +time=2 www.broken.lab A)
		[ "$out" = 192.0.2.66 ] || { echo "$r: www.broken.lab +cd gives no data"; return 1; }
	done
}
t_flush() { "$TB" flush; }
t_status() { "$TB" status >/dev/null || { "$TB" status | grep -v running | tail -n 1; return 1; }; }

# --- scenario checks (jq over truth.json and failures.json) -----------------------------------
# in-scope failure windows: [resolver, t_from, t_until, class] of resolvers not out of scope then
INSCOPE='. as $f | $t[0] as $t | [$f.resolvers | to_entries[] | .key as $r | .value.failures[]
	| select(. as $w | [$t.out_of_scope[] | select(.resolver == $r and .t_from <= $w.t_from + 0.6)] | length == 0)
	| {r: $r, from: .t_from, until: .t_until, class: .class}]'
t_scenario() { # t_scenario NAME FORM [VAR=VALUE ...]
	local name=$1 form=$2 dir=$OUT/$1-$2 t0 v
	shift 2
	rm -rf "$dir"
	t0=${EPOCHREALTIME/,/.}
	env "$@" "$TB" scenario "$name" --form "$form" --out "$dir" >"$dir.log" 2>&1 ||
		{ fail "scenario-$name-$form" "tb scenario failed: $(tail -n 1 "$dir.log")"; return 0; }
	DUR[$name-$form]=$(elapsed "$t0")
	for v in truth failures; do
		jq empty "$dir/$v.json" 2>/dev/null || { fail "scenario-$name-$form" "$v.json is not valid JSON"; return 0; }
	done
	pass "scenario-$name-$form (${DUR[$name-$form]} s)"
	local windows nexp
	windows=$(jq -c --slurpfile t "$dir/truth.json" "$INSCOPE" "$dir/failures.json")
	nexp=$(jq '[.expected[] | select(.must)] | length' "$dir/truth.json")
	t_logged "$name" "$form" "$dir"
	if [ "$form" = correct ] || [ "$(jq '.expected | length' "$dir/truth.json")" = 0 ]; then
		# no resolver in scope may fail at all
		if [ "$windows" = "[]" ]; then pass "no-failure-$name-$form"
		else fail "no-failure-$name-$form" "in-scope failures: $windows"; fi
		return 0
	fi
	# baseline clean: no in-scope failure before the first violating step began
	local tv
	tv=$(jq '[.steps[] | select(.violation != null) | .t] | min' "$dir/truth.json")
	if [ "$(jq --argjson tv "$tv" '[.[] | select(.from < $tv)] | length' <<<"$windows")" = 0 ]; then
		pass "clean-before-violation-$name-$form"
	else
		fail "clean-before-violation-$name-$form" "$(jq -c --argjson tv "$tv" '[.[] | select(.from < $tv)]' <<<"$windows")"
	fi
	# every MUST resolver fails inside its expected window (a failure that starts in [from, until])
	if [ "$nexp" -gt 0 ]; then
		local missing
		missing=$(jq -c --argjson w "$windows" '[.expected[] | select(.must) | . as $e | .resolvers[]
			| . as $r | select([$w[] | select(.r == $r and .from >= $e.t_from - 0.6 and .from <= $e.t_until)] | length == 0)
			| {resolver: $r, id: $e.id, window: [$e.t_from, $e.t_until]}]' "$dir/truth.json")
		if [ "$missing" = "[]" ]; then pass "violation-seen-$name-$form"
		else fail "violation-seen-$name-$form" "no failure inside the expected window: $missing"; fi
	fi
	# failures outside every expected window (MUST or MAY), beyond the implementation's bad-cache hold
	local stray
	stray=$(jq -c --argjson w "$windows" '. as $t | [$w[] | . as $f | select([$t.expected[]
			| select((.resolvers | index($f.r)) and $f.from >= .t_from - 0.6 and $f.from <= .t_until + 1)] | length == 0)]' "$dir/truth.json")
	if [ "$stray" = "[]" ]; then pass "no-stray-failure-$name-$form"
	else fail "no-stray-failure-$name-$form" "failures outside the expected windows: $stray"; fi
	# report the observed windows (for the record)
	jq -r '.resolvers | to_entries[] | "    \(.key): \([.value.failures[] | "[\(.t_from), \(.t_until // "end")) \(.class)"] | join(" "))"' \
		"$dir/failures.json" | grep -v ': $' || true
}

# Logged validation failures (failures.json .resolvers[].logged, from the resolvers' logs and
# PowerDNS's bogus counter). Correct forms: no in-scope resolver logs one after t0 (LOG_QUIET:
# the implementations checked). Masked violating forms (LOG_MASKED): some ordinary resolver logs
# one inside an expected window of the ordinary resolvers (MAY windows included) + 1 s; when
# none chose the violating provider's server, the resolvers pinned to it must have logged it.
LOG_QUIET="unbound bind kresd pdns pinned-a pinned-b pinned-c"
LOG_MASKED=" zsk-roll/sign-early "
t_logged() { # t_logged NAME FORM DIR
	local name=$1 form=$2 dir=$3 bad seen
	if [ "$(jq '[.resolvers[] | select(.logged == null)] | length' "$dir/failures.json")" != 0 ]; then
		fail "logged-$name-$form" "failures.json has no logged field"; return 0
	fi
	if [ "$form" = correct ]; then
		bad=$(jq -c --slurpfile t "$dir/truth.json" --arg quiet " $LOG_QUIET " '$t[0] as $t
			| def oos($r; $x): [$t.out_of_scope[] | select(.resolver == $r and .t_from <= $x + 0.6)] | length > 0;
			[.resolvers | to_entries[] | .key as $r | select($quiet | contains(" " + $r + " "))
			| (.value.logged.events[] | select(oos($r; .t) | not) | {r: $r, t, what, server}),
			  (select((.value.logged.bogus_counter // 0) > 0 and (oos($r; 0) | not)) | {r: $r, bogus_counter: .value.logged.bogus_counter})]' \
			"$dir/failures.json")
		if [ "$bad" = "[]" ]; then pass "no-logged-failure-$name-$form"
		else fail "no-logged-failure-$name-$form" "in-scope resolvers logged validation failures: $(cut -c1-400 <<<"$bad")"; fi
	elif [[ $LOG_MASKED == *" $name/$form "* ]]; then
		# logged: RESOLVERS... -> {resolver: events inside its expected windows}
		logged_in() {
			jq -c --slurpfile t "$dir/truth.json" --args '$t[0] as $t | [.resolvers | to_entries[]
			| select(.key | IN($ARGS.positional[])) | .key as $r | (.value.logged.events // [])[]
			| select(. as $e | [$t.expected[] | select((.resolvers | index($r)) and $e.t >= .t_from - 0.6 and $e.t <= .t_until + 1)] | length > 0)
			| $r] | group_by(.) | map({(.[0]): length}) | add // {}' "$@" <"$dir/failures.json"
		}
		seen=$(logged_in unbound bind kresd pdns)
		# an ordinary resolver meets the failure only if it chose the violating provider's
		# server (its own choice, by RTT); the pinned ones have no choice and must log it
		pinned=$(logged_in pinned-a pinned-b pinned-c)
		if [ "$seen" != "{}" ]; then pass "logged-masked-$name-$form $seen"
		elif [ "$pinned" != "{}" ]; then pass "logged-masked-$name-$form no ordinary resolver chose the violating server; pinned ones logged it: $pinned"
		else fail "logged-masked-$name-$form" "no resolver logged a validation failure inside the expected windows"; fi
	fi
	# for the record: logged events per resolver and their windows
	jq -r '.resolvers | to_entries[] | select(.value.logged.count > 0 or (.value.logged.bogus_counter // 0) > 0)
		| "    \(.key) logged: \(.value.logged.count) in \([.value.logged.windows[] | "[\(.t_from), \(.t_until)]"] | join(" "))\(if .value.logged.bogus_counter then "; bogus counter +\(.value.logged.bogus_counter)" else "" end)"' \
		"$dir/failures.json" || true
}

declare -A DUR
mkdir -p "$OUT"
T_ALL=${EPOCHREALTIME/,/.}
check start t_start
check status t_status
check testbed-env t_env
check refuse-second-start t_refuse_second_start
check canaries t_canaries
check flush t_flush

# Violations need DNSKEY/DS TTLs of ~20 s to show (testbed-recipe.md §6); correct forms run with
# the short defaults.
# A V-1 (old DS cached x new DNSKEY) needs the DNSKEY RRset to expire before the DS: DNSKEY 5, DS 20.
LONG="TTL_DATA=2 TTL_DNSKEY=20 TTL_DS=20 TTL_NS=5"
DSLONG="TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=20 TTL_NS=5"
t_scenario zsk-roll correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
# shellcheck disable=SC2086
t_scenario zsk-roll sign-early $LONG
# shellcheck disable=SC2086
t_scenario zsk-roll-both sign-early $LONG
t_scenario ksk-roll correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
# shellcheck disable=SC2086
t_scenario ksk-roll swap-early $DSLONG
t_scenario transfer correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
t_scenario transfer hard-cutover TTL_DATA=2 TTL_DNSKEY=15 TTL_DS=15 TTL_NS=15
if [ "${TB_TESTS:-full}" = full ]; then
	t_scenario zsk-roll-both correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
	t_scenario add-provider correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
	t_scenario remove-provider correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
	t_scenario remove-provider ds-del-early TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=15 TTL_NS=5
	t_scenario alg-roll correct TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
	# the violating step comes 16 s after the warm-up: the cached old DS must outlive it
	t_scenario alg-roll keys-early TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=30 TTL_NS=5
	# shellcheck disable=SC2086
	t_scenario ksk-roll ds-del-early $LONG
fi

t_stop() {
	local t0=${EPOCHREALTIME/,/.} d
	"$TB" stop || return 1
	for d in "$TB_DIR"/run/*.pid; do [ -e "$d" ] && { echo "pid file left: $d"; return 1; }; done
	echo "stop took $(elapsed "$t0") s" >&2
}
check stop t_stop
check stop-idempotent "$TB" stop
echo "total $(elapsed "$T_ALL") s" >&2
[ "$FAIL" = 0 ]
