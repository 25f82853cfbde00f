#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 73-moves-undone.sh: moves between two syncs on one side (each pattern
# done on local, then on remote) that 65-move-patterns does not make: a
# full undo, a full chain, a swap, a copy and a move of a copy.  After the
# sync the changed side is exactly as the user left it, the other side
# equals it, a second sync is a no-op and both stores are equal.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's moves"

sync_pair_new --name base --remote-format mdbox
BASE=$SYNC_DIR
{
	echo "create box001"
	echo "create box002"
	echo "create box003"
	i=1
	while [ $i -le 10 ]; do echo "append INBOX -s i$i"; i=$((i + 1)); done
	i=1
	while [ $i -le 20 ]; do
		echo "append box001 -s a$i -f '\\Seen'"
		i=$((i + 1))
	done
	for i in 1 2 3 4 5; do echo "append box002 -s b$i"; done
	for i in 1 2 3 4 5; do echo "append box003 -s c$i"; done
} | store_script "$REMOTE" >/dev/null
sync_ok "first sync exits 0"
sync_dumps_equal "first sync: dumps equal"

# uids_of IMAPCMD BOX SUBJECT...: the UIDs of those messages, comma-joined.
uids_of() {
	_c=$1 _b=$2
	shift 2
	_set=
	for _s in "$@"; do
		_u=$(store_uid_of "$_c" "$_b" "$_s")
		_set=${_set:+$_set,}$_u
	done
	echo "$_set"
}

# mv IMAPCMD SRC DEST SUBJECT...: the user moves those messages.
mv_() {
	_c=$1 _src=$2 _dst=$3
	shift 3
	store_move "$_c" "$_src" "$(uids_of "$_c" "$_src" "$@")" "$_dst"
}

pat_undo() {	# 5 moved box001 -> box002, all back
	mv_ "$1" box001 box002 a1 a2 a3 a4 a5
	mv_ "$1" box002 box001 a1 a2 a3 a4 a5
}
pat_chain() {	# 5 moved box001 -> box002 -> box003
	mv_ "$1" box001 box002 a1 a2 a3 a4 a5
	mv_ "$1" box002 box003 a1 a2 a3 a4 a5
}
pat_swap() {	# 3 moved box001 -> box002 and 3 box002 -> box001
	mv_ "$1" box001 box002 a1 a2 a3
	mv_ "$1" box002 box001 b1 b2 b3
}
pat_copy() {	# 3 copied box001 -> box002, one of the copies on to INBOX
	store_copy "$1" box001 "$(uids_of "$1" box001 a1 a2 a3)" box002
	mv_ "$1" box002 INBOX a1
}

for pat in undo chain swap copy; do
	for side in local remote; do
		sync_pair_use "$BASE"
		sync_pair_clone "$pat-$side" >/dev/null
		if [ $side = local ]; then
			cmd=$LOCAL other=$REMOTE
		else
			cmd=$REMOTE other=$LOCAL
		fi
		"pat_$pat" "$cmd" >/dev/null
		store_dump "$cmd" >"$SYNC_DIR/dump.user" 2>&1
		sync_ok "$pat on $side: the sync exits 0"
		store_dump "$cmd" >"$SYNC_DIR/dump.after" 2>&1
		store_dump "$other" >"$SYNC_DIR/dump.other" 2>&1
		tap_check "$pat on $side: $side is left as the user left it" \
			diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.after"
		tap_check "$pat on $side: the other side equals it" \
			diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.other"
		sync_noop "$pat on $side: a second sync is a no-op"
		sync_dumps_equal "$pat on $side: then both stores are equal"
	done
done
tap_done
