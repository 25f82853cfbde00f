# SPDX-License-Identifier: GPL-3.0-or-later
# dovecot-server.sh: a Dovecot master on free 127.0.0.1 ports serving a
# store of store.sh over the network, with certificates made here (POSIX
# sh, sourced after sync.sh). Everything lives under $STORE_TMP and goes
# with it; the master is stopped on exit.
#
#   dovecot_pair_new [ARGS]        sync_pair_new ARGS, then certificates
#                                  and a master serving its remote store
#   dovecot_certs                  a CA and an RSA server cert in $CERTS
#   dovecot_certs_all              those, and ECDSA, expired and wrong
#                                  host certs and another CA (what
#                                  50-net-tls needs: an RSA key costs
#                                  each test about 0.3 s of CPU)
#   dovecot_server_start STOREDIR [CERT]  serve STOREDIR's mail (the
#       directory of a store_new store) for user "test", password
#       "secret", on $DOVECOT_IMAP_PORT (STARTTLS) and $DOVECOT_IMAPS_PORT;
#       CERT (default "rsa") names $CERTS/CERT.crt and .key
#   dovecot_server_stop
#   dovecot_server_kill            SIGKILL the master and its children
#   dovecot_server_restart         stop, start again on the same ports
#   dovecot_remote_conf KEY=VALUE...   rewrite $SYNC_CONF: [local] the
#       pair's tunnel, [remote] these keys
#   dovecot_spki FILE              sha256 of a certificate's public key
#   dovecot_bg PORTVAR SCRIPT ARGS  a background helper (killed on exit)
#
# The master starts as root and serves the mail as nobody; run as another
# user the script is skipped.

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (the Dovecot master)"
command -v dovecot >/dev/null 2>&1 || tap_skip_all "dovecot not installed"
command -v openssl >/dev/null 2>&1 || tap_skip_all "openssl not installed"

CERTS=$STORE_TMP/certs
DOVECOT_DIR=
DOVECOT_PID=

DOVECOT_BG_PIDS=

dovecot_cleanup() {
	dovecot_server_stop
	for _p in $DOVECOT_BG_PIDS; do
		kill "$_p" 2>/dev/null
	done
	store_cleanup
}

