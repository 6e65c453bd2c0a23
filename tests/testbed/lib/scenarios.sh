# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154
# (SC2154: SC_DESC/SC_FORMS are associative arrays declared in scenario.sh)
# The scenarios (dnssec-timing-model.md §4 processes, §6 scenarios), each in a correct form and
# violating forms. Step names are stable: tests and truth.json refer to them.

SC_NAMES="add-provider zsk-roll zsk-roll-both ksk-roll remove-provider transfer alg-roll"
ORDINARY="unbound bind kresd pdns"

# --- baselines ------------------------------------------------------------------------------
base_ab() { # S0: A+B delegated (model 2); C serves with every ZSK but is not delegated
	K_A="A.ksk A.zsk B.zsk" S_A="A.ksk A.zsk" N_A="A B" UP_A=1
	K_B="B.ksk B.zsk A.zsk" S_B="B.ksk B.zsk" N_B="A B" UP_B=1
	K_C="C.ksk C.zsk A.zsk B.zsk" S_C="C.ksk C.zsk" N_C="A B C" UP_C=1
	DS="A.ksk B.ksk" PNS="A B"
	BASE_EXCLUDE="pinned-c"
}
base_abc() { state_default; BASE_EXCLUDE=""; }
base_a() { # single signer A; B serves K_B = {B.ksk, B.zsk, A.zsk}, not delegated; C idle
	K_A="A.ksk A.zsk" S_A="A.ksk A.zsk" N_A="A" UP_A=1
	K_B="B.ksk B.zsk A.zsk" S_B="B.ksk B.zsk" N_B="A B" UP_B=1
	K_C="C.ksk C.zsk" S_C="C.ksk C.zsk" N_C="C" UP_C=1
	DS="A.ksk" PNS="A"
	BASE_EXCLUDE="pinned-b pinned-c"
}
# cache_must STEP TTL_OLD TTL_NEW: "must" if a resolver warmed at the baseline surely combines
# the old RRset (cached at the warm-up, TTL_OLD) with a newly fetched one (TTL_NEW: it is fetched
# again within TTL_NEW + 1 s of STEP) before the old one expires; else "may". E.g. a V-1 needs the
# DNSKEY RRset to be fetched again while the old DS is still cached: resolvers fetch both at once.
cache_must() {
	awk -v o="$2" -v n="$3" -v t="${STARTED[$1]}" -v w="$T_WARM" 'BEGIN { print (o > t - w + n + 2) ? "must" : "may" }'
}
# violate FORM NAME GLITCH TIER: the extra `step` arguments when FORM is the violation NAME
violate() { [ "$1" = "$2" ] && printf '%s\n' short=all "glitch=$3" "tier=$4"; return 0; }

# --- S1: provider C joins {A, B} (P1) ---------------------------------------------------------
SC_DESC[add-provider]="provider C joins A+B: import ZSKs, DS, then NS after max(DS, DNSKEY) wait"
SC_FORMS[add-provider]="correct ns-early"
base_add-provider() { base_ab; }
run_add-provider() {
	local v=()
	step import-zsk-c "A, B: DNSKEY += C.zsk (C already serves K_C)" -- "dnskey_add A C.zsk" "dnskey_add B C.zsk"
	step ds-add-c "parent (registry): DS += DS(C.ksk)" wait="import-zsk-c:+1" -- "ds_add C.ksk"
	mapfile -t v < <(violate "$1" ns-early V-1,V-2 M1)
	step ns-add-c "A, B: apex NS += ns.provc.lab." wait="ds-add-c:TTL_DS import-zsk-c:TTL_DNSKEY" "${v[@]}" \
		-- "apex_ns A A B C" "apex_ns B A B C"
	step parent-ns-add-c "parent (registry): NS += ns.provc.lab." wait="ns-add-c:+1" -- "parent_ns A B C"
	if [ "$1" = ns-early ]; then
		expect V-1 M1 may "$ORDINARY" "${STARTED[ns-add-c]}" "$(fadd "${SERVED[ds-add-c]}" "$TTL_DS")" ns-add-c \
			"cached DS without DS(C.ksk) x K_C (masked when the resolver retries A or B)"
		expect V-2 M1 may "$ORDINARY" "${STARTED[ns-add-c]}" "$(fadd "${SERVED[import-zsk-c]}" "$TTL_DNSKEY")" ns-add-c \
			"cached K_A/K_B without C.zsk x data signed by C.zsk (masked when the resolver retries)"
	fi
}

