#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Acceptance of the clock offsets in the detectors (issue 4: the clock skew between collectors
# is measured, not assumed zero). For each recorded dataset, a second collector database is made
# from the same recording with its clock SKEW seconds ahead: every time column of the collector
# schema shifted by SKEW, the collector renamed (the wire, versions and signatures are the same:
# the skewed collector saw the same answers, only its clock is off). Then
#   A = ingest(original)            B = ingest(original, skewed)
# and `obs-analyzer findings --json --at END` of both must agree up to the measured offset
# uncertainty U = offset_hi - offset_lo of the skewed collector (run_ref widens its bounds by U):
#   - ingest measures the offset within U of SKEW;
#   - every finding of A (id, severity, provider, server, vantage with the collector name
#     normalised, message: version ids are the same, A's collector is ingested first) is in B
#     and vice versa;
#   - per finding, the hull of its windows [min lo, max hi] in B is within U of A's (an open
#     end must be open in both);
#   - the same for the observed glitches (vantage, question, kind, excluded), since the
#     detectors' O-1/O-3 come from them: the skewed collector's vantages must show the
#     original's glitches at the same times.
# Where a collector with an exact clock (the reference) watched the same server, run_ref
# bounds the skewed collector's runs by its polls too, so nothing widens beyond what the
# reference saw; the tolerance U is for the windows of what only the skewed collector saw.
# Vantages are per collector: B's vantages of the skewed collector are compared under the
# original collector's name (O-1 and the like appear once per collector in B).
# Prints PASS/FAIL lines (counted by run.sh). RUNS="a b" limits the datasets.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

