#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian packages the build and the tests need: as root it runs
# apt-get; otherwise it prints the one command to run and fails. Then
# mk/cyrus.sh takes Cyrus's imapd out of its package (cyrus-imapd itself
# conflicts with dovecot-imapd and is never installed).
set -eu
pkgs="gcc make pkg-config clang libclang-rt-14-dev
libssl-dev zlib1g-dev libsodium-dev libsqlite3-dev libpcre2-dev
dovecot-imapd dovecot-dev sqlite3 python3 util-linux procps
openssh-server openssh-client openssl interimap
cyrus-common sasl2-bin libsasl2-modules-db"
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exec "$(dirname "$0")/cyrus.sh"
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exec "$(dirname "$0")/cyrus.sh"
fi
echo "deps: missing packages; run as root:" >&2
echo "  apt-get install$missing" >&2
exit 1
