#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run test suites and end with one summary line "N passed, M failed" over all of them.
# Suites: unit (Criterion, under ASan/UBSan), integration (real servers), testbed, browser (the
# dashboard in headless Chromium during a live testbed scenario), acceptance.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/out
passed=0
failed=0

add_criterion() { # parse Criterion's synthesis line
	local line
	line=$(grep -a 'Synthesis:' "$1" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		echo "suite $2: no Criterion synthesis line (crashed?)"
		return
	fi
	local p f c
	p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line")
	c=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f + c))
}

add_plain() { # parse "N passed, M failed"
	local line
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		echo "suite $2: no summary line"
		return
	fi
	passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")))
}

for suite in "$@"; do
	log=tests/out/$suite.log
	echo "=== suite $suite"
	case $suite in
	unit)
		ASAN_OPTIONS=detect_leaks=1 timeout 600 build/san/unit-tests --ascii -j2 2>&1 | tee "$log"
		add_criterion "$log" unit
		;;
	integration)
		timeout 900 tests/integration/run.sh 2>&1 | tee "$log"
		add_plain "$log" integration
		;;
	acceptance)
		timeout 600 tests/acceptance/run.sh 2>&1 | tee "$log"
		add_plain "$log" acceptance
		;;
	testbed)
		if [ -x tests/testbed/run-tests.sh ]; then
			timeout 900 tests/testbed/run-tests.sh 2>&1 | tee "$log"
			add_plain "$log" testbed
		fi
		;;
	browser)
		timeout 300 tests/browser/t_dashboard.sh 2>&1 | tee "$log"
		add_plain "$log" browser
		;;
	*)
		echo "unknown suite $suite"
		failed=$((failed + 1))
		;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
