#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 86-readme.sh: the README's "Set up the server" and "Set up the laptop",
# step by step as written, on one machine: two users (the server's mail
# user and the laptop user, each with the Dovecot of the system and a
# mail_location of their own), a real sshd on a loopback port, `make
# install` into a prefix, the installed ssh-config.example and the
# README's config; each step's check as the README gives it. What differs
# from a real setup: the prefix, the sshd's port and host key, and the
# helper's --config= (one of the ways the README gives). Root only.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own setup"
[ "$(id -u)" = 0 ] || tap_skip_all "needs root (two users, make install)"
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
[ -x "$SSHD_BIN" ] || tap_skip_all "sshd not installed"
[ -x "$IMAPSYNC_BUILD/imapsync-remote" ] ||
	tap_skip_all "imapsync-remote not built (dovecot-dev missing?)"
command -v setpriv >/dev/null 2>&1 || tap_skip_all "setpriv not installed"

T=$STORE_TMP
SRV=imapsync-rdm-srv
LAP=imapsync-rdm-lap
PREFIX=$T/usr
SSHD_PID=

readme_cleanup() {
	if [ -n "$SSHD_PID" ]; then
		as "$LAP" "ssh -O exit imapsync-mail" >/dev/null 2>&1
		for _p in $(pgrep -P "$SSHD_PID" 2>/dev/null); do
			kill "$_p" 2>/dev/null
		done
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
}
trap 'rc=$?; readme_cleanup; store_cleanup; exit $rc' EXIT

# A user of this test, with an empty home each time (a shell and '*' as
# the password: sshd without PAM refuses a locked account, even by key).
user_new() {
	if ! getent passwd "$1" >/dev/null; then
		useradd --system --user-group --create-home \
			--home-dir "/var/lib/$1" --shell /bin/sh --password '*' \
			--comment "imapsync README test" "$1" || return 1
	fi
	[ "$(getent shadow "$1" | cut -d: -f2)" = '*' ] ||
		usermod --password '*' "$1" || return 1
	_h=$(getent passwd "$1" | cut -d: -f6)
	find "$_h" -mindepth 1 -delete && chmod 755 "$_h" &&
		chown "$1:$(id -gn "$1")" "$_h"
}

# as USER COMMAND: COMMAND in sh, as USER would run it in a login.
as() {
	_u=$1
	shift
	setpriv --reuid="$_u" --regid="$(id -gn "$_u")" --init-groups \
		env -i HOME="/var/lib/$_u" USER="$_u" LOGNAME="$_u" \
		PATH="$PREFIX/bin:/usr/bin:/bin" sh -c "cd && $*"
}

user_new "$SRV" && user_new "$LAP"
tap_result $? "the server's mail user and the laptop user"
mkdir -p /run/sshd && chmod 755 /run/sshd

# --- Set up the server -------------------------------------------------------
# 1. make && make install (into a prefix); the helper's man page is there.
make -s -C "$IMAPSYNC_TOP" BUILD="$IMAPSYNC_BUILD" PREFIX="$PREFIX" \
	install >"$T/make.log" 2>&1
tap_result $? "server 1: make install"
sed 's/^/# /' "$T/make.log"
HELPER=$PREFIX/lib/imapsync/imapsync-remote
tap_ok "server 1: check: man imapsync-remote" \
	sh -c "MANPATH=$PREFIX/share/man man -w imapsync-remote >/dev/null"

# 2. The mail's place, in a dovecot.conf of the user's named by the
# helper's settings file (root's, writable by nobody else).
as "$SRV" 'mkdir -p .config/dovecot && printf "%s\n" \
	"!include /etc/dovecot/dovecot.conf" \
	"mail_location = maildir:~/Maildir" >.config/dovecot/dovecot.conf'
echo "dovecot_config = /var/lib/$SRV/.config/dovecot/dovecot.conf" \
	>"$T/remote.conf"
chmod 644 "$T/remote.conf"
as "$SRV" "$HELPER --config=$T/remote.conf --check" >"$T/check.out" 2>&1
tap_result $? "server 2: check: imapsync-remote --check, as the mail user"
sed 's/^/# /' "$T/check.out"
tap_ok "server 2: it says OK" grep -q '^result: OK' "$T/check.out"
tap_ok "server 2: it names the mail_location" \
	grep -q '^mail_location: maildir:~/Maildir$' "$T/check.out"
tap_ok "server 2: and the mailboxes it sees, with their messages" \
	grep -q '^mailboxes: *1, 0 messages in all' "$T/check.out"
