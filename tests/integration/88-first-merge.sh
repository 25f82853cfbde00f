#!/bin/sh
# 88-first-merge.sh: the first-run brake. Two unrelated stores that both
# hold mail and a new database (one wrong `command =`): the run says what
# a merge would do per side and stops with exit 5, nothing written on
# either server and no database left; --force, or safety-merge = NO,
# then merges. A side with no mail, and --import-interimap, pass.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's first-run brake"

# snapshot NAME: both stores' dumps, lists and subscriptions.
snapshot() {
	for _s in LOCAL REMOTE; do
		eval "_c=\$$_s"
		{
			store_dump "$_c" --keep-recent
			store_list "$_c"
			store_lsub "$_c"
		} >"$SYNC_DIR/$1.$_s" 2>&1
	done
}
unchanged() {
	snapshot after &&
		cmp "$SYNC_DIR/before.LOCAL" "$SYNC_DIR/after.LOCAL" &&
		cmp "$SYNC_DIR/before.REMOTE" "$SYNC_DIR/after.REMOTE"
}
no_database() {
	! ls "$SYNC_DB"* 2>/dev/null | grep -q .
}

sync_pair_new
sed -i '/^safety-merge/d' "$SYNC_CONF"
D='01-Jan-2024 12:00:00 +0000'
{
	for i in 1 2 3 4 5; do echo "append INBOX -s both$i -d '$D'"; done
	for i in 1 2 3; do echo "append INBOX -s local$i -f '\\Seen'"; done
	echo "create work"
	for i in 1 2; do echo "append work -s w$i"; done
} | store_script "$LOCAL" >/dev/null
{
	for i in 1 2 3 4 5; do echo "append INBOX -s both$i -d '$D'"; done
	for i in 1 2; do echo "append INBOX -s remote$i"; done
	echo "create other"
	echo "subscribe other"
	for i in 1 2 3; do echo "append other -s o$i"; done
} | store_script "$REMOTE" >/dev/null
snapshot before

sync_run
tap_is "$SYNC_RC" 5 "two non-empty stores, new database: exit 5 (the brake)"
tap_check "saying it would merge them" grep -q \
	'ERROR: first run: the database knows no mailbox and both sides hold mail' \
	"$SYNC_ERR"
tap_check "per side, mailboxes and messages" grep -q \
	'local: 2 mailboxes, 10 messages; remote: 2 mailboxes, 10 messages' \
	"$SYNC_ERR"
tap_check "how many would be paired and copied each way" grep -q \
	'5 messages are on both sides and would be paired; 5 would be copied to remote and 5 to local, and 1 mailbox created on remote, 1 on local' \
	"$SYNC_ERR"
tap_check "naming --force and safety-merge" \
	grep -q -- '--force (or set safety-merge = NO)' "$SYNC_ERR"
tap_check "nothing written on either server" unchanged
tap_check "no database left behind" no_database

sync_run --dry-run
tap_is "$SYNC_RC" 5 "--dry-run: the brake too"
tap_check "--dry-run: the same summary" grep -q \
	'5 messages are on both sides and would be paired' "$SYNC_ERR"
tap_check "--dry-run: nothing written" unchanged
tap_check "--dry-run: no database" no_database

sync_ok "--force merges" --force
tap_check "no brake then" sh -c "! grep -q 'first run' '$SYNC_ERR'"
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" "10 10" \
	"5 paired, 3 + 2 copied: 10 messages on each side"
sync_dumps_equal "the stores are merged"
sync_noop "the next run has nothing to do"

# safety-merge = NO: the same for scripted setups.
sync_pair_new --name keyed
sed -i '/^safety-merge/d' "$SYNC_CONF"
echo "append INBOX -s a" | store_script "$LOCAL" >/dev/null
echo "append INBOX -s b" | store_script "$REMOTE" >/dev/null
sed -i '1i safety-merge = NO' "$SYNC_CONF"
sync_ok "safety-merge = NO merges without --force"
tap_is "$(store_count "$LOCAL" INBOX)" 2 "both messages on local"
sed -i 's/^safety-merge = NO/safety-merge = maybe/' "$SYNC_CONF"
sync_run
tap_is "$SYNC_RC" 2 "safety-merge = maybe: a configuration error"

# One side without mail: a first run as before.
sync_pair_new --name empty
sed -i '/^safety-merge/d' "$SYNC_CONF"
{
	echo "create Archive"
	for i in 1 2 3; do echo "append INBOX -s r$i"; done
} | store_script "$REMOTE" >/dev/null
echo "create Empty" | store_script "$LOCAL" >/dev/null
sync_ok "local holds no mail: no brake"
sync_dumps_equal "copied to local"

# The brake does not hold a later run: the database knows mailboxes.
for i in 1 2; do echo "append INBOX -s l$i"; done |
	store_script "$LOCAL" >/dev/null
sync_ok "a later run with mail on both sides: no brake"
sync_dumps_equal "still equal"

# The same mail on both sides (a store restored, a new database): all
# of it pairs, nothing would be copied: no brake.
sync_pair_new --name same
sed -i '/^safety-merge/d' "$SYNC_CONF"
for c in "$LOCAL" "$REMOTE"; do
	{
		echo "create work"
		for i in 1 2 3; do echo "append INBOX -s s$i -d '$D'"; done
		echo "append work -s w -d '$D'"
	} | store_script "$c" >/dev/null
done
sync_ok "the same mail on both sides: no brake"
tap_check "saying so" grep -q 'both sides hold the same 4 messages; pairing them' \
	"$SYNC_ERR"
tap_check "nothing copied" sh -c "! grep -q 'Added' '$SYNC_ERR'"
tap_is "$(sync_db 'SELECT count(*) FROM mapping')" 4 "4 pairs"

# A database an earlier run made, knowing no mailbox yet, is kept.
sync_pair_new --name kept
sed -i '/^safety-merge/d' "$SYNC_CONF"
sync_ok "a run for a mailbox that does not exist" nosuchbox
tap_check "made a database" test -e "$SYNC_DB"
echo "append INBOX -s a" | store_script "$LOCAL" >/dev/null
echo "append INBOX -s b" | store_script "$REMOTE" >/dev/null
sync_run
tap_is "$SYNC_RC" 5 "a database that knows no mailbox: the brake"
tap_check "the database this run did not create is kept" test -e "$SYNC_DB"
tap_done
