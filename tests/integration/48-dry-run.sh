#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 48-dry-run.sh: --dry-run is the run without the writes: it goes through
# the same decisions (renames, moves, expunges, the brake, an import) and
# says each action with "would"; nothing is written, not the stores, not
# the database, not even on a first run. The differential helper of
# tests/lib/sync.sh checks that before every sync of every scenario; the
# last cases show it catching a dry run that differs or writes.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's --dry-run"
# Every differential dry run compares the stores' dumps too; and the
# helper is on whatever SYNC_DRYRUN says: its last cases test it.
SYNC_DRYRUN=1
SYNC_DRYRUN_DUMPS=1

# dry DESC [ARGS]: a dry run by hand (the helper leaves those alone).
dry() {
	_d=$1
	shift
	sync_run --dry-run "$@"
	tap_is "$SYNC_RC" "${DRY_RC:-0}" "$_d"
}

sync_pair_new
for i in 1 2 3; do echo "append INBOX -s l$i"; done | store_script "$LOCAL" >/dev/null

# A first run: no database file, no directory for it, no lock.
SYNC_DB=$SYNC_DIR/new/state.db
sed -i "s|^database = .*|database = $SYNC_DB|" "$SYNC_CONF"
dry "a first --dry-run exits 0"
tap_check "it would copy the messages" \
	grep -q 'remote(INBOX): would add 3 UIDs 1:3 -> ?' "$SYNC_ERR"
tap_check "and creates no database (nor its directory, nor a lock)" \
	test ! -e "$SYNC_DIR/new"
sync_ok "first sync exits 0"

{
	echo "append INBOX -s l4"
	echo "create fresh"
	echo "append fresh -s f1"
	echo "append fresh -s f2"
} | store_script "$LOCAL" >/dev/null
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l1)" +FLAGS '\Seen'
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l2)"

dbstate() {
	sync_db "SELECT count(*) FROM mailboxes; SELECT count(*) FROM mapping;
		SELECT group_concat(UIDNEXT || '/' || HIGHESTMODSEQ) FROM local;
		SELECT group_concat(UIDNEXT || '/' || HIGHESTMODSEQ) FROM remote"
}
store_dump "$LOCAL" --keep-recent >"$SYNC_DIR/before.local"
store_dump "$REMOTE" --keep-recent >"$SYNC_DIR/before.remote"
db_before=$(dbstate)
dry "--dry-run exits 0"
tap_check "it would create the new mailbox" \
	grep -q 'remote: would create mailbox fresh' "$SYNC_ERR"
tap_check "and copy its messages" \
	grep -q 'remote(fresh): would add 2 UIDs 1:2 -> ?' "$SYNC_ERR"
tap_check "it would copy the new INBOX message" \
	grep -q 'remote(INBOX): would add 1 UID 4 -> ?' "$SYNC_ERR"
tap_check "carry the flag change" \
	grep -q 'local(INBOX): would update flags (\\Seen) for UID 1' \
	"$SYNC_ERR"
tap_check "and say what the expunge means" \
	grep -q 'local(INBOX): would expunge 1 message on local (gone from remote): UID 2' \
	"$SYNC_ERR"
tap_check "nothing is said to be done" sh -c \
	"! grep -E 'Added|Removed|Expunged|Updated|Created|Subscribe' '$SYNC_ERR'"
store_dump "$LOCAL" --keep-recent >"$SYNC_DIR/after.local"
store_dump "$REMOTE" --keep-recent >"$SYNC_DIR/after.remote"
tap_check "local store untouched (\\Recent included)" \
	diff -u "$SYNC_DIR/before.local" "$SYNC_DIR/after.local"
tap_check "remote store untouched" \
	diff -u "$SYNC_DIR/before.remote" "$SYNC_DIR/after.remote"
tap_is "$(dbstate)" "$db_before" "database untouched"
tap_check "no lock left behind" test ! -e "$SYNC_DB.lock"
sync_ok "the real sync exits 0"
sync_dumps_equal "then dumps equal"

# A rename is one RENAME, not a deletion and a copy.
{
	echo "create Old"
	for i in $(seq 1 20); do echo "append Old -s o$i"; done
} | store_script "$REMOTE" >/dev/null
sync_ok "the mailbox reaches local"
store_rename "$REMOTE" Old New
dry "--dry-run after a rename exits 0"
tap_check "it would rename the mailbox" \
	grep -q 'local: would rename mailbox Old to New (renamed on remote)' \
	"$SYNC_ERR"
tap_check "and would neither delete, create nor copy" sh -c \
	"! grep -E 'would (delete|create|add|expunge)' '$SYNC_ERR'"
sync_ok "the real run renames"
tap_check "with one RENAME" grep -q 'Renamed mailbox Old to New' "$SYNC_ERR"
sync_dumps_equal "dumps equal after the rename"

# A move is a move.
store_create "$REMOTE" Archive
sync_ok "Archive reaches local"
store_move "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l3)" Archive
dry "--dry-run after a move exits 0"
tap_check "it would move the message" \
	grep -q 'local(INBOX): would move 1 message to Archive' "$SYNC_ERR"