tap_ok "server 2: an empty store is a warning" \
	grep -q '^WARNING: no mail in any mailbox' "$T/check.out"
tap_is "$(grep -c 'Info:' "$T/check.out")" 0 \
	"server 2: no Dovecot Info line in the report"
# Debian's default, mbox: and no mail: the warning says where to look.
echo "dovecot_config = /etc/dovecot/dovecot.conf" >"$T/remote-mbox.conf"
as "$SRV" "$HELPER --config=$T/remote-mbox.conf --check" \
	>"$T/check-mbox.out" 2>&1
sed 's/^/# /' "$T/check-mbox.out"
tap_ok "server 2: mbox: with no mail says to set a maildir" \
	grep -q '^WARNING: no mail in mbox:.*mail_location = maildir' \
	"$T/check-mbox.out"
# Run as root by mistake: a sentence, not IMAP.
"$HELPER" --config="$T/remote.conf" --check >"$T/check-root.out" \
	2>"$T/check-root.err"
tap_is $? 3 "server 2: --check as root fails (exit 3)"
tap_ok "server 2: saying why in a sentence" \
	grep -q 'refusing to run as root' "$T/check-root.err"
tap_is "$(grep -c 'BYE' "$T/check-root.out" "$T/check-root.err" |
	awk -F: '{ n += $2 } END { print n }')" 0 "server 2: and no * BYE"
tap_is "$("$HELPER" --version)" "imapsync-remote 0.1" \
	"server 1: imapsync-remote --version"

# --- Set up the laptop -------------------------------------------------------
# 1. imapsync --version; the user's own mail_location.
tap_is "$(as "$LAP" 'imapsync --version')" "imapsync 0.1" \
	"laptop 1: check: imapsync --version"
as "$LAP" 'mkdir -p .config/dovecot && printf "%s\n" \
	"!include /etc/dovecot/dovecot.conf" \
	"mail_location = maildir:~/Maildir" >.config/dovecot/dovecot.conf'
tap_is "$(as "$LAP" 'doveadm -c ~/.config/dovecot/dovecot.conf mailbox status messages INBOX' 2>&1)" \
	"INBOX messages=0" "laptop 1: check: doveadm mailbox status"

# 2. (The system's Dovecot daemon: systemctl, not in a test.)

# 3. A key for this only, and ssh-config.example's Host block (HostName
# and User changed, and the test sshd's Port).
PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
as "$LAP" "mkdir -m 700 -p .ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/imapsync"
sed -n '/^Host imapsync-mail/,/^# 2\./p' \
	"$PREFIX/share/doc/imapsync/ssh-config.example" | sed '$d' |
	sed "s/^\tHostName .*/\tHostName 127.0.0.1\n\tPort $PORT/; s/^\tUser .*/\tUser $SRV/" \
		>"/var/lib/$LAP/.ssh/config"
chown "$LAP" "/var/lib/$LAP/.ssh/config"
chmod 600 "/var/lib/$LAP/.ssh/config"
as "$LAP" 'ssh -G imapsync-mail' >"$T/ssh-G" 2>&1
tap_ok "laptop 3: check: ssh -G shows the ControlPath in ~/.ssh" \
	grep -q "^controlpath /var/lib/$LAP/.ssh/imapsync-" "$T/ssh-G"
ssh-keygen -q -t ed25519 -N '' -C host -f "$T/host_key"

# 4. The server's authorized_keys line.
as "$SRV" 'mkdir -m 700 -p .ssh && cat >.ssh/authorized_keys &&
	chmod 600 .ssh/authorized_keys' <<EOK
restrict,command="$HELPER --config=$T/remote.conf" $(cat "/var/lib/$LAP/.ssh/imapsync.pub")
EOK
cat >"$T/sshd_config" <<EOC
ListenAddress 127.0.0.1:$PORT
HostKey $T/host_key
PidFile $T/sshd.pid
AllowUsers $SRV
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
EOC
"$SSHD_BIN" -D -f "$T/sshd_config" -E "$T/sshd.log" &
SSHD_PID=$!
python3 - "$PORT" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
tap_result $? "the server's sshd listens"

# 5. Without the host key accepted, BatchMode fails: what the first step
# of 5 is for.
as "$LAP" 'ssh imapsync-mail </dev/null' >"$T/ssh0.out" 2>&1
tap_is $? 255 "laptop 5: before the host key is accepted, ssh fails"
tap_ok "laptop 5: with \"Host key verification failed.\"" \
	grep -q 'Host key verification failed' "$T/ssh0.out"

