# SPDX-License-Identifier: GPL-3.0-or-later
# sshd.sh: sourced after sync.sh. A real sshd on a free loopback port with
# its own host key, a user key whose authorized_keys line forces
# imapsync-remote, and an ssh_config with a ControlPersist master, so the
# remote store of a pair is reached the way a user's server is.
#
#   sshd_pair_new [sync_pair_new options]
#       sync_pair_new, then makes the remote store belong to $SSHD_USER and
#       points the config's [remote] at `ssh -F $SSHD_DIR/ssh_config
#       $SSHD_HOST`. Sets SSHD_DIR, SSHD_HOST, SSHD_USER, SSHD_PORT,
#       SSHD_PID, SSH (the ssh command line, without the host).
#   sshd_master_pid     the ControlPersist master's pid ("" if none).
#   sshd_accepted       how many connections sshd has accepted so far.
#
# SSHD_EXTRA, when set before sshd_pair_new, is appended to sshd_config
# (e.g. "AcceptEnv IMAPSYNC_REMOTE_CONF").
#
# As root the remote store and sessions belong to the system user
# imapsync-test (created here if missing: Dovecot and the helper refuse
# root); otherwise to the current user. sshd, the master and their
# sessions are stopped on exit, failure or signal, then $STORE_TMP goes.

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SSHD_PID=
SSHD_DIR=

[ -x "$SSHD_BIN" ] || tap_skip_all "sshd not installed ($SSHD_BIN)"
command -v ssh >/dev/null 2>&1 || tap_skip_all "ssh not installed"
[ -x "$IMAPSYNC_BUILD/imapsync-remote" ] ||
	tap_skip_all "imapsync-remote not built (dovecot-dev missing?)"

. "$IMAPSYNC_TOP/tests/lib/sshd-user.sh"

# sshd_ensure_user: sets SSHD_USER: as root the system user of
# sshd-user.sh (created if missing), otherwise the current user.
sshd_ensure_user() {
	if [ "$(id -u)" != 0 ]; then
		SSHD_USER=$(id -un)
		return 0
	fi
	SSHD_USER=$SSHD_TEST_USER
	sshd_user_create
}

sshd_cleanup() {
	if [ -n "$SSHD_DIR" ] && [ -f "$SSHD_DIR/ssh_config" ]; then
		$SSH -O exit "$SSHD_HOST" >/dev/null 2>&1
	fi
	if [ -n "$SSHD_PID" ]; then
		# The listener, then any session it left behind.
		for _p in $(pgrep -P "$SSHD_PID" 2>/dev/null); do
			kill "$_p" 2>/dev/null
		done
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
}
trap 'rc=$?; sshd_cleanup; store_cleanup; exit $rc' EXIT
# Output piped into a pager or head must not leave the daemons running.
trap 'exit 141' PIPE

sshd_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# sshd_start: keys, configs and the daemon in $SSHD_DIR; the helper's
# settings name the dovecot.conf given.
sshd_start() {
	_dovecot_conf=$1
	SSHD_DIR=$STORE_TMP/ssh
	SSHD_HOST=imapsync-test-server
	mkdir -p "$SSHD_DIR" && chmod 755 "$SSHD_DIR" || return 1
	ssh-keygen -q -t ed25519 -N '' -C host -f "$SSHD_DIR/host_key" ||
		return 1
	ssh-keygen -q -t ed25519 -N '' -C imapsync -f "$SSHD_DIR/user_key" ||
		return 1
	# The helper must be reachable by the store's user, whatever the
	# permissions of the build tree.
	cp "$IMAPSYNC_BUILD/imapsync-remote" "$SSHD_DIR/imapsync-remote"
	chmod 755 "$SSHD_DIR/imapsync-remote"
	echo "dovecot_config = $_dovecot_conf" >"$SSHD_DIR/remote.conf"
	chmod 644 "$SSHD_DIR/remote.conf"
	printf 'restrict,command="%s --config=%s" %s\n' \
		"$SSHD_DIR/imapsync-remote" "$SSHD_DIR/remote.conf" \
		"$(cat "$SSHD_DIR/user_key.pub")" >"$SSHD_DIR/authorized_keys"
	chmod 644 "$SSHD_DIR/authorized_keys"
	# A port free a moment ago may be taken by a test running alongside
	# before sshd binds it: sshd then fails, and another port is tried.
	_try=0
	while :; do
		_try=$((_try + 1))
		sshd_try_port && return 0
		[ $_try -lt 5 ] || break
		grep -q 'Address already in use' "$SSHD_DIR/sshd.log" || break
	done
	echo "sshd did not start:" >&2
	cat "$SSHD_DIR/sshd.log" >&2
	return 1
}

