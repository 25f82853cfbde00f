#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 37-recent.sh: \Recent is never copied: no APPEND or STORE names it, and
# no flag derived from it appears on the other side.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
# Appended outside a selected session: \Recent for the next SELECT, which
# is the sync's.
store_append "$LOCAL" INBOX -s l1 -f '\Seen' >/dev/null
store_append "$LOCAL" INBOX -s l2 >/dev/null
store_append "$REMOTE" INBOX -s r1 -f '\Flagged' >/dev/null
store_create "$LOCAL" box
store_append "$LOCAL" box -s b1 >/dev/null

sync_ok "sync with --debug exits 0" --debug
cp "$SYNC_ERR" "$SYNC_DIR/trace1"
tap_check "the trace shows IMAP traffic" grep -qi 'APPEND' "$SYNC_DIR/trace1"
tap_check "no APPEND or STORE carries \\Recent" sh -c \
	"! grep -iE '(APPEND|STORE).*\\\\Recent' '$SYNC_DIR/trace1'"
sync_dumps_equal "dumps equal"
tap_check "no Recent-like flag or keyword on either side" sh -c \
	"! grep -i 'recent' '$SYNC_DIR/dump.local' '$SYNC_DIR/dump.remote'"

store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l2)" +FLAGS '\Answered'
store_append "$REMOTE" INBOX -s r2 >/dev/null
sync_ok "incremental sync with --debug exits 0" --debug
tap_check "incremental: no APPEND or STORE carries \\Recent" sh -c \
	"! grep -iE '(APPEND|STORE).*\\\\Recent' '$SYNC_ERR'"
sync_dumps_equal "incremental: dumps equal"
tap_check "incremental: no Recent-like flag on either side" sh -c \
	"! grep -i 'recent' '$SYNC_DIR/dump.local' '$SYNC_DIR/dump.remote'"
tap_is "$($IMAPTOOL "$REMOTE" flags INBOX | sed 's/ \\Recent//' | awk '{ $1 = ""; print substr($0, 2) }' | sort | tr '\n' ,)" ",\\Answered,\\Flagged,\\Seen," \
	"the copied flags are exactly the sent ones"
tap_done
