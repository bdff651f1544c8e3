#!/usr/bin/env bash
# credbroker: the cached Debian bookworm root that `make test-systemd` boots.
#
#   packaging/nspawn/root.sh            prints the cached root's path, building it when missing
#
# debootstrap (minbase) cannot resolve virtual packages, so awscli and
# python3-boto3 are installed with apt inside the root afterwards. The cache
# is keyed by everything that goes into it (suite, mirror, package lists,
# this file): change one and the next run builds a new root. A build takes a
# few minutes once; each test run copies the root (cp -a), so a warm run
# costs seconds here.
#
# Environment:
#   CREDBROKER_TEST_CACHE   where roots are kept (default /var/cache/credbroker-test)
#   CREDBROKER_TEST_MIRROR  the Debian mirror (default: the first of apt's own sources)
#   CREDBROKER_TEST_SEED    a debootstrap'd bookworm root to copy instead of
#                           running debootstrap (it must have the packages below)
set -euo pipefail

suite=bookworm
include=systemd,systemd-sysv,dbus,libpam-systemd,ca-certificates,iproute2,procps,sudo,python3
# Installed with apt in the root: the clients the test runs (Debian 12's own awscli
# is also the old-botocore client), and curl for the README's IMDS step.
apt_pkgs="awscli python3-boto3 curl keyutils"
cache=${CREDBROKER_TEST_CACHE:-/var/cache/credbroker-test}

mirror() {
	if [ -n "${CREDBROKER_TEST_MIRROR:-}" ]; then echo "$CREDBROKER_TEST_MIRROR"; return; fi
	local m
	m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security || true)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $2 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
	echo "${m:-http://deb.debian.org/debian}"
}

mirror=$(mirror)
key=$( { echo "$suite $mirror"; echo "$include"; echo "$apt_pkgs"; cat "$0"; } | sha256sum | cut -c1-16)
root="$cache/$suite-$key"
if [ -f "$root/.credbroker-root-ok" ]; then
	echo "$root"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$root/.credbroker-root-ok" ]; then echo "$root"; exit 0; fi
tmp="$root.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
if [ -n "${CREDBROKER_TEST_SEED:-}" ]; then
	echo "root.sh: copying $CREDBROKER_TEST_SEED" >&2
	cp -a "$CREDBROKER_TEST_SEED" "$tmp"
else
	echo "root.sh: debootstrap $suite from $mirror (once; a few minutes)" >&2
	debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log" >&2; exit 1; }
fi
echo "root.sh: apt-get install $apt_pkgs in the root" >&2
# shellcheck disable=SC2086 # a list of packages
systemd-nspawn -q -D "$tmp" --register=no --keep-unit --pipe --resolv-conf=copy-host \
	-E DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $apt_pkgs && apt-get clean" \
	>"$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log" >&2; exit 1; }
touch "$tmp/.credbroker-root-ok"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
# Older roots of this cache are unused now.
for old in "$cache/$suite"-*; do
	[ "$old" = "$root" ] || [ ! -f "$old/.credbroker-root-ok" ] || rm -rf "$old"
done
echo "$root"
