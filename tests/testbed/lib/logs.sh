# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Validation failures the resolvers logged during a scenario run (testbed-recipe.md §0, §6): a
# fault at one provider is masked by retries at another, and then only logs and counters show it.
#
# log_mark FILE: at t0, the byte offset of every resolver log and PowerDNS's bogus counters.
# log_events FILE T0 TEND: per resolver, one line "NAME<TAB>JSON" with the "logged" object of
# failures.json (events from the bytes appended since the mark, with t0 <= time <= TEND).

declare -A RES_LOG=([unbound]=res-unbound [bind]=res-bind [kresd]=res-kresd [pdns]=res-pdns
	[pinned-a]=pin-a [pinned-b]=pin-b [pinned-c]=pin-c)
LOG_GAP=${LOG_GAP:-2} # seconds: a longer gap between two events splits a window

pdns_bogus() { # "name value" lines of every dnssec-result-bogus* counter
	rec_control --socket-dir="$RUN/pdns" get-all 2>/dev/null | awk '$1 ~ /^dnssec-result-bogus/ { print $1, $2 }'
}
log_mark() {
	local r f
	for r in $RESOLVERS; do
		f=$LOGD/${RES_LOG[$r]}.log
		printf 'offset %s %s\n' "$r" "$(stat -c %s "$f" 2>/dev/null || echo 0)"
	done >"$1"
	pdns_bogus | sed 's/^/pdns0 /' >>"$1"
}

