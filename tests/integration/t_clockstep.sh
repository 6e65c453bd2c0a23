#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wall-clock steps (reliability targets E4, C10), for real: the collector runs under libfaketime
# (Debian package faketime) with CLOCK_REALTIME shifted from a file and CLOCK_MONOTONIC left
# alone (DONT_FAKE_MONOTONIC=1), polling servers on 127.0.77.0/24 that do not exist (its rounds
# go on; only the clocks matter here). The wall clock jumps forward 5 min, then back 1 h.
# Checked: two clock_step rows with those sizes (within 1.5 s), one warning per step with its
# size, the clock_steps counter, and the analyzer ingests both rows. The release build is used:
# LD_PRELOAD of libfaketime does not mix with ASan's runtime.
# Ends "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ ! -f "$LIB" ]; then
	echo "SKIP t_clockstep.sh: libfaketime missing (Debian package faketime)"
	exit 0
fi
COLL=${COLL:-bin/obs-collector}
AN=${AN:-bin/obs-analyzer}
T=$(mktemp -d /tmp/obs-clockstep.XXXXXX)
CP=
trap '[ -n "$CP" ] && kill "$CP" 2>/dev/null; rm -rf "$T"' EXIT
cat >"$T/c.yaml" <<EOF
collector: { name: clk-1, db: $T/c.db }
defaults: { poll: 1s, timeout: 300ms, retries: 0 }
zones:
  - name: example.lab.
    parent-servers: [127.0.77.1]
    providers:
      a: { ns: [ns.prova.lab.] }
    ns-addresses: { ns.prova.lab.: [127.0.77.11] }
EOF
echo "+0" >"$T/ft"
FAKETIME_TIMESTAMP_FILE=$T/ft FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$LIB \
	"$COLL" run -c "$T/c.yaml" 2>"$T/log" &
CP=$!
sleep 3
echo "+300" >"$T/ft"
sleep 3
echo "-3300" >"$T/ft"
sleep 3
kill -TERM "$CP"
wait "$CP"
check_eq "collector exits 0 on SIGTERM" 0 "$?"
CP=
q() { sqlite3 "$T/c.db" "$1"; }
check_eq "two clock steps stored" 2 "$(q "SELECT count(*) FROM clock_step")"
check_eq "forward 5 min" 1 "$(q "SELECT abs(step_us - 300000000) < 1500000 FROM clock_step ORDER BY id LIMIT 1")"
check_eq "back 1 h" 1 "$(q "SELECT abs(step_us + 3600000000) < 1500000 FROM clock_step ORDER BY id DESC LIMIT 1")"
check_eq "the monotonic clock did not jump" 1 "$(q "SELECT max(mono_after - mono_before) < 3000000 FROM clock_step")"
check_eq "forward step logged once" 1 "$(grep -c 'stepped forward by 30[0-1]\.' "$T/log")"
check_eq "backward step logged once" 1 "$(grep -c 'stepped back by 3[56][0-9][0-9]\.' "$T/log")"
check_eq "counter clock_steps" 2 "$(q "SELECT max(value) FROM counter WHERE name = 'clock_steps'")"
"$AN" ingest --db "$T/a.db" "$T/c.db" >/dev/null 2>"$T/alog"
check_eq "analyzer ingests" 0 "$?"
check_eq "analysis clock_step rows" 2 "$(sqlite3 "$T/a.db" "SELECT count(*) FROM clock_step")"
summary
