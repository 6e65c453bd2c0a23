# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# A controller session on the loopback testbed, shared by tools/demo.sh (make demo) and
# tests/integration/t_controller.sh: the testbed and obs-collector in the network namespace
# TB_NETNS, obs-web in live mode on the collector's database, and bin/obs-controller driving an
# operation (tests/testbed/tb plan NAME) through `tb apply`, gated on obs-web's whatif.
#
# Where obs-web listens (SESS_WEB_NETNS):
#   0 (make demo): on the host's 127.0.0.1:SESS_PORT, so a browser on the host reaches the
#     dashboard; the controller runs on the host too and `tb apply` enters the namespace itself.
#   1 (the test): inside the namespace on its own 127.0.0.1:SESS_PORT (no port of the host is
#     used); the controller runs inside the namespace.
# The collector always runs inside the namespace (it polls the testbed's 127.0.0.x servers);
# obs-web and obs-analyzer only read files, so they work from either side.
#
# Caller sets: W (work directory), TB_NETNS, TB_DIR; optional SESS_PORT (8053),
# SESS_WEB_NETNS (0), SESS_CAPTURE (1: the collector also captures on lo), SESS_QUIET (0).
# Every process a session starts is recorded in SESS_PIDS and stopped by pid in sess_stop.

SESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TB=$SESS_ROOT/tests/testbed/tb
SESS_PORT=${SESS_PORT:-8053}
SESS_WEB_NETNS=${SESS_WEB_NETNS:-0}
SESS_CAPTURE=${SESS_CAPTURE:-1}
SESS_PIDS=()
CTL=${CTL:-$SESS_ROOT/bin/obs-controller}
WEBBIN=${WEBBIN:-$SESS_ROOT/bin/obs-web}

sess_say() { printf '\033[1m== %s\033[0m\n' "$*"; }
in_ns() { ip netns exec "$TB_NETNS" "$@"; }
web_side() { if [ "$SESS_WEB_NETNS" = 1 ]; then in_ns "$@"; else "$@"; fi; }
# for background processes: exec, so that $! is the program itself and sess_stop reaches it
# (a function run with & is a subshell; killing it would orphan its child)
bg_ns() { exec ip netns exec "$TB_NETNS" "$@"; }
bg_web() { if [ "$SESS_WEB_NETNS" = 1 ]; then bg_ns "$@"; else exec "$@"; fi; }
port_open() { web_side bash -c "exec 3<>/dev/tcp/127.0.0.1/$SESS_PORT" 2>/dev/null; }

# sess_start: the testbed (TTLs from the environment), the collector, obs-web.
sess_start() {
	mkdir -p "$W"
	if [ "$SESS_WEB_NETNS" != 1 ] && port_open; then
		echo "127.0.0.1:$SESS_PORT is in use on this host (SESS_PORT=... to pick another)" >&2
		return 1
	fi
	"$TB" start || return 1
	sed -e "s|db: /tmp/obs-vantage-1.db|db: $W/vantage-1.db|" -e 's/stats-interval: 10s/stats-interval: 30s/' \
		"$SESS_ROOT/collector/example.yaml" >"$W/collector.yaml"
	local cap=()
	[ "$SESS_CAPTURE" = 1 ] && cap=(-i lo)
	bg_ns "$SESS_ROOT/bin/obs-collector" run -c "$W/collector.yaml" -q "${cap[@]}" >"$W/collector.log" 2>&1 &
	SESS_PIDS+=("$!")
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/token"
	chmod 600 "$W/token"
	bg_web "$WEBBIN" --db "$W/analysis.db" --collector "$W/vantage-1.db" --ingest-every 1s \
		--token-file "$W/token" --listen "127.0.0.1:$SESS_PORT" --state-dir "$W/rrd" -q \
		>"$W/web.log" 2>&1 &
	SESS_PIDS+=("$!")
	for _ in $(seq 1 100); do
		port_open && break
		kill -0 "${SESS_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	port_open || { echo "obs-web did not start: $(tail -3 "$W/web.log")" >&2; return 1; }
	# ready when the observatory has discovered every provider of the configuration (a whatif
	# naming a provider it has not seen yet is a bad request, not an unknown)
	local want have
	want=$(awk '/^    providers:/ { p = 1; next } p && /^      [a-z]+:/ { sub(":", "", $1); print $1; next } p && !/^      / { p = 0 }' \
		"$W/collector.yaml" | sort | tr '\n' ' ')
	for _ in $(seq 1 300); do
		have=$(web_side curl -sf "http://127.0.0.1:$SESS_PORT/api/v1/zones/example.lab./servers" 2>/dev/null |
			jq -r '[.servers[].provider] | unique | map(select(. != "parent" and . != "PARENT" and . != "?")) | .[]' 2>/dev/null |
			sort | tr '\n' ' ' || true)
		local p missing=0
		for p in $want; do [[ " $have " == *" $p "* ]] || missing=1; done
		[ "$missing" = 0 ] && return 0
		sleep 0.2
	done
	echo "the observatory never saw every provider ($want); it has: $have" >&2
	return 1
}

