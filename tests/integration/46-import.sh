#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 46-import.sh: --import-interimap takes a database interimap itself wrote
# and goes on from its state: nothing is copied again, later changes of
# both sides are synced, a flag conflict on an imported pair takes the
# union once and is merged per flag after, and a database that already
# holds mailboxes is not overwritten.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's import of interimap's state"
IM=$(command -v interimap) || tap_skip_all "interimap not installed"

sync_pair_new --remote-format mdbox
{
	for i in 1 2 3 4; do echo "append INBOX -s l$i"; done
	echo "create a/b"
	echo "append a/b -s ab1 -f '\\Seen'"
} | store_script "$LOCAL" >/dev/null
{
	for i in 1 2 3; do echo "append INBOX -s r$i -f '\\Flagged'"; done
	echo "create c"
	echo "subscribe c"
	echo "append c -s c1"
} | store_script "$REMOTE" >/dev/null

# interimap syncs first, into its own database.
IDB=$SYNC_DB
if sync_run_with "$IM"; then
	tap_pass "interimap syncs the pair"
else
	tap_fail "interimap syncs the pair" "$(tail -n 5 "$SYNC_ERR")"
fi
tap_is "$(sync_db 'PRAGMA user_version')" 1 "interimap wrote schema version 1"
pairs=$(sync_db 'SELECT count(*) FROM mapping')

# imapsync starts from it, in a database of its own.
SYNC_DB=$SYNC_DIR/imapsync.db
sed -i "s|^database = .*|database = $SYNC_DB|" "$SYNC_CONF"
sync_ok "imapsync --import-interimap exits 0" --import-interimap="$IDB"
tap_check "the import is logged" grep -q "Imported interimap's" "$SYNC_ERR"
tap_check "nothing was copied, created or changed" sh -c \
	"! grep -E 'Added|Removed|Expunged|Updated|Created|Subscribe' '$SYNC_ERR'"
tap_is "$(sync_db 'SELECT count(*) FROM mapping')" "$pairs" \
	"every pair came over"
tap_is "$(sync_db 'PRAGMA user_version')" 8 "imapsync's schema on top"
tap_is "$(sync_db 'SELECT count(*) FROM mapping WHERE base IS NULL')" \
	"$pairs" "interimap kept no pair's last synced flags"
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" "7 7" \
	"INBOX holds each message once on both sides"

# Then it goes on: changes on both sides travel.
store_append "$LOCAL" c -s c2 >/dev/null
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l1)" +FLAGS '\Answered'
sync_ok "a later sync exits 0"
tap_check "the new message was copied" grep -q 'Added 1 UID' "$SYNC_ERR"
tap_check "the flag change was stored" grep -q 'Updated flags' "$SYNC_ERR"
sync_dumps_equal "dumps equal"
sync_noop "then a sync is a no-op"

# A flag conflict on a pair imported without its last synced flags: the
# union, as interimap would (the removal of \Flagged is undone), once;
# then the merged flags are the base and the next conflict is merged per
# flag (issue 18).
r2l=$(store_uid_of "$LOCAL" INBOX r2)
r2r=$(store_uid_of "$REMOTE" INBOX r2)
store_flags "$LOCAL" INBOX "$r2l" -FLAGS '\Flagged'
store_flags "$REMOTE" INBOX "$r2r" +FLAGS '\Seen'
sync_ok "imported pair, conflict: exits 0"
tap_check "imported pair, conflict: the union, with a warning" \
	grep -q "Conflicting flag update.*local UID $r2l.*union" "$SYNC_ERR"
tap_is "$($IMAPTOOL "$REMOTE" flags INBOX | awk -v u="$r2r" '$1 == u { print $2, $3 }')" \
	'\Flagged \Seen' "imported pair, conflict: both lists kept"
tap_is "$(sync_db "SELECT f.flags FROM mapping m JOIN flagset f ON f.id = m.base WHERE m.rUID = $r2r AND m.idx = $(sync_db_idx INBOX)")" \
	'\Flagged \Seen' "imported pair, conflict: the union is the pair's base now"
store_flags "$LOCAL" INBOX "$r2l" -FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$r2r" +FLAGS '\Answered'
sync_ok "imported pair, second conflict: exits 0"
tap_check "imported pair, second conflict: merged per flag" \
	grep -qF "merged flags for UID $r2l (-\\Seen from local, +\\Answered from remote)" \
	"$SYNC_ERR"
tap_is "$($IMAPTOOL "$LOCAL" flags INBOX | awk -v u="$r2l" '$1 == u { print $2, $3 }')" \
	'\Answered \Flagged' "imported pair, second conflict: the removal kept"
sync_dumps_equal "imported pair: dumps equal"

# interimap may sync imapsync's database too, but keeps no base: a flag
# change it synced leaves the pair's base stale, which the numbers it
# stored give away, so the mailbox's bases are forgotten and a conflict
# takes the union once, never a merge from flags that are not the last
# synced ones (which here would drop the +\Flagged).
r3l=$(store_uid_of "$LOCAL" INBOX r3)
r3r=$(store_uid_of "$REMOTE" INBOX r3)
store_flags "$REMOTE" INBOX "$r3r" +FLAGS '\Answered'
sync_ok "interimap between: imapsync records a base"
store_flags "$LOCAL" INBOX "$r3l" -FLAGS '\Flagged'
if sync_run_with "$IM"; then
	tap_pass "interimap between: interimap syncs imapsync's database"
else
	tap_fail "interimap between: interimap syncs imapsync's database" \
		"$(tail -n 5 "$SYNC_ERR")"
fi
store_flags "$LOCAL" INBOX "$r3l" +FLAGS '\Flagged'
store_flags "$REMOTE" INBOX "$r3r" +FLAGS '\Seen'
sync_ok "interimap between: imapsync exits 0"
tap_check "interimap between: the stale bases are forgotten, and said" \
	grep -q "database(INBOX): synced by another program since" "$SYNC_ERR"
tap_is "$($IMAPTOOL "$REMOTE" flags INBOX | awk -v u="$r3r" '$1 == u { print $2, $3, $4 }')" \
	'\Answered \Flagged \Seen' "interimap between: no change lost"
sync_dumps_equal "interimap between: dumps equal"
sync_noop "interimap between: then a sync is a no-op"

# A database with mailboxes is never overwritten.
if sync_run --import-interimap="$IDB"; then
	tap_fail "a second import is refused"
else
	tap_pass "a second import is refused"
fi
tap_check "with a message saying why" grep -q 'already holds' "$SYNC_ERR"
tap_is "$SYNC_RC" 2 "exit status 2"
tap_done
