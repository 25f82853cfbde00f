#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 59-quirks.sh: Dovecot behind tests/lib/quirks.py, with habits of other
# servers (Cyrus IMAP 3.6), so they are tested without that server:
#  - a STORE answered with FETCH responses (even .SILENT, RFC 7162 3.2):
#    recognised as the answer to our own STORE, no false warning, no
#    extra selection;
#  - garbage in place of MAILBOXID when STATUS asks it with other items:
#    one warning, the run goes on, the id asked alone from then on (the
#    refusal remembered in the database);
#  - a server without X-GUID (BAD): no warning, and after the first run
#    it is never asked again.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's own server handling"

QUIRKS="python3 $IMAPSYNC_TOP/tests/lib/quirks.py"

# quirk MODE: the remote tunnel goes through quirks.py MODE.
quirk() {
	sed -i "s|^command = .*$REMOTE\$|command = $QUIRKS $1 $REMOTE|" \
		"$SYNC_CONF"
}

# no_warning DESC: the last run logged no WARNING.
no_warning() {
	tap_check "$1" sh -c "! grep WARNING '$SYNC_ERR' '$SYNC_OUT'"
}

# selections: how many SELECT/EXAMINE the last run (--debug) sent remote.
selections() {
	grep -c 'remote -> A[0-9]* \(SELECT\|EXAMINE\)' "$SYNC_ERR"
}

# --- store-fetch ------------------------------------------------------
sync_pair_new --name storefetch
quirk store-fetch
for i in 1 2 3 4 5 6; do
	echo "append INBOX -s l$i"
done | store_script "$LOCAL" >/dev/null
for i in 1 2 3 4 5 6; do
	echo "append INBOX -s r$i"
done | store_script "$REMOTE" >/dev/null
sync_ok "store-fetch: first sync exits 0"
sync_dumps_equal "store-fetch: first sync, stores equal"

store_expunge "$LOCAL" INBOX 1:2
sync_ok "store-fetch: a local expunge exits 0" --debug
no_warning "store-fetch: no warning for our own STORE \\Deleted's FETCH"
tap_check "store-fetch: the server did answer the STORE with FETCH" \
	grep -q 'remote <- \* 1 FETCH (UID [0-9]* FLAGS (\\Deleted)' \
	"$SYNC_ERR"
tap_is "$(selections)" 1 "store-fetch: one selection of the remote mailbox"
sync_dumps_equal "store-fetch: after the expunge, stores equal"

store_flags "$LOCAL" INBOX 3 +FLAGS '\Seen $Label1'
store_flags "$LOCAL" INBOX 4 +FLAGS '\Flagged'
store_expunge "$LOCAL" INBOX 5
store_flags "$REMOTE" INBOX 3 +FLAGS '\Answered'
sync_ok "store-fetch: flags and an expunge exit 0" --debug
no_warning "store-fetch: flags and an expunge, no warning"
sync_dumps_equal "store-fetch: flags and an expunge, stores equal"
sync_noop "store-fetch: the next run changes nothing"

# --- mailboxid-garbage --------------------------------------------------
sync_pair_new --name mboxid
quirk mailboxid-garbage
store_create "$LOCAL" Archive
store_create "$REMOTE" Archive2
store_create "$REMOTE" Archive3
store_append "$LOCAL" Archive -s a1 >/dev/null
store_append "$REMOTE" INBOX -s r1 >/dev/null
sync_ok "mailboxid-garbage: the first sync exits 0" --debug
tap_check "mailboxid-garbage: one had a LF" \
	env LC_ALL=C grep -aq "MAILBOXID (.* {$" "$SYNC_ERR"
tap_check "mailboxid-garbage: the server did send garbage" \
	grep -q 'remote <- \* STATUS .*MAILBOXID (O' "$SYNC_ERR"
tap_is "$(grep -c WARNING "$SYNC_ERR")" 1 "mailboxid-garbage: one warning"
tap_diag "$(grep WARNING "$SYNC_ERR")"
tap_check "mailboxid-garbage: it says what and why" \
	grep -q 'remote: WARNING: the server botches STATUS MAILBOXID asked with other items (control character in an atom): it is asked alone' \
	"$SYNC_ERR"
sync_dumps_equal "mailboxid-garbage: stores equal"
tap_is "$(sync_db "SELECT side || ' ' || feature FROM refusal")" \
	"remote LIST-STATUS MAILBOXID" \
	"mailboxid-garbage: the refusal is in the database"
tap_is "$(sync_db "SELECT count(*) FROM mailbox_id WHERE side = 'remote'")" \
	4 "mailboxid-garbage: the remote mailboxes' ids known (asked alone)"
store_create "$REMOTE" New
sync_ok "mailboxid-garbage: the next run exits 0" --debug
no_warning "mailboxid-garbage: the next run warns no more"
tap_check "mailboxid-garbage: MAILBOXID never asked with other items" \
	sh -c "! grep -q 'remote -> .*STATUS (.* MAILBOXID' '$SYNC_ERR'"
tap_check "mailboxid-garbage: a new mailbox's id asked alone" \
	grep -q 'remote -> A[0-9]* STATUS New (MAILBOXID)' "$SYNC_ERR"
store_rename "$REMOTE" New Newer
sync_ok "mailboxid-garbage: a remote rename exits 0"
tap_check "mailboxid-garbage: the rename is recognised by its id" \
	grep -q 'Renamed' "$SYNC_ERR"
sync_dumps_equal "mailboxid-garbage: stores equal after the rename"

# --- no-xguid ------------------------------------------------------------
sync_pair_new --name noxguid
quirk no-xguid
store_append "$REMOTE" INBOX -s r1 >/dev/null
sync_ok "no-xguid: the first sync exits 0" --debug
no_warning "no-xguid: a server without X-GUID is not warned about"
tap_check "no-xguid: it is said once" \
	grep -q 'remote: the server has no STATUS X-GUID' "$SYNC_ERR"
store_append "$REMOTE" INBOX -s r2 >/dev/null
sync_ok "no-xguid: the next run exits 0" --debug
tap_check "no-xguid: X-GUID is not asked again" \
	sh -c "! grep -q 'remote -> .*X-GUID' '$SYNC_ERR'"
tap_is "$(grep -c 'remote -> A[0-9]* LIST "" "\*"' "$SYNC_ERR")" 1 \
	"no-xguid: the mailboxes listed once"
sync_dumps_equal "no-xguid: stores equal"
tap_done
