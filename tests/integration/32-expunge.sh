#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 32-expunge.sh: expunges travel both ways; a message added then expunged
# between two runs is never copied; the same message expunged on both sides
# is no error.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --local-format mdbox
for s in l1 l2 l3 l4 l5 l6; do
	store_append "$LOCAL" INBOX -s $s >/dev/null
done
for s in r1 r2 r3 r4; do
	store_append "$REMOTE" INBOX -s $s >/dev/null
done
sync_ok "initial sync exits 0"
idx=$(sync_db_idx INBOX)
mapped() { sync_db "SELECT count(*) FROM mapping WHERE idx = '$idx'"; }
tap_is "$(mapped)" 10 \
	"10 messages mapped"

store_expunge "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l1)"
store_expunge "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r1)"
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r2)"
sync_ok "sync after expunges on both sides exits 0"
sync_dumps_equal "expunges: dumps equal"
tap_is "$(store_count "$REMOTE" INBOX)" 7 \
	"expunges: 7 messages remotely"
tap_is "$(mapped)" 7 \
	"expunges: 7 messages mapped"
tap_check "expunges: the log reports them" grep -Eq 'Expunged [0-9]+ messages? on|Removed [0-9]+ UID' "$SYNC_ERR" \
	"$SYNC_OUT"
tap_is "$(store_uid_of "$LOCAL" INBOX r2)" "" \
	"the expunged remote-born message is gone locally"

u=$(store_append "$LOCAL" INBOX -s tmp-local)
store_expunge "$LOCAL" INBOX "$u"
u=$(store_append "$REMOTE" INBOX -s tmp-remote)
store_expunge "$REMOTE" INBOX "$u"
store_append "$REMOTE" INBOX -s keeper >/dev/null
sync_ok "sync after add-then-expunge exits 0"
sync_dumps_equal "add-then-expunge: dumps equal"
tap_is "$(store_count "$LOCAL" INBOX) $(mapped)" "8 8" \
	"add-then-expunge: only the kept message was copied"

store_expunge "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l3)"
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l3)"
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l4)" +FLAGS '\Seen'
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l4)"
sync_ok "sync after expunge on both sides and flag-vs-expunge exits 0"
sync_dumps_equal "double expunge and flag-vs-expunge: dumps equal"
tap_is "$(store_count "$LOCAL" INBOX) $(mapped)" "6 6" \
	"6 messages left, 6 mapped"
sync_noop "a further run is a no-op"

# The STORE of the \Deleted flags and the UID EXPUNGE go out together,
# in the selection of the APPLY step: no second SELECT between them.
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l5)"
sync_ok "an expunge carried, traced" --debug
tap_check "the UID EXPUNGE follows its STORE, not a second SELECT" sh -c \
	"grep '^local -> ' '$SYNC_ERR' | grep -A1 'UID STORE.*Deleted' |
	 sed -n 2p | grep -q 'UID EXPUNGE'"
tap_is "$(store_count "$LOCAL" INBOX) $(mapped)" "5 5" \
	"5 messages left, 5 mapped"

# Dovecot may run the two side by side, and then (seen on a mailbox of
# 100 000) the EXPUNGE finds nothing flagged yet. tests/lib/storelag.py
# makes that happen every time: it holds the STORE back until the
# EXPUNGE is answered. What VANISHED did not name is expunged again.
sed -i "s|^command = $LOCAL\$|command = $IMAPSYNC_TOP/tests/lib/storelag.py $LOCAL|" "$SYNC_CONF"
for s in a b c d e; do
	store_append "$REMOTE" INBOX -s lag-$s >/dev/null
done
sync_ok "five more messages copied through the lagging relay"
tap_is "$(store_count "$LOCAL" INBOX) $(mapped)" "10 10" \
	"10 messages, 10 mapped"
for s in a c e; do
	store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX lag-$s)"
done
sync_ok "expunges carried through the lagging relay" --debug
tap_is "$(grep -c '^local -> [^ ]* UID EXPUNGE' "$SYNC_ERR")" 2 \
	"the EXPUNGE that ran ahead of its STORE is sent again"
tap_is "$(store_count "$LOCAL" INBOX) $(mapped)" "7 7" \
	"the three are gone locally, 7 mapped"
tap_is "$(store_uid_of "$LOCAL" INBOX lag-c)" "" \
	"lag-c is gone locally"
sync_dumps_equal "expunges through the lagging relay: dumps equal"
sync_noop "a further run is a no-op"
tap_done
