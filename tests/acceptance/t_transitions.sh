#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Acceptance of transition detection and classification (obs-analyzer transitions, issue 6).
# 1. Recorded datasets (datasets/*/): every change of every step of truth.json must be an event
#    of a transition of the scenario's kind (zsk-roll -> zsk-rollover, ksk-roll -> ksk-rollover,
#    alg-roll -> algorithm-rollover, add-provider -> provider-join, remove-provider ->
#    provider-leave, transfer -> provider-transfer), at the step's origin and RRset class, first
#    seen within one poll period (1 s) plus jitter (TOL, 0.5 s) of the time the driver saw it
#    served; a step the driver took early on purpose (violation) must fall in a phase marked
#    early. Transitions before t0 (the driver's reset to the baseline) are not judged.
# 2. A synthetic population (build/tools/popgen, 1,000 zones over 30 days unless POP_ZONES /
#    POP_DAYS say otherwise): the population report's counts must equal what the generator
#    injected (its JSON summary).
# Prints PASS / FAIL lines and ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

AN=${AN:-build/san/obs-analyzer}
POPGEN=${POPGEN:-build/tools/popgen}
TOL=${TOL:-1.5}
POP_ZONES=${POP_ZONES:-1000}
POP_DAYS=${POP_DAYS:-30}
T=$(mktemp -d /tmp/obs-trans.XXXXXX)
trap 'rm -rf "$T"' EXIT

# shellcheck disable=SC2016
MS='def ms: . as $s | ($s | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
	+ ((($s | capture("\\.(?<f>[0-9]+)Z$") | .f) // "0") + "00" | .[0:3] | tonumber);'

kind_of() {
	case $1 in
	zsk-roll | zsk-roll-both) echo zsk-rollover ;;
	ksk-roll) echo ksk-rollover ;;
	alg-roll) echo algorithm-rollover ;;
	add-provider) echo provider-join ;;
	remove-provider) echo provider-leave ;;
	transfer) echo provider-transfer ;;
	*) echo unknown ;;
	esac
}