# sess_stop: every process this session started, by pid, then the testbed.
sess_stop() {
	local p
	for p in "${SESS_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${SESS_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SESS_PIDS=()
	"$TB" stop >/dev/null 2>&1 || true
}

# sess_run OP LABEL [obs-controller options...]: serve OP's baseline, run its plan, then keep
# watching SESS_TAIL seconds (default max TTL + 2) before anything else changes the zone.
# Appends to $W/record.jsonl (one line per step) and $W/runs.tsv (LABEL OP START END TAIL_END RC).
sess_run() {
	local op=$1 label=$2 t0 t1 t2 rc=0 tail=${SESS_TAIL:-}
	shift 2
	"$TB" apply baseline "$op" 2>&1 | sed 's/^/  /'
	# the plan names keys the baseline has just put on a provider's servers: let the collector
	# poll them and obs-web ingest them (two poll periods and an ingest round) before the first
	# whatif, which refuses a key never observed (one run started 0.5 s after the baseline)
	sleep "$((2 * ${POLL:-1} + 1))"
	"$TB" plan "$op" >"$W/plan-$op" || return 1
	t0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	web_side "$CTL" --plan "$W/plan-$op" --apply "$TB apply" --token-file "$W/token" \
		--url "http://127.0.0.1:$SESS_PORT" --record "$W/record.jsonl" --label "$label" "$@" ||
		rc=$?
	t1=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	[ -n "$tail" ] || tail=$(printf '%s\n' "$TTL_DATA" "$TTL_DNSKEY" "$TTL_DS" "$TTL_NS" | sort -n | tail -1)
	sleep "$((tail + 2))"
	t2=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$op" "$t0" "$t1" "$t2" "$rc" >>"$W/runs.tsv"
	return "$rc"
}

# sess_span LABEL: "START TAIL_END" of a run.
sess_span() { awk -F'\t' -v l="$1" '$1 == l { print $3, $5 }' "$W/runs.tsv"; }
sess_plus() { date -u -d "$1 + $2 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ; }
# sess_predicted FROM TO: predicted glitch windows (JSON lines) open at some time in [FROM, TO].
sess_predicted() {
	"$SESS_ROOT/bin/obs-analyzer" glitches --predicted --db "$W/analysis.db" --zone example.lab. --json |
		jq -c --arg f "$1" --arg t "$2" '.predicted[] | . as $g | .windows[] | select(.lo <= $t and (.hi == null or .hi >= $f))
			| {id: $g.id, tier: $g.tier, severity: $g.severity, a: $g.a, b: $g.b, lo, hi}'
}
# sess_audit FROM TO: obs-analyzer audit entries (JSON lines) whose change was seen in [FROM, TO].
sess_audit() {
	"$SESS_ROOT/bin/obs-analyzer" audit --db "$W/analysis.db" --zone example.lab. --json |
		jq -c --arg f "$1" --arg t "$2" '.audit[] | select(.changed_at >= $f and .changed_at <= $t)'
}
# sess_glitches FROM TO: observed glitches (JSON lines) of www.example.lab that began in [FROM, TO].
sess_glitches() {
	"$SESS_ROOT/bin/obs-analyzer" glitches --db "$W/analysis.db" --zone example.lab. --json |
		jq -c --arg f "$1" --arg t "$2" '.glitches[] | select(.first_bad >= $f and .first_bad <= $t)'
}
