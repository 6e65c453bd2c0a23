#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Acceptance of the analyzer on the recorded datasets (datasets/*/): every failure window the
# testbed's probes observed at a resolver (failures.json; at least MIN_PROBES probes of 0.5 s,
# since the collector polls each second) must appear as an observed glitch of that vantage
# (obs-analyzer glitches --json) overlapping it, within one poll period. Correct forms must
# give no glitch at an in-scope vantage after t0 (before it the driver resets the testbed).
# Correct forms must also give no ERROR or CRITICAL finding (obs-analyzer findings --json,
# judged only where resolvers can reach: NS reachability, reference §5.3) whose window starts
# at or after t0 (FINDINGS_CHECK=0 turns this off). One known exception, skipped and reported:
# in zsk-roll-correct the parent still delegates to provider c at the first recorded poll (the
# reset from the previous recorded run), so c stays NS-reachable until about t0 + 2 NS TTLs
# and the DNSKEY versions a and b publish in that time give V-2 findings that start after t0
# (real under the model; the dataset should be recorded with a longer settling time).
# Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

AN=${AN:-build/san/obs-analyzer}
MIN_PROBES=${MIN_PROBES:-4}
FINDINGS_CHECK=${FINDINGS_CHECK:-1}
FINDINGS_SKIP=${FINDINGS_SKIP:-zsk-roll-correct}
T=$(mktemp -d /tmp/obs-accept.XXXXXX)
trap 'rm -rf "$T"' EXIT

secs() { jq -r "$1 | if . == null then \"null\" else sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdateiso8601 end"; }

n=0
for d in datasets/*/; do
	d=${d%/}
	[ -f "$d/collector.db.gz" ] && [ -f "$d/failures.json" ] && [ -f "$d/truth.json" ] || continue
	n=$((n + 1))
	run=$(basename "$d")
	rm -f "$T"/an.db* "$T"/c.db*
	gzip -dc "$d/collector.db.gz" >"$T/c.db"
	if ! "$AN" ingest --db "$T/an.db" "$T/c.db" >"$T/ingest.log" 2>&1; then
		fail "$run: ingest" "$(tail -2 "$T/ingest.log")"
		continue
	fi
	end=$(jq -r .end "$d/truth.json")
	"$AN" glitches --db "$T/an.db" --zone example.lab. --json --at "$end" >"$T/g.json" 2>"$T/g.err"
	if ! jq -e '.glitches' "$T/g.json" >/dev/null 2>&1; then
		fail "$run: glitches --json" "$(head -c 300 "$T/g.err")"
		continue
	fi
	form=$(jq -r .form "$d/truth.json")
	oos=$(jq -r '[.out_of_scope[]?.resolver] | join(" ")' "$d/truth.json")
	# every observed failure window of enough probes must be matched
	while IFS=$'\t' read -r res from until count; do
		[ "$count" -ge "$MIN_PROBES" ] || continue
		f=$(echo "\"$from\"" | secs .)
		u=null
		[ "$until" = null ] || u=$(echo "\"$until\"" | secs .)
		hit=$(jq --arg r "$res" --argjson f "$f" --arg u "$u" '
			def s: if . == null then null else sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 end;
			[.glitches[] | select(.resolver == $r and .qname == "www.example.lab." and .qtype == 1)
			 | select((.first_bad | s) <= (if $u == "null" then 1e12 else ($u | tonumber) + 1 end)
				  and ((.hi | s) // 1e12) >= $f - 1)] | length' "$T/g.json")
		if [ "${hit:-0}" -ge 1 ]; then
			pass "$run: $res failure from $from ($count probes) is an observed glitch"
		else
			fail "$run: $res failure from $from ($count probes)" "no overlapping observed glitch"
		fi
	done < <(jq -r '.resolvers | to_entries[] | .key as $r | .value.failures[]? |
		[$r, .from, (.until // "null"), .count] | @tsv' "$d/failures.json")
	if [ "$form" = correct ]; then
		# from t0 on: before it the driver resets the testbed to the scenario's baseline
		t0=$(jq -r .t0 "$d/truth.json" | sed 's/\.[0-9]*Z$/Z/')
		bad=$(jq -r --arg oos " $oos " --arg t0 "$t0" '[.glitches[] | select(.qname == "www.example.lab." and (.excluded | not))
			| select((.first_bad | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) >= ($t0 | fromdateiso8601))
			| .resolver as $r | select(($oos | contains(" " + $r + " ")) | not) | $r] | unique | join(",")' "$T/g.json")
		check_eq "$run: no observed glitch at an in-scope vantage" "" "$bad"
	fi
	if [ "$form" = correct ] && [ "$FINDINGS_CHECK" = 1 ] && [[ " $FINDINGS_SKIP " == *" $run "* ]]; then
		echo "SKIP $run: findings after t0 (known: the previous run's delegation of c, see header)"
	elif [ "$form" = correct ] && [ "$FINDINGS_CHECK" = 1 ]; then
		"$AN" findings --db "$T/an.db" --zone example.lab. --json --at "$end" >"$T/f.json" 2>"$T/f.err"
		if ! jq -e '.findings' "$T/f.json" >/dev/null 2>&1; then
			fail "$run: findings --json" "$(head -c 300 "$T/f.err")"
			continue
		fi
		# times compared to the millisecond; lo null = since before the record
		bad=$(jq -r --arg t0 "$(jq -r .t0 "$d/truth.json")" '
			def ms: . as $s | ($s | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
				+ ((($s | capture("\\.(?<f>[0-9]+)Z$") | .f) // "0") + "00" | .[0:3] | tonumber);
			[.findings[] | select(.severity == "ERROR" or .severity == "CRITICAL")
			 | select(.lo != null and (.lo | ms) >= ($t0 | ms))
			 | "\(.id)/\(.provider // "-")@\(.lo)"] | unique | join(" ")' "$T/f.json")
		check_eq "$run: no ERROR or CRITICAL finding after t0" "" "$bad"
	fi
done
[ "$n" -gt 0 ] || fail "datasets" "no recorded dataset in datasets/ (run datasets/record.sh)"
while IFS= read -r l; do case $l in "PASS "*) pass "${l#PASS }" ;; "FAIL "*) f=${l#FAIL } && fail "${f%%: *}" "${f#*: }" ;; *) echo "$l" ;; esac; done < <(AN="$AN" tests/acceptance/t_transitions.sh 2>&1 | grep -avE '^[0-9]+ passed, [0-9]+ failed')
while IFS= read -r l; do case $l in "PASS "*) pass "${l#PASS }" ;; "FAIL "*) f=${l#FAIL } && fail "${f%%: *}" "${f#*: }" ;; *) echo "$l" ;; esac; done < <(AN="$AN" tests/acceptance/t_verdicts.sh 2>&1 | grep -avE '^[0-9]+ passed, [0-9]+ failed')
while IFS= read -r l; do case $l in "PASS "*) pass "${l#PASS }" ;; "FAIL "*) f=${l#FAIL } && fail "${f%%: *}" "${f#*: }" ;; *) echo "$l" ;; esac; done < <(AN="$AN" tests/acceptance/t_schemas.sh 2>&1 | grep -avE '^[0-9]+ passed, [0-9]+ failed')
while IFS= read -r l; do case $l in "PASS "*) pass "${l#PASS }" ;; "FAIL "*) f=${l#FAIL } && fail "${f%%: *}" "${f#*: }" ;; *) echo "$l" ;; esac; done < <(AN="$AN" tests/acceptance/t_clock_skew.sh 2>&1 | grep -avE '^[0-9]+ passed, [0-9]+ failed')
summary
