#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 53-net-starttls-inject.sh: a server that sends a response after its
# STARTTLS OK and before the handshake (the injection of CVE-2020-12398)
# is refused; so is a PREAUTH greeting on a connection STARTTLS was to
# protect, and a server that does not offer STARTTLS.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

sync_pair_new
fake() {
	dovecot_bg "$1" "$IMAPSYNC_TOP/tests/lib/fakeimap.py" "$2" \
		"$STORE_TMP/$1.port"
}
fake INJECT inject
fake PREAUTH preauth
fake NOTLS nostarttls

plain() {
	dovecot_remote_conf "type = imap" "host = 127.0.0.1" "port = $1" \
		"username = test" "password = secret"
}

# refused DESC PATTERN
refused() {
	if [ "$SYNC_RC" -eq 3 ] && grep -q -- "$2" "$SYNC_ERR"; then
		tap_pass "$1"
	else
		tap_fail "$1" "exit status $SYNC_RC; no '$2' in:
$(tail -n 5 "$SYNC_ERR")"
	fi
}

plain "$INJECT"
sync_run --debug
refused "a response injected before the TLS handshake is refused" \
	"remote: ERROR: the server sent [0-9]* bytes after its STARTTLS response, before the TLS handshake started"
tap_check "the injected line was received (the case under test)" \
	grep -q 'remote <- .*injected' "$SYNC_ERR"
tap_check "no credential was sent" \
	sh -c "! grep -q 'remote -> .*\\(LOGIN\\|AUTHENTICATE\\)' '$SYNC_ERR'"

plain "$PREAUTH"
sync_run
refused "PREAUTH on a connection to upgrade is refused" \
	"greeted with PREAUTH on a plaintext connection"

plain "$NOTLS"
sync_run
refused "a server without STARTTLS is refused" \
	"the server does not offer STARTTLS"
tap_done
