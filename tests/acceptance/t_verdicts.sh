#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Acceptance of the verdicts (issue 5) on the recorded datasets. Each run's collector database
# is cut at the scenario's t0 (before it the driver resets the testbed from the previous run:
# not part of the scenario) and ingested; then, at every poll instant, `obs-analyzer whatif`
# is asked about the scenario's next step (steps.jq turns truth.json's changes into whatif
# steps), and once more at the instant the step was taken. Checked per step:
#   - no "go" at an instant before the step's truth (the change it waits for + the TTL of what
#     that change replaced);
#   - correct forms: at the instant the step was taken, "go", or "wait" with
#     earliest_safe no later than the time the step was taken (+ TOL seconds, default 0);
#   - every "wait" has earliest_safe >= the truth, and the last one <= truth + 2 poll periods
#     + eps_safe;
#   - violating forms: the early step gets "wait" or "stop" (a "wait" within the same bounds);
#   - violating forms: each glitch ID the violation should cause is predicted (a window that
#     starts around the early step), and every resolver-observed failure (failures.json, in
#     scope, at least MIN_PROBES probes) starts inside a predicted window of those IDs and
#     outlasts it by no more than that resolver's bad-cache hold plus a poll period;
#   - correct forms: no predicted ERROR window after t0, and the audit (T-3) flags no step;
#   - violating forms: the audit flags a change at the early step as taken early.
# Prints PASS/FAIL lines (counted by run.sh). RUNS="a b" limits the datasets.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

