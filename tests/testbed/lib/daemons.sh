# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Configuration files and life cycle of the 11 daemons (testbed-recipe.md §4, §5, §10).

root_ds() { ds_rdata root.csk; } # "TAG 13 2 HEX"

write_configs() {
	mkdir -p "$CONF" "$LOGD" "$RUN"
	printf '.  3600000 IN NS ns.root.\nns.root. 3600000 IN A %s\n' "$ADDR_INFRA" >"$CONF/root.hints"
	conf_knot infra "$ADDR_INFRA" '.:root.signed lab.:lab.signed broken.lab.:broken.lab.signed'
	conf_knot a "${PROV_ADDR[A]}" 'example.lab.:example.lab.A.signed'
	conf_nsd
	[ -s "$CONF/rndc.key" ] || rndc-confgen -a -A hmac-sha256 -k rndc-key -c "$CONF/rndc.key" >/dev/null 2>&1
	printf 'include "%s";\noptions { default-key "rndc-key"; default-port 953; };\n' \
		"$CONF/rndc.key" >"$CONF/rndc.conf"
	conf_named_auth
	conf_named_res
	conf_unbound res-unbound "${RES_ADDR[unbound]}" ""
	conf_unbound pin-a "${RES_ADDR[pinned-a]}" "${PROV_ADDR[A]}"
	conf_unbound pin-b "${RES_ADDR[pinned-b]}" "${PROV_ADDR[B]}"
	conf_unbound pin-c "${RES_ADDR[pinned-c]}" "${PROV_ADDR[C]}"
	conf_kresd
	conf_pdns
}

conf_knot() { # conf_knot ID ADDR "ZONE:FILE ..."
	local id=$1 d=$RUN/knot-$1 zf
	mkdir -p "$d"
	{
		cat <<EOF
server:
    rundir: "$d"
    pidfile: "$d/knot.pid"
    listen: $2@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "$LOGD/knot-$id.log"
    any: info
database:
    storage: "$d/db"
control:
    listen: "$d/knot.sock"
template:
  - id: default
    storage: "$ZONES"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
EOF
		for zf in $3; do printf '  - domain: %s\n    file: %s\n' "${zf%%:*}" "${zf#*:}"; done
	} >"$CONF/knot-$id.conf"
}

conf_nsd() {
	local d=$RUN/nsd
	mkdir -p "$d/xfr"
	cat >"$CONF/nsd.conf" <<EOF
server:
    ip-address: ${PROV_ADDR[B]}
    port: 53
    do-ip6: no
    username: ""
    chroot: ""
    database: ""
    zonesdir: "$ZONES"
    zonelistfile: "$d/zone.list"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d/xfr"
    pidfile: "$d/nsd.pid"
    logfile: "$LOGD/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: yes
    control-interface: "$d/nsd.ctl"
zone:
    name: example.lab
    zonefile: example.lab.B.signed
EOF
}

named_common() { # named_common DIR ADDR
	cat <<EOF
include "$CONF/rndc.key";
controls { inet $2 port 953 allow { 127.0.0.0/8; } keys { "rndc-key"; }; };
options {
    directory "$1";
    pid-file "$1/named.pid";
    session-keyfile "$1/session.key";
    managed-keys-directory "$1";
    dump-file "$1/cache.db";
    listen-on port 53 { $2; };
    listen-on-v6 { none; };
    notify no;
EOF
}
conf_named_auth() {
	local d=$RUN/named-c
	mkdir -p "$d"
	{
		named_common "$d" "${PROV_ADDR[C]}"
		cat <<EOF
    recursion no;
    dnssec-validation no;
};
zone "example.lab" { type primary; file "$ZONES/example.lab.C.signed"; };
EOF
	} >"$CONF/named-c.conf"
}
conf_named_res() {
	local d=$RUN/named-res tag alg dt hex
	mkdir -p "$d"
	read -r tag alg dt hex <<<"$(root_ds)"
	{
		named_common "$d" "${RES_ADDR[bind]}"
		cat <<EOF
    recursion yes;
    allow-query { 127.0.0.0/8; };
    allow-recursion { 127.0.0.0/8; };
    query-source address ${RES_ADDR[bind]};
    dnssec-validation yes;
    min-cache-ttl 0; max-cache-ttl 60; max-ncache-ttl 10; servfail-ttl 0;
    prefetch 0; stale-answer-enable no; stale-cache-enable no;
};
trust-anchors { . static-ds $tag $alg $dt "$hex"; };
zone "." { type hint; file "$CONF/root.hints"; };
EOF
	} >"$CONF/named-res.conf"
}

conf_unbound() { # conf_unbound NAME ADDR [STUB-ADDR for a pinned vantage]
	local d=$RUN/$1
	mkdir -p "$d"
	{
		cat <<EOF
server:
    interface: $2
    port: 53
    outgoing-interface: $2
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    logfile: ""
    log-time-ascii: yes
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    ede: yes
    num-threads: 1
    so-reuseport: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    trust-anchor: ". DS $(root_ds)"
    root-hints: "$CONF/root.hints"
    cache-min-ttl: 0
    cache-max-ttl: 60
    cache-max-negative-ttl: 10
    val-bogus-ttl: 1
    infra-host-ttl: 60
    prefetch: no
    prefetch-key: no
    serve-expired: no
    msg-cache-size: 4m
    rrset-cache-size: 4m
    key-cache-size: 1m
remote-control:
    control-enable: yes
    control-interface: "$d/unbound.ctl"
EOF
		[ -z "$3" ] || printf 'stub-zone:\n    name: "example.lab."\n    stub-addr: %s\n' "$3"
	} >"$CONF/$1.conf"
}

