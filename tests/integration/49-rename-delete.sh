#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 49-rename-delete.sh: a mailbox renamed on one side is renamed on the
# other (children too, no message copied); one deleted on one side is
# deleted on the other, unless the other side's copy changed since; the
# safety brake holds mass deletions.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's renames and deletions"

sync_pair_new --remote-format mdbox
{
	echo "create work"
	i=1
	while [ $i -le 1000 ]; do echo "append work -s w$i"; i=$((i + 1)); done
	echo "create work/sub"
	echo "append work/sub -s s1"
	echo "create old"
	for i in 1 2 3 4 5; do echo "append old -s o$i"; done
	for b in gone x d1 d2 d3; do
		echo "create $b"
		echo "append $b -s $b-1"
	done
} | store_script "$REMOTE" >/dev/null
sync_ok "first sync exits 0"
tap_is "$(store_count "$LOCAL" work)" 1000 "1000 messages in work"

store_rename "$REMOTE" work job
store_rename "$LOCAL" old older
store_delete "$LOCAL" gone
sync_ok "sync after renames and a deletion exits 0"
tap_check "work renamed on local" \
	grep -q '^local: Renamed mailbox work to job (renamed on remote)' \
	"$SYNC_ERR"
tap_check "old renamed on remote" \
	grep -q '^remote: Renamed mailbox old to older (renamed on local)' \
	"$SYNC_ERR"
tap_check "gone deleted on remote" \
	grep -q '^remote: Deleted mailbox gone (deleted on local)' "$SYNC_ERR"
tap_check "no message copied, none removed" sh -c \
	"! grep -E 'Added [0-9]|Removed [0-9]|Expunged [0-9]' '$SYNC_ERR'"
recv=$(sed -n 's/^local: IMAP traffic (bytes): recv \([0-9.]*\) \([KMG]*i*B\).*/\1 \2/p' "$SYNC_ERR")
tap_check "local received a few kB, not 1000 bodies ($recv)" sh -c \
	"echo '$recv' | grep -qE '^[0-9.]+ (B|KiB)$'"
tap_is "$(store_count "$LOCAL" job) $(store_count "$LOCAL" job/sub)" \
	"1000 1" "the renamed mailbox and its child hold their messages"
tap_is "$(store_list "$LOCAL" | grep -cE ' (work|old|gone)$')$(store_list "$REMOTE" | grep -cE ' (work|old|gone)$')" \
	00 "the old names are gone on both sides"
tap_is "$(sync_db_boxes | awk '{ print $NF }' | sort | tr '\n' ' ')" \
	"INBOX d1 d2 d3 job job/sub older x " "the database follows"
sync_dumps_equal "dumps equal"
sync_noop "then a sync is a no-op"

# A deletion is not carried over new mail on the other side.
store_delete "$LOCAL" x
store_append "$REMOTE" x -s x-2 >/dev/null
sync_run
tap_is "$SYNC_RC" 1 "a deletion against new mail: exit status 1"
tap_is "$(store_list "$REMOTE" | grep -c ' x$')" 1 \
	"the mailbox is kept on remote"
tap_check "with advice" grep -q 'x.*gone from local' "$SYNC_ERR"

# The brake: more deletions than safety-delete.
sed -i '1i safety-delete = 2' "$SYNC_CONF"
store_delete "$REMOTE" d1
store_delete "$REMOTE" d2
store_delete "$REMOTE" d3
sync_run
tap_is "$SYNC_RC" 5 "three deletions past safety-delete = 2: exit status 5"
tap_is "$(store_list "$LOCAL" | grep -cE ' d[123]$')" 3 \
	"nothing deleted on local"
sync_run --force
tap_is "$(store_list "$LOCAL" | grep -cE ' d[123]$')" 0 "--force deletes them"
# A parent renamed and its child renamed under it, both on local, while
# remote adds mail to the child: the child's rename shows only once the
# parent's is carried; the mail follows it.
sync_pair_new --name nested
{ echo "create m1"; echo "create m1/m2"; } | store_script "$LOCAL" >/dev/null
sync_ok "nested: first sync exits 0"
store_rename "$LOCAL" m1 r4
store_rename "$LOCAL" r4/m2 r4/r5
store_append "$REMOTE" m1/m2 -s nested22 >/dev/null
sync_ok "nested: parent and child renamed exits 0"
tap_check "nested: both renames carried" sh -c \
	"grep -q '^remote: Renamed mailbox m1 to r4' '$SYNC_ERR' &&
	 grep -q '^remote: Renamed mailbox r4/m2 to r4/r5' '$SYNC_ERR'"
tap_is "$(store_count "$LOCAL" r4/r5)" 1 "nested: the new mail reached it"
sync_dumps_equal "nested: dumps equal"
sync_noop "nested: then a sync is a no-op"
# A rename carried to the other server by a run stopped before it
# recorded it: both servers have the new name, the database the old one.
# The database follows (the ids tell), and the mailbox keeps its state:
# an expunge made before is carried, nothing is paired afresh.
sync_pair_new --name stopped
{
	echo "create A"
	echo "create A/c"
	for i in 1 2 3; do echo "append A -s sa$i"; echo "append A/c -s sc$i"; done
} | store_script "$REMOTE" >/dev/null
sync_ok "stopped: first sync exits 0"
store_expunge "$LOCAL" A 1
store_rename "$REMOTE" A B
store_rename "$LOCAL" A B
sync_ok "stopped: the next run exits 0"
tap_check "stopped: the database follows" \
	grep -q '^database: Renamed mailbox A to B (both servers have it renamed' "$SYNC_ERR"
tap_check "stopped: nothing paired afresh" sh -c "! grep -q 'Paired' '$SYNC_ERR'"
tap_is "$(store_count "$REMOTE" B)" 2 "stopped: the expunge made before is carried"
tap_is "$(sync_db_boxes | awk '{print $3}' | tr '\n' ' ')" "B B/c INBOX " \
	"stopped: the database names B and B/c"
sync_dumps_equal "stopped: dumps equal"
sync_noop "stopped: then a sync is a no-op"
tap_done
