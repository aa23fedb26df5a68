#!/usr/bin/env bash
# Installs the Debian packages drp needs to build, test and run, and only
# those missing.  Idempotent; prints what it installs.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev valgrind clang-format bc
libfcgi-dev libssl-dev libhiredis-dev libmemcached-dev libjson-c-dev check
spawn-fcgi nginx redis-server memcached pyzor razor python3 perl
wrk hyperfine lua-check rspamd groff-base mandoc python3-gdbm
lighttpd curl iproute2 util-linux procps redis-tools coreutils"
missing=()
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all Debian packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# services must not be started by the package scripts: tests start their own
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
