#!/bin/sh
# 58-moves-partial.sh: moves as users make them between two syncs, on one
# side (each pattern done on local, then on remote): part of a move taken
# back, a move taken on further, a split into two mailboxes, a chain with
# a part coming back (issue 21's table), and the ones that already worked
# (a full undo, a full chain, a swap, a copy).  After the sync the changed
# side is exactly as the user left it, the other side equals it, and a
# second sync is a no-op.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's moves"

# The checks that fail on main before the fix of issue 21, as
# "pattern:side:check" (check 1 the sync's exit, 2 the changed side kept,
# 3 the other side equal to what the user left, 4 the second sync a no-op,
# 5 both stores equal then): reported as TODO.
KNOWN_BAD=${MOVES_KNOWN_BAD-"
back:local:1 back:local:2 back:local:5 back:remote:1 back:remote:2 back:remote:5
inbox:local:1 inbox:local:2 inbox:local:5 inbox:remote:1 inbox:remote:2 inbox:remote:5
on:local:1 on:local:2 on:local:5 on:remote:1 on:remote:2 on:remote:5
split:local:1 split:local:2 split:local:5 split:remote:1 split:remote:2 split:remote:5
chainback:local:1 chainback:local:2 chainback:local:5 chainback:remote:1 chainback:remote:2 chainback:remote:5
"}

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

pat_back() {	# 10 moved box001 -> box002, 5 of them back
	mv_ "$1" box001 box002 a1 a2 a3 a4 a5 a6 a7 a8 a9 a10
	mv_ "$1" box002 box001 a1 a2 a3 a4 a5
}
pat_inbox() {	# 5 moved out of INBOX to box003, 3 of them back
	mv_ "$1" INBOX box003 i1 i2 i3 i4 i5
	mv_ "$1" box003 INBOX i1 i2 i3
}
pat_on() {	# 5 moved box001 -> box002, 3 of those on to box003
	mv_ "$1" box001 box002 a1 a2 a3 a4 a5
	mv_ "$1" box002 box003 a1 a2 a3
}
pat_split() {	# 4 moved box001 -> box002 and 3 box001 -> box003
	mv_ "$1" box001 box002 a1 a2 a3 a4
	mv_ "$1" box001 box003 a5 a6 a7
}
pat_chainback() {	# 6 moved box001 -> box002 -> box003, 4 back to box001
	mv_ "$1" box001 box002 a1 a2 a3 a4 a5 a6
	mv_ "$1" box002 box003 a1 a2 a3 a4 a5 a6
	mv_ "$1" box003 box001 a1 a2 a3 a4
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

# todo PAT SIDE CHECK: set TAP_TODO when that check is a known failure.
todo() {
	case " $(echo $KNOWN_BAD) " in
	*" $1:$2:$3 "*) TAP_TODO="issue 21" ;;
	*) TAP_TODO= ;;
	esac
}

for pat in back inbox on split chainback undo chain swap copy; do
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
		todo $pat $side 1
		sync_ok "$pat on $side: the sync exits 0"
		store_dump "$cmd" >"$SYNC_DIR/dump.after" 2>&1
		store_dump "$other" >"$SYNC_DIR/dump.other" 2>&1
		todo $pat $side 2
		tap_check "$pat on $side: $side is left as the user left it" \
			diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.after"
		todo $pat $side 3
		tap_check "$pat on $side: the other side equals it" \
			diff -u "$SYNC_DIR/dump.user" "$SYNC_DIR/dump.other"
		todo $pat $side 4
		sync_noop "$pat on $side: a second sync is a no-op"
		todo $pat $side 5
		sync_dumps_equal "$pat on $side: then both stores are equal"
		TAP_TODO=
	done
done
tap_done
