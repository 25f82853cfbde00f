#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 31-flags.sh: flags and keywords travel both ways, additions and removals;
# a message changed on both sides ends with the union of both flag lists
# on both sides, with a warning.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
for s in m1 m2 m3 m4; do
	store_append "$LOCAL" INBOX -s $s >/dev/null
done
sync_ok "initial sync exits 0"

l() { store_uid_of "$LOCAL" INBOX "$1"; }
r() { store_uid_of "$REMOTE" INBOX "$1"; }
# flags SIDE SUBJECT: the message's flags, sorted, \Recent left out.
flags() {
	$IMAPTOOL "$1" flags INBOX | awk -v u="$(store_uid_of "$1" INBOX "$2")" \
		'$1 == u { $1 = ""; s = ""; for (i = 2; i <= NF; i++) if ($i != "\\Recent") s = s " " $i; print substr(s, 2) }'
}

store_flags "$LOCAL" INBOX "$(l m1)" +FLAGS '\Seen \Flagged'
store_flags "$REMOTE" INBOX "$(r m2)" +FLAGS '$Label1 custom'
store_flags "$LOCAL" INBOX "$(l m4)" +FLAGS '\Draft \Answered'
sync_ok "sync after flag additions exits 0"
sync_dumps_equal "flags and keywords added on each side: dumps equal"
tap_is "$(flags "$REMOTE" m1)" '\Flagged \Seen' \
	"system flags reached the remote side"
tap_is "$(flags "$LOCAL" m2)" '$Label1 custom' \
	"keywords reached the local side"

store_flags "$LOCAL" INBOX "$(l m1)" -FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(r m2)" -FLAGS 'custom'
store_flags "$REMOTE" INBOX "$(r m4)" FLAGS ''
sync_ok "sync after flag removals exits 0"
sync_dumps_equal "flags removed on each side: dumps equal"
tap_is "$(flags "$REMOTE" m1)" '\Flagged' \
	"a removed system flag is gone remotely"
tap_is "$(flags "$LOCAL" m2)" '$Label1' \
	"a removed keyword is gone locally"
tap_is "$(flags "$LOCAL" m4)" '' \
	"clearing every flag travels"

store_flags "$LOCAL" INBOX "$(l m3)" +FLAGS '\Answered kwlocal'
store_flags "$REMOTE" INBOX "$(r m3)" +FLAGS '\Seen kwremote'
sync_ok "sync after a conflicting change exits 0"
sync_dumps_equal "conflict: dumps equal"
tap_is "$(flags "$LOCAL" m3)" '\Answered \Seen kwlocal kwremote' \
	"conflict: local has the union"
tap_is "$(flags "$REMOTE" m3)" '\Answered \Seen kwlocal kwremote' \
	"conflict: remote has the union"
tap_check "conflict: the log warns" grep -qi 'warning.*conflict' \
	"$SYNC_ERR" "$SYNC_OUT"

store_flags "$LOCAL" INBOX "$(l m1)" +FLAGS '\Deleted'
sync_ok "sync of \\Deleted (not expunged) exits 0"
tap_is "$(flags "$REMOTE" m1) $(store_count "$REMOTE" INBOX)" '\Deleted \Flagged 4' \
	"\\Deleted travels as a flag, the message stays"
sync_noop "a further run is a no-op"
tap_done
