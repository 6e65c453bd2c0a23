# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The scenario driver: plays the controller and the registry, logs every step to truth.json.
#
# A scenario file (scenarios.sh) defines, per scenario NAME:
#   SC_DESC[NAME], SC_FORMS[NAME] ("correct VIOLATION ..."), base_NAME (sets the baseline state),
#   run_NAME FORM (calls `step` for every step, then `expect`/`out_of_scope` for the truth).

BASE_OBS=${BASE_OBS:-3}   # seconds of probing before the first step
MARGIN=${MARGIN:-1}       # seconds added to every designed wait (the analyzer's ε)
declare -A SC_DESC SC_FORMS
declare -A SERVED STARTED STEPNO # step name -> epoch when every changed server served it / when it began; number
STEPS_JSON=() EXPECT_JSON=() SCOPE_JSON=()
NSTEP=0 T0=0 T_WARM=0

# --- state mutators (used inside `step`) ----------------------------------------------------
dnskey_add() { local x=$1; shift; set_add "K_$x" "$@"; }
dnskey_del() { local x=$1; shift; set_del "K_$x" "$@"; }
dnskey_set() { local x=$1; shift; printf -v "K_$x" '%s' "$*"; }
sign_with() { local x=$1; shift; printf -v "S_$x" '%s' "$*"; }
apex_ns() { local x=$1; shift; printf -v "N_$x" '%s' "$*"; }
parent_ns() { PNS="$*"; }
ds_set() { DS="$*"; }
ds_add() { set_add DS "$@"; }
ds_del() { set_del DS "$@"; }
stop_provider() { printf -v "UP_$1" '%s' 0; }

# --- JSON helpers (jq-free) -------------------------------------------------------------------
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
jarr() { local i sep=""; printf '['; for i in "$@"; do printf '%s%s' "$sep" "$(jstr "$i")"; sep=", "; done; printf ']'; }
keylabels() { local k; for k in "$@"; do key_label "$k"; printf '\n'; done; } # one per line
jkeys() { local a=(); mapfile -t a < <(keylabels "$@"); jarr "${a[@]}"; }
jns() { local a=() p; for p in "$@"; do a+=("${PROV_NS[$p]}"); done; jarr "${a[@]}"; }
is_ksk() { [[ $1 == *.ksk* || $1 == *.csk ]]; }
signers() { # signers dnskey|data KEY...: the keys whose RRSIGs cover the DNSKEY RRset / the data
	local what=$1 k out=() z=()
	shift
	for k in "$@"; do if is_ksk "$k"; then out+=("$k"); else z+=("$k"); fi; done
	[ "$what" = data ] && [ "${#z[@]}" -gt 0 ] && out=("${z[@]}")
	printf '%s ' "${out[@]}"
}

