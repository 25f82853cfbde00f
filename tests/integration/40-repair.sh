#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 40-repair.sh: --repair after the database lost mapping rows leaves both
# stores identical and the mapping whole; imapsync also adds no duplicate
# (interimap copies the unmapped messages again, as its manual says).
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
tap_done
