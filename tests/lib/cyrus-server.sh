# SPDX-License-Identifier: GPL-3.0-or-later
# cyrus-server.sh: a Cyrus IMAP master on a free 127.0.0.1 port, with its
# own imapd.conf, cyrus.conf, spool and sasldb under $STORE_TMP (POSIX sh,
# sourced after sync.sh; it sources dovecot-server.sh for the certificates
# and the background helpers). The master is stopped on exit.
#
# imapd is the one from Debian's cyrus-imapd package, taken out of the .deb
# by mk/cyrus.sh into $CYRUS_CACHE (that package conflicts with
# dovecot-imapd and is never installed); the rest comes with cyrus-common.
#
#   cyrus_pair_new [ARGS]          sync_pair_new ARGS (the local Dovecot
#                                  store), certificates, and a Cyrus master
#                                  for the remote side; REMOTE becomes
#                                  imap://test:secret@127.0.0.1:PORT
#                                  (imaptool.py logs in over plain text)
#   cyrus_server_start [KEY:VALUE...]   start (or start again, same port,
#       same mail) with these imapd.conf lines added to the stock ones:
#       user "test", password "secret" on $CYRUS_PORT (STARTTLS, plain
#       login allowed), certificate $CERTS/rsa.crt
#   cyrus_server_stop
#   cyrus_remote_conf KEY=VALUE... rewrite $SYNC_CONF: [local] the pair's
#       tunnel, [remote] these keys (dovecot_remote_conf)
#   cyrus_starttls_conf [KEY=VALUE...]  [remote]: Cyrus over STARTTLS
#   cyrus_plain_conf [KEY=VALUE...]     [remote]: Cyrus, plain text login
#   cyrus_version                  "3.6.1-4+deb12u5" (the package's)
#
# A second master, for Cyrus on both sides (its own directory, port,
# sasldb, same user and password):
#   cyrus_local_start [KEY:VALUE...]  start it (or again); LOCAL becomes
#                                  imap://test:secret@127.0.0.1:$CYRUS_LOCAL_PORT
#   cyrus_local_stop
#   cyrus_both_conf [KEY=VALUE...]  rewrite $SYNC_CONF: [local] the second
#       master, [remote] the first with COMPRESS, both over STARTTLS;
#       KEY=VALUE lines go to [remote]
#
# Cyrus drops root for the user "cyrus": its directories belong to it.
# Each imapd session's protocol log is kept in
# $CYRUS_DIR/config/log/test/ (Cyrus's telemetry), for diagnosis.

: "${CYRUS_CACHE:=/var/cache/imapsync-test/cyrus}"
CYRUS_IMAPD=$CYRUS_CACHE/usr/lib/cyrus/bin/imapd
CYRUS_BIN=/usr/lib/cyrus/bin

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (the Cyrus master)"
[ -x "$CYRUS_BIN/master" ] || tap_skip_all "cyrus-common not installed"
[ -x "$CYRUS_IMAPD" ] ||
	tap_skip_all "no Cyrus imapd in $CYRUS_CACHE (run mk/cyrus.sh)"
command -v saslpasswd2 >/dev/null 2>&1 ||
	tap_skip_all "sasl2-bin not installed"
id cyrus >/dev/null 2>&1 || tap_skip_all "no user cyrus"

. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

CYRUS_DIR=
CYRUS_PID=
CYRUS_PORT=
CYRUS_NAME=cyrus
CYRUS_LOCAL_DIR=
CYRUS_LOCAL_PID=
CYRUS_LOCAL_PORT=

cyrus_cleanup() {
	cyrus_server_stop
	cyrus_local_stop
	dovecot_cleanup
}

# _cyrus_swap: the second master's variables in place of the first's, and
# back.
_cyrus_swap() {
	_t=$CYRUS_DIR CYRUS_DIR=$CYRUS_LOCAL_DIR CYRUS_LOCAL_DIR=$_t
	_t=$CYRUS_PID CYRUS_PID=$CYRUS_LOCAL_PID CYRUS_LOCAL_PID=$_t
	_t=$CYRUS_PORT CYRUS_PORT=$CYRUS_LOCAL_PORT CYRUS_LOCAL_PORT=$_t
	if [ "$CYRUS_NAME" = cyrus ]; then
		CYRUS_NAME=cyrus-local
	else
		CYRUS_NAME=cyrus
	fi
}

cyrus_local_start() {
	_cyrus_swap
	cyrus_server_start "$@"
	_rc=$?
	_cyrus_swap
	LOCAL=imap://test:secret@127.0.0.1:$CYRUS_LOCAL_PORT
	return $_rc
}

cyrus_local_stop() {
	_cyrus_swap
	cyrus_server_stop
	_cyrus_swap
}