# shellcheck disable=SC2086
sortw() { printf '%s\n' $1 | sort | tr '\n' ' '; } # the words of $1, sorted (a set)
# change ORIGIN SERVER RRSET TTL KIND BEFORE AFTER: one entry of a step's "changes" (if different)
change() {
	[ "$(sortw "$6")" = "$(sortw "$7")" ] && return 0
	local b a
	# shellcheck disable=SC2086
	case $5 in
	keys) b=$(jkeys $6) a=$(jkeys $7) ;;
	ns) b=$(jns $6) a=$(jns $7) ;;
	*) b=$(jarr "$6") a=$(jarr "$7") ;;
	esac
	CHANGES+=("{\"origin\": \"$1\", \"server\": \"$2\", \"rrset\": \"$3\", \"before\": $b, \"after\": $a, \"ttl_before\": $4, \"ttl_after\": $4}")
}
state_diff() { # compare the saved OLD_* copies with the current state; fills CHANGES and ORIGINS
	local x v k s n u ok ov
	CHANGES=() ORIGINS=()
	change parent "$ADDR_INFRA" "example.lab. DS" "$TTL_DS" keys "$OLD_DS" "$DS"
	change parent "$ADDR_INFRA" "example.lab. NS (delegation)" "$TTL_NS" ns "$OLD_PNS" "$PNS"
	[ "$OLD_DS$OLD_PNS" != "$DS$PNS" ] && ORIGINS+=(lab)
	for x in $PROVIDERS; do
		k=K_$x s=S_$x n=N_$x u=UP_$x
		ok=OLD_K_$x ov=OLD_S_$x
		change "$x" "${PROV_ADDR[$x]}" "example.lab. DNSKEY" "$TTL_DNSKEY" keys "${!ok}" "${!k}"
		# shellcheck disable=SC2086
		change "$x" "${PROV_ADDR[$x]}" "example.lab. RRSIG(DNSKEY) signers" "$TTL_DNSKEY" keys \
			"$(signers dnskey ${!ov})" "$(signers dnskey ${!s})"
		# shellcheck disable=SC2086
		change "$x" "${PROV_ADDR[$x]}" "example.lab. RRSIG(data) signers" "$TTL_DATA" keys \
			"$(signers data ${!ov})" "$(signers data ${!s})"
		v=OLD_N_$x
		change "$x" "${PROV_ADDR[$x]}" "example.lab. NS (apex)" "$TTL_NS" ns "${!v}" "${!n}"
		v=OLD_UP_$x
		change "$x" "${PROV_ADDR[$x]}" "server" 0 word "$([ "${!v}" = 1 ] && echo answering || echo stopped)" \
			"$([ "${!u}" = 1 ] && echo answering || echo stopped)"
		v=OLD_K_$x$'\n'OLD_S_$x$'\n'OLD_N_$x$'\n'OLD_UP_$x
		local o1=OLD_K_$x o2=OLD_S_$x o3=OLD_N_$x o4=OLD_UP_$x
		[ "${!o1}|${!o2}|${!o3}|${!o4}" != "${!k}|${!s}|${!n}|${!u}" ] && ORIGINS+=("$x")
	done
	return 0
}
state_snapshot() { local v; for v in $STATE_VARS; do printf -v "OLD_$v" '%s' "${!v}"; done; }

# step NAME DESC [wait=REF:TTLVAR|REF:+SECONDS ...] [short=all|SECONDS glitch=IDS tier=T] -- CMD ...
# Waits until the designed gate (max over the terms of SERVED[REF] + TTL, plus MARGIN), or less
# in a violating form, then applies the commands to the state, re-signs, reloads and waits until
# every changed server serves the change. Records the step for truth.json.
step() {
	local name=$1 desc=$2 terms=() short="" glitch="" tier="" a
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		wait=*) read -ra terms <<<"${1#wait=}" ;;
		short=*) short=${1#short=} ;;
		glitch=*) glitch=${1#glitch=} ;;
		tier=*) tier=${1#tier=} ;;
		*) die "step $name: unknown argument $1" ;;
		esac
		shift
	done
	[ "${1:-}" = -- ] && shift
	local t designed="" term ref ttl tv wj=() g
	for term in "${terms[@]}"; do
		ref=${term%%:*} ttl=${term#*:}
		[ -n "${SERVED[$ref]:-}" ] || die "step $name waits for unknown step $ref"
		if [[ $ttl == +* ]]; then tv=${ttl#+}; ttl=fixed; else tv=${!ttl}; fi
		g=$(fadd "${SERVED[$ref]}" "$tv")
		if [ -z "$designed" ] || [ "$(awk -v a="$g" -v b="$designed" 'BEGIN { print (a > b) }')" = 1 ]; then
			designed=$g
		fi
		wj+=("{\"after_step\": ${STEPNO[$ref]}, \"after\": \"$ref\", \"ttl\": \"$ttl\", \"seconds\": $tv}")
	done
	local gate="" shortened=0
	if [ -n "$designed" ]; then
		designed=$(fadd "$designed" "$MARGIN")
		gate=$designed
		case $short in
		"") ;;
		all) gate=$(now) ;;
		*) gate=$(fsub "$designed" "$short") ;;
		esac
		sleep_until "$gate"
	fi
	t=$(now)
	[ -n "$designed" ] && [ -n "$short" ] && shortened=$(awk -v d="$designed" -v t="$t" 'BEGIN { s = d - t; printf "%.3f", (s > 0 ? s : 0) }')
	state_snapshot
	for a in "$@"; do eval "$a"; done
	state_diff
	state_save
	rebuild "${ORIGINS[@]}" || die "step $name: could not serve the change"
	local served
	served=$(now)
	NSTEP=$((NSTEP + 1))
	SERVED[$name]=$served STARTED[$name]=$t STEPNO[$name]=$NSTEP
	printf 'step %2d %-22s t=%6.2f served=%6.2f  %s%s\n' "$NSTEP" "$name" "$(fsub "$t" "$T0")" \
		"$(fsub "$served" "$T0")" "$desc" "${short:+  [VIOLATION: wait shortened by ${shortened} s]}" >&2
	local wait_json=null viol=null sep c cj=""
	if [ "${#wj[@]}" -gt 0 ]; then
		sep="" cj=""
		for c in "${wj[@]}"; do cj="$cj$sep$c"; sep=", "; done
		wait_json="{\"terms\": [$cj], \"margin\": $MARGIN, \"designed\": \"$(rfc3339 "$designed")\", \"t_designed\": $(fsub "$designed" "$T0"), \"actual\": \"$(rfc3339 "$t")\", \"t_actual\": $(fsub "$t" "$T0")}"
	fi
	if [ -n "$short" ]; then
		# shellcheck disable=SC2086
		viol="{\"wait_shortened\": $(jarr "${terms[@]}"), \"by\": $shortened, \"glitch\": $(jarr ${glitch//,/ }), \"tier\": $(jstr "$tier")}"
	fi
	sep="" cj=""
	for c in "${CHANGES[@]}"; do cj="$cj$sep$c"; sep=$',\n        '; done
	STEPS_JSON+=("{\"step\": $NSTEP, \"name\": $(jstr "$name"), \"action\": $(jstr "$desc"),
      \"time\": \"$(rfc3339 "$t")\", \"t\": $(fsub "$t" "$T0"), \"served\": \"$(rfc3339 "$served")\", \"t_served\": $(fsub "$served" "$T0"),
      \"wait\": $wait_json,
      \"violation\": $viol,
      \"changes\": [
        $cj]}")
}

