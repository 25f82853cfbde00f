#!/bin/sh
# 59-unusual.sh: Dovecot behind tests/lib/unusual.py, answering in ways
# that RFC 9051/3501, 7162, 4315 and 6851 allow but Dovecot never uses
# (responses reordered and split, FETCH items in another order and in
# several responses, VANISHED (EARLIER) repeated, COPYUID tagged or one
# per UID, no ENABLED, no capabilities in the greeting, HIGHESTMODSEQ at
# other moments, bare LIST attributes, names as literals or quoted, reads
# ending anywhere), one way at a time and some together. Each: a first
# sync, then changes on both sides (flags, expunges, new mail, two moves
# out of one mailbox into two, a new mailbox) carried to the relayed
# side and from it: exit 0, no warning, stores identical, no duplicate,
# the moves carried with no body copied, and a next run that changes
# nothing. A message's items in several FETCH responses are put back
# together (proto/imap-fetch-join.c): also a first sync of equal stores
# pairs them all and copies a new message with its flags and date.
# (59-quirks has Cyrus's own habits: a STORE answered with FETCH, a
# botched MAILBOXID, no X-GUID.)
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own server handling"

UNUSUAL="python3 $IMAPSYNC_TOP/tests/lib/unusual.py"
QUIRKS="python3 $IMAPSYNC_TOP/tests/lib/quirks.py"

# no_warning DESC: the last run logged no WARNING.
no_warning() {
	tap_check "$1" sh -c "! grep WARNING '$SYNC_ERR' '$SYNC_OUT'"
}

# dups STORE: messages with an identical twin in their mailbox.
dups() {
	store_dump "$1" | awk '/^mailbox/ { b = $0 } /^  message/ { print b $0 }' |
		sort | uniq -d | wc -l
}

# unusual MODES [THROUGH]: a new pair whose remote answers through
# unusual.py MODES (in front of THROUGH, e.g. quirks.py store-fetch), the
# first sync, changes on both sides, their sync, a no-op run.
unusual() {
	_m=$1
	sync_pair_new --name "$(echo "$_m" | tr ',' '+')"
	sed -i "s|^command = $REMOTE\$|command = $UNUSUAL $_m ${2:+$2 }$REMOTE|" \
		"$SYNC_CONF"
	{
		for b in a b c; do echo "create $b"; done
		for i in 1 2 3 4 5 6; do echo "append a -s m$i"; done
		echo "append INBOX -s l1 -f '\\Seen'"
	} | store_script "$LOCAL" >/dev/null
	{
		echo "create Lists/Sub"
		echo "append Lists/Sub -s s1 -f '\$Label1'"
		echo "subscribe Lists/Sub"
		for i in 1 2 3; do echo "append INBOX -s r$i"; done
	} | store_script "$REMOTE" >/dev/null
	sync_ok "$_m: first sync exits 0" --debug
	no_warning "$_m: first sync, no warning"
	sync_dumps_equal "$_m: first sync, stores equal"

	# To the relayed side: flags (STORE), an expunge (STORE \Deleted,
	# UID EXPUNGE), two moves out of a into b and c (UID MOVE), new mail.
	# From it: flags, an expunge (VANISHED), new mail, a new mailbox.
	# (UIDs first: a change made meanwhile on another connection would
	# come as a FETCH without UID to imaptool's reading.)
	_m1=$(store_uid_of "$LOCAL" a m1) _m2=$(store_uid_of "$LOCAL" a m2)
	_m3=$(store_uid_of "$LOCAL" a m3) _m4=$(store_uid_of "$LOCAL" a m4)
	_m5=$(store_uid_of "$LOCAL" a m5) _r1=$(store_uid_of "$LOCAL" INBOX r1)
	_l1=$(store_uid_of "$REMOTE" INBOX l1)
	_r2=$(store_uid_of "$REMOTE" INBOX r2)
	_r3=$(store_uid_of "$REMOTE" INBOX r3)
	{
		echo "store a $_m1 +FLAGS '\\Flagged kw1'"
		echo "store INBOX $_r1 +FLAGS '\\Seen'"
		echo "expunge a $_m2"
		echo "move a $_m3 b"
		echo "move a $_m4 c"
		echo "move a $_m5 c"
		echo "append INBOX -s l2"
	} | store_script "$LOCAL" >/dev/null
	{
		echo "store INBOX $_l1 -FLAGS '\\Seen'"
		echo "store INBOX $_r2 +FLAGS '\\Answered'"
		echo "expunge INBOX $_r3"
		echo "append Lists/Sub -s s2"
		echo "create New"
		echo "append New -s n1"
	} | store_script "$REMOTE" >/dev/null
	sync_ok "$_m: changes both sides exit 0" --debug
	RUN_ERR=$SYNC_ERR
	no_warning "$_m: changes, no warning"
	sync_dumps_equal "$_m: changes, stores equal"
	tap_is "$(dups "$LOCAL") $(dups "$REMOTE")" "0 0" "$_m: no duplicate"
	tap_is "$(grep -c 'remote -> A[0-9]* UID MOVE' "$SYNC_ERR") $(grep -c 'remote -> A[0-9]* APPEND' "$SYNC_ERR")" \
		"2 1" "$_m: two UID MOVEs, one APPEND (the new mail) to the remote"
	tap_is "$(store_count "$REMOTE" a) $(store_count "$REMOTE" b) $(store_count "$REMOTE" c)" \
		"2 1 2" "$_m: the moves done on the remote"
	case ,$_m, in
	*,copyuid-tagged,*) ;;
	*,late-tagged,*)
		_c=$(both_copyuids_first "$RUN_ERR")
		tap_check "$_m: both MOVEs' COPYUIDs came before either's OK" \
			test "${_c% *}" = "${_c#* }" -a "${_c#* }" -ge 2
		;;
	esac
	sync_noop "$_m: the next run changes nothing"
}

