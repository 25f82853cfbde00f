#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 52-net-compress-large.sh: large, very compressible messages over plain
# login with COMPRESS=DEFLATE (Dovecot's imap_zlib): the deflate layer
# holds more input than one turn of reads takes, and the event loop must
# not sleep on the idle socket while it does. 20 runs in a row, each
# bringing a 1 MB message, each bounded by `timeout` (a hang is a
# failure, however fast the machine).
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

command -v timeout >/dev/null 2>&1 || tap_skip_all "no timeout(1)"
sync_is_interimap && tap_skip_all "imapsync's event loop"

dovecot_pair_new
dovecot_remote_conf "type = imap" "STARTTLS = NO" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret"

# The tool, killed after 60 s: a hang fails that run only. Not named
# SYNC_DRYRUN_TOOL: this loop hunts a hang of the real transfer of large
# bodies, which a dry run does not fetch; 20 dry runs would only slow it.
bounded=$STORE_TMP/bounded
printf '#!/bin/sh\nexec timeout 60 %s "$@"\n' "$SYNC_BIN" >"$bounded"
chmod 755 "$bounded"

hung=0 failed=0
i=1
while [ $i -le 20 ]; do
	store_append "$REMOTE" INBOX -s "big$i" --size 1048576 >/dev/null
	sync_run_with "$bounded"
	case $SYNC_RC in
	0) ;;
	124) hung=$((hung + 1)) ;;
	*) failed=$((failed + 1)); tap_diag "run $i: $(tail -n 3 "$SYNC_ERR")" ;;
	esac
	i=$((i + 1))
done
tap_is "$hung" 0 "20 runs with a 1 MB message each: none hung"
tap_is "$failed" 0 "20 runs: none failed"
tap_check "COMPRESS DEFLATE was in use" \
	grep -q 'remote: Network traffic' "$SYNC_ERR"
tap_is "$(store_count "$LOCAL" INBOX)" 20 "the 20 messages are local"
sync_dumps_equal "stores equal"
tap_done
