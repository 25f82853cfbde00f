#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 61-ssh-restrict.sh: the key whose authorized_keys line forces
# imapsync-remote gets an IMAP session and nothing else: no shell, no scp
# or sftp, no port forwarding, no command smuggled in
# SSH_ORIGINAL_COMMAND; and the helper refuses to run as root.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/sshd.sh"

sshd_pair_new
d=$SYNC_DIR
# No master here: each attempt is a connection of its own, as an
# attacker's would be.
NOMUX="$SSH -o ControlMaster=no -o ControlPath=none"

# A session either way the client may ask for it.
printf 'a LOGOUT\r\n' | $NOMUX "$SSHD_HOST" >"$d/empty.out" 2>&1
tap_check "no command: a PREAUTH session" grep -q '^\* PREAUTH' "$d/empty.out"
printf 'a LOGOUT\r\n' | $NOMUX "$SSHD_HOST" imap >"$d/imap.out" 2>&1
tap_check "command 'imap': a PREAUTH session" grep -q '^\* PREAUTH' "$d/imap.out"

# refused NAME COMMAND: a BYE, exit status 1, and the command never ran.
refused() {
	rm -f "$d/pwned"
	$NOMUX "$SSHD_HOST" "$2" </dev/null >"$d/$1.out" 2>&1
	_rc=$?
	if [ $_rc -eq 1 ] && grep -q '^\* BYE imapsync-remote: ' "$d/$1.out" &&
	    ! grep -q '^\* PREAUTH' "$d/$1.out" &&
	    ! grep -q 'uid=' "$d/$1.out" && [ ! -e "$d/pwned" ]; then
		tap_pass "refused: $1"
	else
		tap_fail "refused: $1" "exit $_rc
$(head -n 5 "$d/$1.out")"
	fi
}
refused shell "sh -c 'id; touch $d/pwned'"
refused id "id"
refused semicolon "imap; id"
refused and "imap && sh -c 'touch $d/pwned'"
refused pipe "imap | touch $d/pwned"
refused subshell "imap \$(touch $d/pwned)"
refused path "../imap"
refused abspath "/usr/lib/dovecot/imap"
refused newline "imap
touch $d/pwned"
refused trailing-space "imap "
refused upper-case "IMAP"
refused doveadm "doveadm exec imap"
refused scp-sink "scp -t /tmp"
refused sftp-subsystem "internal-sftp"

printf 'hello\n' >"$d/file"
rm -f "$d/copied"
scp -F "$SSHD_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none \
	-O -q "$d/file" "$SSHD_HOST:$d/copied" >"$d/scp.out" 2>&1
rc=$?
tap_check "scp (scp protocol) fails" test $rc -ne 0 -a ! -e "$d/copied"
scp -F "$SSHD_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none \
	-s -q "$d/file" "$SSHD_HOST:$d/copied" >"$d/sftp.out" 2>&1
rc=$?
tap_check "scp (sftp protocol) fails" test $rc -ne 0 -a ! -e "$d/copied"

$NOMUX -W "127.0.0.1:$SSHD_PORT" "$SSHD_HOST" </dev/null >"$d/fwd-w.out" \
	2>&1
rc=$?
tap_check "local port forwarding (-W) is refused" sh -c \
	"test $rc -ne 0 && ! grep -q '^SSH-' '$d/fwd-w.out'"
$NOMUX -o ExitOnForwardFailure=yes -N -R "0:127.0.0.1:$SSHD_PORT" \
	"$SSHD_HOST" </dev/null >"$d/fwd-r.out" 2>&1 &
fwd=$!
i=0
while kill -0 $fwd 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 $fwd 2>/dev/null; then
	kill $fwd
	wait $fwd
	tap_fail "remote port forwarding (-R) is refused" "ssh -R still runs"
else
	wait $fwd
	rc=$?
	tap_check "remote port forwarding (-R) is refused" sh -c \
		"test $rc -ne 0 && grep -qi 'forwarding failed' '$d/fwd-r.out'"
fi
tap_check "sshd logged the refusals" grep -q 'refused\|administratively prohibited\|denied' \
	"$SSHD_DIR/sshd.log"

# The helper itself, without sshd.
if [ "$(id -u)" = 0 ]; then
	env -i PATH=/usr/bin:/bin SSH_ORIGINAL_COMMAND=imap \
		"$SSHD_DIR/imapsync-remote" --config="$SSHD_DIR/remote.conf" \
		</dev/null >"$d/root.out" 2>&1
	rc=$?
	tap_check "as root the helper refuses, with a BYE" sh -c \
		"test $rc -ne 0 && grep -q '^\* BYE .*root' '$d/root.out' && ! grep -q PREAUTH '$d/root.out'"
	env -i PATH=/usr/bin:/bin "$SSHD_DIR/imapsync-remote" --check \
		>"$d/root-check.out" 2>&1
	rc=$?
	tap_check "as root --check refuses too" test $rc -ne 0
else
	tap_skip_one "as root the helper refuses" "not root"
	tap_skip_one "as root --check refuses too" "not root"
fi
chmod 666 "$SSHD_DIR/remote.conf"
printf 'a LOGOUT\r\n' | $NOMUX "$SSHD_HOST" >"$d/badconf.out" 2>&1
chmod 644 "$SSHD_DIR/remote.conf"
tap_check "a settings file others may write is refused" sh -c \
	"grep -q '^\* BYE .*writable' '$d/badconf.out' && ! grep -q PREAUTH '$d/badconf.out'"

tap_done
