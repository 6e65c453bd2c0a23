#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: a multi-signer operation on the loopback testbed, driven by the reference
# controller (bin/obs-controller) and gated on the observatory's verdicts, then the same
# operation with gating turned off, and what the observatory says about each.
#
#   testbed + obs-collector   network namespace obs-demo (TB_NETNS), TTLs 2/5/5/5 s
#   obs-web (live)            on the host, http://127.0.0.1:8053/ (DEMO_PORT), reads the
#                             collector's database; whatif needs the token in $W/token
#   obs-controller            on the host: asks obs-web's whatif before each step, applies it
#                             with `tests/testbed/tb apply` (which enters the namespace)
#
# Operation: provider C joins A+B (import C's ZSK at A and B, DS += DS(C), apex NS += C,
# parent NS += C), then a full transfer A -> B through A+B (tb plan add-provider / transfer).
# Then both again with 1 s fixed waits, and: obs-analyzer audit (steps taken early),
# glitches --predicted (windows any TTL-honouring cache could hit), observed glitches (what the
# resolvers showed). The dashboard stays up until Ctrl-C, which stops everything started here.
set -euo pipefail
cd "$(dirname "$0")/.."
export TB_NETNS=${TB_NETNS:-obs-demo}
export TB_DIR=${TB_DIR:-/tmp/obs-demo-testbed}
export TTL_DATA=${TTL_DATA:-2} TTL_DNSKEY=${TTL_DNSKEY:-5} TTL_DS=${TTL_DS:-5} TTL_NS=${TTL_NS:-5}
W=/tmp/obs-demo
export SESS_PORT=${DEMO_PORT:-8053} SESS_WEB_NETNS=0 SESS_CAPTURE=1
FIXED=${DEMO_FIXED_WAIT:-1}
# shellcheck source=ctl-session.sh
. tools/ctl-session.sh

stop() { sess_stop; }
trap stop EXIT
trap 'exit 130' INT TERM
"$TB" stop >/dev/null 2>&1 || true
rm -rf "$W"
mkdir -p "$W"

sess_say "starting the testbed in network namespace $TB_NETNS, obs-collector, obs-web (live)"
sess_start
echo "  dashboard: http://127.0.0.1:$SESS_PORT/   (token for whatif: $W/token)"
sleep 3 # a few polls before the first question

for op in add-provider transfer; do
	sess_say "GATED: $op, each step only on a go from POST /api/v1/zones/example.lab/whatif"
	sess_run "$op" "gated-$op" --max-blocked 60s || echo "  (the controller halted: see the reason above)"
done
for op in add-provider transfer; do
	sess_say "UNGATED: $op again, gating off: ${FIXED} s after each step, whatever the verdict"
	sess_run "$op" "ungated-$op" --no-gate --fixed-wait "${FIXED}s" || true
done
sleep 2 # the last polls are ingested

tof() { sed -E 's/^[0-9-]+T([0-9:]+)\.([0-9]).*/\1.\2/'; }
for run in gated-add-provider gated-transfer ungated-add-provider ungated-transfer; do
	read -r s e <<<"$(sess_span "$run")"
	[ -n "${s:-}" ] || continue
	sess_say "$run ($(tof <<<"$s")-$(tof <<<"$e") UTC): what the observatory says"
	echo "  audit (changes seen while not yet safe; origin, when, how early, glitch IDs, vantages that paid):"
	sess_audit "$s" "$e" | jq -r '"    \(.change) seen \(.changed_at[11:21]) early by \(.early_by * 10 | round / 10) s [\(.ids | join(","))] \(.vantages | map(sub("^[^/]*/"; "")) | join(" "))"' |
		head -12 | grep . || echo "    none"
	echo "  predicted glitch windows opening in the run (glitches --predicted; ID tier, versions, window):"
	sess_predicted "$s" "$e" | jq -r '"    \(.id) \(.tier) \(.severity) \(.a) x \(.b): \(.lo[11:21])..\((.hi // "open")[11:21])"' |
		sort -u | head -10 | grep . || echo "    none"
	echo "  observed glitches (resolvers that failed; vantage, kind, from..until, names):"
	sess_glitches "$s" "$e" | jq -r -s 'group_by(.resolver + .kind + .first_bad)[]
		| "    \(.[0].resolver) \(.[0].kind) \(.[0].first_bad[11:21])..\((.[0].hi // "open")[11:21]) (\(length) names)"' |
		head -12 | grep . || echo "    none"
done

sess_say "summary"
jq -r -s 'group_by(.run)[] | "  \(.[0].run): \(map(select(.outcome == "applied")) | length)/\(length) steps applied, \(map(.waited // 0) | add * 10 | round / 10) s waited; verdicts when applied: \(map("\(.step)=\(.verdicts[-1].verdict)") | join(" "))"' "$W/record.jsonl"
echo "  gated steps that waited (step: waited, then late by vs earliest_safe):"
jq -r 'select(.gated and .earliest_safe != null) | "    \(.run)/\(.step): \(.waited * 10 | round / 10) s, went on \(.late_by * 100 | round / 100) s after earliest_safe"' "$W/record.jsonl"
echo
echo "  Files: $W (record.jsonl: every question and verdict; analysis.db; vantage-1.db)"
echo "  Dashboard: http://127.0.0.1:$SESS_PORT/  (the testbed keeps running; Ctrl-C stops everything)"
# wait in the background so Ctrl-C (INT) and TERM run the cleanup at once
while :; do
	sleep 3600 &
	wait $! || true
done