for d in datasets/*/; do
	d=${d%/}
	[ -f "$d/collector.db.gz" ] && [ -f "$d/truth.json" ] || continue
	run=$(basename "$d")
	rm -f "$T"/an.db* "$T"/c.db*
	gzip -dc "$d/collector.db.gz" >"$T/c.db"
	if ! "$AN" ingest --db "$T/an.db" "$T/c.db" >"$T/ingest.log" 2>&1; then
		fail "$run: ingest" "$(tail -2 "$T/ingest.log")"
		continue
	fi
	end=$(jq -r .end "$d/truth.json")
	if ! "$AN" transitions --db "$T/an.db" --zone example.lab. --json --at "$end" >"$T/t.json" 2>"$T/t.err" ||
		! jq -e .transitions "$T/t.json" >/dev/null 2>&1; then
		fail "$run: transitions --json" "$(head -c 300 "$T/t.err")"
		continue
	fi
	kind=$(kind_of "$(jq -r .scenario "$d/truth.json")")
	# every change of every step: (step, name, origin, class, served ms, violating)
	jq -r "$MS"'.steps[] | . as $s | .changes[] |
		[$s.step, $s.name,
		 (if .origin == "parent" then "PARENT" else (.origin | ascii_downcase) end),
		 (if .rrset | endswith(" DNSKEY") then "dnskey"
		  elif .rrset | endswith("RRSIG(data) signers") then "data-signers"
		  elif .rrset | endswith("RRSIG(DNSKEY) signers") then "dnskey-signers"
		  elif .rrset | endswith(" DS") then "ds"
		  elif .rrset | endswith("NS (apex)") then "ns-apex"
		  elif .rrset | endswith("NS (delegation)") then "ns-referral"
		  elif .rrset == "server" then "server" else .rrset end),
		 ($s.time | ms), ($s.served | ms), ($s.violation != null)] | @tsv' "$d/truth.json" >"$T/changes.tsv"
	: >"$T/early.tsv"
	while IFS=$'\t' read -r step name origin class acted served viol; do
		got=$(jq -r --arg k "$kind" --arg o "$origin" --arg c "$class" --argjson a "$acted" --argjson t "$served" \
			--argjson tol "$TOL" "$MS"'
			[.transitions[] | select(.kind == $k) | . as $tr | .events[]
			 | select(.origin == $o and .class == $c)
			 | select((.first | ms) >= ([$a, $t] | min) - $tol * 1000 and (.first | ms) <= $t + $tol * 1000)
			 | .id as $id
			 | {early: ([$tr.phases[] | select(.events | index($id)) | .early] | any),
			    phase: ([$tr.phases[] | select(.events | index($id)) | .name] | join("+"))}]
			| if length == 0 then "none" else
			  (if map(.early) | any then "early" else "ok" end) + " " + (map(.phase) | unique | join(",")) end' "$T/t.json")
		what="$run: step $step $name: $origin $class is a $kind event"
		case $got in
		none) fail "$what" "no $kind event at $origin/$class within ${TOL}s of $(jq -r ".steps[$((step - 1))].served" "$d/truth.json")" ;;
		early*)
			pass "$what (${got#early }, in a phase taken early)"
			printf '%s\t%s\t%s\n' "$step" "$name" "$viol" >>"$T/early.tsv"
			;;
		*) pass "$what (${got#ok })" ;;
		esac
	done <"$T/changes.tsv"
	# a step taken early on purpose must be found early (some of its changes in an early phase)
	while IFS=$'\t' read -r step name; do
		if grep -q "^$step	" "$T/early.tsv"; then
			pass "$run: step $step $name is found taken early"
		else
			fail "$run: step $step $name" "the violating step is in no phase marked early"
		fi
	done < <(jq -r '.steps[] | select(.violation != null) | [.step, .name] | @tsv' "$d/truth.json")
done

# the synthetic population
if [ ! -x "$POPGEN" ]; then
	fail "population" "$POPGEN not built (make build/tools/popgen)"
else
	start=$(date +%s.%N)
	if ! "$POPGEN" --db "$T/pop.db" --zones "$POP_ZONES" --days "$POP_DAYS" --seed 7 >"$T/injected.json" 2>"$T/popgen.err"; then
		fail "population: popgen" "$(head -c 300 "$T/popgen.err")"
	else
		gen=$(echo "$(date +%s.%N) - $start" | bc)
		at=$(jq -r .end "$T/injected.json")
		start=$(date +%s.%N)
		"$AN" report --db "$T/pop.db" --format json --at "$at" >"$T/pop.json" 2>"$T/rep.err"
		secs=$(echo "$(date +%s.%N) - $start" | bc)
		echo "population: $POP_ZONES zones x $POP_DAYS days generated in ${gen}s, report in ${secs}s"
		if ! jq -e .transitions "$T/pop.json" >/dev/null 2>&1; then
			fail "population: report --format json" "$(head -c 300 "$T/rep.err")"
		else
			for k in $(jq -r '.transitions.by_kind | keys[]' "$T/injected.json"); do
				check_eq "population: $k transitions" "$(jq -r ".transitions.by_kind[\"$k\"]" "$T/injected.json")" \
					"$(jq -r ".transitions.by_kind[\"$k\"] // 0" "$T/pop.json")"
			done
			check_eq "population: no transition of a kind not injected" "" \
				"$(jq -r --slurpfile i "$T/injected.json" '.transitions.by_kind | keys - ($i[0].transitions.by_kind | keys) | join(",")' "$T/pop.json")"
			check_eq "population: transitions per month" "$(jq -c '.transitions.by_month' "$T/injected.json")" \
				"$(jq -c '.transitions.by_month' "$T/pop.json")"
			check_eq "population: steps taken early" "$(jq -r .early_steps "$T/injected.json")" "$(jq -r .early_steps.count "$T/pop.json")"
			check_eq "population: observed glitches" "$(jq -r .glitches.count "$T/injected.json")" "$(jq -r .glitches.count "$T/pop.json")"
			check_eq "population: glitch-minutes" "$(jq -r '.glitches.minutes | . * 10 | round' "$T/injected.json")" \
				"$(jq -r '.glitches.minutes | . * 10 | round' "$T/pop.json")"
			check_eq "population: pick-up samples per parent" "$(jq -c '.pickup | map({(.parent): .count}) | add' "$T/injected.json")" \
				"$(jq -c '.pickup | map({(.parent): .count}) | add' "$T/pop.json")"
			check_eq "population: pick-up latency medians (s, within a poll)" \
				"$(jq -c '.pickup | map({(.parent): (.p50 / 60 | round)}) | add' "$T/injected.json")" \
				"$(jq -c '.pickup | map({(.parent): (.p50 / 60 | round)}) | add' "$T/pop.json")"
			check_eq "population: TTL-violating resolvers" "$(jq -c '.ttl_violators | sort' "$T/injected.json")" \
				"$(jq -c '[.ttl_violations[] | select(.id == "T-1") | .vantage] | sort' "$T/pop.json")"
		fi
	fi
fi
summary
