#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# demo.sh BUILD: `make demo`. Two throwaway Dovecot stores, a "server"
# filled with a few hundred messages, an sshd on a free loopback port whose
# authorized_keys forces imapsync-remote, and imapsync syncing the laptop
# through it: once, then after changes on both sides. The daemons stop at
# the end; the stores stay, in the directory printed, for looking.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
IMAPSYNC_TOP=$top
IMAPSYNC_BUILD=$(cd "$top" && cd "${1:-build}" && pwd) || exit 1
export IMAPSYNC_TOP IMAPSYNC_BUILD
TMPDIR=${TMPDIR:-/tmp}
# shellcheck source=../tests/lib/sync.sh
. "$top/tests/lib/sync.sh"
# shellcheck source=../tests/lib/sshd.sh
. "$top/tests/lib/sshd.sh"
# Keep the stores for looking; the trap still stops sshd and the master.
store_cleanup() { :; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
	echo "demo: $*" >&2
	exit 1
}

say "Setting up in $STORE_TMP"
sshd_pair_new --name demo || fail "cannot set up the stores and sshd"
D=$SYNC_DIR
echo "laptop store:  $D/local  (Dovecot, maildir; user $STORE_USER)"
echo "server store:  $D/remote (Dovecot, maildir; user $SSHD_USER)"
echo "sshd:          127.0.0.1:$SSHD_PORT, log $SSHD_DIR/sshd.log"
echo "forced command (authorized_keys):"
sed 's/ssh-ed25519 .*/ssh-ed25519 AAAA.../; s/^/    /' \
	"$SSHD_DIR/authorized_keys"

say "Filling the server with sample mail"
python3 "$top/mk/demo-fill.py" "$D/sample-mail" 300 >"$D/fill.script" ||
	fail "cannot write the sample mail"
store_script "$REMOTE" <"$D/fill.script" >/dev/null ||
	fail "cannot fill the server store"
$IMAPTOOL "$REMOTE" list | while read -r _delim box; do
	# Parents such as "Lists" hold no messages (\Noselect).
	n=$(store_count "$REMOTE" "$box" 2>/dev/null) || continue
	printf '    %-16s %4s messages\n' "$box" "$n"
done

say "imapsync's configuration ($SYNC_CONF)"
sed 's/^/    /' "$SYNC_CONF"

say "First sync: the laptop is empty, the server full"
start=$(date +%s)
XDG_CONFIG_HOME=$D/xdg-config XDG_DATA_HOME=$D/xdg-data \
	"$IMAPSYNC_BUILD/imapsync" --config="$SYNC_CONF" </dev/null ||
	fail "the first sync failed (exit status $?)"
echo "(took $(($(date +%s) - start)) s; the SSH connection stays up:" \
	"ControlPersist, master pid $(sshd_master_pid))"

say "Changing both sides"
l1=$(store_uid_of "$LOCAL" INBOX "$(sed -n 's/^Subject: //p' "$D/sample-mail/0001.eml" | tr -d '\r')" | head -n 1)
echo "laptop: flag a message, delete another, write a draft"
store_flags "$LOCAL" INBOX "$l1" +FLAGS '\Flagged' >/dev/null
store_expunge "$LOCAL" INBOX "$(store_uids "$LOCAL" INBOX | sed -n 2p)" >/dev/null
store_create "$LOCAL" Drafts >/dev/null
store_append "$LOCAL" Drafts -s "Draft: reply about the demo" -f '\Draft' >/dev/null
echo "server: two new messages arrive, a new folder, one marked read"
store_append "$REMOTE" INBOX -s "New: imapsync demo says hello" >/dev/null
store_append "$REMOTE" INBOX -s "New: second message" >/dev/null
store_create "$REMOTE" Receipts >/dev/null
store_append "$REMOTE" Receipts -s "Your receipt" -f '\Seen' >/dev/null
store_flags "$REMOTE" Work "$(store_uids "$REMOTE" Work | head -n 1)" +FLAGS '\Seen' >/dev/null

say "Second sync: only the changes travel, over the same SSH connection"
XDG_CONFIG_HOME=$D/xdg-config XDG_DATA_HOME=$D/xdg-data \
	"$IMAPSYNC_BUILD/imapsync" --config="$SYNC_CONF" </dev/null ||
	fail "the second sync failed (exit status $?)"
echo "(sshd accepted $(sshd_accepted) connection(s) in all)"

say "Result"
store_dump "$LOCAL" >"$D/dump.local"
store_dump "$REMOTE" >"$D/dump.remote"
if cmp -s "$D/dump.local" "$D/dump.remote"; then
	echo "The two stores are identical: $(grep -c '^  ' "$D/dump.local") messages in $($IMAPTOOL "$LOCAL" list | wc -l) mailboxes."
else
	diff -u "$D/dump.local" "$D/dump.remote" | head -n 20
	fail "the stores differ"
fi

say "Looking at the stores (sshd is stopped; the stores stay)"
cat <<EOT
  Mailboxes and counts (each 'imap' script starts a pre-authenticated
  Dovecot session on that store):
    python3 $top/tests/lib/imaptool.py $LOCAL list
    python3 $top/tests/lib/imaptool.py $REMOTE list
    python3 $top/tests/lib/imaptool.py $LOCAL count INBOX
  Everything, messages with flags, comparable between the two:
    python3 $top/tests/lib/imaptool.py $LOCAL dump | less
  The files themselves:
    find $D/local/home/Mail -type d -name cur
  imapsync's state (SQLite):
    sqlite3 $SYNC_DB 'SELECT * FROM mailboxes'
  Remove it all:
    rm -rf $STORE_TMP
EOT
