#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 67-verify.sh: --verify compares both stores with the database, mailbox
# by mailbox, says each divergence in plain words and exits 6; --repair
# mends what it found (a message expunged behind the database's back, a
# pair joining two different messages) without a duplicate.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_imapsync_only "--verify"

sync_pair_new
{
	echo "create box"
	i=1
	while [ $i -le 8 ]; do
		echo "append box -s v$i --size $((1000 + i * 10))"
		echo "append INBOX -s i$i"
		i=$((i + 1))
	done
} | store_script "$REMOTE" >/dev/null
sync_ok "first sync exits 0"

sync_run --verify
tap_is "$SYNC_RC" 0 "--verify of stores in step exits 0"
tap_check "and says they agree" \
	grep -q 'both stores agree with the database' "$SYNC_ERR"

# Pending work is not a divergence: a new message, a flag, an expunge.
store_append "$LOCAL" box -s pending >/dev/null
store_flags "$REMOTE" box 1 +FLAGS '\Flagged'
store_expunge "$REMOTE" INBOX 2
sync_run --verify
tap_is "$SYNC_RC" 0 "changes a sync would carry are no divergence"
before_l=$(store_dump "$LOCAL")
before_r=$(store_dump "$REMOTE")
before_db=$(sync_db "SELECT * FROM mapping ORDER BY 1, 2; SELECT * FROM local; SELECT * FROM remote")
sync_run --verify
tap_is "$(store_dump "$LOCAL")|$(store_dump "$REMOTE")" \
	"$before_l|$before_r" "--verify changes neither store"
tap_is "$(sync_db "SELECT * FROM mapping ORDER BY 1, 2; SELECT * FROM local; SELECT * FROM remote")" \
	"$before_db" "--verify changes nothing in the database"
sync_ok "then a sync exits 0"
sync_dumps_equal "dumps equal"

# A message expunged on local behind the database's back: the database
# is told the mailbox's new numbers, so no sync would ever see it.
idx=$(sync_db_idx box)
uid=$(store_uid_of "$LOCAL" box v3)
store_expunge "$LOCAL" box "$uid"
set -- $(store_status "$LOCAL" box) # UIDVALIDITY v UIDNEXT n HIGHESTMODSEQ m
sync_db "UPDATE local SET UIDNEXT = $4, HIGHESTMODSEQ = $6 WHERE idx = $idx"
sync_run --verify
tap_is "$SYNC_RC" 6 "--verify finds the lost message: exit 6"
tap_check "it names the side, the mailbox and what --repair does" \
	grep -q '^local(box): WARNING: 1 paired message is missing here, and no sync saw it expunged; --repair would copy it again from remote' "$SYNC_ERR"
tap_check "and a total" grep -q '1 divergence in 1 of them' "$SYNC_ERR"
sync_run
tap_is "$SYNC_RC" 0 "a plain sync does not see it (why --verify exists)"
sync_ok "--repair exits 0" --repair
sync_dumps_equal "after --repair: dumps equal"
tap_is "$(store_count "$LOCAL" box)" 9 "the message is back, once"
sync_run --verify
tap_is "$SYNC_RC" 0 "then --verify finds nothing"

# Two pairs swapped in the database: each joins two different messages.
l1=$(store_uid_of "$LOCAL" box v5)
l2=$(store_uid_of "$LOCAL" box v6)
r1=$(sync_db "SELECT rUID FROM mapping WHERE idx = $idx AND lUID = $l1")
r2=$(sync_db "SELECT rUID FROM mapping WHERE idx = $idx AND lUID = $l2")
# rUID is unique per mailbox: through a free value.
sync_db "UPDATE mapping SET rUID = 4000000000 WHERE idx = $idx AND lUID = $l1;
	UPDATE mapping SET rUID = $r1 WHERE idx = $idx AND lUID = $l2;
	UPDATE mapping SET rUID = $r2 WHERE idx = $idx AND lUID = $l1"
sync_run --verify
tap_is "$SYNC_RC" 6 "--verify finds the swapped pairs: exit 6"
tap_check "it says they join different messages" \
	grep -q '^database(box): WARNING: 2 pairs join two different messages; --repair would pair them again by content' "$SYNC_ERR" 
sync_ok "--repair exits 0" --repair
tap_is "$(sync_db "SELECT rUID FROM mapping WHERE idx = $idx AND lUID IN ($l1, $l2) ORDER BY lUID")" \
	"$(printf '%s\n%s' "$r1" "$r2")" "the pairs are right again"
tap_check "nothing copied" sh -c "! grep -q 'Added' '$SYNC_ERR'"
sync_dumps_equal "dumps equal, no duplicate"
sync_run --verify
tap_is "$SYNC_RC" 0 "then --verify finds nothing"
tap_done