# ssh -o BatchMode=no imapsync-mail </dev/null, on a terminal, answering
# "yes" to the host key's question.
python3 - "$LAP" "$PREFIX" >"$T/ssh1.out" 2>&1 <<'PY'
import os, pty, select, subprocess, sys, time
user, prefix = sys.argv[1:3]
home = '/var/lib/' + user
gid = subprocess.check_output(['id', '-gn', user]).decode().strip()
pid, fd = pty.fork()
if pid == 0:
    null = os.open('/dev/null', os.O_RDONLY)
    os.dup2(null, 0)
    os.chdir(home)
    os.execvp('setpriv', ['setpriv', '--reuid=' + user, '--regid=' + gid,
              '--init-groups', 'env', '-i', 'HOME=' + home, 'USER=' + user,
              'PATH=%s/bin:/usr/bin:/bin' % prefix,
              'ssh', '-o', 'BatchMode=no', 'imapsync-mail'])
out, answered, deadline = b'', False, time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not answered and b'(yes/no' in out:
        os.write(fd, b'yes\n')
        answered = True
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitpid(pid, 0)[1] >> 8)
PY
tap_result $? "laptop 5: ssh -o BatchMode=no, the host key accepted"
sed 's/^/# /' "$T/ssh1.out"
tap_ok "laptop 5: it prints \"* PREAUTH ... Logged in\"" \
	grep -q '^\* PREAUTH.*Logged in' "$T/ssh1.out"
as "$LAP" 'ssh imapsync-mail id' >"$T/ssh2.out" 2>&1
tap_ok "laptop 5: ssh imapsync-mail id prints \"* BYE imapsync-remote: ...\"" \
	grep -q '^\* BYE imapsync-remote: ' "$T/ssh2.out"

# The README's config, the local command the user-config way of step 1.
as "$LAP" 'mkdir -p .config/imapsync && cat >.config/imapsync/config' <<'EOC'
[local]
type = tunnel
command = doveadm -c ~/.config/dovecot/dovecot.conf exec imap
null-stderr = YES

[remote]
type = tunnel
command = ssh imapsync-mail
null-stderr = YES
EOC

# Some mail on each side, then `imapsync`.
msg() {
	printf 'From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\n' "$1"
	printf 'Message-ID: <%s@readme.test>\r\n\r\nhello\r\n' "$1"
}
msg on-server | as "$SRV" "doveadm -c ~/.config/dovecot/dovecot.conf save -m INBOX"
msg on-laptop | as "$LAP" "doveadm -c ~/.config/dovecot/dovecot.conf save -m INBOX"
as "$LAP" imapsync >"$T/run0.out" 2>&1
tap_is $? 5 "laptop 5: imapsync: both sides hold mail, it stops first (exit 5)"
tap_ok "saying what a merge would do" grep -q \
	'1 would be copied to remote and 1 to local' "$T/run0.out"
sed 's/^/# /' "$T/run0.out"
as "$LAP" imapsync --force >"$T/run1.out" 2>&1
tap_result $? "laptop 5: imapsync --force merges them"
sed 's/^/# /' "$T/run1.out"
count() {
	as "$1" "doveadm -c ~/.config/dovecot/dovecot.conf mailbox status messages INBOX"
}
tap_is "$(count "$LAP") $(count "$SRV")" \
	"INBOX messages=2 INBOX messages=2" "both sides hold both messages"
as "$LAP" imapsync >"$T/run2.out" 2>&1
tap_result $? "a second run"
tap_is "$(grep -c 'Added' "$T/run2.out")" 0 "carries nothing again"
as "$LAP" 'ssh -O check imapsync-mail' >"$T/ssh-O" 2>&1
tap_ok "through the shared SSH connection (ControlPersist)" \
	grep -q 'Master running' "$T/ssh-O"
tap_ok "the state in ~/.local/share/imapsync/localhost.db" \
	test -s "/var/lib/$LAP/.local/share/imapsync/localhost.db"
tap_ok "and no lock file left" \
	test ! -e "/var/lib/$LAP/.local/share/imapsync/localhost.db.lock"

# 6. mutt's way to the local store: the same tunnel, no daemon.
printf 'a SELECT INBOX\r\nb LOGOUT\r\n' |
	as "$LAP" 'doveadm -c ~/.config/dovecot/dovecot.conf exec imap' \
		>"$T/mutt.out" 2>&1
tap_ok "laptop 6: the tunnel mutt uses shows the 2 messages" \
	grep -q '^\* 2 EXISTS' "$T/mutt.out"
tap_done
