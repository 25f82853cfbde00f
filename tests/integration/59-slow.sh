#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 59-slow.sh: a server that trickles (a byte a second, never silent long
# enough for the idle limit) or goes silent: the run ends within its
# configured limits (timeout, connect-timeout) with an error that names
# the server and what it was asked, and the next run against the sane
# server syncs all.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own limits"

sync_pair_new
store_append "$REMOTE" INBOX -s r1 >/dev/null
store_append "$LOCAL" INBOX -s l1 >/dev/null
sed -i '1i timeout = 4\nconnect-timeout = 4' "$SYNC_CONF"

# slow MODE WHAT: a run against the remote slowed by slowserver.py MODE
# ends with exit 3 and an error naming the remote and WHAT.
slow() {
	sync_run_relayed "$IMAPSYNC_TOP/tests/lib/slowserver.py $1"
	tap_is "$SYNC_RC" 3 "$1: the run ends, exit status 3"
	tap_check "$1: the error names the remote and $2" \
		grep -q "ERROR: remote: $2" "$SYNC_ERR"
	tap_diag "$(grep ERROR "$SYNC_ERR" | head -n 2)"
}

slow greeting "connecting and logging in not done within 4 s"
slow answer "no answer to \(SELECT\|EXAMINE\) within 4 s (mailbox INBOX)"
slow silent "no answer to \(SELECT\|EXAMINE\) within 4 s (mailbox INBOX)"
sync_ok "the next run against the sane server exits 0"
sync_dumps_equal "then the stores are equal"
tap_done