# both_copyuids_first ERR: "BEFORE ALL": how many COPYUIDs the remote
# sent before the tagged response of the first UID MOVE of run ERR
# (--debug), and in all.
both_copyuids_first() {
	awk '/^remote -> A[0-9]* UID MOVE / { t[$3] = 1 }
		/^remote <- \* OK \[COPYUID / { n++ }
		/^remote <- A[0-9]* / && ($3 in t) && !done { b = n; done = 1 }
		END { print b + 0, n + 0 }' "$1"
}

# UNUSUAL_ONLY=MODES: those alone (to look into a failure).
if [ -n "${UNUSUAL_ONLY:-}" ]; then
	unusual "$UNUSUAL_ONLY"
	tap_done
	exit
fi
# Every way, in three pairs (one also over Cyrus's habit of answering a
# STORE with FETCH); with SYNC_LONG (make check-long) each alone as well.
unusual late-tagged,fetch-reverse,copyuid-split,modseq-ok "$QUIRKS store-fetch"
unusual late-tagged,copyuid-tagged,vanished-repeat,names-literal,list-bare
unusual no-enabled,no-greeting-caps,names-quoted,split-writes
if [ -n "${SYNC_LONG:-}" ]; then
	for m in late-tagged fetch-reverse vanished-repeat copyuid-tagged \
		copyuid-split no-enabled no-greeting-caps modseq-ok list-bare \
		names-literal names-quoted split-writes; do
		unusual $m
	done
fi
# The items of one message in several FETCH responses (legal: M.
# Crispin on imap-protocol, 2011-11, "There are servers that do it").
# Before they were put together, a key made of a part paired nothing
# and a first sync of two equal stores doubled every message (exit 0);
# then a clear error failed the mailbox. Now: the whole sync above with
# the keys split (fetch-split-keys) and with every FETCH split, bodies
# too (fetch-split), and here a first sync that pairs equal messages
# and copies a new one with its flags, its date and nothing doubled.
unusual fetch-split-keys,late-tagged
unusual fetch-split,fetch-reverse "$QUIRKS store-fetch"

# split MODE: equal messages on both sides in a, one new only on the
# remote in b, behind unusual.py MODE.
split() {
	sync_pair_new --name "$1-first"
	sed -i "s|^command = $REMOTE\$|command = $UNUSUAL $1 $REMOTE|" \
		"$SYNC_CONF"
	for _s in "$LOCAL" "$REMOTE"; do
		{
			echo "create a"
			echo "create b"
			for i in 1 2 3; do
				echo "append a -s m$i -d '01-Jan-2024 10:00:0$i +0000'"
			done
		} | store_script "$_s" >/dev/null
	done
	store_append "$REMOTE" b -s new -f '\Seen' \
		-d '02-Feb-2024 11:00:00 +0000' >/dev/null
	sync_ok "$1: the first sync exits 0" --debug
	tap_check "$1: the server did split a message's items" \
		grep -Eq '^remote <- \* [0-9]+ FETCH \(UID [0-9]+ BODY\[HEADER' \
		"$SYNC_ERR"
	tap_check "$1: no error, no warning" \
		sh -c "! grep -E 'ERROR|WARNING' '$SYNC_ERR' '$SYNC_OUT'"
	tap_check "$1: the three messages are paired" \
		grep -q 'database(a): Paired 3 messages found on both sides' \
		"$SYNC_ERR"
	tap_is "$(store_count "$LOCAL" a) $(store_count "$REMOTE" a)" "3 3" \
		"$1: nothing doubled"
	tap_is "$(store_count "$LOCAL" b)" 1 "$1: the new message copied"
	tap_is "$(dups "$LOCAL") $(dups "$REMOTE")" "0 0" "$1: no duplicate"
	sync_dumps_equal "$1: stores equal (flags and dates too)"
	# The same without the relay: nothing left to do.
	sed -i "s|^command = $UNUSUAL $1 $REMOTE\$|command = $REMOTE|" \
		"$SYNC_CONF"
	sync_noop "$1: without it, the next run changes nothing"
}
split fetch-split-keys
split fetch-split
tap_done
