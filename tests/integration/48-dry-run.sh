#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 48-dry-run.sh: --dry-run says what a sync would do and changes nothing:
# not the stores, not the database; the real sync afterwards does it.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's --dry-run"

sync_pair_new
{
	for i in 1 2 3; do echo "append INBOX -s l$i"; done
} | store_script "$LOCAL" >/dev/null
sync_ok "first sync exits 0"
{
	echo "append INBOX -s l4"
	echo "create fresh"
	echo "append fresh -s f1"
	echo "append fresh -s f2"
} | store_script "$LOCAL" >/dev/null
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l1)" +FLAGS '\Seen'
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l2)"

dbstate() {
	sync_db "SELECT count(*) FROM mailboxes; SELECT count(*) FROM mapping;
		SELECT group_concat(UIDNEXT || '/' || HIGHESTMODSEQ) FROM local;
		SELECT group_concat(UIDNEXT || '/' || HIGHESTMODSEQ) FROM remote"
}
store_dump "$LOCAL" --keep-recent >"$SYNC_DIR/before.local"
store_dump "$REMOTE" --keep-recent >"$SYNC_DIR/before.remote"
db_before=$(dbstate)

sync_ok "--dry-run exits 0" --dry-run
tap_check "it would create the new mailbox" \
	grep -q 'remote: would create mailbox fresh' "$SYNC_ERR"
tap_check "and copy its messages" grep -q 'remote(fresh): would add 2' \
	"$SYNC_ERR"
tap_check "it would copy the new INBOX message" \
	grep -q 'remote(INBOX): would add 1 message' "$SYNC_ERR"
tap_check "carry the flag change" \
	grep -q 'local(INBOX): would update the flags of 1' "$SYNC_ERR"
tap_check "and the expunge" \
	grep -q 'local(INBOX): would remove the pairs of 1' "$SYNC_ERR"
tap_check "nothing is said to be done" sh -c \
	"! grep -E 'Added|Removed|Updated|Created|Subscribe' '$SYNC_ERR'"
store_dump "$LOCAL" --keep-recent >"$SYNC_DIR/after.local"
store_dump "$REMOTE" --keep-recent >"$SYNC_DIR/after.remote"
tap_check "local store untouched (\\Recent included)" \
	diff -u "$SYNC_DIR/before.local" "$SYNC_DIR/after.local"
tap_check "remote store untouched" \
	diff -u "$SYNC_DIR/before.remote" "$SYNC_DIR/after.remote"
tap_is "$(dbstate)" "$db_before" "database untouched"

sync_ok "the real sync exits 0"
sync_dumps_equal "then dumps equal"
tap_done
