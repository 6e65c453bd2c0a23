#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measure how long each resolver keeps failing after a validation failure is repaired (its
# bad-cache hold), without any cache flush. Needs a running testbed (tb start); leaves it in the
# default state. Two faults, each at every provider / at the parent so no retry can mask it:
#   chain: the parent's DS set := a DS that matches no key (V-1), then the real DS set again;
#   data:  A, B and C sign their data with ZSKs that are in no DNSKEY RRset (V-2), then repaired.
# Output (TSV on stdout): fault resolver first_fail_s recovered_after_repair_s ttl hold_s failing_s
#   first_fail_s: after the fault was served; recovered_after_repair_s: after the repair was served;
#   hold_s = recovered_after_repair_s - ttl (the TTL of what was cached), i.e. time beyond the TTLs;
#   failing_s: from the resolver's first failure to its recovery.
# Env: TB_DIR; TTL_DATA/TTL_DNSKEY/TTL_DS/TTL_NS (default 2/2/2/5: short, so the hold dominates).
set -euo pipefail

TB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$TB_HOME/lib/common.sh"
# shellcheck source=lib/zones.sh
. "$TB_HOME/lib/zones.sh"
# shellcheck source=lib/daemons.sh
. "$TB_HOME/lib/daemons.sh"

export TTL_DATA=${TTL_DATA:-2} TTL_DNSKEY=${TTL_DNSKEY:-2} TTL_DS=${TTL_DS:-2} TTL_NS=${TTL_NS:-5}
load_ttls
pid_of auth-infra >/dev/null || die "the testbed does not run (tb start)"

apply() { state_save; rebuild "$@" || die "could not serve the change"; }
fails() { ! validated "$1"; }

# measure FAULT TTL BREAK_CMD REPAIR_CMD ORIGINS
measure() {
	local fault=$1 ttl=$2 brk=$3 fix=$4 origins=$5 r t_b t_r pids=() tmp
	tmp=$(mktemp -d)
	state_default
	# shellcheck disable=SC2086
	apply lab $PROVIDERS
	flush_resolvers || true
	wait_until 30 all_validated || die "not every resolver validates before the $fault fault"
	t_b=$(now)
	eval "$brk"
	# shellcheck disable=SC2086
	apply $origins
	for r in $RESOLVERS; do # time until each resolver fails (at most 3 TTLs + 10 s)
		{ if wait_until $((3 * ttl + 10)) fails "${RES_ADDR[$r]}"; then fsub "$(now)" "$t_b"; else echo never; fi >"$tmp/$r.fail"; } &
		pids+=("$!")
	done
	wait "${pids[@]}" || true
	state_default
	# shellcheck disable=SC2086
	apply $origins
	t_r=$(now)
	pids=()
	for r in $RESOLVERS; do # time until each resolver validates again (at most 120 s)
		{ if wait_until 120 validated "${RES_ADDR[$r]}"; then fsub "$(now)" "$t_r"; else echo '>120'; fi >"$tmp/$r.ok"; } &
		pids+=("$!")
	done
	wait "${pids[@]}" || true
	for r in $RESOLVERS; do
		local f o h=- d=-
		f=$(<"$tmp/$r.fail") o=$(<"$tmp/$r.ok")
		[[ $o =~ ^[0-9.]+$ ]] && h=$(fsub "$o" "$ttl")
		[[ $o =~ ^[0-9.]+$ && $f =~ ^[0-9.]+$ ]] && d=$(fsub "$(fadd "$(fsub "$t_r" "$t_b")" "$o")" "$f")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$fault" "$r" "$f" "$o" "$ttl" "$h" "$d"
	done
	rm -rf "$tmp"
}

printf 'fault\tresolver\tfirst_fail_s\trecovered_after_repair_s\tttl\thold_s\tfailing_s\n'
# shellcheck disable=SC2016
measure chain "$TTL_DS" 'DS="rogue.ksk"' '' lab
# shellcheck disable=SC2016
measure data "$TTL_DATA" 'S_A="A.ksk A.zsk2"; S_B="B.ksk B.zsk2"; S_C="C.ksk C.zsk2"' '' "A B C"
state_default
# shellcheck disable=SC2086
apply lab $PROVIDERS
flush_resolvers || true
