#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 71-backwards.sh: a server whose HIGHESTMODSEQ or UIDNEXT goes back under
# the same UIDVALIDITY (Dovecot after its index files are lost, or a
# relay that lowers the numbers): the run says so, naming the server and
# the mailbox, and compares the mailbox in full as --repair does: a flag
# set on either side since reaches the other, a new message is copied,
# and nothing is wiped because the server forgot.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own check"

# --- A real index loss (maildir keeps UIDs and flags, not MODSEQs). ---
sync_pair_new
for i in 1 2 3 4; do
	store_append "$REMOTE" INBOX -s "m$i" >/dev/null
done
sync_ok "first sync"
# Push the remote's HIGHESTMODSEQ well up, and sync that.
for i in 1 2 3 4 5 6; do
	store_flags "$REMOTE" INBOX 1:* +FLAGS "\\Seen"
	store_flags "$REMOTE" INBOX 1:* -FLAGS "\\Seen"
done
sync_ok "flag churn synced"
before=$(sync_db "SELECT highestmodseq FROM remote")
find "$SYNC_DIR/remote/home" -name 'dovecot.index*' -exec rm -f {} +
after=$(store_status "$REMOTE" INBOX | sed -n 's/.*HIGHESTMODSEQ \([0-9]*\).*/\1/p')
tap_diag "remote HIGHESTMODSEQ stored $before, after the index loss $after"
r2=$(store_uid_of "$REMOTE" INBOX m2)
r3=$(store_uid_of "$REMOTE" INBOX m3)
l3=$(store_uid_of "$LOCAL" INBOX m3)
store_flags "$REMOTE" INBOX "$r2" +FLAGS "\\Answered"
store_flags "$LOCAL" INBOX "$l3" +FLAGS "\\Flagged"
store_append "$REMOTE" INBOX -s m5 >/dev/null
sync_run
tap_is "$SYNC_RC" 0 "index loss: exit 0"
tap_check "index loss: one warning names the remote server and INBOX" \
	sh -c "[ \$(grep -c 'remote(INBOX).*went back' '$SYNC_ERR') = 1 ]"
l2=$(store_uid_of "$LOCAL" INBOX m2)
tap_check "index loss: the remote's new flag reached local" \
	sh -c "$IMAPTOOL $LOCAL flags INBOX | grep \"^$l2 .*Answered\""
tap_is "$(store_count "$LOCAL" INBOX)" 5 "index loss: the new message was copied"
sync_dumps_equal "index loss: the stores are equal"
sync_noop "index loss: the next run has nothing to do"

# --- A relay that lowers UIDNEXT and HIGHESTMODSEQ (tests/lib/liar.py). ---
cp "$SYNC_CONF" "$SYNC_CONF.sane"
sed "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/liar.py low $REMOTE|" \
	"$SYNC_CONF.sane" >"$SYNC_CONF"
store_append "$REMOTE" INBOX -s m6 >/dev/null
l1=$(store_uid_of "$LOCAL" INBOX m1)
store_flags "$LOCAL" INBOX "$l1" +FLAGS "\\Flagged"
sync_run
tap_is "$SYNC_RC" 0 "lowered numbers: exit 0"
tap_check "lowered numbers: one warning names the remote server and INBOX" \
	sh -c "[ \$(grep -c 'remote(INBOX).*went back' '$SYNC_ERR') = 1 ]"
tap_is "$(store_count "$LOCAL" INBOX)" 6 \
	"lowered numbers: the new message was copied"
r1=$(store_uid_of "$REMOTE" INBOX m1)
tap_check "lowered numbers: the local \\Flagged is kept and reached remote" \
	sh -c "$IMAPTOOL $LOCAL flags INBOX | grep \"^$l1 .*Flagged\" &&
		$IMAPTOOL $REMOTE flags INBOX | grep \"^$r1 .*Flagged\""
cp "$SYNC_CONF.sane" "$SYNC_CONF"
sync_ok "lowered numbers: the next run against the sane server exits 0"
sync_dumps_equal "lowered numbers: the stores are equal"
tap_done
