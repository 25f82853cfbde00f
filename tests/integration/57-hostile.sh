#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 57-hostile.sh: a server that turns hostile in the middle of a sync (a
# real Dovecot behind tests/lib/hostile.py, which corrupts the session
# after the first SELECT): every kind of breakage ends the run within
# seconds with exit status 3 (1 for one bad response in a session that
# goes on: that mailbox fails) and an error that names the server, never
# a crash or a hang; the next run against the sane server finishes the
# sync with no message lost or doubled.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's error handling"

sync_pair_new
i=1
while [ $i -le 30 ]; do
	echo "append INBOX -s r$i"
	i=$((i + 1))
done | store_script "$REMOTE" >/dev/null
store_append "$LOCAL" INBOX -s l1 >/dev/null
cp "$SYNC_CONF" "$SYNC_CONF.sane"

for mode in garbage badfetch hugeliteral cut bye; do
	sed "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/hostile.py $mode $REMOTE|" \
		"$SYNC_CONF.sane" >"$SYNC_CONF"
	# Bounded (timeout 60): a hang ends as status 124, not 1 or 3.
	sync_run_with _sync_bounded
	if [ "$mode" = badfetch ]; then
		# One bad response: that mailbox fails, the run goes on.
		tap_is "$SYNC_RC" 1 "$mode: exit status 1"
	else
		tap_is "$SYNC_RC" 3 "$mode: exit status 3"
	fi
	tap_check "$mode: the error names the remote server" \
		grep -q 'remote.*ERROR\|ERROR: remote' "$SYNC_ERR"
	tap_check "$mode: the local server, cut off, is not said silent" \
		sh -c "! grep -q 'local: the server sent nothing' '$SYNC_ERR'"
	tap_diag "$(grep ERROR "$SYNC_ERR" | head -n 2)"
	cp "$SYNC_CONF.sane" "$SYNC_CONF"
	sync_ok "$mode: the next run against the sane server exits 0"
	sync_dumps_equal "$mode: then the stores are equal"
	tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" \
		"31 31" "$mode: no message lost or doubled"
	# Something new for the next mode's run to do.
	store_append "$REMOTE" INBOX -s "new-$mode" >/dev/null
	store_append "$LOCAL" INBOX -s "mine-$mode" >/dev/null
	uid=$(store_uid_of "$LOCAL" INBOX "mine-$mode")
	store_expunge "$LOCAL" INBOX "$uid"
	uid=$(store_uid_of "$REMOTE" INBOX "new-$mode")
	store_expunge "$REMOTE" INBOX "$uid"
	store_flags "$REMOTE" INBOX 1:* +FLAGS "\\Seen"
done
tap_done