AN=${AN:-build/san/obs-analyzer}
SKEW=${SKEW:-30}
T=$(mktemp -d /tmp/obs-skew.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT

# the time columns of collector schema 1-2 (schemas/collector/), shifted by SKEW seconds
shift_sql() {
	local u=$(($1 * 1000000))
	cat <<EOF
UPDATE meta SET value = value || '-skewed' WHERE key = 'collector';
UPDATE target SET first_seen = first_seen + $u;
UPDATE version SET first_seen = first_seen + $u, last_seen = last_seen + $u;
UPDATE observation SET t = t + $u;
UPDATE run SET first_seen = first_seen + $u, last_seen = last_seen + $u,
	prev_poll = prev_poll + $u, next_poll = next_poll + $u;
UPDATE ns_listing SET first_listed = first_listed + $u, last_listed = last_listed + $u;
UPDATE ns_address SET first_seen = first_seen + $u, last_seen = last_seen + $u;
UPDATE counter SET t = t + $u;
UPDATE passive_packet SET t_response = t_response + $u;
UPDATE capture SET started = started + $u, ended = ended + $u;
UPDATE capture_stats SET t_start = t_start + $u, t_end = t_end + $u;
EOF
	# later collector migrations: tables with time columns must be shifted too
	echo "UPDATE ttl_anomaly SET t = t + $u;"
}

# findings as {key: [[lo_ms, hi_ms], ...]}, key = id|severity|provider|server|vantage|message
# with the skewed collector's name read as the original's ("NAME-skewed/x" as "NAME/x")
classes() {
	jq -c '
	def ms: if . == null then null else . as $s | ($s | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
		+ ((($s | capture("\\.(?<f>[0-9]+)Z$") | .f) // "0") + "00" | .[0:3] | tonumber) end;
	[.findings[] | {k: ([.id, .severity, (.provider // "-"), (.server // "-"),
			     ((.vantage // "-") | sub("-skewed/"; "/")), .message] | join("|")),
			w: [(.lo | ms), (.hi | ms)]}]
	| group_by(.k) | map({key: .[0].k, value: map(.w)}) | from_entries' "$1"
}

# observed glitches as {key: [[first_bad_ms, hi_ms], ...]}, key = vantage|qname|qtype|kind
gclasses() {
	jq -c '
	def ms: if . == null then null else . as $s | ($s | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
		+ ((($s | capture("\\.(?<f>[0-9]+)Z$") | .f) // "0") + "00" | .[0:3] | tonumber) end;
	[.glitches[] | {k: ([(.vantage | sub("-skewed/"; "/")), .qname, (.qtype | tostring), .kind,
			     (.excluded | tostring)] | join("|")),
			w: [(.first_bad | ms), (.hi | ms)]}]
	| group_by(.k) | map({key: .[0].k, value: map(.w)}) | from_entries' "$1"
}

# compare A.cls and B.cls: the same keys, per key the hull of the windows within U ms and, if
# F is given, F times as many windows in B as in A
compare() {
	jq -rn --slurpfile A "$1" --slurpfile B "$2" --argjson u "$3" --argjson f "${4:-0}" '
		def hull: [(map(.[0]) | if any(. == null) then null else min end),
			   (map(.[1]) | if any(. == null) then null else max end)];
		def near($x; $y): ($x == null and $y == null) or
			($x != null and $y != null and ((($x - $y) | fabs) <= $u));
		$A[0] as $a | $B[0] as $b |
		([$a | keys[] | select($b[.] == null) | "missing in B: \(.)"] +
		 [$b | keys[] | select($a[.] == null) | "extra in B: \(.)"] +
		 [$a | to_entries[] | select($f > 0 and $b[.key] != null)
		  | select(($b[.key] | length) != $f * (.value | length))
		  | "\(.key): \($b[.key] | length) windows in B, \(.value | length) in A"] +
		 [$a | to_entries[] | select($b[.key] != null) | .key as $k
		  | (.value | hull) as $ha | ($b[$k] | hull) as $hb
		  | select((near($ha[0]; $hb[0]) and near($ha[1]; $hb[1])) | not)
		  | "window of \($k): \($ha) vs \($hb)"]) | .[0:5] | join("; ")'
}

n=0
for d in datasets/*/; do
	d=${d%/}
	run=$(basename "$d")
	[ -f "$d/collector.db.gz" ] && [ -f "$d/truth.json" ] || continue
	if [ -n "${RUNS:-}" ] && ! grep -qw "$run" <<<"$RUNS"; then continue; fi
	n=$((n + 1))
	rm -f "$T"/*.db*
	gzip -dc "$d/collector.db.gz" >"$T/c.db"
	cp "$T/c.db" "$T/s.db"
	if ! shift_sql "$SKEW" | sqlite3 "$T/s.db" 2>"$T/shift.err"; then
		# a table of a later migration may be missing in an older recording
		grep -qv 'no such table' "$T/shift.err" && {
			fail "$run: skewing the copy" "$(head -2 "$T/shift.err")"
			continue
		}
	fi
	if ! "$AN" ingest --db "$T/a.db" "$T/c.db" >"$T/ingest.log" 2>&1 ||
		! "$AN" ingest --db "$T/b.db" "$T/c.db" "$T/s.db" >>"$T/ingest.log" 2>&1; then
		fail "$run: ingest" "$(tail -2 "$T/ingest.log")"
		continue
	fi
	read -r off lo hi < <(sqlite3 -separator ' ' "$T/b.db" \
		"SELECT clock_offset_us, coalesce(offset_lo_us, clock_offset_us),
			coalesce(offset_hi_us, clock_offset_us) FROM collector WHERE name LIKE '%-skewed'")
	u_ms=$(((hi - lo + 999) / 1000))
	if [ $((off - SKEW * 1000000)) -le $((hi - lo)) ] && [ $((SKEW * 1000000 - off)) -le $((hi - lo)) ] &&
		[ "$lo" -le $((SKEW * 1000000)) ] && [ "$hi" -ge $((SKEW * 1000000)) ]; then
		pass "$run: offset measured ${off} us, in [$lo, $hi] around ${SKEW} s"
	else
		fail "$run: offset" "measured $off us in [$lo, $hi], skew $SKEW s"
		continue
	fi
	end=$(jq -r .end "$d/truth.json")
	for x in a b; do
		"$AN" findings --db "$T/$x.db" --zone example.lab. --json --at "$end" >"$T/$x.json" 2>"$T/$x.err"
		classes "$T/$x.json" >"$T/$x.cls" 2>>"$T/$x.err"
		"$AN" glitches --db "$T/$x.db" --zone example.lab. --json --at "$end" >"$T/$x.g.json" 2>>"$T/$x.err"
		gclasses "$T/$x.g.json" >"$T/$x.gcls" 2>>"$T/$x.err"
	done
	if ! [ -s "$T/a.cls" ] || ! [ -s "$T/b.cls" ] || ! [ -s "$T/a.gcls" ] || ! [ -s "$T/b.gcls" ]; then
		fail "$run: findings/glitches --json" "$(head -c 300 "$T/a.err" "$T/b.err")"
		continue
	fi
	check_eq "$run: findings with a skewed second collector = findings of one (U = ${u_ms} ms)" "" \
		"$(compare "$T/a.cls" "$T/b.cls" "$u_ms")"
	# B has each vantage twice (once per collector): the same glitches under one name
	check_eq "$run: observed glitches of the skewed collector's vantages = the original's" "" \
		"$(compare "$T/a.gcls" "$T/b.gcls" "$u_ms" 2)"
done
[ "$n" -gt 0 ] || fail "datasets" "no recorded dataset in datasets/"
summary