# expect ID TIER must|may "RESOLVERS" FROM_EPOCH UNTIL_EPOCH CAUSE_STEP REASON
expect() {
	local rl=() must=$3 reason=$8
	read -ra rl <<<"$4"
	if [ "$must" = must ] && [ "$(awk -v a="$5" -v b="$6" 'BEGIN { print (b - a < 2) }')" = 1 ]; then
		must=may reason="$reason (window under 2 s at these TTLs: MAY, not MUST)"
	fi
	TAIL_UNTIL=$(tmax "${TAIL_UNTIL:-0}" "$(fadd "$6" 2)")
	set -- "$1" "$2" "$must" "$4" "$5" "$6" "$7" "$reason"
	EXPECT_JSON+=("{\"id\": $(jstr "$1"), \"tier\": $(jstr "$2"), \"must\": $([ "$3" = must ] && echo true || echo false), \"resolvers\": $(jarr "${rl[@]}"), \"from\": \"$(rfc3339 "$5")\", \"until\": \"$(rfc3339 "$6")\", \"t_from\": $(fsub "$5" "$T0"), \"t_until\": $(fsub "$6" "$T0"), \"cause_step\": $(jstr "$7"), \"reason\": $(jstr "$8")}")
}
# out_of_scope RESOLVER FROM_EPOCH|"" REASON: failures of RESOLVER from then on are expected.
out_of_scope() {
	local f=${2:-$T0}
	SCOPE_JSON+=("{\"resolver\": $(jstr "$1"), \"from\": \"$(rfc3339 "$f")\", \"t_from\": $(fsub "$f" "$T0"), \"until\": null, \"reason\": $(jstr "$3")}")
}
tmax() { printf '%s\n' "$@" | sort -n | tail -1; }