# --- S3: ZSK rollover at A, pre-publish (P3) ---------------------------------------------------
SC_DESC[zsk-roll]="ZSK rollover at A (pre-publish): publish+import A.zsk2, wait DNSKEY TTL, sign, withdraw A.zsk"
SC_FORMS[zsk-roll]="correct sign-early withdraw-early"
base_zsk-roll() { base_ab; }
run_zsk-roll() {
	local v=() w=()
	step publish-zsk2-a "A: DNSKEY += A.zsk2" -- "dnskey_add A A.zsk2"
	step import-zsk2-b "B: DNSKEY += A.zsk2" wait="publish-zsk2-a:+1" -- "dnskey_add B A.zsk2"
	mapfile -t v < <(violate "$1" sign-early V-2 M1)
	step sign-zsk2-a "A: sign with A.zsk2 instead of A.zsk" \
		wait="publish-zsk2-a:TTL_DNSKEY import-zsk2-b:TTL_DNSKEY" "${v[@]}" -- "sign_with A A.ksk A.zsk2"
	mapfile -t w < <(violate "$1" withdraw-early V-2 M2)
	step withdraw-zsk-a "A, B: DNSKEY -= A.zsk" wait="sign-zsk2-a:TTL_DATA sign-zsk2-a:TTL_NS" "${w[@]}" \
		-- "dnskey_del A A.zsk" "dnskey_del B A.zsk"
	if [ "$1" = sign-early ]; then
		expect V-2 M1 "$(cache_must sign-zsk2-a "$TTL_DNSKEY" "$TTL_DATA")" "pinned-a" "${STARTED[sign-zsk2-a]}" "$(fadd "${SERVED[publish-zsk2-a]}" "$TTL_DNSKEY")" sign-zsk2-a \
			"cached K_A without A.zsk2 x data signed by A.zsk2"
		expect V-2 M1 may "$ORDINARY" "${STARTED[sign-zsk2-a]}" "$(fadd "${SERVED[import-zsk2-b]}" "$TTL_DNSKEY")" sign-zsk2-a \
			"cached K_A/K_B without A.zsk2 x data signed by A.zsk2 (masked when the resolver retries B)"
	fi
	# withdraw-early: the conflict exists only for late validators (M2); no resolver here may fail.
}

# --- S8: concurrent ZSK rollovers at A and B ----------------------------------------------------
SC_DESC[zsk-roll-both]="concurrent ZSK rollovers at A and B: publish+import both new ZSKs, wait, switch, withdraw"
SC_FORMS[zsk-roll-both]="correct sign-early"
base_zsk-roll-both() { base_ab; }
run_zsk-roll-both() {
	local v=()
	step publish-zsk2 "A, B: DNSKEY += A.zsk2, B.zsk2 (publish and import in one change)" \
		-- "dnskey_add A A.zsk2 B.zsk2" "dnskey_add B B.zsk2 A.zsk2"
	mapfile -t v < <(violate "$1" sign-early V-2 M1)
	step sign-zsk2 "A, B: sign with A.zsk2 / B.zsk2" wait="publish-zsk2:TTL_DNSKEY" "${v[@]}" \
		-- "sign_with A A.ksk A.zsk2" "sign_with B B.ksk B.zsk2"
	step withdraw-zsk "A, B: DNSKEY -= A.zsk, B.zsk" wait="sign-zsk2:TTL_DATA sign-zsk2:TTL_NS" \
		-- "dnskey_del A A.zsk B.zsk" "dnskey_del B A.zsk B.zsk"
	if [ "$1" = sign-early ]; then
		expect V-2 M1 "$(cache_must sign-zsk2 "$TTL_DNSKEY" "$TTL_DATA")" "$ORDINARY pinned-a pinned-b" "${STARTED[sign-zsk2]}" "$(fadd "${SERVED[publish-zsk2]}" "$TTL_DNSKEY")" sign-zsk2 \
			"every cached DNSKEY RRset lacks the new ZSKs; both providers sign with them (no retry helps)"
	fi
}

