#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 40-repair.sh: --repair after the database lost mapping rows leaves both
# stores identical and the mapping whole; imapsync also adds no duplicate
# (interimap copies the unmapped messages again, as its manual says).
# Flags apart are merged from each pair's last synced flags, saying which
# side's change was kept (interimap: the union).
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --remote-format mdbox
for i in 1 2 3 4 5; do
	store_append "$LOCAL" INBOX -s l$i >/dev/null
done
store_append "$REMOTE" INBOX -s r1 -f '\Flagged' >/dev/null
store_append "$REMOTE" INBOX -s r2 >/dev/null
store_create "$LOCAL" x
for i in 1 2 3; do
	store_append "$LOCAL" x -s x$i >/dev/null
done
sync_ok "initial sync exits 0"
ib=$(sync_db_idx INBOX)
xb=$(sync_db_idx x)
mapped() { sync_db "SELECT count(*) FROM mapping WHERE idx = '$1'"; }
tap_is "$(mapped "$ib")" 7 \
	"7 INBOX messages mapped"

l1=$(store_uid_of "$LOCAL" INBOX l1)
r1=$(store_uid_of "$REMOTE" INBOX r1)
sync_db "DELETE FROM mapping WHERE idx = '$ib' AND (lUID = '$l1' OR rUID = '$r1');
	DELETE FROM mapping WHERE idx = '$xb' AND lUID IN (SELECT min(lUID) FROM mapping WHERE idx = '$xb');"
tap_is "$(sync_db "SELECT count(*) FROM mapping")" 7 \
	"three mapping rows gone"
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l3)" +FLAGS '\Seen'

sync_ok "--repair exits 0" --repair
sync_dumps_equal "after --repair: dumps equal"
tap_check "the flag change was propagated" sh -c \
	"$IMAPTOOL '$REMOTE' flags INBOX | grep -q '\\\\Seen'"
for b in INBOX x; do
	n=$(store_count "$LOCAL" $b)
	tap_is "$(mapped "$(sync_db_idx $b)") $(store_count "$REMOTE" $b)" "$n $n" \
		"$b: every message mapped after --repair"
done
sync_imapsync_only "no duplicate in INBOX" \
	test "$(store_count "$LOCAL" INBOX)" = 7
sync_imapsync_only "no duplicate in x" test "$(store_count "$LOCAL" x)" = 3
sync_noop "a plain sync after --repair is a no-op"

# Flags: --repair merges them from each pair's last synced flags and says
# which side's change it kept (issue 18). l2 lost \Seen on the local
# side and l4 gained \Flagged on the remote side in changes no sync saw
# (the stored HIGHESTMODSEQs moved up to them), l5 changed on both sides.
# interimap: the union of what differs.
for s in l2 l5; do
	store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX $s)" \
		+FLAGS '\Seen' >/dev/null
done
sync_ok "flags: synced"
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l2)" -FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l4)" +FLAGS '\Flagged'
# (base_mark too: else the numbers say another program synced INBOX.)
hms() { store_status "$1" INBOX | awk '{ print $6 }'; }
sync_db "UPDATE local SET HIGHESTMODSEQ = $(hms "$LOCAL") WHERE idx = $ib;
	UPDATE remote SET HIGHESTMODSEQ = $(hms "$REMOTE") WHERE idx = $ib;
	UPDATE base_mark SET local_hms = $(hms "$LOCAL"),
		remote_hms = $(hms "$REMOTE") WHERE idx = $ib;" 2>/dev/null
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l5)" -FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l5)" +FLAGS '\Answered'
sync_ok "flags: --repair exits 0" --repair
sync_dumps_equal "flags: after --repair: dumps equal"
fl() {
	$IMAPTOOL "$REMOTE" flags INBOX | awk -v u="$(store_uid_of "$REMOTE" INBOX "$1")" \
		'$1 == u { s = ""; for (i = 2; i <= NF; i++) if ($i != "\\Recent") s = s " " $i; print substr(s, 2) }'
}
sync_imapsync_only "flags: a removal no sync saw is kept" test "$(fl l2)" = ''
sync_imapsync_only "flags: and said, with the side" grep -qF \
	"merged flags for UID $(store_uid_of "$LOCAL" INBOX l2) (-\\Seen from local)" \
	"$SYNC_ERR"
tap_is "$(fl l4)" '\Flagged' "flags: an addition no sync saw is kept"
sync_imapsync_only "flags: changed on both sides: merged per flag" \
	test "$(fl l5)" = '\Answered'
sync_imapsync_only "flags: and said, with the sides" grep -qF \
	"merged flags for UID $(store_uid_of "$LOCAL" INBOX l5) (-\\Seen from local, +\\Answered from remote)" \
	"$SYNC_ERR"
sync_noop "flags: a plain sync after --repair is a no-op"
tap_done
