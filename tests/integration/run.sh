#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every tests/integration/t_*.sh (each starts its own real servers on 127.0.2.0/24 and
# prints PASS/FAIL lines) and end with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0
failed=0
for t in tests/integration/t_*.sh; do
	echo "--- $t"
	out=$(mktemp)
	timeout 600 "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $t: exited $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
