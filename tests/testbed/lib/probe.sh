# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The probe loop (every resolver, www.example.lab A with CD=0 and CD=1) and failure windows.

PROBE_PERIOD=${PROBE_PERIOD:-0.5}
PROBE_NAME=www.example.lab
PROBE_HEADER=$'round\ttime\tepoch\tresolver\taddress\tcd\trcode\tad\tede\tanswer\tttl\tms'

# probe_one ROUND EPOCH RESOLVER CD: one query, one TSV line.
probe_one() {
	local cdopt=+nocd
	[ "$4" = 1 ] && cdopt=+cd
	dig @"${RES_ADDR[$3]}" +tries=1 +time=1 +dnssec +noall +comments +answer +stats "$cdopt" "$PROBE_NAME" A 2>&1 |
		awk -v r="$1" -v e="$2" -v iso="$(rfc3339 "$2")" -v n="$3" -v a="${RES_ADDR[$3]}" -v cd="$4" '
		/status:/ { rc = $6; sub(",", "", rc) }
		/^;; flags:/ { ad = ($0 ~ /flags:[a-z ]* ad[ ;]/) ? 1 : 0 }
		/^; EDE: / { ede = ede (ede == "" ? "" : ",") $3 }
		/^[^;].*[ \t]A[ \t]/ && $4 == "A" { ans = $5; ttl = $2 }
		/Query time:/ { ms = $4 }
		END {
			if (rc == "") { rc = "TIMEOUT"; ad = 0 }
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r, iso, e, n, a, cd, rc, ad + 0,
				(ede == "" ? "-" : ede), (ans == "" ? "-" : ans), (ttl == "" ? "-" : ttl), (ms == "" ? "-" : ms)
		}'
}

# probe_loop OUT.tsv STOPFILE MAX_SECONDS: rounds every PROBE_PERIOD until STOPFILE exists.
probe_loop() {
	local out=$1 stop=$2 max=$3 round=0 t0 t r cd next
	printf '%s\n' "$PROBE_HEADER" >"$out"
	t0=$(now)
	while [ ! -e "$stop" ]; do
		t=$(now)
		[ "$(fsub "$t" "$t0" | cut -d. -f1)" -lt "$max" ] || break
		round=$((round + 1))
		for r in $RESOLVERS; do
			for cd in 0 1; do probe_one "$round" "$t" "$r" "$cd" >>"$out" & done
		done
		wait
		next=$(fadd "$t" "$PROBE_PERIOD")
		sleep_until "$next"
	done
}

# failures_json TSV T0 SCENARIO FORM [LOGGED]: per resolver, the windows in which CD=0 did not give a
# validated answer. A window runs from its first failing probe to the first good probe after it
# ("until", exclusive; null while still failing at the end). class: bogus (CD=1 gave the data),
# lost (CD=1 failed too: SERVFAIL, timeout, REFUSED), insecure (NOERROR without AD), mixed.
# LOGGED: lines "RESOLVER<TAB>JSON" (log_events in logs.sh), written as each resolver's "logged".
failures_json() {
	sort -t$'\t' -k3,3n -k4,4 -k6,6n "$1" | awk -F'\t' -v t0="$2" -v sc="$3" -v form="$4" -v resl="$RESOLVERS" -v lf="${5:-}" '
	function iso(e,   s, ms) { s = int(e); ms = int((e - s) * 1000 + 0.5); if (ms > 999) ms = 999
		return strftime("%Y-%m-%dT%H:%M:%S", s, 1) sprintf(".%03dZ", ms) }
	function close_w(r, until_e) {
		w = nw[r]++
		out[r, w] = sprintf("{\"from\": \"%s\", \"until\": %s, \"t_from\": %.3f, \"t_until\": %s, \"last_fail\": \"%s\", \"duration\": %s, \"count\": %d, \"class\": \"%s\", \"rcodes\": \"%s\", \"ede\": \"%s\"}",
			iso(ws[r]), until_e == "" ? "null" : "\"" iso(until_e) "\"", ws[r] - t0,
			until_e == "" ? "null" : sprintf("%.3f", until_e - t0), iso(wl[r]),
			until_e == "" ? "null" : sprintf("%.3f", until_e - ws[r]), wc[r], wcls[r], wrc[r], wede[r] == "" ? "-" : wede[r])
		open[r] = 0
	}
	function addset(s, v) { return (index("," s ",", "," v ",") || v == "-") ? s : (s == "" ? v : s "," v) }
	BEGIN { if (lf != "") while ((getline l < lf) > 0) { i = index(l, "\t")
		if (i) { v = substr(l, i + 1); gsub(/\001/, "\n", v); logged[substr(l, 1, i - 1)] = v } } }
	$1 == "round" { next }
	{ key = $4 SUBSEP $1
	  if ($6 == 0) { rc0[key] = $7; ad0[key] = $8; ede0[key] = $9; ep[key] = $3; seen[key] = 1; order[++n] = key; res[key] = $4 }
	  else { rc1[key] = $7; ans1[key] = $10 }
	  addr[$4] = $5 }
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; r = res[k]; probes[r]++
			ok = (rc0[k] == "NOERROR" && ad0[k] == 1)
			if (ok) { if (open[r]) close_w(r, ep[k]); continue }
			if (rc0[k] == "NOERROR") c = "insecure"
			else if (rc1[k] == "NOERROR" && ans1[k] != "-") c = "bogus"
			else c = "lost"
			if (!open[r]) { open[r] = 1; ws[r] = ep[k]; wc[r] = 0; wcls[r] = c; wrc[r] = ""; wede[r] = "" }
			else if (wcls[r] != c) wcls[r] = "mixed"
			wl[r] = ep[k]; wc[r]++; wrc[r] = addset(wrc[r], rc0[k]); wede[r] = addset(wede[r], ede0[k])
		}
		printf "{\n  \"scenario\": \"%s\",\n  \"form\": \"%s\",\n  \"t0\": \"%s\",\n  \"resolvers\": {\n", sc, form, iso(t0)
		m = split(resl, rl, " ")
		for (j = 1; j <= m; j++) {
			r = rl[j]
			if (open[r]) close_w(r, "")
			printf "    \"%s\": {\"address\": \"%s\", \"probes\": %d, \"failures\": [", r, addr[r], probes[r]
			for (w = 0; w < nw[r]; w++) printf "%s\n      %s", (w ? "," : ""), out[r, w]
			printf "%s]", (nw[r] ? "\n    " : "")
			if (lf != "") printf ",\n      \"logged\": %s", (r in logged) ? logged[r] : "null"
			printf "}%s\n", (j < m ? "," : "")
		}
		printf "  }\n}\n"
	}'
}
