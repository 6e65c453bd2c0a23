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

# validate NAME SCHEMA DOC: the JSON document validates against the schema (JSON Schema
# draft 2020-12, Debian's python3-jsonschema); the first errors are printed on failure.
validate() { # NAME SCHEMA DOC
	local out
	if out=$(python3 - "$2" "$3" 2>&1 <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
doc = json.load(open(sys.argv[2]))
errs = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errs[:3]:
    print("/".join(map(str, e.path)), e.message[:200])
sys.exit(1 if errs else 0)
PY
	); then pass "$1"; else fail "$1" "$out"; fi
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# --- keys and zones (need $W with keys/ and zones/ below it)

# gen_key NAME ZONE [-k]: an ECDSA P-256 key as $W/keys/NAME.{key,private,ds}
gen_key() {
	local b
	b=$(cd "$W/keys" && ldns-keygen -a ECDSAP256SHA256 ${3:-} "$2") || return 1
	mv "$W/keys/$b.key" "$W/keys/$1.key"
	mv "$W/keys/$b.private" "$W/keys/$1.private"
	[ -f "$W/keys/$b.ds" ] && mv "$W/keys/$b.ds" "$W/keys/$1.ds"
	return 0
}

# ds_of NAME: the SHA-256 DS record of key NAME
ds_of() { ldns-key2ds -n -2 "$W/keys/$1.key"; }

# dnskey_line NAME: the DNSKEY record of key NAME with TTL 5
dnskey_line() { awk '{sub(/;.*/, ""); $2 = "5 IN"; print}' "$W/keys/$1.key"; }

# sign_zone ZONE FILE KEYBASE...: FILE.signed, valid from an hour ago for a week
sign_zone() {
	local z=$1 f=$2 now
	shift 2
	now=$(date +%s)
	ldns-signzone -o "$z" -i $((now - 3600)) -e $((now + 7 * 86400)) -f "$f.signed" "$f" "$@" >/dev/null
}

# write_nsd_conf FILE ADDR[@PORT] ZONE=ZONEFILE...: an NSD configuration with state under $W/run
# and zone files under $W/zones (no rate limiting: every 127.0.0.x client shares one /24)
write_nsd_conf() {
	local f=$1 listen=$2 z
	shift 2
	cat >"$f" <<C
server:
	ip-address: $listen
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$W/zones"
	zonelistfile: "$W/run/zone.list"
	xfrdfile: "$W/run/xfrd.state"
	xfrdir: "$W/run"
	pidfile: "$W/run/nsd.pid"
	logfile: "$W/run/nsd.log"
	server-count: 1
	rrl-ratelimit: 0
	verbosity: 0
remote-control:
	control-enable: no
C
	for z in "$@"; do
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "${z%%=*}" "${z#*=}" >>"$f"
	done
}

# store_torn DB: rows of a collector database that a half-present transaction would leave:
# observations pointing at no version, wire or series, and runs whose count disagrees with the
# observations inside them (the store writes both in one transaction). Prints the count.
store_torn() {
	sqlite3 "$1" "SELECT
	 (SELECT count(*) FROM observation o WHERE o.version_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM version v WHERE v.id = o.version_id))
	+(SELECT count(*) FROM observation o WHERE o.wire_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM wire w WHERE w.id = o.wire_id))
	+(SELECT count(*) FROM observation o WHERE NOT EXISTS (SELECT 1 FROM series s WHERE s.id = o.series_id))
	+(SELECT count(*) FROM run r WHERE r.count != (SELECT count(*) FROM observation o
	   WHERE o.series_id = r.series_id AND o.version_id = r.version_id
	     AND o.t BETWEEN r.first_seen AND r.last_seen))"
}
