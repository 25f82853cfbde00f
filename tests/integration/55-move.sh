#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 50-move.sh: messages moved between mailboxes on one side are moved on
# the other with UID MOVE: no body crosses the wire, the pairs follow,
# flags set while moving travel too.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's moves"

sync_pair_new --remote-format mdbox
{
	echo "create src"
	echo "create dst"
	i=1
	while [ $i -le 1000 ]; do
		echo "append src -s m$i --size 3000"
		i=$((i + 1))
	done
	echo "append dst -s d1"
} | store_script "$REMOTE" >/dev/null
sync_ok "first sync exits 0"
tap_is "$(store_count "$LOCAL" src)" 1000 "1000 messages in src"

# The user moves everything from src to dst on local, and one message
# back on remote with a flag set.
store_move "$LOCAL" src "1:*" dst
sync_ok "sync after a move of 1000 messages exits 0" --debug
# The sizes of the pairs are in the database (written when the first
# sync copied them): remote is not asked for them, only for the keys of
# those whose size matches a new message's.
tap_is "$(sync_db "SELECT count(*) - count(size) FROM mapping")" 0 \
	"every pair has its size recorded"
tap_check "remote is not asked for sizes" sh -c \
	"! grep -E '^remote -> [^ ]+ UID FETCH [^ ]+ \(RFC822\.SIZE\)$' '$SYNC_ERR'"
tap_check "they were moved on remote" \
	grep -q '^remote(src): Moved 1000 messages to dst' "$SYNC_ERR"
tap_check "nothing copied or expunged" sh -c \
	"! grep -E 'Added [0-9]|Removed [0-9]|Expunged [0-9]' '$SYNC_ERR'"
recv=$(sed -n 's/^remote: IMAP traffic (bytes): recv \([0-9.]*\) \([KMG]*i*B\).*/\1 \2/p' "$SYNC_ERR")
fetched=$(sed -n 's/^local: IMAP traffic (bytes): recv \([0-9.]*\) \([KMG]*i*B\).*/\1 \2/p' "$SYNC_ERR")
# 1000 bodies would be 3 MB; their keys are about 200 kB.
tap_check "no body crossed: remote received $recv, local received $fetched" sh -c \
	"echo '$recv' | grep -qE '^[0-9.]+ (B|KiB)$' &&
	 echo '$fetched' | grep -qE '^[0-9.]+ (B|KiB)$'"
tap_is "$(store_count "$REMOTE" src) $(store_count "$REMOTE" dst)" \
	"0 1001" "remote: src empty, dst full"
tap_is "$(sync_db "SELECT count(*) FROM mapping WHERE idx = $(sync_db_idx dst)")" \
	1001 "the pairs moved with them"
sync_dumps_equal "dumps equal"
sync_noop "then a sync is a no-op"

# A move with a flag change on the way.
uid=$(store_uid_of "$REMOTE" dst m5)
store_flags "$REMOTE" dst "$uid" +FLAGS '\Flagged'
store_move "$REMOTE" dst "$uid" src
sync_ok "sync after moving a flagged message back exits 0"
tap_check "moved on local" grep -q '^local(dst): Moved 1 message to src' \
	"$SYNC_ERR"
tap_check "its flag came too" sh -c \
	"$IMAPTOOL '$LOCAL' flags src | grep -q Flagged"
sync_dumps_equal "dumps equal"

# A server without MOVE (tests/lib/capfilter.py hides it from the real
# one): UID COPY, then STORE \Deleted and, once that is answered, UID
# EXPUNGE.
sed -i "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/capfilter.py MOVE $REMOTE|" "$SYNC_CONF"
store_move "$LOCAL" dst "1:200" src
sync_ok "without MOVE: a sync after a move of 200 messages exits 0" --debug
tap_check "without MOVE: UID COPY, not MOVE" sh -c \
	"grep -q '^remote -> A[0-9]* UID COPY' '$SYNC_ERR' &&
	 ! grep -q '^remote -> A[0-9]* UID MOVE' '$SYNC_ERR'"
tap_check "without MOVE: the EXPUNGE waits for its STORE's answer" sh -c \
	"grep '^remote [-<]' '$SYNC_ERR' | grep -A1000 'UID STORE.*Deleted' |
	 grep -m1 -E 'OK Store|UID EXPUNGE' | grep -q 'OK Store'"
tap_is "$(store_count "$REMOTE" src) $(store_count "$REMOTE" dst)" \
	"$(store_count "$LOCAL" src) $(store_count "$LOCAL" dst)" \
	"without MOVE: the same counts on both sides"
sync_dumps_equal "without MOVE: dumps equal"
sync_noop "without MOVE: then a sync is a no-op"
tap_done