# sshd_try_port: sshd on a port that was free; fails if it cannot listen.
sshd_try_port() {
	SSHD_PORT=$(sshd_free_port) || return 1
	cat >"$SSHD_DIR/sshd_config" <<EOC
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
# The test directory sits under the world-writable /tmp.
StrictModes no
AllowUsers $SSHD_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
# Allowed here so that the tests show the key's "restrict" is what stops it.
AllowTcpForwarding yes
Subsystem sftp internal-sftp
LogLevel VERBOSE
${SSHD_EXTRA:-}
EOC
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
		"$(cut -d' ' -f1,2 "$SSHD_DIR/host_key.pub")" \
		>"$SSHD_DIR/known_hosts"
	cat >"$SSHD_DIR/ssh_config" <<EOC
Host $SSHD_HOST
	HostName 127.0.0.1
	Port $SSHD_PORT
	User $SSHD_USER
	IdentityFile $SSHD_DIR/user_key
	IdentitiesOnly yes
	UserKnownHostsFile $SSHD_DIR/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ControlMaster auto
	ControlPath $SSHD_DIR/cm-%C
	ControlPersist 120
	Compression yes
	ServerAliveInterval 15
	ServerAliveCountMax 3
	LogLevel ERROR
EOC
	SSH="ssh -F $SSHD_DIR/ssh_config"
	: >"$SSHD_DIR/sshd.log"
	"$SSHD_BIN" -D -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log" &
	SSHD_PID=$!
	# Listening when it says so (a connection could reach another
	# test's server on that port).
	_i=0
	while [ $_i -lt 200 ]; do
		grep -q "Server listening on 127.0.0.1 port $SSHD_PORT\." \
			"$SSHD_DIR/sshd.log" && return 0
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.05
		_i=$((_i + 1))
	done
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
	return 1
}

sshd_pair_new() {
	sync_pair_new "$@" || return 1
	sshd_ensure_user || return 1
	_rd=$SYNC_DIR/remote
	# Sessions through the helper get the user's real home: the store
	# is named by absolute paths.
	sed -i "s|^mail_location = \(.*\):~/|mail_location = \1:$_rd/home/|" \
		"$_rd/dovecot.conf" || return 1
	if [ "$(id -u)" = 0 ]; then
		_g=$(id -gn "$SSHD_USER")
		sed -i "s|--reuid=$STORE_USER --regid=$STORE_GROUP|--reuid=$SSHD_USER --regid=$_g|; s|USER=$STORE_USER |USER=$SSHD_USER |" \
			"$_rd/imap" || return 1
		chown -R "$SSHD_USER:$_g" "$_rd" || return 1
	fi
	sshd_start "$_rd/dovecot.conf" || return 1
	sed -i "/^\[remote\]/,\$ s|^command = .*|command = $SSH $SSHD_HOST|" \
		"$SYNC_CONF"
}

sshd_master_pid() {
	$SSH -O check "$SSHD_HOST" 2>&1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p'
}

sshd_accepted() {
	grep -c 'Accepted publickey' "$SSHD_DIR/sshd.log"
}