# Log formats (all converted to epoch seconds; the daemons run with TZ=UTC on this machine):
#   unbound, pinned-*, kresd: stamped by `spawn_stamped` "2026-01-02T03:04:05.678Z ..."
#     unbound: "... info: validation failure <www.example.lab. A IN>: REASON from 127.0.0.11 ..."
#     kresd (bogus_log): "[dnssec] validation failure: www.example.lab. A"
#   bind (named -g, local time = UTC): "28-Nov-2026 01:54:51.874 validating www.example.lab/A: no
#     valid signature found", "broken trust chain resolving 'www.example.lab/A/IN': 127.0.0.11#53", "... bogus ..."
#   pdns (structured): 'msg="Validates as Bogus" ... ts="1795830903.492" qname="www.example.lab" qtype="A" vstate="Bogus - …"'
log_events() {
	local mark=$1 t0=$2 tend=$3 r f off kind pdns1=""
	pdns1=$(pdns_bogus)
	for r in $RESOLVERS; do
		f=$LOGD/${RES_LOG[$r]}.log
		off=$(awk -v r="$r" '$1 == "offset" && $2 == r { print $3 }' "$mark")
		case $r in unbound | pinned-*) kind=unbound ;; *) kind=$r ;; esac
		{ [ -r "$f" ] && tail -c +"$((${off:-0} + 1))" "$f"; } |
			awk -v r="$r" -v kind="$kind" -v t0="$t0" -v tend="$tend" -v gap="$LOG_GAP" \
				-v mark="$mark" -v now1="$pdns1" '
			function iso(e,   s, ms) { s = int(e); ms = int((e - s) * 1000 + 0.5); if (ms > 999) ms = 999
				return strftime("%Y-%m-%dT%H:%M:%S", s, 1) sprintf(".%03dZ", ms) }
			function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return "\"" s "\"" }
			function stamped(s) { # 2026-01-02T03:04:05.678Z
				return mktime(substr(s, 1, 4) " " substr(s, 6, 2) " " substr(s, 9, 2) " " substr(s, 12, 2) " " \
					substr(s, 15, 2) " " substr(s, 18, 2)) + substr(s, 20, 4) }
			function fqdn(n) { return (n ~ /\.$/) ? n : n "." }
			function kv(k,   s) { # value of k="..." in a pdns line
				if (!match($0, " " k "=\"[^\"]*\"")) return ""
				s = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 4); return s }
			function addset(s, v) { return (v == "" || index("\t" s "\t", "\t" v "\t")) ? s : (s == "" ? v : s "\t" v) }
			function jlist(s,   a, n, i, o) { n = split(s, a, "\t"); o = ""
				for (i = 1; i <= n; i++) o = o (i > 1 ? ", " : "") js(a[i]); return "[" o "]" }
			BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mn, " "); for (i = 1; i <= 12; i++) mon[mn[i]] = i }
			{
				e = ""; what = ""; server = ""; why = ""
				if (kind == "unbound") {
					if (!/ validation failure </) next
					e = stamped($1)
					if (match($0, /validation failure <[^>]*>/)) { what = substr($0, RSTART + 20, RLENGTH - 21); sub(/ IN$/, "", what) }
					if (match($0, / from [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)) server = substr($0, RSTART + 6, RLENGTH - 6)
					why = $0; sub(/^.*validation failure <[^>]*>: /, "", why)
				} else if (kind == "kresd") {
					if (!/validation failure/) next
					e = stamped($1)
					why = $0; sub(/^[^ ]* /, "", why)
					what = $0; sub(/^.*validation failure: */, "", what)
				} else if (kind == "bind") {
					if (!/no valid signature found|broken trust chain|bogus/) next
					split($1, d, "-"); split($2, hm, ":")
					e = mktime(d[3] " " mon[d[2]] " " d[1] " " hm[1] " " hm[2] " " int(hm[3])) + (hm[3] - int(hm[3]))
					why = $0; sub(/^[^ ]* [^ ]* +/, "", why)
					if (match($0, /validating [^ :]+/)) { w = substr($0, RSTART + 11, RLENGTH - 11) }
					else if (match($0, /resolving .[^\/]+\/[^\/]+\//)) { w = substr($0, RSTART + 11, RLENGTH - 12) }
					else w = ""
					if (w != "") { n = split(w, p, "/"); what = fqdn(p[1]) (n > 1 ? " " p[2] : "") }
					if (match($0, /: [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+#/)) server = substr($0, RSTART + 2, RLENGTH - 3)
				} else if (kind == "pdns") {
					if (!/Bogus/) next
					e = kv("ts") + 0
					what = kv("qname"); if (what != "") what = fqdn(what) " " kv("qtype")
					why = kv("msg") (kv("vstate") != "" ? ": " kv("vstate") : "")
					s = kv("server"); if (s == "") s = kv("nsip"); sub(/:53$/, "", s); server = s
				}
				if (e == "" || e < t0 || e > tend) next
				n_ev++; ev_t[n_ev] = e; ev_w[n_ev] = what; ev_s[n_ev] = server; ev_y[n_ev] = substr(why, 1, 200)
			}
			END {
				# events in time order (stable insertion sort: few events)
				for (i = 2; i <= n_ev; i++) { j = i
					while (j > 1 && ev_t[j - 1] > ev_t[j]) {
						t = ev_t[j]; ev_t[j] = ev_t[j - 1]; ev_t[j - 1] = t; t = ev_w[j]; ev_w[j] = ev_w[j - 1]; ev_w[j - 1] = t
						t = ev_s[j]; ev_s[j] = ev_s[j - 1]; ev_s[j - 1] = t; t = ev_y[j]; ev_y[j] = ev_y[j - 1]; ev_y[j - 1] = t; j-- } }
				evs = ""; wins = ""; nw = 0
				for (i = 1; i <= n_ev; i++) {
					# (concatenation, not one sprintf: mawk limits sprintf results to 8 KiB)
					evs = evs (i > 1 ? "," : "") sprintf("\n        {\"time\": \"%s\", \"t\": %.3f, \"what\": %s, \"server\": %s, \"reason\": %s}",
						iso(ev_t[i]), ev_t[i] - t0, ev_w[i] == "" ? "null" : js(ev_w[i]), ev_s[i] == "" ? "null" : js(ev_s[i]), js(ev_y[i]))
					if (i == 1 || ev_t[i] - ev_t[i - 1] > gap) { nw++; wf[nw] = ev_t[i]; wc[nw] = 0; ws[nw] = ""; ww[nw] = "" }
					wl[nw] = ev_t[i]; wc[nw]++; ws[nw] = addset(ws[nw], ev_s[i]); ww[nw] = addset(ww[nw], ev_w[i])
				}
				for (i = 1; i <= nw; i++)
					wins = wins (i > 1 ? "," : "") sprintf("\n        {\"from\": \"%s\", \"until\": \"%s\", \"t_from\": %.3f, \"t_until\": %.3f, \"duration\": %.3f, \"count\": %d, \"servers\": %s, \"what\": %s}",
						iso(wf[i]), iso(wl[i]), wf[i] - t0, wl[i] - t0, wl[i] - wf[i], wc[i], jlist(ws[i]), jlist(ww[i]))
				# PowerDNS: bogus counters, end minus start
				bc = "null"; bcs = "null"
				if (kind == "pdns") {
					while ((getline l < mark) > 0) { split(l, a, " "); if (a[1] == "pdns0") c0[a[2]] = a[3] }
					m = split(now1, lines, "\n"); bcs = ""
					for (i = 1; i <= m; i++) { split(lines[i], a, " "); if (a[1] == "" || !(a[1] in c0)) continue
						dlt = a[2] - c0[a[1]]; if (a[1] == "dnssec-result-bogus") bc = dlt
						else if (dlt != 0) bcs = bcs (bcs == "" ? "" : ", ") sprintf("\"%s\": %d", a[1], dlt) }
					bcs = "{" bcs "}"
				}
				o = sprintf("{\"source\": %s, \"count\": %d,\n      \"events\": [", js(kind == "pdns" ? "log+counter" : "log"), n_ev) \
					evs (n_ev ? "\n      " : "") "],\n      \"windows\": [" wins (nw ? "\n      " : "") \
					"],\n      \"bogus_counter\": " bc ", \"bogus_counters\": " bcs "}"
				gsub(/\n/, "\001", o) # one line per resolver (failures_json restores the newlines)
				printf "%s\t%s\n", r, o
			}'
	done
}
