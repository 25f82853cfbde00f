#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 74-expunge-cut.sh: a run that dies between its STORE \Deleted and its
# UID EXPUNGE (tests/lib/cutat.py ends the remote's session right there)
# leaves \Deleted on a message it meant to expunge. That flag is the
# sync's, not the user's: the next run finishes the expunge if it still
# should, or takes the flag off what it keeps (the user took the delete
# back meanwhile) -- never carries it to the other side.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's expunge intents"

CUT="$IMAPSYNC_TOP/tests/lib/cutat.py UID.EXPUNGE"

sync_pair_new --name base
BASE=$SYNC_DIR
{
	echo "create box001"
	echo "create box002"
	for i in 1 2 3; do echo "append box001 -s a$i -f '\\Seen'"; done
	echo "append box002 -s b1"
} | store_script "$REMOTE" >/dev/null
store_copy "$REMOTE" box001 "$(store_uid_of "$REMOTE" box001 a1)" box002 \
	>/dev/null
sync_ok "first sync exits 0"
sync_dumps_equal "first sync: dumps equal"

# deleted_count IMAPCMD: messages with \Deleted in the whole store.
deleted_count() {
	store_dump "$1" | grep -c 'Deleted' || true
}

# cut_expunge: local expunges a1 from box001; the run that carries it
# dies after the remote's STORE \Deleted, before its UID EXPUNGE.
cut_expunge() {
	store_expunge "$LOCAL" box001 "$(store_uid_of "$LOCAL" box001 a1)" \
		>/dev/null
	sync_run_relayed "$CUT"
	tap_check "$1: the cut run does not exit 0" test "$SYNC_RC" -ne 0
	tap_is "$(store_msgflags "$REMOTE" box001 | grep -c Deleted)" 1 \
		"$1: it left \\Deleted on the remote's a1 (the cut is there)"
}

# 1. Nothing else happens: the next run finishes the expunge.
sync_pair_use "$BASE"
sync_pair_clone resume >/dev/null
cut_expunge resume
sync_ok "resume: the next run exits 0"
tap_is "$(store_uid_of "$REMOTE" box001 a1)" "" \
	"resume: a1 is expunged from the remote's box001"
tap_is "$(deleted_count "$LOCAL")$(deleted_count "$REMOTE")" 00 \
	"resume: no \\Deleted left on either side"
sync_noop "resume: a second sync is a no-op"
sync_dumps_equal "resume: both stores are equal"

# 2. The user takes the delete back before the next run (a1 copied into
# box001 again from box002): the message stays on both sides, without
# the sync's \Deleted.
sync_pair_use "$BASE"
sync_pair_clone undo >/dev/null
cut_expunge undo
store_copy "$LOCAL" box002 "$(store_uid_of "$LOCAL" box002 a1)" box001 \
	>/dev/null
store_dump "$LOCAL" >"$SYNC_DIR/dump.user" 2>&1
sync_ok "undo: the next run exits 0"
store_dump "$LOCAL" >"$SYNC_DIR/dump.after" 2>&1
store_dump "$REMOTE" >"$SYNC_DIR/dump.other" 2>&1
tap_check "undo: local is left as the user left it" \
	diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.after"
tap_check "undo: the remote equals it" \
	diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.other"
tap_is "$(deleted_count "$LOCAL")$(deleted_count "$REMOTE")" 00 \
	"undo: no \\Deleted on either side"
sync_noop "undo: a second sync is a no-op"
sync_dumps_equal "undo: both stores are equal"

# 2b. The same, the remote refusing the STORE that takes the \Deleted
# off: that mailbox fails with an error naming the server, the mailbox and
# the flag; nothing of it reaches local; the next run finishes the job.
sync_pair_use "$BASE"
sync_pair_clone refused >/dev/null
cut_expunge refused
store_copy "$LOCAL" box002 "$(store_uid_of "$LOCAL" box002 a1)" box001 \
	>/dev/null
store_dump "$LOCAL" >"$SYNC_DIR/dump.user" 2>&1
sync_run_relayed "$IMAPSYNC_TOP/tests/lib/cutat.py --refuse UID.STORE.*-FLAGS"
tap_is "$SYNC_RC" 1 "refused: the run exits 1 (a mailbox failed)"
tap_check "refused: the error names the remote, box001 and the flag" \
	grep -q '^remote(box001): ERROR: cannot take off the \\Deleted .*refused by the test' \
	"$SYNC_ERR"
tap_is "$(deleted_count "$LOCAL")" 0 "refused: no \\Deleted reached local"
sync_ok "refused: the next run exits 0"
store_dump "$REMOTE" >"$SYNC_DIR/dump.other" 2>&1
tap_check "refused: then the remote equals what the user left on local" \
	diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.other"
sync_dumps_equal "refused: both stores are equal"

# A remote without MOVE: the sync moves with UID COPY, STORE \Deleted and
# UID EXPUNGE. nomove_cut NAME REGEX: local moves a1 box001 -> box002 and
# the run that carries it dies at the remote's first command matching
# REGEX. nomove_resume NAME: the next run (no MOVE still) leaves the
# remote as the user left local, without the sync's \Deleted.
NOMOVE="$IMAPSYNC_TOP/tests/lib/capfilter.py MOVE"
nomove_cut() {
	sync_pair_use "$BASE"
	sync_pair_clone "$1" >/dev/null
	store_move "$LOCAL" box001 "$(store_uid_of "$LOCAL" box001 a1)" \
		box002 >/dev/null
	store_dump "$LOCAL" >"$SYNC_DIR/dump.user" 2>&1
	sync_run_relayed "$IMAPSYNC_TOP/tests/lib/cutat.py $2 $NOMOVE"
	tap_check "$1: the cut run does not exit 0" test "$SYNC_RC" -ne 0
}
nomove_resume() {
	sed -i "s|^command = $REMOTE\$|command = $NOMOVE $REMOTE|" "$SYNC_CONF"
	sync_ok "$1: the next run exits 0"
	store_dump "$REMOTE" >"$SYNC_DIR/dump.other" 2>&1
	tap_check "$1: the remote equals what the user left on local" \
		diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.other"
	tap_is "$(deleted_count "$REMOTE")" 0 "$1: no \\Deleted left"
	sync_noop "$1: a second sync is a no-op"
	sync_dumps_equal "$1: both stores are equal"
}

# 3. Dead before the EXPUNGE, the move recorded: the next run finishes the
# expunge (nothing left in box001, a1 once in box002).
nomove_cut nomove UID.EXPUNGE
tap_is "$(store_msgflags "$REMOTE" box001 | grep -c Deleted)" 1 \
	"nomove: it left \\Deleted on the remote's a1 in box001 (copied)"
nomove_resume nomove

# 4. Dead before the STORE \Deleted, the UID COPY done but its answer
# never read (the move not recorded, the source still there): the next
# run pairs the copy that arrived and expunges the source, instead of
# moving it again (which left the message twice in box002).
nomove_cut nomove-store 'UID.STORE.*Deleted'
tap_is "$(store_count "$REMOTE" box002)" 3 \
	"nomove-store: the COPY went through (a1 in box002 too)"
nomove_resume nomove-store
tap_done
