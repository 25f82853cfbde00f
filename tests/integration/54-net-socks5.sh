#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 54-net-socks5.sh: syncs through a SOCKS5 proxy the test runs on
# loopback: socks5:// (name resolved here) and socks5h:// (by the proxy),
# without and with RFC 1929 authentication; a wrong proxy password is
# refused.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

dovecot_pair_new
dovecot_bg OPEN "$IMAPSYNC_TOP/tests/lib/socks5proxy.py" \
	"$STORE_TMP/OPEN.port" "$STORE_TMP/open.log"
dovecot_bg AUTH "$IMAPSYNC_TOP/tests/lib/socks5proxy.py" \
	"$STORE_TMP/AUTH.port" "$STORE_TMP/auth.log" proxyuser proxypass

via() {
	dovecot_remote_conf "type = imaps" "host = $1" \
		"port = $DOVECOT_IMAPS_PORT" "username = test" \
		"password = secret" "SSL_CAfile = $CERTS/ca.crt" "proxy = $2"
}

store_append "$LOCAL" INBOX -s l1 >/dev/null
via 127.0.0.1 "socks5://127.0.0.1:$OPEN"
sync_ok "socks5://: a sync exits 0"
sync_dumps_equal "socks5://: dumps equal"
tap_check "socks5://: the proxy was asked for 127.0.0.1 by address" \
	grep -q "connect 127.0.0.1 $DOVECOT_IMAPS_PORT 1" "$STORE_TMP/open.log"

store_append "$REMOTE" INBOX -s r1 >/dev/null
via localhost "socks5h://proxyuser:proxypass@127.0.0.1:$AUTH"
sync_ok "socks5h:// with a user: a sync exits 0"
sync_dumps_equal "socks5h://: dumps equal"
tap_check "socks5h://: the proxy resolved the name" \
	grep -q "connect localhost $DOVECOT_IMAPS_PORT 3" "$STORE_TMP/auth.log"

via 127.0.0.1 "socks5://proxyuser:wrong@127.0.0.1:$AUTH"
sync_run
tap_check "a wrong proxy password is refused" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q 'SOCKS5 proxy: authentication failed' '$SYNC_ERR'"
via 127.0.0.1 "socks5://127.0.0.1:$AUTH"
sync_run
tap_check "a proxy that wants a password says so" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q 'SOCKS5 proxy: no acceptable authentication method' '$SYNC_ERR'"
dovecot_remote_conf "type = imaps" "host = 127.0.0.1" "port = 1" \
	"username = test" "password = secret" "proxy = socks5://127.0.0.1:$OPEN"
sync_run
tap_check "a target the proxy cannot reach is reported" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q 'SOCKS5 proxy: cannot connect to 127.0.0.1 port 1: connection refused' '$SYNC_ERR'"
tap_done
