# SPDX-License-Identifier: MIT
# The integration lab, sourced by tests: NSD (root, lab., broken.lab.) on 127.0.2.1, Knot
# (example.lab., signed; also on 127.0.2.6 as ns2) on 127.0.2.2 and a validating Unbound on
# 127.0.2.9 with lab.'s key as trust anchor. Sets W (work dir), NSDP, KNOT, PIDS; the EXIT
# trap stops everything. Needs lib.sh. After sourcing, call lab_wait.
LAB_NET=${LAB_NET:-127.0.2} # another /24 of 127/8 for a test that runs beside the others
W=$(mktemp -d /tmp/obs-it.XXXXXX)
PIDS=()
ADDRS=($LAB_NET.1 $LAB_NET.2 $LAB_NET.6 $LAB_NET.9)

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		wait_until 5 bash -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null
	done
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

for a in "${ADDRS[@]}"; do
	if ss -Hlnu "src $a:53" | grep -q .; then
		echo "address $a:53 is taken; cannot run"
		fail setup "address $a:53 taken"
		summary
		exit 1
	fi
done

mkdir -p "$W"/{keys,zones,run}
gen_key lab lab. -k
gen_key exksk example.lab. -k
gen_key exzsk example.lab.
gen_key broken broken.lab. -k
gen_key rogue broken.lab. -k

cat >"$W/zones/root.zone" <<Z
. 3600 IN SOA ns.root. h.root. 1 3600 600 86400 60
. 3600 IN NS ns.root.
ns.root. 3600 IN A $LAB_NET.1
lab. 3600 IN NS ns.lab.
ns.lab. 3600 IN A $LAB_NET.1
Z
# lab. (the parent): example.lab. delegated to ns.provx.lab. and, unless $1 is "one",
# ns2.provx.lab. (a second address of the same Knot, listed only by the parent)
write_lab() {
	cat >"$W/zones/lab.zone" <<Z
\$TTL 5
lab. IN SOA ns.lab. h.lab. $2 10 10 600 5
lab. IN NS ns.lab.
ns.lab. IN A $LAB_NET.1
ns.provx.lab. IN A $LAB_NET.2
ns2.provx.lab. IN A $LAB_NET.6
example.lab. IN NS ns.provx.lab.
$([ "$1" = one ] || echo "example.lab. IN NS ns2.provx.lab.")
$(ds_of exksk)
broken.lab. IN NS ns.lab.
$(ds_of rogue)
$(cat "$W/keys/lab.key")
Z
}
write_lab two 1
cat >"$W/zones/broken.zone" <<Z
\$TTL 5
broken.lab. IN SOA ns.lab. h.lab. 1 10 10 600 5
broken.lab. IN NS ns.lab.
www.broken.lab. IN A 192.0.2.66
mixed.broken.lab. 5 IN TXT "ttl 5"
mixed.broken.lab. 60 IN TXT "ttl 60"
sigttl.broken.lab. 5 IN TXT "rrsig ttl 77"
Z
big=$(for i in $(seq 1 12); do printf '"%0200d" ' "$i"; done)
cat >"$W/zones/example.zone" <<Z
\$TTL 2
example.lab. IN SOA ns.provx.lab. h.example.lab. 1001 10 10 600 2
example.lab. IN NS ns.provx.lab.
www.example.lab. IN A 192.0.2.1
big.example.lab. IN TXT $big
$(dnskey_line exksk)
$(dnskey_line exzsk)
Z
sign_zone lab. "$W/zones/lab.zone" "$W/keys/lab"
sign_zone broken.lab. "$W/zones/broken.zone" "$W/keys/broken"
# T-5 (i), (ii) for the collector's TTL anomaly check (t_collector.sh): mixed.broken.lab. TXT
# has RRs with TTLs 5 and 60 (NSD serves zone file TTLs as given), and the RRSIG over
# sigttl.broken.lab. TXT gets TTL 77 (the TTL is not signed: the signature stays valid)
awk 'BEGIN {OFS = "\t"} $1 == "sigttl.broken.lab." && $4 == "RRSIG" && $5 == "TXT" {$2 = 77} {print}' \
	"$W/zones/broken.zone.signed" >"$W/zones/broken.zone.tmp" && mv "$W/zones/broken.zone.tmp" "$W/zones/broken.zone.signed"
sign_zone example.lab. "$W/zones/example.zone" "$W/keys/exksk" "$W/keys/exzsk"

write_nsd_conf "$W/nsd.conf" $LAB_NET.1 .=root.zone lab.=lab.zone.signed broken.lab.=broken.zone.signed
cat >"$W/knot.conf" <<C
server:
    rundir: "$W/run"
    pidfile: "$W/run/knot.pid"
    listen: [ $LAB_NET.2@53, $LAB_NET.6@53 ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$W/run/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$W/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
database:
    storage: "$W/run/db"
zone:
  - domain: example.lab.
    file: example.zone.signed
C
cat >"$W/unbound.conf" <<C
server:
	interface: $LAB_NET.9
	port: 53
	username: ""
	chroot: ""
	directory: "$W"
	pidfile: "$W/run/unbound.pid"
	use-syslog: no
	logfile: "$W/run/unbound.log"
	do-not-query-localhost: no
	root-hints: "$W/root.hints"
	trust-anchor: "$(ds_of lab | awk '{print $1, $3, $4, $5, $6, $7, $8}')"
	cache-max-ttl: 60
	cache-max-negative-ttl: 10
	val-bogus-ttl: 1
	prefetch: no
	prefetch-key: no
	serve-expired: no
	ede: yes
	val-log-level: 2
	access-control: 127.0.0.0/8 allow
remote-control:
	control-enable: no
C
printf '. 3600 IN NS ns.root.\nns.root. 3600 IN A %s\n' "$LAB_NET.1" >"$W/root.hints"

ip addr add $LAB_NET.9/32 dev lo 2>/dev/null || true
nsd -d -c "$W/nsd.conf" >"$W/run/nsd.out" 2>&1 &
NSDP=$!
PIDS+=($NSDP)
knotd -c "$W/knot.conf" >"$W/run/knot.out" 2>&1 &
KNOT=$!
PIDS+=($KNOT)
unbound -d -c "$W/unbound.conf" >"$W/run/unbound.out" 2>&1 &
PIDS+=($!)


validated() { dig +time=1 +tries=1 @$LAB_NET.9 www.example.lab A +dnssec | grep -q 'flags:.* ad'; }
lab_wait() {
	if wait_until 20 validated; then pass "servers start and Unbound validates www.example.lab"; else
		fail "servers start" "no validated answer; logs in $W/run"
		KEEP=1
		return 1
	fi
}

# lab_config FILE NAME DB: a collector configuration for the lab (one provider, the lab's
# Unbound, 1 s polls, the known-bad canary)
lab_config() {
	cat >"$1" <<C
collector: { name: $2, db: $3, stats-interval: 1s }
defaults: { poll: 1s, timeout: 500ms, retries: 1, rate-per-server: 200 }
zones:
  - name: example.lab.
    parent-servers: [$LAB_NET.1]
    providers:
      x: { ns: [ns.provx.lab.], suffix: [provx.lab.] }
    canaries: [www.example.lab./A, big.example.lab./TXT]
    bogus-canary: www.broken.lab./A
resolvers:
  - { name: unbound, address: $LAB_NET.9 }
C
}