cyrus_both_conf() {
	{
		echo "database = $SYNC_DB"
		# First syncs of two stores that both hold mail, on purpose
		# (as sync_write_conf).
		echo "safety-merge = NO"
		echo
		echo "[local]"
		echo "type = imap"
		echo "host = 127.0.0.1"
		echo "port = $CYRUS_LOCAL_PORT"
		echo "username = test"
		echo "password = secret"
		echo "SSL_CAfile = $CERTS/ca.crt"
		echo
		echo "[remote]"
		echo "type = imap"
		echo "compress = YES"
		echo "host = 127.0.0.1"
		echo "port = $CYRUS_PORT"
		echo "username = test"
		echo "password = secret"
		echo "SSL_CAfile = $CERTS/ca.crt"
		for _kv in "$@"; do
			echo "$_kv"
		done
	} >"$SYNC_CONF"
	chmod 600 "$SYNC_CONF"
}
trap 'rc=$?; cyrus_cleanup; exit $rc' EXIT

cyrus_version() {
	dpkg-query -W -f='${Version}' cyrus-common 2>/dev/null
}

cyrus_pair_new() {
	sync_pair_new "$@"
	[ -s "$CERTS/ca.crt" ] || dovecot_certs ||
		{ echo "Bail out! cannot make certificates"; exit 1; }
	cyrus_server_start ||
		{ echo "Bail out! cannot start cyrus"; exit 1; }
	REMOTE=imap://test:secret@127.0.0.1:$CYRUS_PORT
}

cyrus_server_start() {
	_new=
	if [ -z "$CYRUS_DIR" ]; then
		CYRUS_DIR=$STORE_TMP/$CYRUS_NAME
		CYRUS_PORT=$(_dovecot_free_port)
		_new=1
	fi
	_d=$CYRUS_DIR
	mkdir -p "$_d/config/log/test" "$_d/spool" "$_d/socket" "$_d/certs" ||
		return 1
	cp "$CERTS/rsa.crt" "$CERTS/rsa.key" "$CERTS/ca.crt" "$_d/certs/" ||
		return 1
	{
		cat <<EOC
configdirectory: $_d/config
partition-default: $_d/spool
defaultpartition: default
lmtpsocket: $_d/socket/lmtp
idlesocket: $_d/socket/idle
notifysocket: $_d/socket/notify
servername: localhost
admins: cyrus
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $_d/sasldb2
sasl_mech_list: PLAIN LOGIN
allowplaintext: yes
autocreate_quota: 0
tls_server_cert: $_d/certs/rsa.crt
tls_server_key: $_d/certs/rsa.key
tls_client_ca_file: $_d/certs/ca.crt
EOC
		for _kv in "$@"; do
			echo "$_kv"
		done
	} >"$_d/imapd.conf"
	cat >"$_d/cyrus.conf" <<EOC
START {
	recover cmd="$CYRUS_BIN/ctl_cyrusdb -C $_d/imapd.conf -r"
}
SERVICES {
	imap cmd="$CYRUS_IMAPD -C $_d/imapd.conf" listen="127.0.0.1:$CYRUS_PORT" prefork=0
}
EVENTS {
}
EOC
	if [ -n "$_new" ]; then
		echo secret | saslpasswd2 -p -c -f "$_d/sasldb2" -u localhost \
			test || return 1
	fi
	chown -R cyrus:mail "$_d" || return 1
	"$CYRUS_BIN/master" -C "$_d/imapd.conf" -M "$_d/cyrus.conf" \
		-p "$_d/master.pid" </dev/null >"$_d/master.out" 2>&1 &
	CYRUS_PID=$!
	_i=0
	while [ $_i -lt 100 ]; do
		if python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$CYRUS_PORT" 2>/dev/null; then
			return 0
		fi
		kill -0 "$CYRUS_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "cyrus did not start:" >&2
	cat "$_d/master.out" >&2
	return 1
}

cyrus_server_stop() {
	[ -n "${CYRUS_PID:-}" ] || return 0
	kill "$CYRUS_PID" 2>/dev/null
	_i=0
	while kill -0 "$CYRUS_PID" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	CYRUS_PID=
}

cyrus_remote_conf() {
	dovecot_remote_conf "$@"
}

cyrus_starttls_conf() {
	cyrus_remote_conf "type = imap" "host = 127.0.0.1" \
		"port = $CYRUS_PORT" "username = test" "password = secret" \
		"SSL_CAfile = $CERTS/ca.crt" "$@"
}

cyrus_plain_conf() {
	cyrus_remote_conf "type = imap" "STARTTLS = NO" "host = 127.0.0.1" \
		"port = $CYRUS_PORT" "username = test" "password = secret" "$@"
}
