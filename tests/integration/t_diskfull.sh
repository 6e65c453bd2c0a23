#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A full disk (reliability-targets D3): the collector (ASan build) writes its database on a
# tmpfs of 600 KiB, which fills within seconds, while it polls the integration lab (on
# 127.0.9.0/24). Checked: it keeps running, counts the batches and observations it lost, logs
# the failure clearly but at most every 10 s; once the tmpfs is grown it resumes storing by
# itself within 5 s and loses nothing more; on SIGTERM the database is intact (integrity_check,
# no half-present transaction) and nothing was printed by the sanitizers.
# Ends "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

if [ "$(id -u)" != 0 ]; then
	echo "SKIP t_diskfull.sh: needs root to mount a tmpfs"
	exit 0
fi
COLL=${COLL:-build/san/obs-collector}
LAB_NET=127.0.9
. tests/integration/lab.sh
lab_wait

M=$W/small
mkdir -p "$M"
mount -t tmpfs -o size=600k tmpfs "$M" || {
	fail "mount a tmpfs" "mount failed"
	summary
	exit 1
}
trap 'kill "${CP:-}" 2>/dev/null; umount "$M" 2>/dev/null; cleanup' EXIT
lab_config "$W/c.yaml" full-1 "$M/c.db"
DB=$M/c.db
q() { sqlite3 "$DB" "$1"; }
lost_batches() { grep -o 'store_lost_batches=[0-9]*' "$W/run.log" | tail -1 | cut -d= -f2; }
export ASAN_OPTIONS=detect_leaks=1

"$COLL" run -c "$W/c.yaml" >"$W/run.log" 2>&1 &
CP=$!
if wait_until 20 bash -c "grep -q 'store_lost_batches=[1-9]' $W/run.log"; then
	pass "the disk fills: batches lost and counted ($(lost_batches) so far)"
else
	fail "the disk fills" "$(tail -3 "$W/run.log")"
fi
sleep 12 # long enough for the rate limit of the log to show
if kill -0 "$CP" 2>/dev/null; then pass "still running on a full disk"; else fail "still running on a full disk" "$(tail -3 "$W/run.log")"; fi
grep -q 'store: .*database or disk is full' "$W/run.log" && pass "the failure is logged clearly" ||
	fail "the failure is logged clearly" "$(grep -m2 error "$W/run.log")"
errs=$(grep -c '^error: store' "$W/run.log")
lb=$(lost_batches)
# about 14 s full: logged at 0 s and 10 s (one more at most if the timing straddles)
if [ "$errs" -ge 1 ] && [ "$errs" -le 3 ]; then pass "failures logged at most every 10 s ($errs lines for $lb lost batches)"; else fail "failures logged at most every 10 s" "$errs lines for $lb lost batches"; fi
[ "$errs" -lt "$lb" ] && pass "not one log line per failure" || fail "not one log line per failure" "$errs lines, $lb batches"

n1=$(q 'SELECT count(*) FROM observation')
mount -o remount,size=8m "$M"
if wait_until 5 bash -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM observation') -gt $((n1 + 20)) ]"; then
	pass "space back: storing resumes by itself"
else
	fail "space back: storing resumes by itself" "$n1 -> $(q 'SELECT count(*) FROM observation')"
fi
sleep 2
lb1=$(lost_batches)
sleep 4
check_eq "space back: no batch lost any more" "$lb1" "$(lost_batches)"
check_ge "space back: observations keep coming" $((n1 + 80)) "$(q 'SELECT count(*) FROM observation')"

kill -TERM "$CP"
wait "$CP"
rc=$?
CP=""
check_eq "SIGTERM: exits 1 (observations were lost)" 1 "$rc"
check_eq "integrity_check" ok "$(q 'PRAGMA integrity_check')"
check_eq "no half-present transaction" 0 "$(store_torn "$DB")"
check_eq "lost observations stored as counters" 1 "$(q "SELECT count(*) > 0 FROM counter WHERE name = 'store_lost_observations' AND value > 0")"
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$W/run.log"; then fail "sanitizers quiet" "$(grep -m3 -E 'Sanitizer|runtime error' "$W/run.log")"; else pass "sanitizers quiet"; fi
summary