conf_kresd() {
	local d=$RUN/kresd
	mkdir -p "$d"
	cat >"$CONF/kresd.conf" <<EOF
net.ipv6 = false
net.listen('${RES_ADDR[kresd]}', 53, { kind = 'dns' })
net.listen('$d/control', nil, { kind = 'control' })
net.outgoing_v4('${RES_ADDR[kresd]}')
modules = { 'hints > iterate', 'bogus_log' }
hints.root({ ['ns.root.'] = '$ADDR_INFRA' })
trust_anchors.remove('.')
trust_anchors.add('. 3600 IN DS $(root_ds)')
policy.add(policy.all(policy.FLAGS('ALLOW_LOCAL')))
cache.open(20 * MB, 'lmdb://$d/cache')
cache.min_ttl(0)
cache.max_ttl(60)
EOF
}

conf_pdns() {
	local d=$RUN/pdns
	mkdir -p "$d"
	printf 'clearTA()\naddTA(".", "%s")\n' "$(root_ds)" >"$d/ta.lua"
	cat >"$d/recursor.conf" <<EOF
local-address=${RES_ADDR[pdns]}
local-port=53
query-local-address=${RES_ADDR[pdns]}
allow-from=127.0.0.0/8
dont-query=
hint-file=$CONF/root.hints
lua-config-file=$d/ta.lua
dnssec=validate
dnssec-log-bogus=yes
extended-resolution-errors=yes
minimum-ttl-override=0
max-cache-ttl=60
max-negative-ttl=10
packetcache-servfail-ttl=0
max-cache-bogus-ttl=1
security-poll-suffix=
socket-dir=$d
threads=1
daemon=no
disable-syslog=yes
log-timestamp=yes
EOF
}

# --- life cycle -----------------------------------------------------------------------------
start_daemon() { # start_daemon NAME (no-op if it runs)
	pid_of "$1" >/dev/null && return 0
	case $1 in
	auth-infra) spawn "$1" knotd -c "$CONF/knot-infra.conf" ;;
	auth-a) spawn "$1" knotd -c "$CONF/knot-a.conf" ;;
	auth-b) spawn "$1" nsd -d -c "$CONF/nsd.conf" ;;
	auth-c) spawn "$1" named -g -n 1 -c "$CONF/named-c.conf" ;;
	res-unbound | pin-a | pin-b | pin-c) spawn_stamped "$1" unbound -d -c "$CONF/$1.conf" ;;
	res-bind) spawn "$1" named -g -n 1 -c "$CONF/named-res.conf" ;;
	res-kresd) spawn_stamped "$1" kresd -n -c "$CONF/kresd.conf" "$RUN/kresd" ;;
	res-pdns) spawn "$1" pdns_recursor --config-dir="$RUN/pdns" ;;
	esac
}
auth_daemon() { case $1 in A) echo auth-a ;; B) echo auth-b ;; C) echo auth-c ;; esac; }

# ports_free: every address:port the testbed binds is free (and no wildcard listener on 53/953).
ports_free() {
	local u t a bad=""
	u=$(ss -Hlnu) t=$(ss -Hlnt)
	for a in "$ADDR_INFRA:53" "${PROV_ADDR[@]/%/:53}" "${RES_ADDR[@]/%/:53}" 127.0.0.13:953 127.0.0.22:953 \
		0.0.0.0:53 '*:53' 0.0.0.0:953 '*:953'; do
		if grep -qF " $a " <<<"$u $t"$'\n'; then bad="$bad $a"; fi
	done
	[ -z "$bad" ] || { say "address already in use:$bad (another testbed or DNS server runs; see 'ss -lnup')"; return 1; }
}

add_addrs() {
	local a have
	have=$(ip -4 -o addr show dev lo)
	: >>"$RUN/added-addrs"
	for a in $BIND_ADDRS; do
		[[ $have == *" $a/32 "* ]] && continue
		ip addr add "$a/32" dev lo || die "cannot add $a to lo (need root)"
		echo "$a" >>"$RUN/added-addrs"
	done
}
del_addrs() {
	local a
	[ -r "$RUN/added-addrs" ] || return 0
	[ -n "${TB_SKIP_ADDRS:-}" ] && { rm -f "$RUN/added-addrs"; return 0; } # they were in a deleted netns
	for a in $(<"$RUN/added-addrs"); do ip addr del "$a/32" dev lo 2>/dev/null || true; done
	rm -f "$RUN/added-addrs"
}

flush_resolvers() {
	local n pids=()
	for n in res-unbound pin-a pin-b pin-c; do
		{
			unbound-control -c "$CONF/$n.conf" flush_zone . &&
				unbound-control -c "$CONF/$n.conf" flush_bogus &&
				unbound-control -c "$CONF/$n.conf" flush_negative &&
				unbound-control -c "$CONF/$n.conf" flush_infra all
		} >/dev/null &
		pids+=("$!")
	done
	rndc -c "$CONF/rndc.conf" -s "${RES_ADDR[bind]}" flush >/dev/null & pids+=("$!")
	echo 'cache.clear()' | socat - "UNIX-CONNECT:$RUN/kresd/control" >/dev/null & pids+=("$!")
	rec_control --socket-dir="$RUN/pdns" wipe-cache '.$' >/dev/null & pids+=("$!")
	local p rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || say "some resolver cache flush failed"
	return "$rc"
}

all_validated() {
	local r
	for r in $RESOLVERS; do validated "${RES_ADDR[$r]}" || return 1; done
}
