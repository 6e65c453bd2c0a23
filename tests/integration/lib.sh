# SPDX-License-Identifier: MIT
# Shared helpers for integration tests: checks with a summary, waiting on conditions.
PASS=0
FAIL=0

pass() { PASS=$((PASS + 1)); echo "PASS $1"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL $1: $2"; }

# check NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_ge NAME MIN ACTUAL
check_ge() {
	if [ "${3:-0}" -ge "$2" ] 2>/dev/null; then pass "$1"; else fail "$1" "expected >= $2, got '$3'"; fi
}

# wait_until TIMEOUT_S COMMAND...: poll a condition every 0.1 s until it holds or time runs out
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
