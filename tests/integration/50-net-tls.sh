#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 50-net-tls.sh: a sync with a Dovecot master over imaps and over
# STARTTLS (RSA and ECDSA certificates the test makes); a wrong host
# name, an untrusted CA and an expired certificate refused with clear
# errors; a pinned key accepted whatever its chain, a wrong pin refused.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

dovecot_certs_all || { echo "Bail out! cannot make certificates"; exit 1; }
dovecot_pair_new
store_append "$LOCAL" INBOX -s l1 -f '\Seen' >/dev/null
store_append "$REMOTE" INBOX -s r1 -f '\Flagged' >/dev/null

imaps() {
	dovecot_remote_conf "type = imaps" "host = 127.0.0.1" \
		"port = $DOVECOT_IMAPS_PORT" "username = test" \
		"password = secret" "$@"
}

# refused DESC PATTERN: the last run exited 3 and said PATTERN.
refused() {
	if [ "$SYNC_RC" -ne 3 ]; then
		tap_fail "$1" "exit status $SYNC_RC, expected 3
$(tail -n 5 "$SYNC_ERR")"
	elif ! grep -q -- "$2" "$SYNC_ERR"; then
		tap_fail "$1" "no '$2' in:
$(tail -n 5 "$SYNC_ERR")"
	else
		tap_pass "$1"
	fi
}

imaps "SSL_CAfile = $CERTS/ca.crt"
sync_ok "imaps: a sync exits 0"
tap_check "imaps with a checked certificate: no warning" \
	sh -c "! grep -q WARNING '$SYNC_ERR'"
sync_dumps_equal "imaps: dumps equal"
tap_check "imaps: the server saw a TLS login" \
	grep -q 'Login: user=<test>.*TLS' "$DOVECOT_DIR/dovecot.log"

store_append "$REMOTE" INBOX -s r2 >/dev/null
dovecot_remote_conf "type = imap" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret" \
	"SSL_CAfile = $CERTS/ca.crt"
sync_ok "STARTTLS: a sync exits 0" --debug
sync_dumps_equal "STARTTLS: dumps equal"
tap_check "STARTTLS: the trace shows STARTTLS before the login" \
	sh -c "grep -n 'remote -> ' '$SYNC_ERR' | head -n 3 | grep -q STARTTLS"
tap_is "$(grep -c 'remote -> .*AUTHENTICATE' "$SYNC_ERR")" 1 \
	"STARTTLS: one AUTHENTICATE, after the handshake"

imaps "SSL_CAfile = $CERTS/otherca.crt"
sync_run
refused "an untrusted CA is refused" \
	"remote: ERROR: TLS: cannot verify the certificate of 127.0.0.1"
spki=$(dovecot_spki "$CERTS/rsa.crt")
tap_check "the error names the key's fingerprint to pin" \
	grep -q "SSL_fingerprint = sha256\$$spki" "$SYNC_ERR"

imaps "SSL_CAfile = $CERTS/otherca.crt" "SSL_fingerprint = sha256\$$spki"
sync_ok "a pinned key is accepted whatever its chain"
imaps "SSL_CAfile = $CERTS/otherca.crt" \
	"SSL_fingerprint = $(echo "$spki" | tr 0-9a-f 1-9a-f0)"
sync_run
refused "a key that matches no pin is refused" "matches no SSL_fingerprint"
imaps "SSL_CAfile = $CERTS/otherca.crt" "SSL_verify = NO"
sync_ok "SSL_verify = NO accepts an untrusted chain"
tap_check "and warns, naming the side, that the certificate is not checked" \
	grep -q "^remote: WARNING: SSL_verify = NO: the server's certificate is not checked" \
	"$SYNC_ERR"

imaps "SSL_CAfile = $CERTS/ca.crt" "SSL_hostname = wrong.example"
sync_run
refused "a certificate for another name is refused" \
	"cannot verify the certificate.*mismatch"

dovecot_server_stop
dovecot_server_start "$SYNC_DIR/remote" wronghost ||
	{ echo "Bail out! cannot restart dovecot"; exit 1; }
imaps "SSL_CAfile = $CERTS/ca.crt"
sync_run
refused "a certificate naming another host is refused" \
	"IP address mismatch"

dovecot_server_stop
dovecot_server_start "$SYNC_DIR/remote" expired ||
	{ echo "Bail out! cannot restart dovecot"; exit 1; }
imaps "SSL_CAfile = $CERTS/ca.crt"
sync_run
refused "an expired certificate is refused" "certificate has expired"

dovecot_server_stop
dovecot_server_start "$SYNC_DIR/remote" ecdsa ||
	{ echo "Bail out! cannot restart dovecot"; exit 1; }
store_append "$LOCAL" INBOX -s l2 >/dev/null
imaps "SSL_CAfile = $CERTS/ca.crt" "SSL_protocol_min = TLSv1.3"
sync_ok "ECDSA certificate over TLSv1.3: a sync exits 0"
sync_dumps_equal "ECDSA: dumps equal"
imaps "SSL_CAfile = $CERTS/ca.crt" \
	"SSL_fingerprint = sha256\$$(dovecot_spki "$CERTS/ecdsa.crt")"
sync_ok "ECDSA: a pinned key is accepted"

dovecot_remote_conf "type = imaps" "host = 127.0.0.1" "port = 1" \
	"username = test" "password = secret"
sync_run
refused "a refused connection is reported" \
	"cannot connect to 127.0.0.1 port 1: Connection refused"
dovecot_remote_conf "type = imaps" "host = no-such-host.invalid" \
	"username = test" "password = secret"
sync_run
refused "a name that does not resolve is reported" \
	"cannot resolve no-such-host.invalid"
tap_done