# --- S4b: KSK rollover at A, double-DS (P4) -----------------------------------------------------
SC_DESC[ksk-roll]="KSK rollover at A (double-DS): DS += new KSK, wait DS TTL, swap KSK, wait DNSKEY TTL, DS -= old"
SC_FORMS[ksk-roll]="correct swap-early ds-del-early"
base_ksk-roll() { base_ab; }
run_ksk-roll() {
	local v=() w=()
	step ds-add-ksk2-a "parent (registry): DS += DS(A.ksk2)" -- "ds_add A.ksk2"
	mapfile -t v < <(violate "$1" swap-early V-1 M1)
	step swap-ksk-a "A: DNSKEY A.ksk -> A.ksk2, signed by A.ksk2 only" wait="ds-add-ksk2-a:TTL_DS" "${v[@]}" \
		-- "dnskey_del A A.ksk" "dnskey_add A A.ksk2" "sign_with A A.ksk2 A.zsk"
	mapfile -t w < <(violate "$1" ds-del-early V-1 M2)
	step ds-del-ksk-a "parent (registry): DS -= DS(A.ksk)" wait="swap-ksk-a:TTL_DNSKEY" "${w[@]}" -- "ds_del A.ksk"
	if [ "$1" = swap-early ]; then
		expect V-1 M1 "$(cache_must swap-ksk-a "$TTL_DS" "$TTL_DNSKEY")" "pinned-a" "${STARTED[swap-ksk-a]}" "$(fadd "${SERVED[ds-add-ksk2-a]}" "$TTL_DS")" swap-ksk-a \
			"cached DS without DS(A.ksk2) x K_A signed by A.ksk2 only"
		expect V-1 M1 may "$ORDINARY" "${STARTED[swap-ksk-a]}" "$(fadd "${SERVED[ds-add-ksk2-a]}" "$TTL_DS")" swap-ksk-a \
			"same, masked when the resolver retries B"
	fi
}

# --- S2: provider C leaves {A, B, C} (P2) -------------------------------------------------------
SC_DESC[remove-provider]="provider C leaves A+B+C: NS first, C stops after the NS wait, then ZSK and DS removal"
SC_FORMS[remove-provider]="correct ds-del-early"
base_remove-provider() { base_abc; }
run_remove-provider() {
	local v=() extra=""
	step apex-ns-del-c "A, B, C: apex NS := {A, B}" -- "apex_ns A A B" "apex_ns B A B" "apex_ns C A B"
	step parent-ns-del-c "parent (registry): NS := {A, B}" wait="apex-ns-del-c:+1" -- "parent_ns A B"
	if [ "$1" = ds-del-early ]; then
		mapfile -t v < <(violate "$1" ds-del-early V-1 M0)
		step ds-del-c "parent (registry): DS -= DS(C.ksk) while C still serves" \
			wait="parent-ns-del-c:TTL_NS apex-ns-del-c:TTL_NS" "${v[@]}" -- "ds_del C.ksk"
		extra="ds-del-c:TTL_DS" # let pinned-c's cached DS expire while C still serves
	fi
	step stop-c "C stops answering" wait="parent-ns-del-c:TTL_NS apex-ns-del-c:TTL_NS $extra" -- "stop_provider C"
	out_of_scope pinned-c "${STARTED[stop-c]}" "its only server (C) stopped"
	step zsk-del-c "A, B: DNSKEY -= C.zsk" wait="stop-c:TTL_DNSKEY stop-c:TTL_DATA stop-c:TTL_NS" \
		-- "dnskey_del A C.zsk" "dnskey_del B C.zsk"
	if [ "$1" = ds-del-early ]; then
		expect V-1 M0 must "pinned-c" "${STARTED[ds-del-c]}" "${STARTED[stop-c]}" ds-del-c \
			"DS without DS(C.ksk) x K_C, still served by C (pinned-c fails once its cached DS expires)"
		expect V-1 M0 may "$ORDINARY" "${STARTED[ds-del-c]}" "$(fadd "${SERVED[parent-ns-del-c]}" "$TTL_NS")" ds-del-c \
			"resolvers that still use C's server fetch K_C (masked when they retry A or B)"
	else
		step ds-del-c "parent (registry): DS -= DS(C.ksk)" wait="zsk-del-c:+1" -- "ds_del C.ksk"
	fi
}

