#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The connection library against real Dovecot stores (maildir and mdbox)
# through the tunnel transport: see tests/integration/conn-test.c.
set -u
. "$IMAPSYNC_TOP/tests/lib/store.sh"

for fmt in maildir mdbox; do
	imap=$(store_new "conn-$fmt" $fmt) || exit 1
	"$IMAPSYNC_BUILD/tests/conn-test" "$imap" >"$STORE_TMP/$fmt.tap" \
		2>"$STORE_TMP/$fmt.err"
	rc=$?
	tap_import "$STORE_TMP/$fmt.tap" "$fmt: "
	tap_is "$rc" 0 "$fmt: conn-test exit status"
	if [ -s "$STORE_TMP/$fmt.err" ]; then
		head -n 40 "$STORE_TMP/$fmt.err" | sed 's/^/# stderr: /'
	fi
done
tap_done
