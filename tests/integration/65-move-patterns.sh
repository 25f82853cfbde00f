#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 65-move-patterns.sh: moves as users make them, on either side, between
# two syncs: part of a move taken back, moves on to a third mailbox, a
# split into two, a chain then back. The changed side stays exactly as
# the user left it, the other side follows with UID MOVE and new pairs
# (no body copied, nothing doubled), and the next sync is a no-op.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's moves"

# pattern SIDE N DESCRIPTION: a fresh pair, one sync, the user's moves
# on SIDE, then the checks.
pattern() {
	sync_pair_new --name "p$2-$1"
	{
		for b in box001 box002 box003; do echo "create $b"; done
		i=1
		while [ $i -le 20 ]; do
			echo "append box001 -s b$i --size $((1500 + i))"
			echo "append INBOX -s i$i"
			i=$((i + 1))
		done
	} | store_script "$REMOTE" >/dev/null
	sync_run || tap_diag "first sync: $SYNC_RC"
	[ "$1" = local ] && c=$LOCAL || c=$REMOTE
	case $2 in
	1) store_move "$c" box001 1:10 box002
	   store_move "$c" box002 1:5 box001 ;;
	2) store_move "$c" INBOX 1:5 box003
	   store_move "$c" box003 1:3 INBOX ;;
	3) store_move "$c" box001 1:5 box002
	   store_move "$c" box002 1:3 box003 ;;
	4) store_move "$c" box001 1:4 box002
	   store_move "$c" box001 5:7 box003 ;;
	5) store_move "$c" box001 1:6 box002
	   store_move "$c" box002 1:6 box003
	   store_move "$c" box003 1:4 box001 ;;
	esac
	before=$(store_dump "$c")
	sync_run --debug
	if [ "$SYNC_RC" = 0 ]; then
		tap_pass "$1, $3: sync exits 0"
	else
		tap_fail "$1, $3: sync exits 0" "exit $SYNC_RC
$(grep -E 'ERROR|WARNING' "$SYNC_ERR" | head -5)"
	fi
	tap_is "$(store_dump "$c")" "$before" \
		"$1, $3: the changed side is as the user left it"
	sync_dumps_equal "$1, $3: the other side equals it"
	tap_check "$1, $3: no move into the mailbox it is in" sh -c \
		"! grep -E '^(local|remote)\(([^)]*)\): Moved [0-9]+ UID\(s\) to \2\$' '$SYNC_ERR'"
	tap_check "$1, $3: nothing copied" sh -c \
		"! grep -q 'Added [0-9]' '$SYNC_ERR'"
	tap_is "$(sync_db "SELECT count(*) FROM mapping")" 40 \
		"$1, $3: 40 pairs, as many as messages"
	sync_noop "$1, $3: then a sync is a no-op"
}

for side in local remote; do
	pattern $side 1 "10 moved box001 to box002, 5 back"
	pattern $side 2 "5 moved out of INBOX, 3 back"
	pattern $side 3 "5 moved box001 to box002, 3 on to box003"
	pattern $side 4 "box001 split into box002 and box003"
	pattern $side 5 "6 moved box001 to box002 to box003, 4 back"
done
# A message moved on one side and copied into another mailbox there, its
# flags changed on the other side: which of the two new ones was moved is
# on neither server, so the change cannot be carried. The stores still
# end equal, nothing lost or doubled, and the run says that the change
# was lost (it used to be silent).
for side in local remote; do
	sync_pair_new --name "split-flag-$side"
	store_create "$REMOTE" a b c >/dev/null
	printf 'append a -s x1\nappend a -s x2\n' |
		store_script "$REMOTE" >/dev/null
	sync_run || tap_diag "first sync: $SYNC_RC"
	if [ "$side" = local ]; then
		c=$LOCAL o=$REMOTE oside=remote
	else
		c=$REMOTE o=$LOCAL oside=local
	fi
	u=$(store_uid_of "$c" a x1)
	store_copy "$c" a "$u" c >/dev/null
	store_move "$c" a "$u" b >/dev/null
	store_flags "$o" a "$(store_uid_of "$o" a x1)" +FLAGS '\Flagged' \
		>/dev/null
	sync_run
	tap_is "$SYNC_RC" 0 "$side, moved and copied, flags changed there: exit 0"
	tap_check "$side, moved and copied: the lost flag change is said" \
		grep -q "^$oside(a): WARNING: the flags changed here on UID [0-9]* are not carried: it was moved on $side, and it and copies of it are new there in b, c" "$SYNC_ERR"
	sync_dumps_equal "$side, moved and copied: the stores are equal"
	tap_is "$(store_count "$c" b) $(store_count "$c" c) $(store_count "$c" a)" \
		"1 1 1" "$side, moved and copied: one in each mailbox"
	sync_noop "$side, moved and copied: then a sync is a no-op"
done
# A message without a Message-ID is known by its size and INTERNALDATE
# only, which a different message may share: one expunged on one side
# while another of the same size and date arrives in another mailbox is
# no move (the other side would keep the expunged message in place of
# the new one); one moved is carried as an expunge and a copy.
nomid() { # SUBJECT: a message without Message-ID, 4-letter subject
	printf 'From: a@example.org\r\nSubject: %s\r\n\r\nbody\r\n' "$1"
}
for side in local remote; do
	sync_pair_new --name "nomid-$side"
	store_create "$REMOTE" a b >/dev/null
	nomid aaaa | store_append "$REMOTE" a -d "01-Jan-2024 10:00:00 +0000" \
		--file - >/dev/null
	sync_run || tap_diag "first sync: $SYNC_RC"
	[ "$side" = local ] && c=$LOCAL || c=$REMOTE
	store_expunge "$c" a 1 >/dev/null
	nomid bbbb | store_append "$c" b -d "01-Jan-2024 10:00:00 +0000" \
		--file - >/dev/null
	before=$(store_dump "$c")
	sync_run
	tap_is "$SYNC_RC" 0 "$side, no Message-ID, expunged + another arrived: exit 0"
	tap_is "$(store_dump "$c")" "$before" \
		"$side, no Message-ID: the changed side is as the user left it"
	sync_dumps_equal "$side, no Message-ID: the other side has the new message"
	store_move "$c" b 1 a >/dev/null
	sync_run
	tap_check "$side, no Message-ID, moved: carried as expunge + copy" \
		grep -q 'Added 1 UID' "$SYNC_ERR"
	sync_dumps_equal "$side, no Message-ID, moved: the stores are equal"
	sync_noop "$side, no Message-ID: then a sync is a no-op"
done
tap_done
