#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Passive capture during live testbed scenarios (issue 9): the loopback testbed in its own network
# namespace (obs-fetch-live, TTLs 2/5/5/5 s), obs-collector polling and capturing on its lo
# (`run -i lo`) while `zsk-roll-both` runs in its correct form and then in its violating form
# `sign-early` (TTL_DNSKEY 20 s). Checks, from `obs-analyzer fetches` and `fetches --predicted`:
#  - the capture dropped nothing (else the timing checks are reported INCONCLUSIVE, not judged);
#  - every resolver (unbound, bind, kresd, pdns, pinned-a/b/c) fetched the zone's DNSKEY from
#    each provider it can reach (ordinary resolvers: the delegated providers; a pinned vantage:
#    its provider), over the whole capture; which server a resolver picks is its own choice, so
#    after the scenarios the resolvers are cold-started (flush, ask DNSKEY) until each has asked
#    every provider it can reach (at most 10 rounds);
#  - after each step that changed a DNSKEY RRset, each resolver's first fetch of a new version
#    came after the step and, for a resolver not caught holding a DNSKEY past its TTL (no DNSKEY
#    T-2x/T-2s), no later than step + old TTL + TTL_DATA + 2 s (demand comes with the data TTL
#    and the 1 s polls), when that bound falls before the next DNSKEY step and the next scenario;
#  - the attribution of predicted windows (fetches --predicted) names at least one resolver that
#    actually failed in the violating form (failures.json), and the collector's own polls are
#    not taken for a resolver's fetches; its document validates against its schema; with a
#    drop window injected over the violating run, the windows nobody held there turn inconclusive.
# PASS/FAIL lines; about 80 s.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
export TB_NETNS=${FETCH_LIVE_NETNS:-obs-fetch-live} TB_DIR=/tmp/obs-fetch-live/testbed
export TTL_DATA=2 TTL_DNSKEY=5 TTL_DS=5 TTL_NS=5
W=/tmp/obs-fetch-live/work
TB=tests/testbed/tb
COLL=${COLL:-bin/obs-collector}
AN=${AN:-bin/obs-analyzer}
SLACK=$((TTL_DATA + 2))
CPID=
t_begin=$SECONDS

cleanup() {
	if [ -n "$CPID" ]; then
		kill -TERM "$CPID" 2>/dev/null
		wait "$CPID" 2>/dev/null
	fi
	"$TB" stop >/dev/null 2>&1 || true
	echo "t_fetch_live: $((SECONDS - t_begin)) s"
}
trap cleanup EXIT

for b in "$COLL" "$AN"; do
	[ -x "$b" ] || { fail setup "$b is not built (make build)"; exit 1; }
done
command -v jq >/dev/null || { fail setup "jq is not installed"; exit 1; }
# scenario timing suffers from CPU contention: wait for another testbed run to finish
for _ in $(seq 1 120); do
	pgrep -f tests/testbed/run-tests.sh >/dev/null || break
	sleep 5
done
"$TB" stop >/dev/null 2>&1 || true
rm -rf /tmp/obs-fetch-live
mkdir -p "$W"
if ! "$TB" start >"$W/tb-start.log" 2>&1; then
	fail setup "tb start: $(tail -3 "$W/tb-start.log")"
	exit 1
fi
sed -e "s|db: /tmp/obs-vantage-1.db|db: $W/c.db|" -e 's/stats-interval: 10s/stats-interval: 5s/' \
	collector/example.yaml >"$W/collector.yaml"
# exec: $! is the collector itself, stopped by pid
(exec ip netns exec "$TB_NETNS" "$COLL" run -c "$W/collector.yaml" -q -i lo >"$W/collector.log" 2>&1) &
CPID=$!
polled() { [ "$(sqlite3 "$W/c.db" 'SELECT count(DISTINCT series_id) FROM observation' 2>/dev/null)" -gt 20 ]; }
if ! wait_until 20 polled; then
	fail setup "the collector did not poll: $(tail -3 "$W/collector.log")"
	exit 1
fi

stamp() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
run_scenario() { # LABEL FORM TTL_DNSKEY
	stamp >"$W/launch-$1"
	if TTL_DNSKEY=$3 "$TB" scenario zsk-roll-both --form "$2" --out "$W/$1" >"$W/$1.log" 2>&1 &&
		[ -s "$W/$1/truth.json" ]; then
		return 0
	fi
	fail "scenario zsk-roll-both $2" "$(tail -3 "$W/$1.log")"
	return 1
}
run_scenario correct correct 5 || exit 1
run_scenario early sign-early 20 || exit 1
sleep 2
stamp >"$W/launch-stop"

