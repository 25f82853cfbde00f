#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 39-uidvalidity.sh: a mailbox recreated on one side (new UIDVALIDITY) is
# left alone with advice, the run ends non-zero; imapsync still syncs the
# other mailboxes (interimap aborts the whole run).  Dropping the mailbox
# from the database then merges both contents.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
store_create "$LOCAL" victim other
for i in 1 2 3; do
	store_append "$LOCAL" victim -s v$i >/dev/null
	store_append "$LOCAL" other -s o$i >/dev/null
done
sync_ok "initial sync exits 0"
old=$(store_uidvalidity "$REMOTE" victim)
idx=$(sync_db_idx victim)

store_delete "$REMOTE" victim
store_create "$REMOTE" victim
store_append "$REMOTE" victim -s reborn >/dev/null
store_append "$LOCAL" other -s o4 >/dev/null
tap_check "the recreated mailbox has a new UIDVALIDITY" \
	test "$(store_uidvalidity "$REMOTE" victim)" != "$old"

sync_run
tap_check "the run exits non-zero" test "$SYNC_RC" -ne 0
tap_check "the log names the mailbox and UIDVALIDITY" sh -c \
	"cat '$SYNC_ERR' '$SYNC_OUT' | grep -iE 'uidvalidity.*victim|victim.*uidvalidity'"
tap_is "$(sync_db "SELECT UIDVALIDITY FROM remote WHERE idx = '$idx'")" "$old" \
	"the database keeps the old remote UIDVALIDITY"
tap_is "$(store_count "$LOCAL" victim)" 3 \
	"local victim untouched"
tap_is "$(store_count "$REMOTE" victim)" 1 \
	"remote victim untouched"
sync_imapsync_only "the other mailboxes were synced" \
	test "$(store_count "$REMOTE" other)" = 4
sync_imapsync_only "the log gives advice (--repair or --delete)" sh -c \
	"cat '$SYNC_ERR' '$SYNC_OUT' | grep -qE -- '--(repair|delete|target)'"

sync_run
tap_check "a second run still exits non-zero" test "$SYNC_RC" -ne 0
tap_is "$(store_count "$LOCAL" victim) $(store_count "$REMOTE" victim)" "3 1" \
	"a second run still leaves victim alone"

sync_ok "forgetting victim in the database works" --target=database \
	--delete victim
sync_ok "the next sync exits 0"
sync_dumps_equal "dumps equal: both contents merged"
tap_is "$(store_count "$LOCAL" victim) $(store_count "$REMOTE" victim)" "4 4" \
	"victim holds the old and the new messages"
tap_is "$(store_count "$REMOTE" other)" 4 \
	"other caught up"
tap_done
