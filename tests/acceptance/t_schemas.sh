#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every JSON document obs-analyzer writes validates against its schema in schemas/
# (JSON Schema draft 2020-12, checked with Debian's python3-jsonschema): findings, observed
# and predicted glitches, status, whatif (go/wait/stop/unknown answers and a compound step),
# transitions, fetches and fetches --predicted, on a recorded dataset at several instants.
# Prints PASS/FAIL lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

AN=${AN:-build/san/obs-analyzer}
DATASET=${DATASET:-datasets/zsk-roll-sign-early}
T=$(mktemp -d /tmp/obs-schemas.XXXXXX)
trap 'rm -rf "$T"' EXIT


gzip -dc "$DATASET/collector.db.gz" >"$T/c.db"
"$AN" ingest --db "$T/an.db" "$T/c.db" >/dev/null || fail "ingest" "$DATASET"
t0=$(jq -r .t0 "$DATASET/truth.json")
end=$(jq -r .end "$DATASET/truth.json")
mid=$(jq -r '.steps[-1].time' "$DATASET/truth.json")
Z=(--db "$T/an.db" --zone example.lab. --json)
"$AN" findings "${Z[@]}" --at "$end" >"$T/findings.json" && validate "findings document" schemas/findings.schema.json "$T/findings.json"
"$AN" glitches "${Z[@]}" --at "$end" >"$T/glitches.json" && validate "observed glitches document" schemas/glitches.schema.json "$T/glitches.json"
"$AN" glitches "${Z[@]}" --predicted --at "$end" >"$T/pred.json" && validate "predicted glitches document" schemas/predicted.schema.json "$T/pred.json"
for at in "$t0" "$mid" "$end"; do
	"$AN" status "${Z[@]}" --at "$at" >"$T/status.json" && validate "status document at $at" schemas/status.schema.json "$T/status.json"
done
# verdicts of every kind: the steps of the scenario at several instants, and a stale instant
i=0
for at in "$t0" "$mid" "$end" "+0"; do
	for step in "sign-with a 13/1607" "dnskey-del b 13/15951 + sign-with a 13/1607" "ds-set 13/64206" "stop c" "ns-set parent ns.prova.lab."; do
		i=$((i + 1))
		# shellcheck disable=SC2086
		"$AN" whatif "${Z[@]}" --at "$at" $step >"$T/w$i.json" 2>"$T/w.err" || { fail "whatif $step at $at" "$(head -c 200 "$T/w.err")"; continue; }
		validate "whatif document ($(jq -r .verdict "$T/w$i.json"): $step at $at)" schemas/whatif.schema.json "$T/w$i.json"
	done
done
verdicts=$(cat "$T"/w*.json | jq -r .verdict | sort -u | tr '\n' ' ')
check_eq "whatif answers cover go, stop, unknown and wait" "go stop unknown wait " "$verdicts"
if "$AN" transitions --help >/dev/null 2>&1 || true; then
	"$AN" transitions "${Z[@]}" --at "$end" >"$T/tr.json" 2>/dev/null && validate "transitions document" schemas/transitions.schema.json "$T/tr.json"
fi
"$AN" audit "${Z[@]}" --at "$end" >"$T/audit.json" && validate "audit document" schemas/audit.schema.json "$T/audit.json"
"$AN" fetches "${Z[@]}" --at "$end" >"$T/fe.json" && validate "fetches document" schemas/fetches.schema.json "$T/fe.json"
# the datasets hold no capture: every predicted window is not_captured (the live capture is
# validated in tests/integration/t_fetch_live.sh)
"$AN" fetches "${Z[@]}" --predicted --at "$end" >"$T/fp.json" && validate "fetches --predicted document" schemas/fetch-predicted.schema.json "$T/fp.json"
check_eq "fetches --predicted without a capture: every window not_captured" "0 0 0" \
	"$(jq -r '"\(.summary.held) \(.summary.not_held) \(.summary.inconclusive)"' "$T/fp.json")"
check_ge "fetches --predicted without a capture: the predicted windows are listed" 1 "$(jq '.summary.not_captured' "$T/fp.json")"
summary
