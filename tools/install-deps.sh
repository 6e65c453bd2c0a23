#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages the project needs, only those missing; quiet when all are present.
# Usage: tools/install-deps.sh [build|test|all]   (default: all)
set -eu

build_pkgs="build-essential pkg-config libldns-dev ldnsutils libevent-dev libsqlite3-dev sqlite3
librrd-dev rrdtool libpcap-dev libcriterion-dev libjansson-dev libyaml-dev clang-format"
test_pkgs="knot knot-dnsutils nsd bind9 bind9-utils bind9-dnsutils unbound knot-resolver
pdns-recursor dnsutils iproute2 procps socat dnsperf tcpdump tshark jq python3-jsonschema"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test | all) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these packages first:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# wireshark-common asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