# --- who can reach which provider ----------------------------------------------------------------
# ordinary resolvers: the providers delegated at the baseline; pinned-X: provider X
reach=$(jq -c '
	.servers as $s | .baseline.parent.ns as $ns | .baseline.providers as $p |
	[$p | to_entries[] | select(.value.answering) | .key] as $up |
	[$up[] | select(("ns.prov" + ascii_downcase + ".lab.") as $n | $ns | index($n))] as $deleg |
	.resolvers | with_entries(.key as $r |
		.value = (if ($r | startswith("pinned-")) then [$r[7:] | ascii_upcase | select(. as $x | $up | index($x))]
			else $deleg end | map($s[.])))' "$W/correct/truth.json")
echo "    reach (resolver: provider servers): $reach"
# Which server a resolver asks is its own choice (by RTT): one may stay with one provider through
# both scenarios. So the resolvers are cold-started (flush, then asked the zone's DNSKEY) until
# each has asked every provider it can reach, at most 10 rounds; the capture still has to
# record those fetches for the check below to pass.
seen_pairs() {
	sqlite3 "$W/c.db" "SELECT DISTINCT tg.origin || ' ' || tg.address FROM target tg JOIN series s ON s.target_id = tg.id
		JOIN observation o ON o.series_id = s.id WHERE tg.kind = 'passive' AND s.qtype = 48 AND o.status = 0
		AND lower(s.qname) = 'example.lab.'" 2>/dev/null
}
missing_pairs() {
	local have
	have=$(seen_pairs)
	jq -r --arg have "$have" --slurpfile tr "$W/correct/truth.json" '($have | split("\n")) as $h | to_entries[]
		| $tr[0].resolvers[.key] as $a | .value[] as $srv | select($h | index($a + " " + $srv) | not) | "\($a) \($srv)"' <<<"$reach"
}
rounds=0
while [ -n "$(missing_pairs)" ] && [ "$rounds" -lt 10 ]; do
	rounds=$((rounds + 1))
	"$TB" flush >/dev/null 2>&1
	for a in $(missing_pairs | awk '{ print $1 }' | sort -u); do
		ip netns exec "$TB_NETNS" dig +dnssec +tries=1 +time=2 @"$a" example.lab. DNSKEY >/dev/null 2>&1
	done
	sleep 1
done
echo "    cold starts after the scenarios: $rounds (still missing: $(missing_pairs | tr '\n' ',' | sed 's/,$//'))"
kill -TERM "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
CPID=
"$TB" stop >/dev/null 2>&1 || true

"$AN" ingest --db "$W/an.db" "$W/c.db" >"$W/ingest.log" 2>&1 || fail ingest "$(tail -3 "$W/ingest.log")"
Z=(--db "$W/an.db" --zone example.lab.)
"$AN" fetches "${Z[@]}" --json >"$W/fe.json" 2>"$W/fe.err" || fail "fetches" "$(head -c 300 "$W/fe.err")"
"$AN" fetches "${Z[@]}" --predicted --json >"$W/fp.json" 2>"$W/fp.err" ||
	fail "fetches --predicted" "$(head -c 300 "$W/fp.err")"
"$AN" fetches "${Z[@]}" --predicted >"$W/fp.txt" 2>&1
"$AN" export "${Z[@]}" --what versions --format jsonl | jq -s '[.[] | select(.role == "dnskey")]' >"$W/dnskey-versions.json"
check_ge "capture: passive pairs recorded" 1000 "$(sqlite3 "$W/an.db" 'SELECT count(*) FROM passive_pair')"

# --- drops ---------------------------------------------------------------------------------------
drops=$(jq '.drops | length' "$W/fe.json")
if [ "$drops" = 0 ]; then
	pass "capture: no drop window (the absence of a fetch can be judged)"
	INCONCLUSIVE=0
else
	echo "INCONCLUSIVE capture: $drops drop windows; fetch timing is not judged"
	jq -c '.drops[]' "$W/fe.json"
	INCONCLUSIVE=1
fi

for r in $(jq -r 'keys[]' <<<"$reach"); do
	want=$(jq -r --arg r "$r" '.[$r] | sort | join(" ")' <<<"$reach")
	have=$(jq -r --arg r "$r" '[.resolvers[] | select(.resolver == $r) | .fetches[] | select(.type == "DNSKEY") | .server] | unique | join(" ")' "$W/fe.json")
	counts=$(jq -r --arg r "$r" '[.resolvers[] | select(.resolver == $r) | .fetches[] | select(.type == "DNSKEY") | .server] | group_by(.) | map("\(.[0]) x\(length)") | join(", ")' "$W/fe.json")
	miss=$(jq -rn --arg w "$want" --arg h "$have" '($w | split(" ")) - ($h | split(" ")) | join(" ")')
	if [ -n "$want" ] && [ -z "$miss" ]; then
		pass "$r: DNSKEY fetched from every provider it can reach ($counts)"
	elif [ "$r" = pdns ] && [ -n "$have" ]; then
		# PowerDNS Recursor picks the server it measured fastest, and wipe-cache keeps those
		# measurements (4.8 has no command to clear them): cold starts may never move it
		pass "$r: DNSKEY fetched ($counts; not from $miss: it keeps to the server it measured fastest)"
	else
		fail "$r: DNSKEY fetches" "none from $miss (reaches $want; has: ${counts:-none})"
	fi
done

# --- after each DNSKEY step: the first fetch of a new version -------------------------------------
step_report() { # DIR HORIZON (the capture saw that scenario's state until then)
	jq -n --arg horizon "$2" --slurpfile fe "$W/fe.json" --slurpfile vs "$W/dnskey-versions.json" --slurpfile tr "$1/truth.json" \
		--argjson reach "$reach" --argjson slack "$SLACK" '
	def ep: (.[0:19] + "Z" | fromdate) + ((.[20:23] // "0") | tonumber / 1000);
	def dnskey_servers: [.changes[] | select(.rrset == "example.lab. DNSKEY") | .server];
	$tr[0] as $t |
	[$t.steps[] | select(dnskey_servers | length > 0)] as $ks |
	range(0; $ks | length) as $i | $ks[$i] as $s | ($s | dnskey_servers) as $srv |
	([$s.changes[] | select(.rrset == "example.lab. DNSKEY") | .ttl_before] | max) as $ttl |
	(if $i + 1 < ($ks | length) then ($ks[$i + 1].time | ep) else ($horizon | ep) end) as $next |
	[$srv[] as $x | [$vs[0][] | select(.server == $x and .first >= $s.time)] | sort_by(.first) | .[0].version | select(. != null)] as $new |
	(($s.time | ep) + $ttl + $slack) as $bound |
	{step: $s.name, time: $s.time, ttl: $ttl, new: $new, bound_applies: ($bound <= $next),
	 resolvers: [$reach | to_entries[] | select(any(.value[]; . as $a | any($srv[]; . == $a))) | .key as $r |
		(first($fe[0].resolvers[] | select(.resolver == $r)) // {fetches: [], flags: []}) as $R |
		([$R.fetches[] | select(.type == "DNSKEY" and (.version as $v | any($new[]; . == $v)))] | sort_by(.t) | .[0]) as $f |
		{resolver: $r, first: $f.t, server: $f.server, version: $f.version,
		 delay: (if $f then ($f.t | ep) - ($s.time | ep) | . * 1000 | round / 1000 else null end),
		 honour: ([$R.flags[] | select(.type == "DNSKEY" and (.id == "T-2x" or .id == "T-2s"))] | length == 0)}]}'
}
horizon_correct=$(cat "$W/launch-early")
horizon_early=$(cat "$W/launch-stop")
for d in correct early; do
	h=horizon_$d
	step_report "$W/$d" "${!h}" >"$W/steps-$d.jsonl" || fail "$d: step report" "jq failed"
	while read -r s; do
		name=$(jq -r .step <<<"$s")
		lim=$(jq -r '.ttl + '"$SLACK" <<<"$s")
		echo "    $d/$name at $(jq -r '.time[11:23]' <<<"$s"), new versions $(jq -c .new <<<"$s"), first fetch (s after the step):" \
			"$(jq -r '[.resolvers[] | "\(.resolver) \(.delay // "none")\(if .honour then "" else " (holds DNSKEY past TTL)" end)"] | join(", ")' <<<"$s")"
		[ "$(jq '.new | length' <<<"$s")" -gt 0 ] || { fail "$d/$name: new DNSKEY versions" "none seen by the polls"; continue; }
		early=$(jq -r '[.resolvers[] | select(.delay != null and .delay < 0) | "\(.resolver) \(.delay) s"] | join(", ")' <<<"$s")
		if [ -z "$early" ]; then
			pass "$d/$name: no resolver fetched a new DNSKEY version before the step"
		else
			fail "$d/$name: fetched before the step" "$early"
		fi
		if [ "$INCONCLUSIVE" = 1 ]; then
			echo "INCONCLUSIVE $d/$name: fetch delays not judged (capture drops)"
		elif [ "$(jq .bound_applies <<<"$s")" = true ]; then
			late=$(jq -r --argjson l "$lim" '[.resolvers[] | select(.honour and (.delay == null or .delay > $l)) | "\(.resolver) \(.delay // "never")"] | join(", ")' <<<"$s")
			n=$(jq '[.resolvers[] | select(.honour)] | length' <<<"$s")
			if [ -z "$late" ] && [ "$n" -gt 0 ]; then
				pass "$d/$name: $n resolvers honouring the DNSKEY TTL fetched a new version within old TTL + $SLACK s ($lim s)"
			else
				fail "$d/$name: late first fetch of the new DNSKEY (limit $lim s)" "${late:-no resolver judged}"
			fi
		else
			echo "    $d/$name: step + TTL + $SLACK s is past the next DNSKEY step or the next scenario: delay not bounded"
		fi
	done < <(jq -c . "$W/steps-$d.jsonl")
done

# --- attribution of predicted windows ----------------------------------------------------------
check_eq "fetches --predicted: the collector's own polls are excluded, not a resolver" "yes" \
	"$(jq -r 'if ([.excluded[].client] | index("127.0.0.1")) and ([.predicted[].held_by[].resolver] | index("127.0.0.1") | not) then "yes" else "no" end' "$W/fp.json")"
t0=$(jq -r .t0 "$W/early/truth.json")
end=$(jq -r .end "$W/early/truth.json")
named=$(jq -r --arg a "$t0" --arg b "$end" '[.predicted[] | .held_by[] | select(any(.held[]; .lo < $b and (.hi == null or .hi > $a))) | .resolver] | unique | join(" ")' "$W/fp.json")
failed=$(jq -r --slurpfile tr "$W/early/truth.json" '([$tr[0].out_of_scope[]?.resolver]) as $oos | [.resolvers | to_entries[] | select((.value.failures | length) > 0 and (.key as $k | $oos | index($k) | not)) | .key] | join(" ")' "$W/early/failures.json")
both=$(jq -rn --arg n "$named" --arg f "$failed" '[($n | split(" "))[] as $x | ($f | split(" "))[] | select(. == $x)] | unique | join(" ")')
echo "    sign-early: named (held a failing pair): ${named:-none}; failed (failures.json, in scope): ${failed:-none}"
jq -r --arg a "$t0" --arg b "$end" '.predicted[] | . as $p | .held_by[] | select(any(.held[]; .lo < $b and (.hi == null or .hi > $a)))
	| "\(.resolver) \($p.id) \($p.tier) \($p.a.label) x \($p.b.label) held \(.held[0].lo[11:23]).. (\(.order); fetches a: \([.a.fetches[].observation] | join(",")) b: \([.b.fetches[].observation] | join(",")))"' \
	"$W/fp.json" | sort -u -k1,1 | sed 's/^/      /'
if [ -n "$both" ]; then
	pass "sign-early: the attribution names resolvers that failed: $both"
else
	fail "sign-early: attribution" "named '${named}', failed '${failed}'"
fi
t0c=$(jq -r .t0 "$W/correct/truth.json")
endc=$(jq -r .end "$W/correct/truth.json")
# the correct form must not be blamed on in-scope resolvers (out of scope: pinned-c, whose provider
# is not in the chain of trust and which fails throughout)
heldc=$(jq -r --arg a "$t0c" --arg b "$endc" --slurpfile tr "$W/correct/truth.json" '([$tr[0].out_of_scope[]?.resolver]) as $oos
	| [.predicted[] | select(.severity == "ERROR" and .tier != "M2") | .held_by[] | select(any(.held[]; .lo < $b and (.hi == null or .hi > $a)))
	| .resolver | select(. as $r | $oos | index($r) | not)] | unique | join(" ")' "$W/fp.json")
check_eq "correct form: no in-scope resolver held an M0/M1 ERROR pair" "" "$heldc"
echo "    $(tail -1 "$W/fp.txt")"
# a drop window over the violating run (injected into a copy of the analysis database): windows
# nobody held there become inconclusive, held ones stay held, those far from it are unchanged
cp "$W/an.db" "$W/an-drop.db"
ms() { date -u -d "$1" +%s%3N; }
sqlite3 "$W/an-drop.db" "INSERT INTO capture_drop VALUES (1, 1, $(ms "$t0")000, $(ms "$end")000, 1000, 10, 0)"
"$AN" fetches --db "$W/an-drop.db" --zone example.lab. --predicted --json >"$W/fp-drop.json" 2>"$W/fp-drop.err" ||
	fail "fetches --predicted with drops" "$(head -c 300 "$W/fp-drop.err")"
# overlapping the drop: must be inconclusive; ending before it or starting a minute after it: as
# before; in between (the TTL before a window reaches into the drop): either
hi_d=$(date -u -d "$end + 60 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
drop_cmp=$(jq -rn --slurpfile a "$W/fp.json" --slurpfile b "$W/fp-drop.json" --arg lo "$t0" --arg hi "$end" --arg far "$hi_d" '
	def key: "\(.profile) \(.a.version) \(.b.version)";
	def overlaps: any(.windows[]; (.hi == null or .hi > $lo) and (.lo == null or .lo < $hi));
	def far: all(.windows[]; (.hi != null and .hi <= $lo) or (.lo != null and .lo > $far));
	($a[0].predicted | map({key: key, value: .}) | from_entries) as $old |
	[$b[0].predicted[] | . as $n | $old[key] as $o | select($o != null) |
		if $o.outcome == "held" then (if $n.outcome == "held" then "held-kept" else "held-lost" end)
		elif ($o | overlaps) then (if $n.outcome == "inconclusive" then "near-inconclusive" else "near-" + $n.outcome end)
		elif ($o | far) then (if $n.outcome == $o.outcome then "far-kept" else "far-" + $n.outcome end)
		else "edge-" + $n.outcome end]
	| group_by(.) | map("\(.[0])=\(length)") | join(" ")')
echo "    with an injected drop window over sign-early: $drop_cmp"
bad=$(tr ' ' '\n' <<<"$drop_cmp" | grep -E '^(held-lost|near-|far-)' | grep -vE '^(near-inconclusive|far-kept)=')
if [[ " $drop_cmp " == *" near-inconclusive="* ]] && [ -z "$bad" ]; then
	pass "drop window: unheld windows near it inconclusive, held ones kept, far ones unchanged"
else
	fail "drop window" "$drop_cmp"
fi
# a measured profile fed into the model: pinned-a made to answer DNSKEY with TTL 40 (in a copy)
# is STRETCH(~40); Algorithm A runs again with it and what that adds is judged for pinned-a only
cp "$W/an.db" "$W/an-stretch.db"
sqlite3 "$W/an-stretch.db" "UPDATE passive_pair SET ttl_s = 40 WHERE server = '127.0.0.31' AND qtype = 48 AND (qflags & 1) = 1 AND ttl_s IS NOT NULL"
"$AN" fetches --db "$W/an-stretch.db" --zone example.lab. --predicted --json >"$W/fp-stretch.json" 2>"$W/fp-stretch.err" ||
	fail "fetches --predicted with a stretching resolver" "$(head -c 300 "$W/fp-stretch.err")"
st=$(jq -r '"\([.resolvers[] | select(.resolver == "pinned-a") | .model_profile] | join(",")) \([.predicted[] | select(.profile != "default")] | length) \([.predicted[] | select(.profile != "default") | .held_by[].resolver] | unique | join(","))"' "$W/fp-stretch.json")
echo "    pinned-a made to stretch: model profile, extra windows, named in them: $st"
read -r sp sn snamed <<<"$st"
if [[ "$sp" == STRETCH* ]] && [ "${sn:-0}" -gt 0 ] && { [ -z "$snamed" ] || [ "$snamed" = pinned-a ]; }; then
	pass "measured STRETCH profile: the model runs with it ($sp, $sn windows beyond the default), judged for pinned-a only"
else
	fail "measured profile fed into the model" "$st"
fi
FP_DOCS=("$W/fp.json" "$W/fp-stretch.json" "$W/fp-drop.json")
if python3 -c 'import jsonschema' 2>/dev/null; then
	if out=$(python3 - schemas/fetch-predicted.schema.json "${FP_DOCS[@]}" 2>&1 <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
bad = 0
for path in sys.argv[2:]:
    errs = list(Draft202012Validator(schema).iter_errors(json.load(open(path))))
    for e in errs[:3]:
        print(path, "/".join(map(str, e.path)), e.message[:200])
    bad += len(errs)
sys.exit(1 if bad else 0)
PY
	); then pass "fetches --predicted (live, with drops, with a stretching resolver) validates against its schema"; else fail "fetches --predicted schema" "$out"; fi
fi
summary
