#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 41-delete-rename.sh: --delete and --rename on every --target (local,
# remote, database, and by default all three); renames are recursive; a
# rename onto an existing mailbox fails; the mapping survives a rename.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
store_create "$LOCAL" d1 d2 d3 r1 r2 p p/c
store_append "$LOCAL" r2 -s in-r2 >/dev/null
store_append "$LOCAL" p/c -s in-pc >/dev/null
sync_ok "initial sync exits 0"

# where NAME: "L R D", 1 where NAME exists locally, remotely, in the database.
where() {
	_l=0 _r=0 _d=0
	$IMAPTOOL "$LOCAL" list | grep -xF "/ $1" >/dev/null && _l=1
	$IMAPTOOL "$REMOTE" list | grep -xF "/ $1" >/dev/null && _r=1
	[ -n "$(sync_db_idx "$1")" ] && _d=1
	echo "$_l $_r $_d"
}

sync_ok "--delete exits 0" --delete d1
tap_is "$(where d1)" "0 0 0" \
	"--delete: gone everywhere"
tap_check "--delete: the log says so" grep -q 'Deleted.*d1\|d1.*deleted' \
	"$SYNC_ERR" "$SYNC_OUT"

sync_ok "--target=local --delete exits 0" --target=local --delete d2
tap_is "$(where d2)" "0 1 1" \
	"--target=local --delete: gone locally only"
sync_ok "--target=remote --delete exits 0" --target=remote --delete d2
tap_is "$(where d2)" "0 0 1" \
	"--target=remote --delete: gone remotely"
sync_ok "--target=database --delete exits 0" --target=database --delete d2
tap_is "$(where d2)" "0 0 0" \
	"--target=database --delete: gone from the database"
sync_ok "two targets at once" --target=local --target=remote --delete d3
tap_is "$(where d3)" "0 0 1" \
	"--target=local --target=remote: gone from both stores"
sync_run --target=database --delete d3

sync_ok "--rename exits 0" --rename r1 n1
tap_is "$(where r1) $(where n1)" "0 0 0 1 1 1" \
	"--rename: renamed everywhere"
sync_ok "--target=local --rename exits 0" --target=local --rename r2 n2
tap_is "$(where r2) $(where n2)" "0 1 1 1 0 0" \
	"--target=local --rename: local only"
sync_ok "--target=remote --rename exits 0" --target=remote --rename r2 n2
tap_is "$(where r2) $(where n2)" "0 0 1 1 1 0" \
	"--target=remote --rename: remote too"
sync_ok "--target=database --rename exits 0" --target=database --rename r2 n2
tap_is "$(where r2) $(where n2)" "0 0 0 1 1 1" \
	"--target=database --rename: database too"
tap_is "$(sync_db "SELECT count(*) FROM mapping WHERE idx = '$(sync_db_idx n2)'")" 1 \
	"the renamed mailbox keeps its mapping"

sync_ok "a recursive --rename exits 0" --rename p q
tap_is "$(where p/c) $(where q/c)" "0 0 0 1 1 1" \
	"--rename moved the child everywhere"
sync_run --rename q n1
tap_check "--rename onto an existing mailbox fails" test "$SYNC_RC" -ne 0
tap_is "$(where q) $(where n1)" "1 1 1 1 1 1" \
	"the failed --rename changed nothing"

sync_noop "a sync afterwards is a no-op (nothing copied again)"
sync_dumps_equal "dumps equal"
tap_is "$(store_count "$LOCAL" n2) $(store_count "$REMOTE" q/c)" "1 1" \
	"each message still once"
tap_done
