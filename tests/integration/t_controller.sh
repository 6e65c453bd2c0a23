#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reference controller (bin/obs-controller) on the loopback testbed, in its own network
# namespace obs-ctl-test (TTLs 2/5/5/5 s): the collector and obs-web (live, inside the
# namespace) watch; the controller runs "C joins A+B" and "transfer A -> B through A+B" gated on
# obs-web's whatif, then both again with gating off (1 s fixed waits).
# Gated: every step applied; no in-scope vantage shows an observed glitch; no step went on later
# than its earliest_safe + 2 poll periods. Ungated: every step the gated run had to wait for
# (earliest_safe more than 2 s after the previous step) is listed by obs-analyzer audit.
# PASS/FAIL lines; ~3-4 minutes.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export TB_NETNS=${CTL_TEST_NETNS:-obs-ctl-test} TB_DIR=/tmp/obs-ctl-test/testbed
export TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
W=/tmp/obs-ctl-test/work
export SESS_WEB_NETNS=1 SESS_CAPTURE=0 SESS_PORT=8053
CTL=${CTL:-build/san/obs-controller}
POLL=1 FIXED=1
PASS=0 FAIL=0
pass() { printf 'PASS %s\n' "$1"; PASS=$((PASS + 1)); }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; FAIL=$((FAIL + 1)); }
# shellcheck source=../../tools/ctl-session.sh
. tools/ctl-session.sh
t_begin=$SECONDS
trap 'sess_stop; echo "t_controller: $((SECONDS - t_begin)) s"' EXIT

for b in bin/obs-collector bin/obs-web bin/obs-analyzer "$CTL"; do
	[ -x "$b" ] || { fail setup "$b is not built (make build build-san)"; exit 1; }
done
command -v jq >/dev/null || { fail setup "jq is not installed"; exit 1; }
"$TB" stop >/dev/null 2>&1 || true
rm -rf /tmp/obs-ctl-test
mkdir -p "$W"
if sess_start; then pass "session starts (testbed, collector, obs-web in $TB_NETNS)"; else fail session "could not start"; exit 1; fi

run_ok() { # run_ok OP LABEL ARGS...
	local out=$W/$2.out
	if sess_run "$1" "$2" --poll "${POLL}s" "${@:3}" >"$out" 2>&1; then
		pass "$2: every step applied ($(jq -s --arg l "$2" '[.[] | select(.run == $l and .outcome == "applied")] | length' "$W/record.jsonl") steps)"
	else
		fail "$2" "halted: $(grep -E 'HALT|halted|error' "$out" | head -3 | tr '\n' ' ')"
	fi
	sed 's/^/    /' "$out"
}
run_ok add-provider gated-add-provider --max-blocked 60s
run_ok transfer gated-transfer --max-blocked 60s
run_ok add-provider ungated-add-provider --no-gate --fixed-wait "${FIXED}s"
run_ok transfer ungated-transfer --no-gate --fixed-wait "${FIXED}s"
sleep 2 # the last polls are ingested
span() { sess_span "$@"; } # START TAIL_END of a run (sess_run watches max TTL + 2 s after it)
plus() { sess_plus "$@"; }