write_truth() { # write_truth FILE NAME FORM T_END
	local s sep="" k
	{
		printf '{\n  "scenario": %s,\n  "form": %s,\n  "description": %s,\n' "$(jstr "$2")" "$(jstr "$3")" "$(jstr "${SC_DESC[$2]}")"
		printf '  "t0": "%s",\n  "end": "%s",\n  "t_end": %s,\n' "$(rfc3339 "$T0")" "$(rfc3339 "$4")" "$(fsub "$4" "$T0")"
		printf '  "ttl": {"data": %s, "dnskey": %s, "ds": %s, "ns": %s},\n  "margin": %s,\n' "$TTL_DATA" "$TTL_DNSKEY" "$TTL_DS" "$TTL_NS" "$MARGIN"
		printf '  "zone": "example.lab.",\n  "servers": {"parent": "%s", "A": "%s", "B": "%s", "C": "%s"},\n' "$ADDR_INFRA" "${PROV_ADDR[A]}" "${PROV_ADDR[B]}" "${PROV_ADDR[C]}"
		printf '  "resolvers": {'
		for k in $RESOLVERS; do printf '%s"%s": "%s"' "$sep" "$k" "${RES_ADDR[$k]}"; sep=", "; done
		printf '},\n  "bad_cache_hold": {"unbound": 60, "pinned": 60, "bind": 30, "kresd": 0, "pdns": 1},\n  "keys": {'
		sep=""
		for k in "$KEYS"/*.tag; do k=$(basename "$k" .tag); printf '%s"%s": "%s/%s"' "$sep" "$k" "$(key_alg "$k")" "$(key_tag "$k")"; sep=", "; done
		printf '},\n  "baseline": %s,\n  "steps": [\n    ' "$BASELINE_JSON"
		sep=""
		for s in "${STEPS_JSON[@]}"; do printf '%s%s' "$sep" "$s"; sep=$',\n    '; done
		printf '\n  ],\n  "expected": ['
		sep=""
		for s in "${EXPECT_JSON[@]}"; do printf '%s\n    %s' "$sep" "$s"; sep=","; done
		[ "${#EXPECT_JSON[@]}" -gt 0 ] && printf '\n  '
		printf '],\n  "out_of_scope": ['
		sep=""
		for s in "${SCOPE_JSON[@]}"; do printf '%s\n    %s' "$sep" "$s"; sep=","; done
		[ "${#SCOPE_JSON[@]}" -gt 0 ] && printf '\n  '
		printf ']\n}\n'
	} >"$1"
}

baseline_json() {
	local x k s n u sep="" out
	# shellcheck disable=SC2086
	out="{\"time\": \"$(rfc3339 "$T0")\", \"parent\": {\"ds\": $(jkeys $DS), \"ns\": $(jns $PNS)}, \"providers\": {"
	for x in $PROVIDERS; do
		k=K_$x s=S_$x n=N_$x u=UP_$x
		# shellcheck disable=SC2086,SC2046
		out="$out$sep\"$x\": {\"server\": \"${PROV_ADDR[$x]}\", \"software\": \"${PROV_SW[$x]}\", \"answering\": $([ "${!u}" = 1 ] && echo true || echo false), \"dnskey\": $(jkeys ${!k}), \"rrsig_dnskey\": $(jkeys $(signers dnskey ${!s})), \"rrsig_data\": $(jkeys $(signers data ${!s})), \"ns\": $(jns ${!n})}"
		sep=", "
	done
	printf '%s}}' "$out"
}

warm() { # ask every resolver the names the probe and the collector use
	local r pids=()
	for r in $RESOLVERS; do
		{ dq @"${RES_ADDR[$r]}" +dnssec www.example.lab A; dq @"${RES_ADDR[$r]}" +dnssec example.lab DNSKEY
		  dq @"${RES_ADDR[$r]}" +dnssec who.example.lab TXT; } >/dev/null &
		pids+=("$!")
	done
	wait "${pids[@]}" || true
}
in_scope_validated() { # every resolver that is not excluded at the baseline validates
	local r
	for r in $RESOLVERS; do
		[[ " $BASE_EXCLUDE " == *" $r "* ]] && continue
		validated "${RES_ADDR[$r]}" || return 1
	done
}

cmd_scenario() {
	local name=${1:-} form=correct out=""
	[ -n "$name" ] || die "usage: tb scenario NAME [--form correct|VIOLATION] [--out DIR]  (tb scenario list)"
	shift
	if [ "$name" = list ]; then
		for name in $SC_NAMES; do printf '%-16s forms: %-40s %s\n' "$name" "${SC_FORMS[$name]}" "${SC_DESC[$name]}"; done
		return 0
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--form) form=${2:?}; shift 2 ;;
		--out) out=${2:?}; shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	[ -n "${SC_FORMS[$name]:-}" ] || die "unknown scenario $name (tb scenario list)"
	[[ " ${SC_FORMS[$name]} " == *" $form "* ]] || die "scenario $name has no form $form (forms: ${SC_FORMS[$name]})"
	pid_of auth-infra >/dev/null || die "the testbed does not run (tb start)"
	out=${out:-$TB_DIR/scenarios/$name-$form-$(printf '%(%Y%m%dT%H%M%S)T' -1)}
	mkdir -p "$out"
	load_ttls
	# Baseline: state, serve it, flush, wait until validated, warm the caches.
	local tb0
	tb0=$(now)
	BASE_EXCLUDE=""
	"base_$name"
	state_save
	# shellcheck disable=SC2086
	rebuild lab $PROVIDERS || die "baseline: could not serve the zones"
	flush_resolvers || true
	T_WARM=$(now) # caches are empty: everything cached from here on was fetched after T_WARM
	wait_until 30 in_scope_validated || die "baseline: not every resolver validates (excluded: $BASE_EXCLUDE)"
	warm
	say "scenario $name, form $form: baseline ready in $(fsub "$(now)" "$tb0") s; TTLs data $TTL_DATA dnskey $TTL_DNSKEY ds $TTL_DS ns $TTL_NS"
	# Probe, baseline observation, steps, tail.
	rm -f "$RUN/probe.stop"
	log_mark "$RUN/logmark" # log offsets and counters just before t0
	T0=$(now)
	probe_loop "$out/resolvers.tsv" "$RUN/probe.stop" 600 &
	echo "$!" >"$RUN/probe.pid"
	trap 'touch "$RUN/probe.stop"' EXIT # the probe ends with the scenario, however it ends
	SERVED[baseline]=$T0 STARTED[baseline]=$T0 STEPNO[baseline]=0
	BASELINE_JSON=$(baseline_json)
	local r
	for r in $BASE_EXCLUDE; do out_of_scope "$r" "$T0" "its provider is not in the chain of trust at the baseline"; done
	sleep_until "$(fadd "$T0" "$BASE_OBS")"
	"run_$name" "$form"
	local tail_s tend
	tail_s=$(tmax "$TTL_DATA" "$TTL_DNSKEY" "$TTL_DS" "$TTL_NS")
	tend=$(fadd "$(now)" "$((tail_s + 2))")
	[ -n "${TAIL_UNTIL:-}" ] && tend=$(tmax "$tend" "$TAIL_UNTIL")
	sleep_until "$tend"
	touch "$RUN/probe.stop"
	wait "$(<"$RUN/probe.pid")" || true
	rm -f "$RUN/probe.pid" "$RUN/probe.stop"
	tend=$(now)
	write_truth "$out/truth.json" "$name" "$form" "$tend"
	log_events "$RUN/logmark" "$T0" "$tend" >"$RUN/logged.tsv"
	failures_json "$out/resolvers.tsv" "$T0" "$name" "$form" "$RUN/logged.tsv" >"$out/failures.json"
	summarize "$out"
	say "scenario $name ($form) took $(fsub "$tend" "$tb0") s (steps and probe $(fsub "$tend" "$T0") s); results in $out"
}

summarize() { # one line per resolver: failure windows and logged validation failures, relative to t0
	local r
	for r in $RESOLVERS; do
		awk -v r="$r" '
			function num(k,   v) { if (!match($0, "\"" k "\": [-0-9.nul]+")) return "?"
				v = substr($0, RSTART + length(k) + 4, RLENGTH - length(k) - 4); return v }
			$0 ~ "^    \"" r "\":" { on = 1; sect = "f"; next }
			on && /"logged"/ { sect = "l"; if ($0 ~ /"logged": null/) on = 0; else nl = num("count") }
			on && sect == "f" && /"t_from"/ { match($0, /"class": "[a-z]+"/); c = substr($0, RSTART + 10, RLENGTH - 11)
				w = w sprintf(" [%s, %s) %s", num("t_from"), num("t_until"), c) }
			on && sect == "l" && /"t_from"/ { lw = lw sprintf(" [%s, %s] %s", num("t_from"), num("t_until"), num("count")) }
			on && sect == "l" && /"bogus_counter"/ { b = num("bogus_counter"); on = 0 }
			END { printf "  %-9s failures:%s", r, (w == "" ? " none" : w)
				if (nl != "") printf "; logged: %s%s%s", nl, (lw == "" ? "" : " in" lw), (b != "null" && b != "" ? "; bogus counter +" b : "")
				printf "\n" }' "$1/failures.json" >&2
	done
}
