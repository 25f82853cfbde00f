#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 52-net-compress.sh: COMPRESS=DEFLATE on and off give the same stores;
# with it on, fewer bytes cross the socket than the IMAP payload.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

dovecot_pair_new
i=0
while [ $i -lt 20 ]; do
	store_append "$LOCAL" INBOX -s "l$i" --size 20000 >/dev/null
	i=$((i + 1))
done

# bytes UNIT: a traffic figure ("1.50 KiB", "900 B") in bytes.
bytes() {
	awk -v n="$1" -v u="$2" 'BEGIN { m = 1; if (u == "KiB") m = 1024;
		if (u == "MiB") m = 1048576; printf "%d\n", n * m }'
}

# traffic WHAT: "recv sent" of the remote's "WHAT traffic" line.
traffic() {
	line=$(grep "remote: $1 traffic" "$SYNC_ERR" "$SYNC_OUT" | tail -n 1)
	set -- $(echo "$line" | sed 's/.*recv \([^ ]*\) \([^ ]*\) sent \([^ ]*\) \([^ ]*\).*/\1 \2 \3 \4/')
	echo "$(bytes "$1" "$2") $(bytes "$3" "$4")"
}

sync_pair_clone nocompress
dovecot_remote_conf "type = imap" "STARTTLS = NO" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret" \
	"compress = NO"
sync_pair_use "$STORE_TMP/pair"
dovecot_remote_conf "type = imap" "STARTTLS = NO" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret"
sync_ok "compress (the default): a sync exits 0" --debug
tap_check "STARTTLS = NO warns, naming the side, that it is plaintext" \
	grep -q "^remote: WARNING: STARTTLS = NO: the password and the mail cross the network in clear" \
	"$SYNC_ERR"
tap_check "compress: COMPRESS DEFLATE was sent" \
	grep -q 'remote -> A[0-9]* COMPRESS DEFLATE' "$SYNC_ERR"
sync_dumps_equal "compress: dumps equal"
cp "$SYNC_DIR/dump.remote" "$STORE_TMP/dump.compress"
set -- $(traffic IMAP)
imap_sent=$2
set -- $(traffic Network)
wire_sent=$2
tap_check "compress: fewer bytes on the wire ($wire_sent) than sent ($imap_sent)" \
	test "${wire_sent:-0}" -gt 0 -a "${wire_sent:-0}" -lt "$((imap_sent / 2))"

# The same sync, from the same start, without compression: same result.
dovecot_server_stop
sync_pair_use "$STORE_TMP/nocompress"
dovecot_server_start "$SYNC_DIR/remote" ||
	{ echo "Bail out! cannot restart dovecot"; exit 1; }
dovecot_remote_conf "type = imap" "STARTTLS = NO" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret" \
	"compress = NO"
sync_ok "compress = NO: a sync exits 0" --debug
tap_check "compress = NO: no COMPRESS command" \
	sh -c "! grep -q 'COMPRESS DEFLATE' '$SYNC_ERR'"
tap_check "compress = NO: no separate network count (wire = payload)" \
	sh -c "! grep -q 'remote: Network traffic' '$SYNC_ERR'"
sync_dumps_equal "compress = NO: dumps equal"
tap_check "the remote stores are the same with and without compression" \
	diff -u "$STORE_TMP/dump.compress" "$SYNC_DIR/dump.remote"
tap_done
