#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 60-ssh-sync.sh: a full sync through a real sshd, the authorized_keys
# forced command imapsync-remote and a ControlPersist master; later runs
# reuse the master (no new SSH connection), including a master that
# another process started.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/sshd.sh"

sshd_pair_new
{
	echo "create Archive"
	echo "create Archive/2023"
	i=0
	while [ $i -lt 40 ]; do
		echo "append INBOX -s remote-$i"
		echo "append Archive/2023 -s old-$i -f '\\Seen'"
		i=$((i + 1))
	done
} | store_script "$REMOTE" >/dev/null
store_append "$LOCAL" INBOX -s local-1 -f '\Flagged' >/dev/null

tap_check "imapsync-remote --check passes for the store's user" sh -c \
	"${STORE_RUN:+setpriv --reuid=$SSHD_USER --regid=$(id -gn "$SSHD_USER") --clear-groups} \
	$SSHD_DIR/imapsync-remote --config=$SSHD_DIR/remote.conf --check \
	>$SYNC_DIR/check.out 2>&1 && grep -q '^  QRESYNC *yes' $SYNC_DIR/check.out"
tap_is "$(sshd_master_pid)" "" "no ControlPersist master before the first run"
sync_ok "the first sync through sshd and imapsync-remote exits 0"
sync_dumps_equal "the stores are equal after the first sync"
tap_is "$(store_count "$LOCAL" Archive/2023)" 40 \
	"the remote mailboxes reached the laptop"
master=$(sshd_master_pid)
tap_check "the run left a ControlPersist master running" test -n "$master"
tap_is "$(sshd_accepted)" 1 "sshd accepted one connection"

store_append "$LOCAL" INBOX -s local-2 >/dev/null
store_flags "$REMOTE" INBOX 1:3 +FLAGS '\Answered' >/dev/null
sync_ok "the second sync exits 0"
sync_dumps_equal "the stores are equal after the second sync"
tap_is "$(sshd_accepted)" 1 "the second run made no new SSH connection"
tap_is "$(sshd_master_pid)" "$master" "the same master served it"
sync_noop "a third run changes nothing"
tap_is "$(sshd_accepted)" 1 "nor did the third"

# A master that another process started (the user's own ssh, say).
$SSH -O exit "$SSHD_HOST" >/dev/null 2>&1
i=0
while [ -n "$(sshd_master_pid)" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
tap_is "$(sshd_master_pid)" "" "the master is gone after ssh -O exit"
$SSH -f -N -o ControlMaster=yes "$SSHD_HOST" 2>"$SYNC_DIR/master.err"
master=$(sshd_master_pid)
tap_check "a master started with ssh -f -N runs" test -n "$master"
store_append "$REMOTE" Archive -s remote-late >/dev/null
sync_ok "a sync through that master exits 0"
sync_dumps_equal "the stores are equal after it"
tap_is "$(sshd_accepted)" 2 "only the new master connected"
tap_is "$(sshd_master_pid)" "$master" "the sync used that master"

tap_done
