#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 66-move-unsure.sh: a move whose outcome the server does not tell (no
# COPYUID) or that it refuses fails both mailboxes with nothing recorded
# that was not seen done; the next run finds the messages where the
# server has them and converges with no duplicate and no body copied.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's moves"

REWRITE=$IMAPSYNC_TOP/tests/lib/rewrite.py

fill() {
	{
		for b in a b c; do echo "create $b"; done
		i=1
		while [ $i -le 6 ]; do
			echo "append a -s m$i --size $((2000 + i))"
			i=$((i + 1))
		done
	} | store_script "$REMOTE" >/dev/null
	sync_run || tap_diag "first sync: $SYNC_RC"
}

# relay ARGS...: the remote seen through rewrite.py ARGS.
relay() {
	{
		echo '#!/bin/sh'
		printf 'exec %s' "$REWRITE"
		for _a in "$@"; do printf " '%s'" "$_a"; done
		printf ' -- %s\n' "$REMOTE"
	} >"$SYNC_DIR/relay"
	chmod 755 "$SYNC_DIR/relay"
	sed -i "s|^command = $REMOTE\$|command = $SYNC_DIR/relay|" "$SYNC_CONF"
}
direct() {
	sed -i "s|^command = $SYNC_DIR/relay\$|command = $REMOTE|" "$SYNC_CONF"
}

# No COPYUID, tagged or untagged: the moves happen, their UIDs are unknown.
sync_pair_new --name nocopyuid
fill
store_move "$LOCAL" a 1:2 b
store_move "$LOCAL" a 3 c
relay server '\[COPYUID [^]]*\] ?' ''

sync_run
tap_is "$SYNC_RC" 1 "no COPYUID: the run exits 1"
tap_check "it says why and what comes next" \
	grep -q "remote(a): ERROR: UID MOVE to b: no valid COPYUID for 2 messages.*the next run pairs them by content" "$SYNC_ERR"
tap_check "the mailbox moved into fails too" \
	grep -q "remote(b): ERROR: a move from a into this mailbox did not complete" "$SYNC_ERR"
tap_is "$(store_count "$REMOTE" a) $(store_count "$REMOTE" b) $(store_count "$REMOTE" c)" \
	"3 2 1" "the server did move them"
direct
sync_ok "the next run exits 0" --debug
tap_check "it pairs them, copying nothing" sh -c \
	"! grep -q 'Added [0-9]' '$SYNC_ERR' && grep -q 'Paired' '$SYNC_ERR'"
sync_dumps_equal "dumps equal, no duplicate"
tap_is "$(sync_db "SELECT count(*) FROM mapping")" 6 "6 pairs"
sync_noop "then a sync is a no-op"

# A MOVE the server refuses (here: sent to a mailbox that does not exist).
sync_pair_new --name refused
fill
store_move "$LOCAL" a 1:2 b
relay client '(UID MOVE \S+) b\r' '\1 nosuchbox\r'

sync_run
tap_is "$SYNC_RC" 1 "MOVE refused: the run exits 1"
tap_check "it names the mailboxes" sh -c \
	"grep -q 'remote(a): ERROR: UID MOVE to b: ' '$SYNC_ERR' &&
	 grep -q 'remote(b): ERROR: a move from a' '$SYNC_ERR'"
tap_is "$(store_count "$REMOTE" a) $(store_count "$REMOTE" b)" "6 0" \
	"nothing moved on remote"
direct
sync_ok "the next run exits 0" --debug
tap_check "it moves them" grep -q '^remote(a): Moved 2 messages to b' "$SYNC_ERR"
sync_dumps_equal "dumps equal, no duplicate"
sync_noop "then a sync is a no-op"

# A COPYUID that lies: the new UIDs are ones the mailbox gave before.
sync_pair_new --name liar
fill
for i in 1 2 3 4 5; do echo "append b -s old$i"; done |
	store_script "$REMOTE" >/dev/null
sync_run || tap_diag "second sync: $SYNC_RC"
store_move "$LOCAL" a 1:2 b
relay server '(\[COPYUID [0-9]+ ([0-9:,]+)) [0-9:,]+\]' '\1 \2]'
sync_run
tap_is "$SYNC_RC" 1 "a COPYUID naming old UIDs: the run exits 1"
tap_check "it is not believed" \
	grep -q "remote(a): ERROR: UID MOVE to b: no valid COPYUID for 2 messages" "$SYNC_ERR"
direct
sync_ok "the next run exits 0"
sync_dumps_equal "dumps equal, no duplicate"
tap_is "$(store_count "$REMOTE" b)" 7 "b holds its 5 and the 2 moved"

# Two MOVEs in flight whose COPYUIDs both come before either tagged OK,
# in the order the server chose: each takes its own.
sync_pair_new --name twomoves
fill
store_move "$LOCAL" a 6 b
store_move "$LOCAL" a 5 c
sync_ok "two moves out of one mailbox into two exit 0" --debug
tap_is "$(grep -c 'Moved 1 message to' "$SYNC_ERR")" 2 "both moved"
tap_check "nothing copied" sh -c "! grep -q 'Added [0-9]' '$SYNC_ERR'"
sync_dumps_equal "dumps equal"
tap_done
