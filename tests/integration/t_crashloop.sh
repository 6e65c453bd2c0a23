#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGKILL crash loop (reliability-targets D1): the collector (ASan build) polls the integration
# lab (on 127.0.7.0/24, so it can run beside the other tests) every second and is killed with
# SIGKILL at a random time, CRASHES times (default 40). After every kill:
#  - PRAGMA integrity_check is ok;
#  - nothing committed is lost: the observations a reader saw just before the kill are there,
#    and the count and the largest id never go down;
#  - no transaction is half-present: every observation's version, wire and series exist, and
#    every run's count equals the answered observations of its version inside it (the store
#    writes both in one transaction);
#  - the next start resumes polling within 5 s.
# Ends "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

COLL=${COLL:-build/san/obs-collector}
CRASHES=${CRASHES:-40}
LAB_NET=127.0.7
. tests/integration/lab.sh
lab_wait

lab_config "$W/c.yaml" crash-1 "$W/c.db"
DB=$W/c.db
q() { sqlite3 "${DB}" "$1"; }
export ASAN_OPTIONS=detect_leaks=0 # killed processes cannot report leaks

# a first clean round, so that the database exists and the invariants hold before any kill
"$COLL" run -c "$W/c.yaml" --once >"$W/once.log" 2>&1
check_eq "first round exits 0" 0 $?
check_eq "invariants hold before any kill" 0 "$(store_torn "$DB")"
# the check can fail: a copy with one observation of a run removed is torn
cp "$DB" "$W/copy.db"
sqlite3 "$W/copy.db" 'DELETE FROM observation WHERE id = (SELECT max(o.id) FROM observation o JOIN run r ON r.series_id = o.series_id AND r.version_id = o.version_id)'
check_ge "a removed observation is seen as torn" 1 "$(store_torn "$W/copy.db")"

lost=0 bad_integrity=0 torn_n=0 slow=0 n_prev=$(q 'SELECT count(*) FROM observation')
max_prev=$(q 'SELECT coalesce(max(id), 0) FROM observation')
for i in $(seq "$CRASHES"); do
	"$COLL" run -c "$W/c.yaml" >"$W/run.log" 2>&1 &
	CP=$!
	# resumes within 5 s: new rows appear
	if ! wait_until 5 bash -c "[ \$(sqlite3 $DB 'SELECT count(*) FROM observation' 2>/dev/null || echo 0) -gt $n_prev ]"; then
		slow=$((slow + 1))
	fi
	sleep "$(awk -v s="$RANDOM" 'BEGIN {srand(s); printf "%.3f", rand() * 1.5}')"
	seen=$(q 'SELECT count(*) FROM observation') # committed: a reader sees nothing else
	kill -KILL "$CP"
	wait "$CP" 2>/dev/null
	[ "$(q 'PRAGMA integrity_check')" = ok ] || bad_integrity=$((bad_integrity + 1))
	n=$(q 'SELECT count(*) FROM observation')
	m=$(q 'SELECT coalesce(max(id), 0) FROM observation')
	if [ "$n" -lt "$seen" ] || [ "$n" -lt "$n_prev" ] || [ "$m" -lt "$max_prev" ]; then lost=$((lost + 1)); fi
	t=$(store_torn "$DB")
	[ "$t" = 0 ] || torn_n=$((torn_n + 1))
	n_prev=$n
	max_prev=$m
done
check_eq "$CRASHES SIGKILLs: integrity_check ok after each" 0 "$bad_integrity"
check_eq "$CRASHES SIGKILLs: nothing committed lost" 0 "$lost"
check_eq "$CRASHES SIGKILLs: no half-present transaction" 0 "$torn_n"
check_eq "$CRASHES restarts: polling resumed within 5 s each time" 0 "$slow"
check_ge "observations recorded across the kills" $((CRASHES * 20)) "$n_prev"
# the database still takes a clean run and a clean stop
"$COLL" run -c "$W/c.yaml" --once >"$W/last.log" 2>&1
check_eq "a clean round after the kills" 0 $?
summary
