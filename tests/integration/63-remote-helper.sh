#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 63-remote-helper.sh: imapsync-remote's settings and failures as the user
# meets them: --check's report, a broken setting refused with a BYE, and a
# Dovecot that cannot start named in imapsync's error through ssh.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/sshd.sh"

sshd_pair_new
d=$SYNC_DIR
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$SSHD_USER" --regid="$(id -gn "$SSHD_USER")" \
			--clear-groups "$@"
	else
		"$@"
	fi
}
helper=$SSHD_DIR/imapsync-remote

as_user env -i PATH=/usr/bin:/bin "$helper" --config="$SSHD_DIR/remote.conf" \
	--check >"$d/check.out" 2>&1
tap_is "$?" 0 "--check exits 0 for a working Dovecot"
for cap in QRESYNC LIST-STATUS UIDPLUS MULTIAPPEND LITERAL+; do
	tap_check "--check reports $cap" grep -q "^  $cap *yes" "$d/check.out"
done
tap_check "--check names the dovecot.conf in use" \
	grep -q "^dovecot.conf: .*remote/dovecot.conf" "$d/check.out"

echo "doveadm = $d/no-such-doveadm" >"$d/nodove.conf"
echo "no_such_key = 1" >"$d/badkey.conf"
chmod 644 "$d/nodove.conf" "$d/badkey.conf"
as_user env -i PATH=/usr/bin:/bin "$helper" --config="$d/nodove.conf" \
	--check >"$d/nodove.out" 2>&1
tap_is "$?" 3 "--check without doveadm exits 3"
tap_check "and says doveadm was not found" grep -q "doveadm not found" \
	"$d/nodove.out"
as_user env -i PATH=/usr/bin:/bin "$helper" --config="$d/badkey.conf" \
	</dev/null >"$d/badkey.out" 2>&1
tap_is "$?" 3 "an unknown setting exits 3"
tap_check "with a BYE naming the file and line" grep -q \
	"^\* BYE imapsync-remote: .*badkey.conf line 1: unknown setting" \
	"$d/badkey.out"
as_user env -i PATH=/usr/bin:/bin "$helper" --config="$d/absent.conf" \
	</dev/null >"$d/absent.out" 2>&1
tap_is "$?" 3 "a --config file that does not exist exits 3"
as_user env -i PATH=/usr/bin:/bin "$helper" --bogus </dev/null \
	>"$d/usage.out" 2>&1
tap_is "$?" 2 "an unknown option exits 2"

# The sync, when the helper cannot start Dovecot: the helper's own error
# reaches imapsync's message through ssh's stderr.
cp "$d/nodove.conf" "$SSHD_DIR/remote.conf"
sync_run
tap_is "$SYNC_RC" 3 "a sync whose remote Dovecot cannot start exits 3"
tap_check "its error quotes the helper's reason" grep -q \
	"^ERROR: remote: .*imapsync-remote: Fatal: execvp(.*no-such-doveadm) failed" \
	"$SYNC_ERR"
tap_diag "$(grep ERROR "$SYNC_ERR")"

tap_done
