#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 43-noop-select.sh: a run with nothing to do selects no mailbox: the
# LIST ... RETURN (STATUS) answer shows every mailbox unchanged.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
store_create "$LOCAL" a a/b c
store_create "$REMOTE" a/b c
for b in INBOX a/b c; do
	store_append "$LOCAL" "$b" -s "in $b" -f '\Seen' >/dev/null
	store_append "$REMOTE" "$b" -s "remote $b" >/dev/null
done
sync_ok "initial sync exits 0"
sync_ok "second sync with --debug=imap exits 0" --debug=imap
cat "$SYNC_ERR" "$SYNC_OUT" >"$SYNC_DIR/trace"
tap_check "the trace shows the LIST" grep -q 'LIST' "$SYNC_DIR/trace"
tap_check "no SELECT or EXAMINE in a no-op run" sh -c \
	"! grep -E ' (SELECT|EXAMINE) ' '$SYNC_DIR/trace'"
# The delimiter comes with the mailboxes listed (a/b), and the message
# counts are not asked (the brake counts what vanished): one LIST.
tap_is "$(grep -cE '^(local|remote) -> [^ ]+ LIST ' "$SYNC_DIR/trace")" 2 \
	"one LIST per side"
tap_check "no MESSAGES asked" sh -c "! grep -q MESSAGES '$SYNC_DIR/trace'"
store_append "$REMOTE" c -s later >/dev/null
sync_ok "a sync after one change with --debug=imap exits 0" --debug=imap
cat "$SYNC_ERR" "$SYNC_OUT" >"$SYNC_DIR/trace2"
tap_is "$(grep -E ' (SELECT|EXAMINE) ' \
	"$SYNC_DIR/trace2" | sed -E 's/.* (SELECT|EXAMINE) "?([^" ]*)"?.*/\2/' |
	sort -u | tr '\n' ' ')" "c " \
	"only the changed mailbox is selected"
# Local's LIST-STATUS shows c unchanged there: its only selection is the
# one that receives the copy, none to ask what changed.
tap_is "$(grep -cE '^local -> [^ ]+ (SELECT|EXAMINE) c' "$SYNC_DIR/trace2")" 1 \
	"the unchanged side is selected once, to receive the copy"
tap_is "$(grep -cE '^remote -> [^ ]+ (SELECT|EXAMINE) c' "$SYNC_DIR/trace2")" 1 \
	"the changed side once: the SELECT that asked what changed is still there for the copy's FETCH"
# Only new mail on remote (LIST: HIGHESTMODSEQ moved no more than
# UIDNEXT): no message can have moved there, so no sizes are asked.
tap_check "new mail only: no sizes asked" sh -c \
	"! grep -q 'RFC822.SIZE' '$SYNC_DIR/trace2'"
sync_dumps_equal "dumps equal"

# A mailbox the sync has never seen: LIST-STATUS gave its numbers, and
# everything in it is new, so nothing is asked before its copy.
store_create "$REMOTE" d
store_append "$REMOTE" d -s d1 >/dev/null
store_append "$REMOTE" d -s d2 >/dev/null
sync_ok "a sync of a new mailbox with --debug=imap exits 0" --debug=imap
tap_is "$(grep -cE '^remote -> [^ ]+ (SELECT|EXAMINE) d' "$SYNC_ERR")" 1 \
	"the new mailbox's source is selected once, for its copy"
tap_is "$(store_count "$LOCAL" d)" 2 "both messages copied"
sync_dumps_equal "dumps equal after the new mailbox"
tap_done
