# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2153
# Keys, the zone state, zone files, pre-signing with ldns-signzone, reloads.
#
# The zone state ($STATE/zone.sh) says what every origin serves:
#   K_X   key names in provider X's DNSKEY RRset        (e.g. "A.ksk A.zsk B.zsk")
#   S_X   keys provider X signs with (257 keys sign the DNSKEY RRset, 256 keys everything else)
#   N_X   providers named in X's apex NS RRset           (e.g. "A B")
#   UP_X  1 if X's server runs, 0 if the scenario stopped it
#   DS    keys with a DS in the parent lab.;  PNS  providers in the parent's NS RRset
# Key names: root.csk tld.csk broken.csk rogue.ksk, and X.ksk X.ksk2 X.zsk X.zsk2 (ECDSA, alg 13),
# X.ksk8 X.zsk8 (RSASHA256, alg 8) for X in A B C.

INFRA_TTL=60

gen_keys() {
	mkdir -p "$KEYS"
	local spec name zone flag alg pids=()
	for spec in root.csk:.:k tld.csk:lab.:k broken.csk:broken.lab.:k rogue.ksk:broken.lab.:k \
		A.ksk:e:k A.ksk2:e:k A.zsk:e: A.zsk2:e: A.ksk8:e:k8 A.zsk8:e:8 \
		B.ksk:e:k B.ksk2:e:k B.zsk:e: B.zsk2:e: B.ksk8:e:k8 B.zsk8:e:8 \
		C.ksk:e:k C.ksk2:e:k C.zsk:e: C.zsk2:e: C.ksk8:e:k8 C.zsk8:e:8; do
		IFS=: read -r name zone flag <<<"$spec"
		[ "$zone" = e ] && zone=example.lab.
		alg=ECDSAP256SHA256
		[[ $flag == *8 ]] && alg=RSASHA256
		gen_key "$name" "$zone" "$alg" "${flag%8}" &
		pids+=("$!")
	done
	local p rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || die "key generation failed"
}
gen_key() { # gen_key NAME ZONE ALG [k]
	local b args=(-a "$3")
	[ "$4" = k ] && args+=(-k)
	[ "$3" = RSASHA256 ] && args+=(-b 1024)
	# each key in its own directory: two keys of one zone may get the same tag (same file names)
	local d e
	d=$(mktemp -d "$KEYS/.gen.XXXXXX") || return 1
	b=$(cd "$d" && ldns-keygen "${args[@]}" "$2") || { rm -rf "$d"; return 1; }
	for e in key private ds; do [ -e "$d/$b.$e" ] && mv -f "$d/$b.$e" "$KEYS/$1.$e"; done
	rm -rf "$d"
	b=${b##*+}
	printf '%d\n' "$((10#$b))" >"$KEYS/$1.tag"
}
key_tag() { cat "$KEYS/$1.tag"; }
key_alg() { awk '{ print $6; exit }' "$KEYS/$1.key"; }
key_rdata() { awk '{ print $4, $5, $6, $7; exit }' "$KEYS/$1.key"; }
ds_rdata() { awk '{ print $4, $5, $6, $7; exit }' "$KEYS/$1.ds"; }
key_label() { printf '%s/%s %s' "$(key_alg "$1")" "$(key_tag "$1")" "$1"; } # "13/4711 A.zsk"

# --- zone state -------------------------------------------------------------------------------
state_default() { # all three providers in the group (RFC 8901 model 2), all delegated
	K_A="A.ksk A.zsk B.zsk C.zsk" S_A="A.ksk A.zsk" N_A="A B C" UP_A=1
	K_B="B.ksk B.zsk A.zsk C.zsk" S_B="B.ksk B.zsk" N_B="A B C" UP_B=1
	K_C="C.ksk C.zsk A.zsk B.zsk" S_C="C.ksk C.zsk" N_C="A B C" UP_C=1
	DS="A.ksk B.ksk C.ksk" PNS="A B C"
}
STATE_VARS="K_A S_A N_A UP_A K_B S_B N_B UP_B K_C S_C N_C UP_C DS PNS"
state_save() {
	local v
	mkdir -p "$STATE"
	for v in $STATE_VARS; do printf '%s=%q\n' "$v" "${!v}"; done >"$STATE/zone.sh.tmp"
	mv -f "$STATE/zone.sh.tmp" "$STATE/zone.sh"
}
state_load() {
	# shellcheck disable=SC1091
	. "$STATE/zone.sh"
}
# set_add LIST ITEM... / set_del LIST ITEM...: edit a space-separated set held in variable LIST.
set_add() {
	local v=$1 i
	shift
	for i in "$@"; do [[ " ${!v} " == *" $i "* ]] || printf -v "$v" '%s' "${!v:+${!v} }$i"; done
}
set_del() {
	local v=$1 i out
	shift
	out=" ${!v} "
	for i in "$@"; do out=${out// $i / }; done
	out=${out# } out=${out% }
	printf -v "$v" '%s' "$out"
}

# --- serials --------------------------------------------------------------------------------
next_serial() { # next_serial NAME: max(previous + 1, unix time), kept in $STATE/serial.NAME
	local f=$STATE/serial.$1 prev=0 s
	[ -r "$f" ] && prev=$(<"$f")
	s=$(printf '%(%s)T' -1)
	[ "$s" -gt "$prev" ] || s=$((prev + 1))
	echo "$s" >"$f"
	echo "$s"
}

# --- zone files -----------------------------------------------------------------------------
dnskey_rrs() { # dnskey_rrs OWNER TTL KEYNAME...
	local o=$1 t=$2 k
	shift 2
	for k in "$@"; do printf '%s %s IN DNSKEY %s\n' "$o" "$t" "$(key_rdata "$k")"; done
}
sign_zone() { # sign_zone ORIGIN UNSIGNED OUT KEYNAME...: sign exactly with these keys, atomically
	local origin=$1 in=$2 out=$3 k t keys=()
	shift 3
	for k in "$@"; do keys+=("$KEYS/$k"); done
	t=$(printf '%(%s)T' -1)
	ldns-signzone -d -o "$origin" -i $((t - 3600)) -e $((t + 7 * 86400)) -f "$out.tmp" \
		"$in" "${keys[@]}" || die "ldns-signzone $origin failed"
	mv -f "$out.tmp" "$out"
}
build_root() {
	local s f=$ZONES/root
	s=$(next_serial root)
	{
		printf '. %s IN SOA ns.root. hostmaster.root. %s 10 10 600 10\n' "$INFRA_TTL" "$s"
		printf '. %s IN NS ns.root.\nns.root. %s IN A %s\n' "$INFRA_TTL" "$INFRA_TTL" "$ADDR_INFRA"
		printf 'lab. %s IN NS ns.lab.\nns.lab. %s IN A %s\n' "$INFRA_TTL" "$INFRA_TTL" "$ADDR_INFRA"
		printf 'lab. %s IN DS %s\n' "$INFRA_TTL" "$(ds_rdata tld.csk)"
		dnskey_rrs . "$INFRA_TTL" root.csk
	} >"$f.zone"
	sign_zone . "$f.zone" "$f.signed" root.csk
	echo "$s"
}
build_broken() { # broken.lab.: validly signed, but the parent's DS is for rogue.ksk
	local s f=$ZONES/broken.lab
	s=$(next_serial broken)
	{
		printf 'broken.lab. %s IN SOA ns.lab. hostmaster.lab. %s 10 10 600 10\n' "$INFRA_TTL" "$s"
		printf 'broken.lab. %s IN NS ns.lab.\nwww.broken.lab. %s IN A 192.0.2.66\n' "$INFRA_TTL" "$INFRA_TTL"
		dnskey_rrs broken.lab. "$INFRA_TTL" broken.csk
	} >"$f.zone"
	sign_zone broken.lab. "$f.zone" "$f.signed" broken.csk
	echo "$s"
}
build_lab() { # the parent: delegation NS (PNS) and DS set (DS) of example.lab.
	local s f=$ZONES/lab p k
	s=$(next_serial lab)
	{
		printf 'lab. %s IN SOA ns.lab. hostmaster.lab. %s 10 10 600 %s\n' "$INFRA_TTL" "$s" "$TTL_DATA"
		printf 'lab. %s IN NS ns.lab.\nns.lab. %s IN A %s\n' "$INFRA_TTL" "$INFRA_TTL" "$ADDR_INFRA"
		for p in $PROVIDERS; do printf '%s %s IN A %s\n' "${PROV_NS[$p]}" "$INFRA_TTL" "${PROV_ADDR[$p]}"; done
		for p in $PNS; do printf 'example.lab. %s IN NS %s\n' "$TTL_NS" "${PROV_NS[$p]}"; done
		for k in $DS; do printf 'example.lab. %s IN DS %s\n' "$TTL_DS" "$(ds_rdata "$k")"; done
		printf 'broken.lab. %s IN NS ns.lab.\n' "$INFRA_TTL"
		printf 'broken.lab. %s IN DS %s\n' "$INFRA_TTL" "$(ds_rdata rogue.ksk)"
		dnskey_rrs lab. "$INFRA_TTL" tld.csk
	} >"$f.zone"
	sign_zone lab. "$f.zone" "$f.signed" tld.csk
	echo "$s"
}
build_provider() { # build_provider X: example.lab. as provider X serves it (K_X, S_X, N_X)
	local x=$1 s f=$ZONES/example.lab.$1 k=K_$1 sg=S_$1 n=N_$1 p
	s=$(next_serial "example.$x")
	{
		printf '$TTL %s\n' "$TTL_DATA"
		printf 'example.lab. IN SOA %s hostmaster.example.lab. %s 10 10 600 %s\n' "${PROV_NS[$x]}" "$s" "$TTL_DATA"
		for p in ${!n}; do printf 'example.lab. %s IN NS %s\n' "$TTL_NS" "${PROV_NS[$p]}"; done
		printf 'www.example.lab. IN A 192.0.2.1\n'
		printf 'who.example.lab. IN TXT "provider-%s serial-%s"\n' "$x" "$s"
		# shellcheck disable=SC2086
		dnskey_rrs example.lab. "$TTL_DNSKEY" ${!k}
	} >"$f.zone"
	# shellcheck disable=SC2086
	sign_zone example.lab. "$f.zone" "$f.signed" ${!sg}
	echo "$s"
}

# --- reloads: make the server load the new file, then wait until it serves the new serial -------
reload_zone() { # reload_zone ORIGIN(A|B|C|infra) ZONE SERIAL
	local addr
	case $1 in
	infra) addr=$ADDR_INFRA; knotc -s "$RUN/knot-infra/knot.sock" zone-reload "$2" >/dev/null ;;
	A) addr=${PROV_ADDR[A]}; knotc -s "$RUN/knot-a/knot.sock" zone-reload "$2" >/dev/null ;;
	B) addr=${PROV_ADDR[B]}; nsd-control -c "$CONF/nsd.conf" reload "${2%.}" >/dev/null ;;
	C) addr=${PROV_ADDR[C]}; rndc -c "$CONF/rndc.conf" -s "$addr" reload "${2%.}" >/dev/null ;;
	esac || say "reload of $2 at $1 failed"
	wait_until 10 serial_is "$addr" "$2" "$3" || die "$1 does not serve $2 serial $3"
}
serial_is() { [ "$(serial_at "$1" "$2")" = "$3" ]; }

