#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 64-remote-trust.sh: imapsync-remote lets only the authorized_keys line
# and the files of root and the user choose what it runs: a settings path
# the SSH client sends (AcceptEnv / SetEnv) is ignored, settings inside
# the mail store are refused, and so are a dovecot.conf or doveadm that
# another account could write.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
# The admin who read "or by $IMAPSYNC_REMOTE_CONF" and let it through.
SSHD_EXTRA="AcceptEnv IMAPSYNC_REMOTE_CONF"
. "$IMAPSYNC_TOP/tests/lib/sshd.sh"

sshd_pair_new
d=$SYNC_DIR
helper=$SSHD_DIR/imapsync-remote
ugroup=$(id -gn "$SSHD_USER")
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid="$SSHD_USER" --regid="$ugroup" \
			--clear-groups "$@"
	else
		"$@"
	fi
}
# check_as_user OUT ARGS...: the helper's --check as the store's user,
# outside any ssh session; sets rc.
check_as_user() {
	_out=$1
	shift
	as_user env -i PATH=/usr/bin:/bin "$@" --check </dev/null \
		>"$_out" 2>&1
	rc=$?
}

# Settings a key holder could write: a doveadm that leaves a mark.
e=$d/evil
mkdir -p "$e"
cat >"$e/doveadm" <<EOF
#!/bin/sh
: >$e/ran
echo '* BYE evil doveadm'
EOF
chmod 755 "$e/doveadm"
echo "doveadm = $e/doveadm" >"$e/evil.conf"
chmod 644 "$e/evil.conf"
[ "$(id -u)" = 0 ] && chown -R "$SSHD_USER:$ugroup" "$e"

# By hand, outside sshd, the variable still names the settings.
as_user env -i PATH=/usr/bin:/bin IMAPSYNC_REMOTE_CONF="$e/evil.conf" \
	"$helper" --check >"$d/byhand.out" 2>&1
tap_check "by hand, \$IMAPSYNC_REMOTE_CONF names the settings" \
	grep -q "^settings: *$e/evil.conf" "$d/byhand.out"
rm -f "$e/ran"

# A key line without --config= (the README's first form): what the client
# sends through SetEnv must not choose the settings.
cp "$SSHD_DIR/authorized_keys" "$SSHD_DIR/authorized_keys.orig"
printf 'restrict,command="%s" %s\n' "$helper" \
	"$(cat "$SSHD_DIR/user_key.pub")" >"$SSHD_DIR/authorized_keys"
printf 'a LOGOUT\r\n' | $SSH -o ControlMaster=no -o ControlPath=none \
	-o SetEnv="IMAPSYNC_REMOTE_CONF=$e/evil.conf" "$SSHD_HOST" \
	>"$d/env.out" 2>"$d/env.err"
tap_check "a session from sshd does not run the doveadm of settings the client named" \
	test ! -e "$e/ran"
tap_check "and says the variable was ignored" \
	grep -q "ignored IMAPSYNC_REMOTE_CONF" "$d/env.err"
tap_diag "$(cat "$d/env.out" "$d/env.err" | head -n 5)"
cp "$SSHD_DIR/authorized_keys.orig" "$SSHD_DIR/authorized_keys"

# Settings APPENDed as a message: the file is in the maildir.
store_append "$REMOTE" INBOX --file "$e/evil.conf" >/dev/null
msg=$(ls "$d/remote/home/Mail/cur/"* "$d/remote/home/Mail/new/"* \
	2>/dev/null | head -n 1)
check_as_user "$d/store.out" "$helper" --config="$msg"
tap_is "$rc" 3 "settings inside the mail store exit 3"
tap_check "and are refused as inside a mail store" \
	grep -q "inside a mail store" "$d/store.out"
tap_check "their doveadm did not run" test ! -e "$e/ran"

# dovecot.conf writable by others: refused, in the sync's error too.
chmod 666 "$d/remote/dovecot.conf"
sync_run
tap_is "$SYNC_RC" 3 "a sync whose remote dovecot.conf is world-writable exits 3"
tap_check "its error names dovecot.conf as writable by others" grep -q \
	"^ERROR: remote: .*dovecot.conf .*dovecot.conf is writable by group or others" \
	"$SYNC_ERR"
tap_diag "$(grep ERROR "$SYNC_ERR")"
chmod 644 "$d/remote/dovecot.conf"

if [ "$(id -u)" = 0 ]; then
	chown nobody "$d/remote/dovecot.conf"
	check_as_user "$d/owner.out" "$helper" \
		--config="$SSHD_DIR/remote.conf"
	tap_is "$rc" 3 "a dovecot.conf owned by another account exits 3"
	tap_check "and is refused naming its owner" \
		grep -q "dovecot.conf .* belongs to uid" "$d/owner.out"
	chown "$SSHD_USER" "$d/remote/dovecot.conf"
else
	tap_skip_one "a dovecot.conf owned by another account" "not root"
	tap_skip_one "and is refused naming its owner" "not root"
fi

# Its directory writable by others: the file could be replaced.
chmod 777 "$d/remote"
check_as_user "$d/dir.out" "$helper" --config="$SSHD_DIR/remote.conf"
tap_is "$rc" 3 "a dovecot.conf in a world-writable directory exits 3"
tap_check "and the directory is named" \
	grep -q "its directory $d/remote is writable by group or others" \
	"$d/dir.out"
chmod 755 "$d/remote"

# A doveadm others may write.
cp "$e/doveadm" "$e/doveadm-ww"
chmod 777 "$e/doveadm-ww"
echo "doveadm = $e/doveadm-ww" >"$e/ww.conf"
chmod 644 "$e/ww.conf"
check_as_user "$d/ww.out" "$helper" --config="$e/ww.conf"
tap_is "$rc" 3 "a world-writable doveadm exits 3"
tap_check "and is refused" \
	grep -q "doveadm .*doveadm-ww is writable by group or others" \
	"$d/ww.out"
tap_check "without running it" test ! -e "$e/ran"

# Everything back in order: the sync works.
sync_ok "with the files fixed the sync through sshd exits 0"

tap_done
