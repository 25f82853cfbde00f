#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 31-flags.sh: flags and keywords travel both ways, additions and removals;
# a message changed on both sides ends with both sides' changes from the
# flags last synced, per flag, on both sides (interimap: the union of
# both lists), with a line saying what was merged.
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
if sync_is_interimap; then
	tap_check "conflict: the log warns" grep -qi 'warning.*conflict' \
		"$SYNC_ERR" "$SYNC_OUT"
else
	tap_check "conflict: the log says what was merged" grep -qF \
		"local(INBOX): merged flags for UID $(l m3) (+\\Answered from local, +kwlocal from local, +\\Seen from remote, +kwremote from remote)" \
		"$SYNC_ERR"
fi

# Both sides changed the same messages' flags since the last sync: each
# flag as the side that changed it left it (issue 18), where interimap
# sets the union and so undoes every removal.
for s in p1 p2 p3 p4 p5; do
	store_append "$LOCAL" INBOX -s $s >/dev/null
done
sync_ok "per-flag merge: new messages synced"
store_flags "$LOCAL" INBOX "$(l p1)" FLAGS '\Seen'
store_flags "$LOCAL" INBOX "$(l p2)" FLAGS '$label2'
store_flags "$LOCAL" INBOX "$(l p3)" FLAGS '\Answered \Flagged \Seen'
store_flags "$LOCAL" INBOX "$(l p5)" FLAGS '\Draft'
sync_ok "per-flag merge: the base synced"
# p1: marked unread here, flagged there.
store_flags "$LOCAL" INBOX "$(l p1)" -FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(r p1)" +FLAGS '\Flagged'
# p2: a keyword added here, another removed there.
store_flags "$LOCAL" INBOX "$(l p2)" +FLAGS '$label1'
store_flags "$REMOTE" INBOX "$(r p2)" -FLAGS '$label2'
# p3: each side removes another flag.
store_flags "$LOCAL" INBOX "$(l p3)" -FLAGS '\Flagged'
store_flags "$REMOTE" INBOX "$(r p3)" -FLAGS '\Seen'
# p4: both add the same flag.
store_flags "$LOCAL" INBOX "$(l p4)" +FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(r p4)" +FLAGS '\Seen'
# p5: both change it, and one of them changes it back.
store_flags "$LOCAL" INBOX "$(l p5)" +FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(r p5)" -FLAGS '\Draft'
store_flags "$REMOTE" INBOX "$(r p5)" +FLAGS '\Draft'
sync_ok "per-flag merge: sync exits 0"
sync_dumps_equal "per-flag merge: dumps equal"
sync_imapsync_only "per-flag merge: -\\Seen local, +\\Flagged remote: \\Flagged" \
	test "$(flags "$LOCAL" p1)" = '\Flagged'
sync_imapsync_only "per-flag merge: the line says which side changed what" \
	grep -qF "local(INBOX): merged flags for UID $(l p1) (-\\Seen from local, +\\Flagged from remote)" \
	"$SYNC_ERR"
# (Dovecot spells a keyword as the mailbox first saw it: $Label1.)
sync_imapsync_only "per-flag merge: +\$label1 local, -\$label2 remote: \$label1" \
	test "$(flags "$REMOTE" p2 | tr A-Z a-z)" = '$label1'
sync_imapsync_only "per-flag merge: both remove another flag: both gone" \
	test "$(flags "$REMOTE" p3)" = '\Answered'
tap_is "$(flags "$LOCAL" p4)" '\Seen' "per-flag merge: both add the same flag"
tap_check "per-flag merge: the same change on both sides is no conflict" \
	sh -c "! grep -Ei 'UID $(l p4) |conflict.*local UID $(l p4) ' '$SYNC_ERR'"
tap_is "$(flags "$REMOTE" p5)" '\Draft \Seen' \
	"per-flag merge: a flag changed and back is unchanged"
sync_noop "per-flag merge: the next run is a no-op"
# Once merged, the next conflict merges from the merged flags.
store_flags "$LOCAL" INBOX "$(l p1)" +FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(r p1)" -FLAGS '\Flagged'
sync_ok "per-flag merge: a second conflict"
sync_imapsync_only "per-flag merge: from the merged flags, the next time" \
	test "$(flags "$LOCAL" p1)/$(flags "$REMOTE" p1)" = '\Seen/\Seen'

store_flags "$LOCAL" INBOX "$(l m1)" +FLAGS '\Deleted'
sync_ok "sync of \\Deleted (not expunged) exits 0"
tap_is "$(flags "$REMOTE" m1) $(store_count "$REMOTE" INBOX)" '\Deleted \Flagged 9' \
	"\\Deleted travels as a flag, the message stays"
sync_noop "a further run is a no-op"
tap_done
