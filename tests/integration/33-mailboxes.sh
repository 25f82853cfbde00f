#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 33-mailboxes.sh: mailboxes created on either side appear on the other,
# with their hierarchy (a/b/c), modified UTF-7 names and spaces.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --remote-format mdbox
store_create "$LOCAL" a/b/c 'with space' 'x y/z w'
store_append "$LOCAL" a/b/c -s deep >/dev/null
store_append "$LOCAL" 'with space' -s spaced >/dev/null
store_append "$LOCAL" 'x y/z w' -s spaced2 >/dev/null
store_create "$REMOTE" 'Entw&APw-rfe' 'Entw&APw-rfe/&ZeVnLIqe-' INBOX/child
store_append "$REMOTE" 'Entw&APw-rfe' -s draft >/dev/null
store_append "$REMOTE" 'Entw&APw-rfe/&ZeVnLIqe-' -s nihongo >/dev/null
store_append "$REMOTE" INBOX/child -s child >/dev/null

sync_ok "sync exits 0"
sync_dumps_equal "dumps equal"
tap_check "a/b/c exists remotely" sh -c "$IMAPTOOL '$REMOTE' list | grep -qx '/ a/b/c'"
tap_check "the UTF-7 names exist locally" sh -c \
	"$IMAPTOOL '$LOCAL' list | grep -qx '/ Entw&APw-rfe/&ZeVnLIqe-'"
tap_is "$(store_count "$REMOTE" 'x y/z w')" 1 \
	"the spaced mailbox holds its message remotely"
tap_is "$(store_count "$LOCAL" INBOX/child)" 1 \
	"INBOX/child holds its message locally"
tap_check "the database knows a/b/c (NUL delimited)" sh -c \
	"python3 -c 'import sqlite3,sys; c = sqlite3.connect(sys.argv[1]); sys.exit(0 if c.execute(\"SELECT 1 FROM mailboxes WHERE CAST(mailbox AS BLOB) = ?\", (b\"a\\0b\\0c\",)).fetchone() else 1)' '$SYNC_DB'"
tap_check "the database knows the UTF-7 names as sent" \
	test -n "$(sync_db_idx 'Entw&APw-rfe/&ZeVnLIqe-')"

store_create "$REMOTE" a/b/d 'with space/inner'
store_append "$REMOTE" a/b/d -s sibling >/dev/null
store_create "$LOCAL" 'Entw&APw-rfe/neu'
sync_ok "sync of mailboxes under existing parents exits 0"
sync_dumps_equal "dumps equal after the second round"
tap_is "$(store_count "$LOCAL" a/b/d)" 1 \
	"a/b/d arrived locally with its message"
sync_noop "a further run is a no-op"
tap_done
