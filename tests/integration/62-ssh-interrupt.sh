#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 62-ssh-interrupt.sh: the SSH connection dies in the middle of a large
# copy (sshd's session process killed). The run ends with exit status 3
# and an error naming the remote side with ssh's own message; the
# database stays consistent; the next run finishes the job: stores equal,
# nothing doubled. A refused connection gives ssh's message as well.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/sshd.sh"

sshd_pair_new
d=$SYNC_DIR
# Without a master, the ssh that dies is the tunnel command itself, and
# its last words are on its stderr (a ControlMaster's client says
# nothing: 60-ssh-sync covers the master; here the message is checked).
sed -i "s|^command = $SSH |command = $SSH -o ControlMaster=no -o ControlPath=none |" \
	"$SYNC_CONF"
n=150
{
	i=0
	while [ $i -lt $n ]; do
		echo "append INBOX -s big-$i --size 200000"
		i=$((i + 1))
	done
} | store_script "$REMOTE" >/dev/null
store_append "$LOCAL" INBOX -s local-only >/dev/null
tap_is "$(store_count "$REMOTE" INBOX)" $n "the remote store holds $n messages"

# The run, in the background; sshd's session process is killed once some
# messages have arrived but far from all. Without the differential dry
# run (tests/lib/sync.sh): in a background subshell its run number, which
# names the logs read below, would be lost, and the kill is timed on the
# real run's copy.
(
	SYNC_DRYRUN=0
	sync_run
) &
run=$!
i=0
got=0
# Watch the laptop's maildir itself: a MULTIAPPEND writes each message to
# tmp/ as it streams in and commits them together, and asking Dovecot
# would be too slow to catch a fast copy in the middle.
maildir=$(dirname "$LOCAL")/home/Mail
while [ $i -lt 3000 ]; do
	got=$(find "$maildir/tmp" "$maildir/new" "$maildir/cur" -type f \
		2>/dev/null | wc -l)
	[ "$got" -gt 5 ] && break
	kill -0 $run 2>/dev/null || break
	sleep 0.01
	i=$((i + 1))
done
# Every process of the session: sshd's monitor, its network child and
# the helper's Dovecot below it.
tree() {
	for _c in $(pgrep -P "$1"); do
		echo "$_c"
		tree "$_c"
	done
}
killed=
for p in $(tree "$SSHD_PID"); do
	kill -9 "$p" 2>/dev/null && killed=yes
done
wait $run
rc=$?
# sync_run ran in a subshell: its log is the next one in sequence.
SYNC_SEQ=$((SYNC_SEQ + 1))
SYNC_ERR=$SYNC_DIR/logs/run$SYNC_SEQ.err
tap_check "the session was killed mid-copy ($got of $n copied)" sh -c \
	"test -n '$killed' && test '$got' -lt $((n + 1))"
tap_is "$rc" 3 "the interrupted run exits 3"
# ssh words it as the race goes: "Connection to ... closed by remote
# host", "client_loop: send disconnect: Broken pipe", ...
tap_check "the error names the remote side and quotes ssh" grep -E \
	'^ERROR: remote: .*status 255: (Connection to 127.0.0.1 closed|client_loop:|.*Broken pipe)' \
	"$SYNC_ERR"
tap_diag "$(grep ERROR "$SYNC_ERR" | head -n 3)"
tap_is "$(sync_db 'PRAGMA integrity_check')" ok "the database is intact"
mapped=$(sync_db "SELECT COUNT(*) FROM mapping")
tap_check "the database maps no more messages than the laptop holds ($mapped)" \
	test "$mapped" -le "$(store_count "$LOCAL" INBOX)"

sync_ok "the next run exits 0"
sync_dumps_equal "then the stores are equal"
tap_is "$(store_count "$LOCAL" INBOX)" $((n + 1)) \
	"the laptop has every message once"
tap_is "$(store_count "$REMOTE" INBOX)" $((n + 1)) \
	"the server has every message once"
sync_noop "a further run changes nothing"

# A refused connection: ssh's own line is in the error.
kill "$SSHD_PID"
wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
$SSH -O exit "$SSHD_HOST" >/dev/null 2>&1
sync_run
tap_is "$SYNC_RC" 3 "with sshd stopped the run exits 3"
tap_check "the error names the remote side and quotes ssh's refusal" grep -E \
	'^ERROR: remote.*ssh: connect to host 127.0.0.1 port [0-9]+: Connection refused' \
	"$SYNC_ERR"

tap_done
