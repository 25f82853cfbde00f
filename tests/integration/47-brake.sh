#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 47-brake.sh: the safety brake. A side that suddenly holds far fewer
# messages than the database knows stops the run before anything changes;
# --force goes on; a small deletion and a lower safety-expunge behave.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's safety brake"

sync_pair_new
{
	for i in $(seq 1 30); do echo "append INBOX -s m$i"; done
	echo "create small"
	for i in 1 2 3 4; do echo "append small -s s$i"; done
} | store_script "$REMOTE" >/dev/null
sync_ok "first sync exits 0"
tap_is "$(store_count "$LOCAL" INBOX)" 30 "30 messages copied"

# Most of remote's INBOX disappears.
store_expunge "$REMOTE" INBOX 1:25
store_expunge "$REMOTE" small 1:3
sync_run
tap_is "$SYNC_RC" 5 "the run stops with exit status 5"
tap_check "saying why and what to do" grep -q 'safety-expunge.*--force' \
	"$SYNC_ERR"
tap_check "naming the side that would lose mail" grep -q '^local: ERROR' \
	"$SYNC_ERR"
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$LOCAL" small)" "30 4" \
	"nothing was expunged on local"
tap_check "the summary line says the brake stopped it, and nothing changed" \
	grep -Eq '^Stopped by the safety brake after [0-9.]+ s; nothing changed$' \
	"$SYNC_ERR"
tap_check "its dry run says a sync would stop there" grep -Eq \
	'^Dry run done in [0-9.]+ s; a sync would stop at the safety brake; nothing would change$' \
	"$SYNC_DIR/logs/run$((SYNC_SEQ - 1)).dry.err"

sync_ok "--force goes on" --force
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$LOCAL" small)" "5 1" \
	"the expunges were carried"
tap_check "the summary counts them" grep -Eq \
	'^Done in [0-9.]+ s; local: expunged 28 messages$' "$SYNC_ERR"
sync_dumps_equal "dumps equal"

# Below the floor of 10 messages no brake; a lower share brakes sooner.
store_expunge "$REMOTE" INBOX 26:28
sync_ok "3 of 5 expunged: no brake (too few to matter)"
sed -i '1i safety-expunge = 0' "$SYNC_CONF"
for i in $(seq 1 12); do echo "append INBOX -s n$i"; done |
	store_script "$REMOTE" >/dev/null
sync_ok "new messages copied"
store_expunge "$REMOTE" INBOX 1:100
sync_run
tap_is "$SYNC_RC" 5 "safety-expunge = 0 brakes on 12 expunges"
tap_is "$(store_count "$LOCAL" INBOX)" 14 "and expunges nothing"
sync_ok "--force carries them" --force

# A move is not a loss: every message of a mailbox moved to another, on
# one side, with safety-expunge = 0.
for i in $(seq 1 15); do echo "append INBOX -s k$i"; done |
	store_script "$REMOTE" >/dev/null
sync_ok "15 more copied"
store_move "$REMOTE" INBOX "1:*" small
sync_ok "all of INBOX moved to small on remote: no brake"
tap_check "the move was carried as a move" \
	grep -q '^local(INBOX): Moved 15 messages to small' "$SYNC_ERR"
sync_dumps_equal "dumps equal after the move"
tap_done
