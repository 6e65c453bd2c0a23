# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154,SC2153
# `tb apply` and `tb plan`: the testbed's own mechanisms (zone state, rebuild) driven one step
# at a time by an outside controller (bin/obs-controller), in the step grammar of
# obs-analyzer whatif (man/obs-analyzer.1, DESIGN.md §10), so a controller applies exactly
# what it asked the observatory about. Uses the state mutators of scenario.sh and the
# baselines of scenarios.sh; the scenario runs themselves do not use this file.
#
#   tb plan NAME              print the steps of an operation, keys as ALG/TAG of this testbed:
#                             "STEP-NAME<TAB>WHATIF STEP [+ STEP ...]"
#   tb apply baseline NAME    serve the baseline of scenario NAME (flush, wait until validated, warm)
#   tb apply STEP-NAME OP ARG... [+ OP ARG...]   apply one (compound) step, wait until served

# --- names of this testbed <-> the step grammar ----------------------------------------------
key_ref() { printf '%s/%s' "$(key_alg "$1")" "$(key_tag "$1")"; } # A.zsk -> 13/4711
key_name() { # 13/4711 -> A.zsk (dies when no key or more than one key matches)
	local ref=$1 f k found=""
	for f in "$KEYS"/*.tag; do
		k=$(basename "$f" .tag)
		[ "$(key_ref "$k")" = "$ref" ] || continue
		[ -z "$found" ] || die "apply: key $ref is ambiguous ($found, $k)"
		found=$k
	done
	[ -n "$found" ] || die "apply: no key $ref in this testbed"
	printf '%s' "$found"
}
prov_of_ns() { # ns.provb.lab[.] -> B
	local n=${1%.}. p
	for p in $PROVIDERS; do [ "${PROV_NS[$p]}" = "$n" ] && { printf '%s' "$p"; return 0; }; done
	die "apply: no provider serves as $1"
}
prov_name() { # a|A -> A
	local p=${1^^}
	[[ " $PROVIDERS " == *" $p "* ]] || die "apply: no provider $1"
	printf '%s' "$p"
}
ns_of() { local p o=(); for p in "$@"; do o+=("${PROV_NS[$p]}"); done; printf '%s' "${o[*]}"; }
kref() { local k o=(); for k in "$@"; do o+=("$(key_ref "$k")"); done; printf '%s' "${o[*]}"; }

# --- plans: the operations the reference controller runs ---------------------------------------
# Each plan starts from the baseline of the scenario of the same name and takes the steps of its
# correct form (scenarios.sh); the controller decides when.
PLAN_NAMES="add-provider transfer"
# A plan's baseline is its scenario's, except where plan_base_NAME says otherwise.
# transfer: provider C does not run. In base_a, C idles serving example.lab. signed with keys
# A never publishes; nothing delegates to it, but obs-analyzer's strict-policy check
# (policy_earliest) judges every configured provider's data against A's DNSKEY RRset and says
# stop for import-zsk-b for as long as C serves ("... at a and who.example.lab./canary at c do
# not validate together and the old one is still served"). A transfer A -> B has no third
# provider, so C is simply not there.
plan_base_transfer() { base_a; UP_C=0; }
plan_add-provider() { # C joins A+B
	local all
	all=$(ns_of A B C)
	printf 'import-zsk-c\tdnskey-add a %s + dnskey-add b %s\n' "$(key_ref C.zsk)" "$(key_ref C.zsk)"
	printf 'ds-add-c\tds-set %s\n' "$(kref A.ksk B.ksk C.ksk)"
	printf 'ns-add-c\tns-set a %s + ns-set b %s\n' "$all" "$all"
	printf 'parent-ns-add-c\tns-set parent %s\n' "$all"
}
plan_transfer() { # A -> B through A+B
	printf 'import-zsk-b\tdnskey-add a %s\n' "$(key_ref B.zsk)"
	printf 'ds-add-b\tds-set %s\n' "$(kref A.ksk B.ksk)"
	printf 'ns-add-b\tns-set a %s\n' "$(ns_of A B)"
	printf 'parent-ns-add-b\tns-set parent %s\n' "$(ns_of A B)"
	printf 'ns-del-a\tns-set a %s + ns-set b %s\n' "$(ns_of B)" "$(ns_of B)"
	printf 'parent-ns-del-a\tns-set parent %s\n' "$(ns_of B)"
	printf 'stop-a\tstop a\n'
	printf 'zsk-del-a\tdnskey-del b %s\n' "$(key_ref A.zsk)"
	printf 'ds-del-a\tds-set %s\n' "$(kref B.ksk)"
}
cmd_plan() {
	local name=${1:-}
	if [ -z "$name" ] || [ "$name" = list ]; then
		for name in $PLAN_NAMES; do printf '%s\n' "$name"; done
		return 0
	fi
	[[ " $PLAN_NAMES " == *" $name "* ]] || die "unknown plan $name (tb plan list)"
	pid_of auth-infra >/dev/null || die "the testbed does not run (tb start)"
	"plan_$name"
}

# --- apply -----------------------------------------------------------------------------------
# apply_op OP ARG...: one step of the grammar on the state variables.
apply_op() {
	local op=$1 x k keys=() sig=() n=() s
	shift
	case $op in
	dnskey-add | dnskey-del)
		[ $# = 2 ] || die "apply: $op PROVIDER KEY"
		x=$(prov_name "$1") k=$(key_name "$2")
		if [ "$op" = dnskey-add ]; then dnskey_add "$x" "$k"; else dnskey_del "$x" "$k"; fi
		;;
	dnskey-set)
		x=$(prov_name "${1:?apply: dnskey-set PROVIDER KEY...}")
		shift
		local to=keys
		for k in "$@"; do
			if [ "$k" = signed-by ]; then to=sig; continue; fi
			if [ "$to" = keys ]; then keys+=("$(key_name "$k")"); else sig+=("$(key_name "$k")"); fi
		done
		dnskey_set "$x" "${keys[@]}"
		if [ "${#sig[@]}" -gt 0 ]; then # the DNSKEY RRset's signers: keep the data signers
			s=S_$x
			for k in ${!s}; do is_ksk "$k" || sig+=("$k"); done
			sign_with "$x" "${sig[@]}"
		fi
		;;
	sign-with) # the data signers; the DNSKEY RRset keeps its KSK signers
		x=$(prov_name "${1:?apply: sign-with PROVIDER KEY...}")
		shift
		for k in "$@"; do keys+=("$(key_name "$k")"); done
		s=S_$x
		for k in ${!s}; do is_ksk "$k" && keys=("$k" "${keys[@]}"); done
		sign_with "$x" "${keys[@]}"
		;;
	ds-set)
		for k in "$@"; do keys+=("$(key_name "$k")"); done
		ds_set "${keys[@]}"
		;;
	ns-set)
		[ $# -ge 2 ] || die "apply: ns-set parent|PROVIDER NAME..."
		local where=$1
		shift
		for k in "$@"; do n+=("$(prov_of_ns "$k")"); done
		if [ "$where" = parent ]; then parent_ns "${n[@]}"; else apex_ns "$(prov_name "$where")" "${n[@]}"; fi
		;;
	stop) [ $# = 1 ] || die "apply: stop PROVIDER"; stop_provider "$(prov_name "$1")" ;;
	start) [ $# = 1 ] || die "apply: start PROVIDER"; printf -v "UP_$(prov_name "$1")" '%s' 1 ;;
	*) die "apply: the testbed cannot apply '$op' (dnskey-add|dnskey-del|dnskey-set|sign-with|ds-set|ns-set|stop|start)" ;;
	esac
}

cmd_apply() {
	local name=${1:-}
	if [ -z "$name" ] || [ $# -lt 2 ]; then die "usage: tb apply baseline SCENARIO | tb apply STEP-NAME OP ARG... [+ OP ARG...]"; fi
	shift
	pid_of auth-infra >/dev/null || die "the testbed does not run (tb start)"
	load_ttls
	if [ "$name" = baseline ]; then
		apply_baseline "$1"
		return
	fi
	local t0 words=() w
	t0=$(now)
	state_load
	state_snapshot
	for w in "$@" +; do # split at "+" into steps; every step is checked before anything is served
		if [ "$w" = + ]; then
			[ "${#words[@]}" -gt 0 ] || die "apply $name: empty step"
			apply_op "${words[@]}"
			words=()
		else
			words+=("$w")
		fi
	done
	state_diff
	if [ "${#ORIGINS[@]}" -eq 0 ]; then
		say "apply $name: nothing changes"
		return 0
	fi
	state_save
	rebuild "${ORIGINS[@]}" || die "apply $name: could not serve the change (origins ${ORIGINS[*]})"
	say "apply $name: served by ${ORIGINS[*]} in $(fsub "$(now)" "$t0") s"
}

apply_baseline() { # the baseline of scenario NAME, as a scenario run starts it
	local name=${1:?} t0
	[ "$(type -t "base_$name")" = function ] || die "apply: no scenario $name"
	t0=$(now)
	BASE_EXCLUDE=""
	if [ "$(type -t "plan_base_$name")" = function ]; then "plan_base_$name"; else "base_$name"; fi
	state_save
	# shellcheck disable=SC2086
	rebuild lab $PROVIDERS || die "baseline $name: could not serve the zones"
	flush_resolvers || true
	wait_until 30 in_scope_validated || die "baseline $name: not every resolver validates (excluded: $BASE_EXCLUDE)"
	warm
	say "baseline $name ready in $(fsub "$(now)" "$t0") s (out of scope: ${BASE_EXCLUDE:-none})"
}