AN=${AN:-build/san/obs-analyzer}
TOL=${TOL:-0}
POLL=${POLL:-1}
EPS=${EPS:-0}
MIN_PROBES=${MIN_PROBES:-4}
T=$(mktemp -d /tmp/obs-verdicts.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT

iso() { jq -r 'map(. as $t | ($t | floor | todate | sub("Z$"; "")) + "." + ((($t * 1000 | floor) % 1000 + 1000 | tostring)[1:]) + "Z") | .[]'; }
secs() { jq -r 'if . == null then "null" else (sub("\\.(?<f>[0-9]+)Z$"; "Z") | fromdateiso8601) + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber) end'; }

for d in datasets/*/; do
	run=$(basename "$d")
	[ -f "$d/truth.json" ] && [ -f "$d/collector.db.gz" ] || continue
	if [ -n "${RUNS:-}" ] && ! grep -qw "$run" <<<"$RUNS"; then continue; fi
	rm -f "$T"/an.db* "$T"/c.db*
	gzip -dc "$d/collector.db.gz" >"$T/c.db"
	t0=$(jq -r .t0 "$d/truth.json" | jq -R . | secs)
	t0us=$(awk -v t="$t0" 'BEGIN { printf "%.0f", t * 1e6 }')
	sqlite3 "$T/c.db" "DELETE FROM observation WHERE t < $t0us" || { fail "$run: trim" "sqlite3 failed"; continue; }
	if ! "$AN" ingest --db "$T/an.db" "$T/c.db" >"$T/ingest.log" 2>&1; then
		fail "$run: ingest" "$(tail -2 "$T/ingest.log")"
		continue
	fi
	form=$(jq -r .form "$d/truth.json")
	# one instant per collector round: the parent's DS polls (from the collector database: the
	# analysis database's polls are a virtual table the sqlite3 shell cannot read)
	if ! sqlite3 "$T/c.db" "SELECT DISTINCT o.t FROM observation o JOIN series s ON s.id = o.series_id
		WHERE s.role = 'ds' AND (s.flags & 1) = 0 ORDER BY o.t" >"$T/instants" || [ ! -s "$T/instants" ]; then
		fail "$run: poll instants" "none read from the collector database"
		continue
	fi
	prev=$t0
	# The driver records a step as served when its rebuild returned, which can be after the
	# change was visible: a change counts from the collector's first sighting when that is
	# earlier (per changed server: a new run of that RRset, or a failed poll for a stop; the
	# step's sighting is the latest over its servers).
	seen='{}'
	while IFS=$'\t' read -r sname saddr role st; do
		stus=$(awk -v t="$st" 'BEGIN { printf "%.0f", t * 1e6 }')
		if [ "$role" = stop ]; then
			q="SELECT min(o.t) FROM observation o JOIN series s ON s.id = o.series_id JOIN target g
				ON g.id = s.target_id WHERE g.address = '$saddr' AND s.role = 'soa'
				AND (s.flags & 1) = 0 AND o.status != 0 AND o.t >= $stus"
		else
			q="SELECT min(r.first_seen) FROM run r JOIN series s ON s.id = r.series_id JOIN target g
				ON g.id = s.target_id WHERE g.address = '$saddr' AND s.role = '$role'
				AND (s.flags & 1) = 0 AND r.first_seen >= $stus"
		fi
		db=$T/an.db
		[ "$role" = stop ] && db=$T/c.db # polls: the collector's; runs: the analyzer's
		f=$(sqlite3 "$db" "$q") || { fail "$run/$sname: first sighting" "sqlite3 failed"; f=; }
		[ -n "$f" ] || f=1e18
		seen=$(jq -c --arg n "$sname" --argjson f "$f" '. + {($n): ([.[$n] // 0, $f / 1e6] | max)}' <<<"$seen")
	done < <(jq -r '.steps[] | .name as $n | .time as $t | .changes[]
		| (if .rrset == "server" then (if (.after | index("stopped")) then "stop" else empty end)
		   elif (.rrset | endswith(" DS")) then "ds" elif (.rrset | endswith("(delegation)")) then "referral"
		   elif (.rrset | endswith(" DNSKEY")) then "dnskey" elif (.rrset | endswith("(apex)")) then "ns"
		   elif (.rrset | endswith("RRSIG(DNSKEY) signers")) then "dnskey" else "soa" end) as $role
		| [$n, .server, $role, ($t | sub("\\.(?<f>[0-9]+)Z$"; "Z") | fromdateiso8601)] | @tsv' "$d/truth.json")
	jq -r --argjson seen "$seen" -f tests/acceptance/steps.jq "$d/truth.json" >"$T/steps"
	while IFS=$'\t' read -r name tact truth viol args; do
		# the instants strictly between the previous step and this one; --at just after the poll
		# and the instant the step was taken (the controller asks, then acts)
		{
			awk -v a="$prev" -v b="$tact" '{ t = ($1 + 1000) / 1e6; if (t > a && t < b - 0.001) printf "%.3f\n", t }' \
				"$T/instants"
			awk -v b="$tact" 'BEGIN { printf "%.3f\n", b - 0.001 }'
		} >"$T/at"
		prev=$tact
		: >"$T/verdicts"
		while read -r t; do
			at=$(jq -n --argjson t "$t" '[$t]' | iso)
			# shellcheck disable=SC2086 # the step's words are separate arguments
			if ! "$AN" whatif --json --db "$T/an.db" --zone example.lab. --at "$at" $args \
				>"$T/w.json" 2>"$T/w.err"; then
				echo "$t error $(head -c 200 "$T/w.err")" >>"$T/verdicts"
				continue
			fi
			v=$(jq -r .verdict "$T/w.json")
			e=$(jq -r '.earliest_safe' "$T/w.json" | jq -R 'if . == "null" then null else . end' | secs)
			echo "$t $v $e" >>"$T/verdicts"
		done <"$T/at"
		errors=$(awk '$2 == "error"' "$T/verdicts" | head -1)
		[ -z "$errors" ] || fail "$run/$name: whatif failed" "$errors"
		counts=$(awk '{ n[$2]++ } END { for (k in n) printf "%s=%d ", k, n[k] }' "$T/verdicts")
		# no go before the truth
		if [ "$truth" != "-" ]; then
			early=$(awk -v tr="$truth" '$2 == "go" && $1 < tr - 0.001 { print; exit }' "$T/verdicts")
			if [ -n "$early" ]; then
				fail "$run/$name: go before the truth $truth" "$early"
			else
				pass "$run/$name: no go before the truth ($counts)"
			fi
		fi
		# earliest_safe never before the truth, and the last wait at most 2 polls + eps after it
		if [ "$truth" != "-" ] && grep -q ' wait ' "$T/verdicts"; then
			bad=$(awk -v tr="$truth" '$2 == "wait" && $3 < tr - 0.001 { print; exit }' "$T/verdicts")
			lw=$(awk '$2 == "wait" { w = $3 } END { print w }' "$T/verdicts")
			if [ -n "$bad" ]; then
				fail "$run/$name: earliest_safe before the truth $truth" "$bad"
			elif [ "$form" != correct ] || [ "$viol" != "-" ]; then
				pass "$run/$name: earliest_safe never before the truth $truth"
			elif awk -v e="$lw" -v tr="$truth" -v p="$POLL" -v eps="$EPS" 'BEGIN { exit !(e <= tr + 2 * p + eps + 0.001) }'; then
				pass "$run/$name: earliest_safe in [truth, truth + 2 polls + eps] (last wait until $lw, truth $truth)"
			else
				fail "$run/$name: the last earliest_safe $lw is later than truth + 2 polls + eps ($truth)" ""
			fi
		fi
		last=$(tail -1 "$T/verdicts")
		read -r lt lv le <<<"$last"
		if [ "$viol" = "-" ] && [ "$form" != correct ]; then
			: # later steps of a violating form: only "no go before the truth"
		elif [ "$viol" = "-" ]; then
			if [ "$lv" = go ] || { [ "$lv" = wait ] && awk -v e="$le" -v a="$tact" -v tol="$TOL" 'BEGIN { exit !(e <= a + tol) }'; }; then
				pass "$run/$name: $lv at the last poll before the step (earliest ${le})"
			else
				fail "$run/$name: not go by the time the step was taken ($tact)" "last instant $last"
			fi
		else
			case "$lv" in
			stop) pass "$run/$name: the early step gets stop" ;;
			wait)
				if awk -v e="$le" -v tr="$truth" -v p="$POLL" -v eps="$EPS" 'BEGIN { exit !(e >= tr && e <= tr + 2 * p + eps + 0.001) }'; then
					pass "$run/$name: the early step gets wait until $le (truth $truth)" ""
				else
					fail "$run/$name: the early step's earliest_safe $le is outside [truth, truth + 2 polls + eps] (truth $truth)" ""
				fi
				;;
			*) fail "$run/$name: the early step gets $lv" "last instant $last" ;;
			esac
		fi
	done <"$T/steps"

	# predicted glitches on the whole (trimmed) record
	end=$(jq -r .end "$d/truth.json")
	if ! "$AN" glitches --predicted --json --db "$T/an.db" --zone example.lab. --at "$end" >"$T/p.json" 2>"$T/p.err"; then
		fail "$run: glitches --predicted" "$(head -c 200 "$T/p.err")"
		continue
	fi
	jq -r 'def s: if . == null then null else (sub("\\.(?<f>[0-9]+)Z$"; "Z") | fromdateiso8601) + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber) end;
		.predicted[] | .id as $id | .tier as $tier | .severity as $sev
		| .windows[] | [$id, $tier, $sev, ((.lo | s) // -1e12), ((.hi | s) // 1e12)] | @tsv' "$T/p.json" >"$T/pred"
	"$AN" audit --json --db "$T/an.db" --zone example.lab. --at "$end" >"$T/audit.json" 2>"$T/a.err" ||
		fail "$run: audit" "$(head -c 200 "$T/a.err")"
	jq -r 'def s: (sub("\\.(?<f>[0-9]+)Z$"; "Z") | fromdateiso8601) + ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | ("0." + .) | tonumber);
		.audit[]? | [(.changed_at | s), .early_by, (.ids | join(",")), .origin, (.vantages | length)] | @tsv' \
		"$T/audit.json" >"$T/audit"
	if [ "$form" = correct ]; then
		bad=$(awk -v t0="$t0" '$1 >= t0 + 1 { print; exit }' "$T/audit")
		if [ -z "$bad" ]; then pass "$run: the audit finds no step taken early"; else fail "$run: audit flags a step of a correct form" "$bad"; fi
		bad=$(awk -v t0="$t0" '($3 == "ERROR" || $3 == "CRITICAL") && $4 >= t0 + 1 { print; exit }' "$T/pred")
		if [ -z "$bad" ]; then
			pass "$run: no predicted ERROR window after t0"
		else
			fail "$run: predicted ERROR window after t0" "$bad"
		fi
		continue
	fi
	while IFS=$'\t' read -r name tact truth viol args; do
		[ "$viol" != "-" ] || continue
		served=$(jq -r --arg n "$name" '.steps[] | select(.name == $n) | .served' "$d/truth.json" | jq -R . | secs)
		by=$(jq -r --arg n "$name" '.steps[] | select(.name == $n) | .violation.by' "$d/truth.json")
		au=$(awk -v a="$tact" -v s="$served" -v p="$POLL" '$1 >= a - p && $1 <= s + 2 * p && $2 > 0 { print; exit }' "$T/audit")
		if [ -n "$au" ]; then
			pass "$run/$name: audited as early by $(cut -f2 <<<"$au") s (the driver shortened its wait by $by s; $(cut -f3 <<<"$au"), $(cut -f5 <<<"$au") vantages failed)"
		else
			fail "$run/$name: the audit does not flag the early step" "$(head -3 "$T/audit" | tr '\n' ';')"
		fi
		for id in ${viol//,/ }; do
			hit=$(awk -v id="$id" -v a="$tact" -v s="$served" -v p="$POLL" \
				'index($1, id) == 1 && $4 >= a - 2 * p && $4 <= s + 2 * p { print; exit }' "$T/pred")
			if [ -n "$hit" ]; then
				pass "$run/$name: $id predicted from the early step ($(cut -f1-3 <<<"$hit"))"
			else
				fail "$run/$name: $id not predicted around the early step" ""
			fi
		done
		# every in-scope resolver failure starts inside a predicted window of those IDs
		oos=$(jq -r '[.out_of_scope[]?.resolver] | join(" ")' "$d/truth.json")
		jq -r --argjson min "$MIN_PROBES" '.resolvers | to_entries[] | select(.value | type == "object") | .key as $r
			| .value.failures[]? | select(.count >= $min) | [$r, .from, (.until // .last_fail)] | @tsv' \
			"$d/failures.json" 2>/dev/null >"$T/fails"
		while IFS=$'\t' read -r res from until; do
			grep -qw -- "$res" <<<"$oos" && continue
			f=$(jq -R . <<<"$from" | secs)
			u=1e12
			[ "$until" = null ] || u=$(jq -R . <<<"$until" | secs)
			awk -v f="$f" -v t0="$t0" 'BEGIN { exit !(f < t0) }' && continue
			hold=$(jq -r --arg r "$res" '.bad_cache_hold | (.[$r] // (if ($r | startswith("pinned")) then .pinned else null end) // 60)' "$d/truth.json")
			ids=${viol//,/|}
			win=$(awk -v ids="^($ids)" -v f="$f" '$1 ~ ids && ($3 == "ERROR" || $3 == "CRITICAL" || $3 == "WARN") && $4 <= f && f < $5 { print; exit }' "$T/pred")
			if [ -z "$win" ]; then
				fail "$run/$name: $res failure from $from starts in no predicted $viol window" ""
				continue
			fi
			# the failure may outlast the union of the windows that contain its start by the hold
			whi=$(awk -v ids="^($ids)" -v f="$f" -v u="$u" '$1 ~ ids && $4 <= u && $5 > f { if ($5 > m) m = $5 } END { printf "%.3f", m }' "$T/pred")
			if awk -v u="$u" -v w="$whi" -v h="$hold" -v p="$POLL" 'BEGIN { exit !(u <= w + h + p) }'; then
				pass "$run/$name: $res failure [$from, $until) inside predicted windows (+ hold ${hold}s)"
			else
				fail "$run/$name: $res failure until $until outlasts the predicted windows (end $whi) by more than its hold ${hold}s" ""
			fi
		done <"$T/fails"
	done <"$T/steps"
done