# --- gated: no step later than earliest_safe + 2 poll periods ---------------------------------
late=$(jq -r --argjson lim $((2 * POLL)) 'select(.gated and .late_by != null and .late_by > $lim)
	| "\(.run)/\(.step) went on \(.late_by) s after earliest_safe \(.earliest_safe)"' "$W/record.jsonl")
if [ -z "$late" ]; then pass "gated: no step later than earliest_safe + $((2 * POLL)) s"; else fail "gated: late steps" "$late"; fi
echo "    waits (run/step: waited, first earliest_safe after ready, went on after earliest_safe, verdicts):"
jq -r 'select(.gated) | "    \(.run)/\(.step): waited \(.waited // "-") s, safe in \(if .first_earliest_safe then ((.first_earliest_safe | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.t_ready | sub("\\.[0-9]+Z$"; "Z") | fromdate) | tostring) + " s" else "-" end), late_by \(.late_by // "-"), \([.verdicts[].verdict] | join(">"))"' "$W/record.jsonl"

# --- gated: no observed glitch at an in-scope vantage ----------------------------------------
# A glitch a step causes through caches lasts until the cached RRset expires: at least TTL_DATA
# (2 s here), two polls. A glitch seen at a single poll is a resolver's own hiccup (one run saw
# kresd log "validation failure: example.lab. DNSKEY" once, with a DS and DNSKEY pair that
# validates, and answer bogus at one poll): listed, not judged.
check_clean() { # check_clean LABEL "VANTAGES"
	local s e g one
	read -r s e <<<"$(span "$1")"
	[ -n "$s" ] || { fail "$1: no glitches" "the run did not happen"; return; }
	sel='select(. as $g | $v | contains(" " + $g.resolver + " "))'
	fmt='"\(.resolver) \(.kind) \(.role) \(.first_bad)..\(.hi // "open") (\(.polls) polls)"'
	g=$(sess_glitches "$s" "$e" | jq -r --arg v " $2 " "$sel | select(.polls >= 2) | $fmt" | sort -u)
	one=$(sess_glitches "$s" "$e" | jq -r --arg v " $2 " "$sel | select(.polls < 2) | $fmt" | sort -u)
	[ -z "$one" ] || echo "    $1: single-poll glitches (not judged): $(echo "$one" | tr '\n' ';')"
	if [ -z "$g" ]; then pass "$1: no observed glitch at $2"; else fail "$1: observed glitches" "$(echo "$g" | tr '\n' ';')"; fi
}
check_clean gated-add-provider "unbound bind kresd pdns pinned-a pinned-b"
check_clean gated-transfer "unbound bind kresd pdns"

# --- ungated: the observatory flags the early steps -----------------------------------------
# early = the steps after the first (whose wait is the baseline settling) that the gated run had
# to wait for (a wait verdict); with gating off they went on FIXED s after the previous step.
# Each must be flagged: by obs-analyzer audit (T-3: an entry of one of its origins, parent for
# ds-set / ns-set parent, seen in [went on, served + 2 s]) or, for what audit does not list (a
# server stopped while named: R-1; a conflict opened by the step before), by a predicted window
# (glitches --predicted) open in that interval. At least one early step per run must be in the audit.
check_flagged() { # check_flagged OP
	local s e names n miss="" step tg ts org hit by_audit=0
	read -r s e <<<"$(span "ungated-$1")"
	sess_audit "$s" "$e" >"$W/audit-$1.jsonl"
	sess_predicted "$s" "$e" >"$W/predicted-$1.jsonl"
	names=$(jq -r -s --arg g "gated-$1" '[.[] | select(.run == $g)] | .[1:][]
		| select([.verdicts[].verdict] | index("wait")) | .step' "$W/record.jsonl")
	n=0
	for step in $names; do
		n=$((n + 1))
		read -r tg ts org <<<"$(jq -r --arg l "ungated-$1" --arg s "$step" 'select(.run == $l and .step == $s)
			| "\(.t_go) \(.t_served) \([.whatif | split(" + ")[] | split(" ") | if .[0] == "ds-set" or .[1] == "parent" then "parent" else .[1] end] | join(","))"' "$W/record.jsonl")"
		[ -n "$tg" ] || { miss="$miss $step(not run)"; continue; }
		hit=$(jq -r --arg a "$tg" --arg b "$(plus "$ts" 2)" --arg o "$org" 'select(.changed_at >= $a and .changed_at <= $b and (.origin as $x | $o | split(",") | index($x)))
			| "audit: \(.change) seen \(.changed_at[11:23]), early by \(.early_by * 10 | round / 10) s [\(.ids | join(","))] \(.vantages | map(sub("^[^/]*/"; "")) | join(" "))"' "$W/audit-$1.jsonl" | head -1)
		if [ -n "$hit" ]; then
			by_audit=$((by_audit + 1))
		else
			hit=$(jq -r --arg a "$tg" --arg b "$(plus "$ts" 2)" 'select(.lo <= $b and (.hi == null or .hi >= $a) and .tier != "M2")
				| "predicted (not in audit): \(.id) \(.tier) \(.severity) \(.a) x \(.b) \(.lo[11:23])..\((.hi // "open")[11:23])"' "$W/predicted-$1.jsonl" | head -1)
			[ -n "$hit" ] || hit=$(jq -r --arg a "$tg" --arg b "$(plus "$ts" 2)" 'select(.lo <= $b and (.hi == null or .hi >= $a))
				| "predicted M2 only (not in audit): \(.id) \(.tier) \(.severity) \(.a) x \(.b) \(.lo[11:23])..\((.hi // "open")[11:23])"' "$W/predicted-$1.jsonl" | head -1)
		fi
		if [ -n "$hit" ]; then echo "    $1/$step: $hit"; else miss="$miss $step"; fi
	done
	if [ "$n" = 0 ]; then fail "ungated-$1: flagged" "the gated run waited for no step"
	elif [ -n "$miss" ]; then fail "ungated-$1: flagged" "early steps the observatory did not flag:$miss"
	elif [ "$by_audit" = 0 ]; then fail "ungated-$1: audit" "none of the $n early steps is in the audit"
	else pass "ungated-$1: every early step flagged ($n: $(tr '\n' ' ' <<<"$names"); $by_audit in the audit)"; fi
	echo "    observed glitches during ungated-$1 (vantage kind from..until, names):"
	sess_glitches "$s" "$e" | jq -r -s 'group_by(.resolver + .kind + .first_bad)[]
		| "      \(.[0].resolver) \(.[0].kind) \(.[0].first_bad[11:23])..\((.[0].hi // "open")[11:23]) (\(length) names)"' | head -12
}
check_flagged add-provider
check_flagged transfer
printf '%d passed, %d failed\n' "$PASS" "$FAIL"
[ "$FAIL" -eq 0 ]