build_all_zones() { # sign every zone (in parallel) from the current state
	mkdir -p "$ZONES"
	local p pids=() rc=0
	build_root >/dev/null & pids+=("$!")
	build_broken >/dev/null & pids+=("$!")
	build_lab >/dev/null & pids+=("$!")
	for p in $PROVIDERS; do build_provider "$p" >/dev/null & pids+=("$!"); done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || die "zone signing failed"
}

# rebuild ORIGIN...: sign and serve (in parallel) the zones of origins "lab" (the parent) and A B C.
# A provider with UP_X=0 is stopped; one with UP_X=1 that does not run is started.
rebuild() {
	local o p pids=() rc=0
	for o in "$@"; do
		rebuild_one "$o" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return "$rc"
}
rebuild_one() {
	local o=$1 s up d
	if [ "$o" = lab ]; then
		s=$(build_lab)
		reload_zone infra lab. "$s"
		return
	fi
	up=UP_$o d=$(auth_daemon "$o")
	s=$(build_provider "$o")
	if [ "${!up}" != 1 ]; then
		stop_pids "$d"
	elif pid_of "$d" >/dev/null; then
		reload_zone "$o" example.lab. "$s"
	else
		start_daemon "$d"
		wait_until 10 serial_is "${PROV_ADDR[$o]}" example.lab. "$s" || die "provider $o did not start"
	fi
}
