#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 30-new.sh: new messages travel both ways, on the first sync and then
# incrementally; the state database maps every pair; a further run is a
# no-op.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --remote-format mdbox
store_append "$LOCAL" INBOX -s l1 -f '\Seen' -d 1600000000 >/dev/null
store_append "$LOCAL" INBOX -s l2 -d '01-Feb-2021 10:00:00 +0200' >/dev/null
store_append "$REMOTE" INBOX -s r1 -f '\Flagged $Label1' >/dev/null

sync_ok "first sync exits 0"
sync_dumps_equal "first sync: local and remote dumps equal"
tap_is "$(store_count "$LOCAL" INBOX)" 3 \
	"first sync: 3 messages in local INBOX"
tap_is "$(store_count "$REMOTE" INBOX)" 3 \
	"first sync: 3 messages in remote INBOX"
idx=$(sync_db_idx INBOX)
tap_is "$(sync_db "SELECT count(*) FROM mapping WHERE idx = '$idx'")" 3 \
	"first sync: 3 mapping rows for INBOX"
tap_check "first sync: the log reports Added messages" \
	grep -q 'Added' "$SYNC_ERR" "$SYNC_OUT"
tap_check "first sync: INTERNALDATE kept" \
	grep -q 'date 2020-09-13T12:26:40Z flags (\\Seen)' "$SYNC_DIR/dump.remote"

store_append "$LOCAL" INBOX -s l3 >/dev/null
store_append "$REMOTE" INBOX -s r2 -f '\Answered' >/dev/null
store_append "$REMOTE" INBOX -s r3 >/dev/null
sync_ok "incremental sync exits 0"
sync_dumps_equal "incremental sync: dumps equal"
tap_is "$(store_count "$LOCAL" INBOX)" 6 \
	"incremental sync: 6 messages in local INBOX"
tap_is "$(sync_db "SELECT count(*) FROM mapping WHERE idx = '$idx'")" 6 \
	"incremental sync: 6 mapping rows"
lnext=$(store_status "$LOCAL" INBOX | awk '{ print $4 }')
rnext=$(store_status "$REMOTE" INBOX | awk '{ print $4 }')
tap_is "$(sync_db "SELECT l.UIDNEXT || ' ' || r.UIDNEXT FROM local l, remote r WHERE l.idx = r.idx AND l.idx = '$idx'")" "$lnext $rnext" \
	"database UIDNEXT matches both servers"
tap_is "$(sync_db "SELECT count(DISTINCT lUID) || ' ' || count(DISTINCT rUID) FROM mapping WHERE idx = '$idx'")" "6 6" \
	"mapping pairs distinct local and remote UIDs"

cp "$SYNC_DIR/dump.local" "$SYNC_DIR/dump.before"
sync_noop "a second run is a no-op"
sync_dumps_equal "dumps still equal after the no-op run"
tap_check "the no-op run changed nothing" \
	diff -u "$SYNC_DIR/dump.before" "$SYNC_DIR/dump.local"
tap_done
