#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 51-net-auth.sh: each AUTH mechanism (PLAIN with SASL-IR, LOGIN,
# SCRAM-SHA-256) logs in; a wrong password is refused cleanly; the
# password may come from password-command; credentials reach a trace only
# with --debug twice.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

dovecot_pair_new
store_append "$LOCAL" INBOX -s l1 >/dev/null

imaps() {
	dovecot_remote_conf "type = imaps" "host = 127.0.0.1" \
		"port = $DOVECOT_IMAPS_PORT" "username = test" \
		"SSL_CAfile = $CERTS/ca.crt" "$@"
}

# These count the server's logins, one a run: without the differential
# dry run (tests/lib/sync.sh), which would log in once more before each.
SYNC_DRYRUN=0
for mech in PLAIN LOGIN SCRAM-SHA-256; do
	imaps "password = secret" "auth = $mech"
	sync_ok "auth = $mech: a sync exits 0" --debug
	case $mech in
	LOGIN) want='remote -> A[0-9]* LOGIN test' ;;
	PLAIN) want='remote -> A[0-9]* AUTHENTICATE PLAIN <redacted>' ;;
	*) want='remote -> A[0-9]* AUTHENTICATE SCRAM-SHA-256 <redacted>' ;;
	esac
	tap_check "auth = $mech: the trace shows the mechanism" \
		grep -q "$want" "$SYNC_ERR"
	tap_check "auth = $mech: no password in a --debug trace" \
		sh -c "! grep -q secret '$SYNC_ERR'"
	# Dovecot logs the LOGIN command as method=PLAIN.
	m=$mech
	[ "$mech" != LOGIN ] || m=PLAIN
	tap_is "$(grep -c "Login: user=<test>, method=$m" "$DOVECOT_DIR/dovecot.log")" \
		"$(if [ $mech = SCRAM-SHA-256 ]; then echo 1; else echo $((${n:-0} + 1)); fi)" \
		"auth = $mech: Dovecot logged one more $m login"
	[ $mech = SCRAM-SHA-256 ] || n=$((${n:-0} + 1))
done
sync_dumps_equal "dumps equal after the logins"
SYNC_DRYRUN=1

imaps "password = secret" "auth = LOGIN"
sync_run --debug --debug
tap_check "--debug twice shows the password" grep -q 'LOGIN test secret' "$SYNC_ERR"

imaps "password = wrong" "auth = SCRAM-SHA-256"
sync_run
tap_is "$SYNC_RC" 3 "a wrong password: exit status 3"
tap_check "a wrong password: the message names the side and the failure" \
	grep -q 'remote: ERROR: authentication failed on 127.0.0.1 (SCRAM-SHA-256 as test)' "$SYNC_ERR"
imaps "password = wrong" "auth = PLAIN"
sync_run
tap_check "a wrong PLAIN password is refused too" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q 'authentication failed' '$SYNC_ERR'"

imaps "password-command = echo secret" "auth = PLAIN"
sync_ok "password-command gives the password"
imaps "password-command = exit 1"
sync_run
tap_check "a failing password-command is reported" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q \"password-command 'exit 1' failed\" '$SYNC_ERR'"
imaps "password-command = sleep 20; echo secret" \
	"password-command-timeout = 1"
sync_run
tap_check "a password-command that does not answer in time is stopped" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q \"password-command 'sleep 20; echo secret' gave no password within 1 s: stopped it (raise password-command-timeout\" '$SYNC_ERR'"
imaps "password = secret" "auth = CRAM-MD5"
sync_run
tap_check "an auth list the server cannot take is reported" \
	sh -c "[ $SYNC_RC = 3 ] && grep -q 'none of the mechanisms in auth (CRAM-MD5)' '$SYNC_ERR'"
tap_done
