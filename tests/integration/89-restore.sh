#!/bin/sh
# 89-restore.sh: the way back after the brake. The remote store wiped
# (its messages gone, mailboxes kept; then its mailboxes gone too): the
# brake stops the run, naming --force and --restore-from; the run with
# --restore-from=local copies every message back with its flags, creates
# the mailboxes again, pairs them again and expunges nothing: the stores
# end identical, nothing lost, no message twice.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's --restore-from"

# fill: mail on remote with flags, in INBOX, work and a hierarchy.
fill() {
	{
		for i in $(seq 1 20); do echo "append INBOX -s in$i"; done
		for i in $(seq 21 30); do
			echo "append INBOX -s in$i -f '\\Seen \\Flagged'"
		done
		echo "create work"
		echo "subscribe work"
		for i in $(seq 1 6); do echo "append work -s w$i -f '\\Answered'"; done
		echo "create lists/dev"
		for i in $(seq 1 6); do echo "append lists/dev -s d$i -f 'keyword1'"; done
	} | store_script "$REMOTE" >/dev/null
}
# unique BOX: no message twice in BOX on either side (by Message-ID).
unique() {
	for _c in "$LOCAL" "$REMOTE"; do
		store_dump "$_c" | awk '/^mailbox /{b=$2} /^  message /{print b, $2}' |
			sort | uniq -d | grep . && return 1
	done
	return 0
}

sync_pair_new
fill
sync_ok "first sync"
store_dump "$LOCAL" >"$SYNC_DIR/orig"

# 1. The remote's messages gone, its mailboxes kept.
store_expunge "$REMOTE" INBOX 1:*
store_expunge "$REMOTE" work 1:*
store_expunge "$REMOTE" lists/dev 1:*
sync_run
tap_is "$SYNC_RC" 5 "the wiped remote: the brake stops the run"
tap_check "naming --force and what it does" \
	grep -q -- '--force, which expunges them here too' "$SYNC_ERR"
tap_check "naming --restore-from=local and what it does" grep -q -- \
	'--restore-from=local, which copies them back there from here, with their flags, and expunges nothing here' \
	"$SYNC_ERR"
store_dump "$LOCAL" >"$SYNC_DIR/now"
tap_check "local untouched" cmp "$SYNC_DIR/orig" "$SYNC_DIR/now"

sync_run --restore-from=local --force
tap_is "$SYNC_RC" 2 "--restore-from with --force: a usage error"
sync_ok "--restore-from=local" --restore-from=local
tap_check "saying what it restores" \
	grep -q '^remote(INBOX): Restoring 30 messages lost here: copying them back from local' \
	"$SYNC_ERR"
store_dump "$LOCAL" >"$SYNC_DIR/now"
tap_check "local still as it was (nothing expunged)" cmp "$SYNC_DIR/orig" "$SYNC_DIR/now"
tap_is "$(store_count "$REMOTE" INBOX) $(store_count "$REMOTE" work) $(store_count "$REMOTE" lists/dev)" \
	"30 6 6" "every message back on remote"
sync_dumps_equal "the stores are identical (flags too)"
tap_check "no message twice" unique
tap_is "$(sync_db 'SELECT count(*) FROM mapping')" 42 "42 pairs again"
sync_noop "the next run has nothing to do"
sync_ok "--verify finds nothing apart" --verify

# 2. The remote's mailboxes gone too (INBOX empty, the folders deleted).
store_expunge "$REMOTE" INBOX 1:*
store_delete "$REMOTE" lists/dev work
sync_run
tap_is "$SYNC_RC" 5 "mailboxes gone too: the brake stops the run"
tap_check "before deleting anything, naming --restore-from" grep -q \
	'are gone from remote.*--restore-from=local, which creates them there again' \
	"$SYNC_ERR"
store_dump "$LOCAL" >"$SYNC_DIR/now"
tap_check "local untouched" cmp "$SYNC_DIR/orig" "$SYNC_DIR/now"
sync_ok "--restore-from=local" --restore-from=local
tap_diag "$(cat "$SYNC_ERR")"
tap_check "saying it creates the mailboxes again" \
	grep -q '^remote(work): Restoring the mailbox, lost here' "$SYNC_ERR"
store_dump "$LOCAL" >"$SYNC_DIR/now"
tap_check "local still as it was" cmp "$SYNC_DIR/orig" "$SYNC_DIR/now"
sync_dumps_equal "the stores are identical (mailboxes, flags)"
tap_check "no message twice" unique
tap_is "$(store_lsub "$REMOTE" | grep -c work)" 1 "work subscribed on remote again"
sync_noop "the next run has nothing to do"
sync_ok "--verify finds nothing apart" --verify

# 3. Mail that came meanwhile, and a deletion made on the trusted side,
# go as in any sync; the lost side's expunges are what is restored.
for i in 1 2; do echo "append INBOX -s new$i"; done | store_script "$REMOTE" >/dev/null
store_expunge "$LOCAL" work 1
store_expunge "$REMOTE" INBOX 1:3
sync_ok "--restore-from=local with new mail and a local expunge" \
	--restore-from=local
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" "32 32" \
	"INBOX: the 3 restored, the 2 new copied"
tap_is "$(store_count "$LOCAL" work) $(store_count "$REMOTE" work)" "5 5" \
	"work: the local expunge carried"
sync_dumps_equal "identical"
tap_check "no message twice" unique

# 4. A mailbox the server made again, empty, with a new UIDVALIDITY.
store_delete "$REMOTE" work
store_create "$REMOTE" work
store_subscribe "$REMOTE" work
sync_run --restore-from=local
tap_is "$SYNC_RC" 0 "a mailbox made again, empty: --restore-from=local exits 0"
tap_diag "$(cat "$SYNC_ERR")"
tap_is "$(store_count "$REMOTE" work)" 5 "its mail copied back"
sync_dumps_equal "identical"
tap_check "no message twice" unique
tap_done
