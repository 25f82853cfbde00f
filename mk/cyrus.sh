#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Cyrus IMAP's imapd for the tests, without installing cyrus-imapd: that
# package conflicts with dovecot-imapd (both provide imap-server). Its
# libraries and tools come with cyrus-common (mk/deps.sh installs it);
# imapd itself is taken out of the cyrus-imapd .deb into $CYRUS_CACHE
# (default /var/cache/imapsync-test/cyrus), where tests/lib/cyrus-server.sh
# looks for it. Does nothing when it is already there.
set -eu
dir=${CYRUS_CACHE:-/var/cache/imapsync-test/cyrus}
# The same version as cyrus-common's libraries and tools.
want=$(dpkg-query -W -f='${Version}' cyrus-common 2>/dev/null || true)
[ -x "$dir/usr/lib/cyrus/bin/imapd" ] &&
	[ "$(cat "$dir/VERSION" 2>/dev/null)" = "$want" ] && exit 0
if [ "$(id -u)" != 0 ] && [ ! -w "$(dirname "$dir")" ]; then
	echo "cyrus: no imapd in $dir; run mk/cyrus.sh as root" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# The package lists may be stale: update them once if the download fails.
pkg=cyrus-imapd${want:+=$want}
(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
	{ apt-get update -qq &&
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
	{
		echo "cyrus: apt-get download cyrus-imapd failed" >&2
		exit 1
	}
mkdir -p "$dir.new"
dpkg-deb -x "$tmp"/cyrus-imapd_*.deb "$dir.new"
dpkg-deb -f "$tmp"/cyrus-imapd_*.deb Version >"$dir.new/VERSION"
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "cyrus: imapd $(dpkg-deb -f "$tmp"/cyrus-imapd_*.deb Version) in $dir"