# --- S7: full transfer A -> B through A+B (P7) --------------------------------------------------
SC_DESC[transfer]="full provider transfer A -> B through A+B (join B, then A leaves)"
SC_FORMS[transfer]="correct hard-cutover"
base_transfer() { base_a; }
run_transfer() {
	if [ "$1" = hard-cutover ]; then
		step cutover "parent: NS := {B}, DS := {B}; B: DNSKEY {B.ksk, B.zsk}, NS {B}; A stops" \
			wait="baseline:TTL_NS baseline:TTL_DS baseline:TTL_DNSKEY" short=all glitch=R-1,V-1,V-2 tier=M1 \
			-- "parent_ns B" "ds_set B.ksk" "dnskey_set B B.ksk B.zsk" "apex_ns B B" "stop_provider A"
		out_of_scope pinned-a "${STARTED[cutover]}" "its only server (A) stopped"
		expect R-1,V-1,V-2 M1 must "$ORDINARY" "${STARTED[cutover]}" \
			"$(fadd "${SERVED[cutover]}" "$(tmax "$TTL_NS" "$TTL_DS" "$TTL_DNSKEY")")" cutover \
			"cached NS {A} (A stopped), cached DS {A} x K_B, cached K_A x data signed by B.zsk"
		return 0
	fi
	step import-zsk-b "A: DNSKEY += B.zsk (B already serves K_B)" -- "dnskey_add A B.zsk"
	step ds-add-b "parent (registry): DS += DS(B.ksk)" wait="import-zsk-b:+1" -- "ds_add B.ksk"
	step ns-add-b "A, B: apex NS := {A, B}" wait="ds-add-b:TTL_DS import-zsk-b:TTL_DNSKEY" -- "apex_ns A A B" "apex_ns B A B"
	step parent-ns-add-b "parent (registry): NS := {A, B}" wait="ns-add-b:+1" -- "parent_ns A B"
	step ns-del-a "A, B: apex NS := {B}" wait="parent-ns-add-b:TTL_NS" -- "apex_ns A B" "apex_ns B B"
	step parent-ns-del-a "parent (registry): NS := {B}" wait="ns-del-a:+1" -- "parent_ns B"
	step stop-a "A stops answering" wait="parent-ns-del-a:TTL_NS ns-del-a:TTL_NS" -- "stop_provider A"
	out_of_scope pinned-a "${STARTED[stop-a]}" "its only server (A) stopped"
	step zsk-del-a "B: DNSKEY -= A.zsk" wait="stop-a:TTL_DNSKEY stop-a:TTL_DATA stop-a:TTL_NS" -- "dnskey_del B A.zsk"
	step ds-del-a "parent (registry): DS := {B}" wait="zsk-del-a:+1" -- "ds_del A.ksk"
}

# --- S5: algorithm rollover 13 -> 8 for A and B (P5, conservative order) ------------------------
SC_DESC[alg-roll]="algorithm rollover 13 -> 8 at A and B: sign, publish, DS, remove old keys, remove old signatures"
SC_FORMS[alg-roll]="correct keys-early"
base_alg-roll() { base_ab; }
run_alg-roll() {
	local v=()
	step sign-alg8 "A, B: add RSASHA256 signatures (alg-8 keys not yet published)" \
		-- "sign_with A A.ksk A.zsk A.ksk8 A.zsk8" "sign_with B B.ksk B.zsk B.ksk8 B.zsk8"
	step publish-alg8 "A, B: DNSKEY += own alg-8 KSK and ZSK, the other's alg-8 ZSK" \
		wait="sign-alg8:TTL_DATA sign-alg8:TTL_NS" -- "dnskey_add A A.ksk8 A.zsk8 B.zsk8" "dnskey_add B B.ksk8 B.zsk8 A.zsk8"
	step ds-alg8 "parent (registry): DS := {A.ksk8, B.ksk8}" wait="publish-alg8:TTL_DNSKEY" -- "ds_set A.ksk8 B.ksk8"
	mapfile -t v < <(violate "$1" keys-early V-1 M1)
	step del-alg13-keys "A, B: remove the alg-13 keys (DNSKEY signed by the alg-8 KSK only)" wait="ds-alg8:TTL_DS" "${v[@]}" \
		-- "dnskey_set A A.ksk8 A.zsk8 B.zsk8" "dnskey_set B B.ksk8 B.zsk8 A.zsk8" \
		"sign_with A A.ksk8 A.zsk8 A.zsk" "sign_with B B.ksk8 B.zsk8 B.zsk"
	step del-alg13-sigs "A, B: stop the alg-13 signatures" wait="del-alg13-keys:TTL_DNSKEY" \
		-- "sign_with A A.ksk8 A.zsk8" "sign_with B B.ksk8 B.zsk8"
	if [ "$1" = keys-early ]; then
		expect V-1 M1 "$(cache_must del-alg13-keys "$TTL_DS" "$TTL_DNSKEY")" "unbound bind pinned-a pinned-b" "${STARTED[del-alg13-keys]}" "$(fadd "${SERVED[ds-alg8]}" "$TTL_DS")" del-alg13-keys \
			"cached DS {alg 13} x DNSKEY RRsets with alg-8 keys only (both providers)"
		expect V-1 M1 may "kresd" "${STARTED[del-alg13-keys]}" "$(fadd "${SERVED[ds-alg8]}" "$TTL_DS")" del-alg13-keys \
			"same; Knot Resolver 5 replaces its cached DS with the DS of every referral it follows (each TTL_NS): when it follows one after ds-alg8 is served and before it fetches the DNSKEY RRset again, it never holds the pair (seen in 1 of 5 runs)"
		expect V-1 M1 may "pdns" "${STARTED[del-alg13-keys]}" "$(fadd "${SERVED[ds-alg8]}" "$TTL_DS")" del-alg13-keys \
			"same; PowerDNS Recursor 4.8 was not seen to fail here (it seems to fetch the DS again)"
	fi
}