tap_check "not copy it and expunge the original" sh -c \
	"! grep -E 'would (add|expunge)' '$SYNC_ERR'"
sync_ok "the real run moves it"
sync_dumps_equal "dumps equal after the move"

# The brake: a dry run stops where the real run would, with exit 5.
store_expunge "$REMOTE" New 1:20
DRY_RC=5 dry "--dry-run past safety-expunge exits 5, as the run would"
tap_check "saying what the real run would stop" \
	grep -q 'local: ERROR: 20 of the .* paired messages are gone from remote: the real run would stop here' \
	"$SYNC_ERR"
tap_check "and what to do" grep -q -- '--force' "$SYNC_ERR"
dry "--dry-run --force exits 0" --force
tap_check "it would expunge the 20 messages on local" \
	grep -q 'local(New): would expunge 20 messages on local (gone from remote): UIDs 1:20' \
	"$SYNC_ERR"
sync_run
tap_is "$SYNC_RC" 5 "the real run brakes too"
sync_ok "and goes on with --force" --force
sync_dumps_equal "dumps equal after the expunge"

# --repair --dry-run works and writes nothing.
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l4)" +FLAGS '\Flagged'
dry "--repair --dry-run exits 0" --repair
tap_check "it would update the flags" \
	grep -q 'remote(INBOX): would update flags (\\Flagged) for UID' "$SYNC_ERR"
sync_ok "--repair exits 0" --repair
sync_dumps_equal "dumps equal after --repair"

# --import-interimap --dry-run: the import is not written.
IDB=$SYNC_DB
SYNC_DB=$SYNC_DIR/imported.db
sed -i "s|^database = .*|database = $SYNC_DB|" "$SYNC_CONF"
# interimap's tables are imapsync's first four: a copy at version 1.
cp "$IDB" "$SYNC_DIR/interimap.db"
sqlite3 "$SYNC_DIR/interimap.db" "PRAGMA journal_mode = DELETE;
	PRAGMA user_version = 1" >/dev/null
dry "--import-interimap --dry-run exits 0" \
	--import-interimap="$SYNC_DIR/interimap.db"
tap_check "it says it would import" \
	grep -q "database: would import interimap's" "$SYNC_ERR"
tap_check "and writes no database" test ! -e "$SYNC_DB"
sync_ok "then the real import is not refused" \
	--import-interimap="$SYNC_DIR/interimap.db"
tap_check "and imports" grep -q "Imported interimap's" "$SYNC_ERR"

# The differential helper catches a dry run that says something else
# than the real run does, and one that writes: a wrapper plants each.
cat >"$SYNC_DIR/liar" <<EOF
#!/bin/sh
case " \$* " in
*" --dry-run "*) ;;
*) exec "$SYNC_BIN" "\$@" ;;
esac
if [ "\${PLANT:-}" = write ]; then
	touch "$SYNC_DIR/xdg-data/planted"
	exec "$SYNC_BIN" "\$@"
fi
if [ "\${PLANT:-}" = store ]; then
	echo 'local -> A9 UID STORE 1 +FLAGS.SILENT (\\Seen)' >&2
	exec "$SYNC_BIN" "\$@"
fi
if [ "\${PLANT:-}" = summary ]; then
	"$SYNC_BIN" "\$@" 2>&1 |
		sed 's/update flags of 1 message/update flags of 2 messages/' >&2
	exit
fi
"$SYNC_BIN" "\$@" 2>&1 | grep -v 'would update flags' >&2
EOF
chmod +x "$SYNC_DIR/liar"
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l4)" +FLAGS '\Answered'
out=$(SYNC_BIN=$SYNC_DIR/liar; sync_run)
tap_check "the helper catches a dry run that leaves an action out" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^not ok .* says what run'" _ "$out"
tap_check "naming it" sh -c "printf '%s\n' \"\$1\" | grep -q 'Answered'" _ "$out"
mkdir -p "$SYNC_DIR/xdg-data"
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l4)" -FLAGS '\Answered'
out=$(SYNC_BIN=$SYNC_DIR/liar PLANT=write; export PLANT; sync_run)
tap_check "and one that writes a file" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^not ok .* changed nothing (files)'" _ "$out"
out=$(SYNC_BIN=$SYNC_DIR/liar PLANT=store; export PLANT; sync_run)
tap_check "and one that sends a command that writes" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '^not ok .* sent only reads'" _ "$out"
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l4)" +FLAGS '\Answered'
out=$(SYNC_BIN=$SYNC_DIR/liar PLANT=summary; export PLANT; sync_run)
tap_check "and one whose summary line counts otherwise" sh -c \
	"printf '%s\n' \"\$1\" | grep -q '^not ok .* says what run' &&
		printf '%s\n' \"\$1\" | grep -q 'dry run  summary: local flags 2'" \
	_ "$out"
sync_dumps_equal "dumps equal at the end"
tap_done