# dovecot_bg PORTVAR SCRIPT ARGS...: start tests/lib/SCRIPT (a Python
# helper that writes its port to the file given as its PORTFILE argument,
# the first argument after SCRIPT's own mode, if any) in the background;
# killed on exit. The port file is $STORE_TMP/PORTVAR.port.
dovecot_bg() {
	_var=$1
	shift
	python3 "$@" &
	DOVECOT_BG_PIDS="$DOVECOT_BG_PIDS $!"
	_i=0
	while [ ! -s "$STORE_TMP/$_var.port" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	eval "$_var=\$(cat \"\$STORE_TMP/$_var.port\")"
}
trap 'rc=$?; dovecot_cleanup; exit $rc' EXIT

# _dovecot_cert NAME CA KEYTYPE CN SAN [START END]
_dovecot_cert() {
	_c=$CERTS
	if [ "$3" = ec ]; then
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-nodes -keyout "$_c/$1.key" -out "$_c/$1.csr" \
			-subj "/CN=$4" 2>/dev/null || return 1
	else
		openssl req -newkey rsa:2048 -nodes -keyout "$_c/$1.key" \
			-out "$_c/$1.csr" -subj "/CN=$4" 2>/dev/null || return 1
	fi
	echo "subjectAltName = $5" >"$_c/$1.ext"
	openssl ca -batch -config "$_c/$2.cnf" -in "$_c/$1.csr" \
		-out "$_c/$1.crt" -extfile "$_c/$1.ext" -notext \
		-startdate "${6:-20200101000000Z}" \
		-enddate "${7:-20991231000000Z}" >/dev/null 2>&1
}

# _dovecot_ca NAME: a self-signed CA with what `openssl ca` needs.
_dovecot_ca() {
	mkdir -p "$CERTS/$1.db"
	: >"$CERTS/$1.db/index.txt"
	echo 1000 >"$CERTS/$1.db/serial"
	cat >"$CERTS/$1.cnf" <<EOC
[ca]
default_ca = ca_default
[ca_default]
dir = $CERTS/$1.db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
certificate = $CERTS/$1.crt
private_key = $CERTS/$1.key
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
EOC
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CERTS/$1.key" \
		-out "$CERTS/$1.crt" -days 30 -subj "/CN=imapsync test $1" \
		2>/dev/null
}

dovecot_certs() {
	mkdir -p "$CERTS" || return 1
	[ -s "$CERTS/rsa.crt" ] && return 0
	_dovecot_ca ca &&
	_dovecot_cert rsa ca rsa localhost "IP:127.0.0.1, DNS:localhost"
}

dovecot_certs_all() {
	dovecot_certs &&
	_dovecot_ca otherca &&
	_dovecot_cert ecdsa ca ec localhost "IP:127.0.0.1, DNS:localhost" &&
	_dovecot_cert expired ca rsa localhost \
		"IP:127.0.0.1, DNS:localhost" 20200101000000Z 20200201000000Z &&
	_dovecot_cert wronghost ca rsa wrong.example "DNS:wrong.example"
}

dovecot_spki() {
	openssl x509 -in "$1" -pubkey -noout |
		openssl pkey -pubin -outform der |
		openssl dgst -sha256 | sed 's/.*= *//'
}

# dovecot_pair_new [sync_pair_new ARGS]: a new pair (sync_pair_new) whose
# remote store a Dovecot master serves, with certificates; bails out of
# the test if that cannot be.
dovecot_pair_new() {
	sync_pair_new "$@"
	dovecot_certs ||
		{ echo "Bail out! cannot make certificates"; exit 1; }
	dovecot_server_start "$SYNC_DIR/remote" ||
		{ echo "Bail out! cannot start dovecot"; exit 1; }
}

# _dovecot_free_port [N]: N (default 1) ports free a moment ago, on one
# line.
_dovecot_free_port() {
	python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "${1:-1}"
}

dovecot_server_start() {
	_store=$1
	_cert=${2:-rsa}
	DOVECOT_DIR=$STORE_TMP/dovecot-master
	mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" || return 1
	chmod 755 "$DOVECOT_DIR"
	echo "test:{PLAIN}secret:65534:65534::$_store/home::" \
		>"$DOVECOT_DIR/passwd"
	# Ports free a moment ago may be taken by a test running alongside
	# before the master binds them: it then fails, and others are tried.
	_try=0
	while :; do
		_try=$((_try + 1))
		_ports=$(_dovecot_free_port 2)
		DOVECOT_IMAP_PORT=${_ports% *}
		DOVECOT_IMAPS_PORT=${_ports#* }
		_dovecot_conf "$_store" "$_cert" && _dovecot_run && return 0
		[ $_try -lt 5 ] || break
		grep -q 'in use' "$DOVECOT_DIR/dovecot.log" || break
	done
	echo "dovecot did not start:" >&2
	cat "$DOVECOT_DIR/dovecot.log" >&2
	return 1
}

# _dovecot_conf STOREDIR CERT: the master's configuration, on the ports
# chosen.
_dovecot_conf() {
	_store=$1
	_cert=$2
	: >"$DOVECOT_DIR/dovecot.log"
	cat >"$DOVECOT_DIR/dovecot.conf" <<EOC
protocols = imap
listen = 127.0.0.1
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $DOVECOT_DIR/dovecot.log
ssl = yes
ssl_cert = <$CERTS/$_cert.crt
ssl_key = <$CERTS/$_cert.key
auth_mechanisms = plain login scram-sha-256
passdb {
  driver = passwd-file
  args = $DOVECOT_DIR/passwd
}
userdb {
  driver = passwd-file
  args = $DOVECOT_DIR/passwd
}
first_valid_uid = 1
mail_location = maildir:~/Mail
namespace inbox {
  inbox = yes
  separator = /
}
protocol imap {
  mail_plugins = \$mail_plugins imap_zlib
}
service imap-login {
  inet_listener imap {
    port = $DOVECOT_IMAP_PORT
  }
  inet_listener imaps {
    port = $DOVECOT_IMAPS_PORT
    ssl = yes
  }
}
# A failed login answered at once, not after Dovecot's delay and its
# penalty growing per address (2, 4, 8, 15 s): 51-net-auth fails four.
auth_failure_delay = 0
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  chroot =
}
EOC
}

# dovecot_server_kill: the master and every process it started, at once
# (a crash, a reboot): nothing answers on its ports until
# dovecot_server_restart. (A master stopped cleanly leaves its login and
# imap processes serving their clients for a while.)
dovecot_server_kill() {
	[ -n "${DOVECOT_PID:-}" ] || return 0
	_pids=$DOVECOT_PID
	_new=$DOVECOT_PID
	while [ -n "$_new" ]; do
		_kids=
		for _p in $_new; do
			_kids="$_kids $(ps -o pid= --ppid "$_p")"
		done
		_new=$(echo $_kids)
		_pids="$_pids $_new"
	done
	kill -9 $_pids 2>/dev/null
	DOVECOT_PID=
}

# dovecot_server_restart: stop the master if it runs and start it again
# on the same ports.
dovecot_server_restart() {
	dovecot_server_stop
	_dovecot_run && return 0
	echo "dovecot did not start again:" >&2
	cat "$DOVECOT_DIR/dovecot.log" >&2
	return 1
}

# _dovecot_run: start the master; wait (10 s at most) until it has
# written its PID and both ports answer (one Python start, not one per
# try).
_dovecot_run() {
	dovecot -c "$DOVECOT_DIR/dovecot.conf" </dev/null >/dev/null 2>&1 ||
		return 1
	python3 -c 'import os, socket, sys, time
pidfile = sys.argv[1]
for _ in range(100):
    try:
        if os.path.getsize(pidfile) > 0:
            for p in sys.argv[2:]:
                socket.create_connection(("127.0.0.1", int(p)), 1).close()
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)' "$DOVECOT_DIR/run/master.pid" "$DOVECOT_IMAP_PORT" \
		"$DOVECOT_IMAPS_PORT" 2>/dev/null || return 1
	DOVECOT_PID=$(cat "$DOVECOT_DIR/run/master.pid")
}

dovecot_server_stop() {
	[ -n "${DOVECOT_PID:-}" ] || return 0
	kill "$DOVECOT_PID" 2>/dev/null
	_i=0
	while store_running "$DOVECOT_PID" && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	DOVECOT_PID=
}

dovecot_remote_conf() {
	{
		echo "database = $SYNC_DB"
		sync_merge_key
		echo
		echo "[local]"
		echo "type = tunnel"
		echo "command = $LOCAL"
		echo "null-stderr = YES"
		echo
		echo "[remote]"
		for _kv in "$@"; do
			echo "$_kv"
		done
	} >"$SYNC_CONF"
	chmod 600 "$SYNC_CONF"
}
