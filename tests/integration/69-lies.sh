#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 69-lies.sh: a server that lies in its answers (tests/lib/liar.py in
# front of a real Dovecot). A VANISHED (EARLIER) range of four billion
# UIDs ends the run quickly and touches nothing it should not (the range
# is met with the mapping, not looked up UID by UID); an APPENDUID with
# another UIDVALIDITY, or UIDs that are not new, records no pair, fails
# the mailbox with an error naming the server, and the next run pairs the
# copies without doubling them.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own checks"

sync_pair_new
for i in 1 2 3 4 5; do
	store_append "$REMOTE" INBOX -s "r$i" >/dev/null
done
sync_ok "first sync"

# liar MODE: the remote's answers lie as liar.py MODE makes them.
liar() {
	sync_run_relayed "$IMAPSYNC_TOP/tests/lib/liar.py $1"
}

# --- VANISHED (EARLIER) 1000:4000000000, and one real expunge. ---
uid=$(store_uid_of "$REMOTE" INBOX r2)
store_expunge "$REMOTE" INBOX "$uid"
store_append "$REMOTE" INBOX -s r6 >/dev/null
liar vanished
tap_is "$SYNC_RC" 0 "vanished range: the run ends, exit 0"
tap_check "vanished range: a warning names the remote, INBOX and the lie" \
	grep -q "^remote(INBOX): WARNING: the server said 3999999001 UIDs vanished at or past UIDNEXT" "$SYNC_ERR"
tap_diag "$(grep 'ERROR\|WARN' "$SYNC_ERR" | head -n 3)"
tap_is "$(store_count "$LOCAL" INBOX)" 5 \
	"vanished range: the real expunge and the new message only"
sync_dumps_equal "vanished range: the stores are equal"

# --- APPENDUID lies: copies to the remote. ---
for mode in appenduid-v appenduid-low; do
	store_append "$LOCAL" INBOX -s "l-$mode" >/dev/null
	before=$(sync_db "SELECT count(*) FROM mapping")
	liar "$mode"
	tap_is "$SYNC_RC" 1 "$mode: the mailbox fails, exit 1"
	tap_check "$mode: the error names the remote and APPENDUID" \
		grep -q "remote(INBOX).*ERROR.*APPENDUID" "$SYNC_ERR"
	tap_diag "$(grep ERROR "$SYNC_ERR" | head -n 2)"
	tap_is "$(sync_db "SELECT count(*) FROM mapping")" "$before" \
		"$mode: no pair recorded"
	sync_ok "$mode: the next run against the sane server exits 0"
	tap_is "$(store_count "$REMOTE" INBOX)" "$(store_count "$LOCAL" INBOX)" \
		"$mode: as many messages on both sides"
	tap_is "$($IMAPTOOL "$REMOTE" uid INBOX "l-$mode" | wc -l)" 1 \
		"$mode: the copy is there once"
	sync_dumps_equal "$mode: the stores are equal"
done
tap_done
