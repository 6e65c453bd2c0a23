#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages the project needs, only those missing; quiet when all are present.
# Usage: tools/install-deps.sh [build|test|all]   (default: all)
set -eu

build_pkgs="build-essential pkg-config libldns-dev ldnsutils libevent-dev libsqlite3-dev sqlite3
librrd-dev rrdtool libpcap-dev libcriterion-dev libjansson-dev libyaml-dev clang-format"
test_pkgs="knot knot-dnsutils nsd bind9 bind9-utils bind9-dnsutils unbound knot-resolver
pdns-recursor dnsutils iproute2 procps socat dnsperf tcpdump tshark jq python3-jsonschema faketime
chromium nodejs npm"

# playwright-core (pinned in tests/browser/package.json) into tests/browser/node_modules, for the
# dashboard test in Chromium; only for test|all and only when missing.
browser_deps() {
	case "${1:-$mode}" in test | all) ;; *) return 0 ;; esac
	dir=$(cd "$(dirname "$0")/.." && pwd)/tests/browser
	[ -f "$dir/package.json" ] || return 0
	[ -d "$dir/node_modules/playwright-core" ] && return 0
	command -v npm >/dev/null 2>&1 || { echo "deps: npm missing; playwright-core not installed" >&2; return 1; }
	echo "deps: npm install playwright-core into $dir" >&2
	(cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
}

mode=${1:-all}
case "$mode" in
build) want="$build_pkgs" ;;
test | all) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# npm also comes inside other nodejs builds (e.g. NodeSource's, which conflicts with Debian's)
	[ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && { browser_deps; exit 0; }

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
browser_deps
