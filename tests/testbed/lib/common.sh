# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Common settings and helpers of the loopback testbed: paths, addresses, TTLs, time, waits, pids.

export TZ=UTC
TB_DIR=${TB_DIR:-/tmp/obs-testbed}
RUN=$TB_DIR/run LOGD=$TB_DIR/log KEYS=$TB_DIR/keys ZONES=$TB_DIR/zones CONF=$TB_DIR/conf STATE=$TB_DIR/state

# Fixed addresses (the interface of the testbed; see README.md).
ADDR_INFRA=127.0.0.10
declare -A PROV_ADDR=([A]=127.0.0.11 [B]=127.0.0.12 [C]=127.0.0.13)
declare -A PROV_NS=([A]=ns.prova.lab. [B]=ns.provb.lab. [C]=ns.provc.lab.)
declare -A PROV_SW=([A]=knot [B]=nsd [C]=bind)
PROVIDERS="A B C"
RESOLVERS="unbound bind kresd pdns pinned-a pinned-b pinned-c"
declare -A RES_ADDR=([unbound]=127.0.0.21 [bind]=127.0.0.22 [kresd]=127.0.0.23 [pdns]=127.0.0.24
	[pinned-a]=127.0.0.31 [pinned-b]=127.0.0.32 [pinned-c]=127.0.0.33)
# Addresses named (BIND) must find on an interface: added to lo by `tb start`.
BIND_ADDRS="127.0.0.13 127.0.0.22"
# Daemons: pid file name -> program name (checked against /proc/PID/comm before a signal).
DAEMONS="auth-infra auth-a auth-b auth-c res-unbound res-bind res-kresd res-pdns pin-a pin-b pin-c"
declare -A DAEMON_COMM=([auth-infra]=knotd [auth-a]=knotd [auth-b]=nsd [auth-c]=named
	[res-unbound]=unbound [res-bind]=named [res-kresd]=kresd [res-pdns]=pdns_recursor
	[pin-a]=unbound [pin-b]=unbound [pin-c]=unbound)

# TTLs in seconds: environment, else what `tb start` recorded, else defaults.
load_ttls() {
	local f=$STATE/ttl.env d=2 k=5 s=5 n=5
	if [ -r "$f" ]; then
		# shellcheck disable=SC1090
		d=$(. "$f"; echo "$TTL_DATA") k=$(. "$f"; echo "$TTL_DNSKEY")
		# shellcheck disable=SC1090
		s=$(. "$f"; echo "$TTL_DS") n=$(. "$f"; echo "$TTL_NS")
	fi
	TTL_DATA=${TTL_DATA:-$d} TTL_DNSKEY=${TTL_DNSKEY:-$k} TTL_DS=${TTL_DS:-$s} TTL_NS=${TTL_NS:-$n}
	local v
	for v in TTL_DATA TTL_DNSKEY TTL_DS TTL_NS; do
		[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number of seconds, not '${!v}'"
	done
}
save_ttls() {
	mkdir -p "$STATE"
	printf 'TTL_DATA=%s\nTTL_DNSKEY=%s\nTTL_DS=%s\nTTL_NS=%s\n' \
		"$TTL_DATA" "$TTL_DNSKEY" "$TTL_DS" "$TTL_NS" >"$STATE/ttl.env"
}

die() { printf 'tb: %s\n' "$*" >&2; exit 1; }
say() { printf 'tb: %s\n' "$*" >&2; }

# Time: float seconds since the epoch without a fork, and RFC 3339 UTC with milliseconds.
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
rfc3339() { # rfc3339 EPOCH_FLOAT
	local s=${1%.*} f=${1#*.}
	[ "$s" = "$1" ] && f=0
	f=${f}000
	printf '%(%Y-%m-%dT%H:%M:%S)T.%sZ' "$s" "${f:0:3}"
}
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }

# wait_until TIMEOUT_S CMD...: poll CMD every 0.2 s until it succeeds; 1 on timeout.
wait_until() {
	local timeout=$1 t0
	shift
	t0=$(now)
	until "$@"; do
		[ "$(fsub "$(now)" "$t0" | cut -d. -f1)" -lt "$timeout" ] || return 1
		sleep 0.2
	done
}
# sleep_until EPOCH_FLOAT: a designed wait of a scenario (not synchronisation).
sleep_until() {
	local d
	d=$(fsub "$1" "$(now)")
	case $d in -*) return 0 ;; esac
	sleep "$d"
}

# Processes: one pid file per daemon in $RUN/NAME.pid.
pid_of() { # prints the pid if NAME runs as the recorded program
	local f=$RUN/$1.pid pid comm
	[ -r "$f" ] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[[ $comm == "${DAEMON_COMM[$1]}"* ]] || return 1
	printf '%s' "$pid"
}
spawn() { # spawn NAME CMD...: start CMD detached, log to $LOGD/NAME.log, record its pid
	local name=$1
	shift
	setsid "$@" </dev/null >>"$LOGD/$name.log" 2>&1 &
	echo "$!" >"$RUN/$name.pid"
}
# spawn_stamped NAME CMD...: like spawn, for daemons whose log lines carry no time (kresd) or
# whole seconds only (Unbound): each line is prefixed with the time it was read, RFC 3339 UTC
# with milliseconds ("2026-01-02T03:04:05.678Z "). The stamper is not the recorded pid: it ends
# at end of file, when the daemon exits.
spawn_stamped() {
	local name=$1
	shift
	# (exec: a redirection of the function call alone would keep a saved copy of our stdout open)
	setsid "$@" </dev/null > >(exec >>"$LOGD/$name.log" 2>&1; stamp_lines) 2>&1 &
	echo "$!" >"$RUN/$name.pid"
}
stamp_lines() {
	local l t
	while IFS= read -r l || [ -n "$l" ]; do
		t=${EPOCHREALTIME/,/.}
		printf '%(%Y-%m-%dT%H:%M:%S)T.%.3sZ %s\n' "${t%.*}" "${t#*.}" "$l"
	done
}
stop_pids() { # stop_pids NAME...: SIGTERM, wait up to 5 s, SIGKILL the rest
	local n pid pids=()
	for n in "$@"; do
		pid=$(pid_of "$n") && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }
	done
	if [ "${#pids[@]}" -gt 0 ] && ! wait_until 5 pids_gone "${pids[@]}"; then
		for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
		wait_until 2 pids_gone "${pids[@]}" || true
	fi
	for n in "$@"; do rm -f "$RUN/$n.pid"; done
}
pids_gone() {
	local p
	for p in "$@"; do [ -e "/proc/$p" ] && return 1; done
	return 0
}

# DNS helpers (all traffic to 127.0.0.0/8).
dq() { dig +tries=1 +time=1 "$@" 2>/dev/null; }
serial_at() { # serial_at ADDR ZONE
	dq @"$1" +norec +short "$2" SOA | awk 'NR == 1 { print $3 }'
}
validated() { # validated ADDR: a validated answer for www.example.lab A
	local out
	out=$(dq @"$1" +dnssec www.example.lab A) || return 1
	[[ $out == *"status: NOERROR"* && $out =~ flags:[a-z\ ]*\ ad[\ \;] && $out == *"192.0.2.1"* ]]
}
