#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 58-cyrus.sh: local Dovecot, remote a real Cyrus IMAP (stock settings,
# tests/lib/cyrus-server.sh) over STARTTLS with a password: the end-to-end
# scenarios of the Dovecot tests (first sync both ways, flags and keywords,
# expunges, new mail, conflicting flags, new mailboxes and children,
# subscriptions, renames, moves, a killed run resumed, a no-op run): the
# stores end identical, no message doubled, a second run changes nothing,
# and no warning is logged that is not true. Then Cyrus's variants:
# statuscache (MAILBOXID right in LIST-STATUS) and suppress_capabilities.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/cyrus-server.sh"

sync_is_interimap && tap_skip_all "imapsync against Cyrus"
tap_diag "Cyrus IMAP $(cyrus_version)"

cyrus_pair_new
cyrus_starttls_conf

# no_warning DESC: the last run exited 0 and logged no WARNING.
no_warning() {
	tap_check "$1" sh -c "! grep WARNING '$SYNC_ERR' '$SYNC_OUT'"
}

# synced DESC: a run exits 0 with no warning, the stores are equal, and
# the next run changes nothing.
synced() {
	sync_ok "$1: exits 0"
	no_warning "$1: no warning"
	sync_dumps_equal "$1: stores equal"
	sync_noop "$1: the next run changes nothing"
}

# --- first sync, both ways --------------------------------------------
{
	echo "append INBOX -s l1 -f '\\Seen'"
	echo "append INBOX -s l2 -f 'kw_local \\Answered'"
	echo "create Work"
	echo "append Work -s w1"
	echo "create Work/2024"
	echo "append Work/2024 -s w2 --size 40000"
	echo "subscribe Work"
} | store_script "$LOCAL" >/dev/null
{
	echo "append INBOX -s r1 -f '\\Flagged'"
	echo "append INBOX -s r2 -f '\$Label1'"
	echo "create Lists"
	echo "append Lists -s li1"
	echo "subscribe Lists"
} | store_script "$REMOTE" >/dev/null

sync_ok "first sync: exits 0"
tap_is "$(grep -c WARNING "$SYNC_ERR")" 1 \
	"first sync: one warning, Cyrus's botched MAILBOXID"
tap_check "first sync: the warning says what and why" \
	grep -q 'remote: WARNING: the server botches STATUS MAILBOXID asked with other items' \
	"$SYNC_ERR"
sync_dumps_equal "first sync: stores equal"
tap_is "$(store_count "$REMOTE" INBOX)" 4 "first sync: 4 messages in INBOX"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "INBOX Lists Work " \
	"first sync: subscriptions on Cyrus"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "INBOX Lists Work " \
	"first sync: subscriptions local"
sync_noop "first sync: the next run changes nothing"
no_warning "first sync: the next run warns no more"

# --- flags and keywords, each side; conflicting flags --------------------
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r1)" +FLAGS \
	'\Seen kw_l'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l1)" -FLAGS \
	'\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l2)" +FLAGS \
	'$Forwarded'
synced "flags and keywords"
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r2)" +FLAGS \
	'\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r2)" +FLAGS \
	'\Flagged'
# Removals too: merged per flag from the last synced flags (issue 18).
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r1)" -FLAGS \
	'\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r1)" -FLAGS \
	'kw_l'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r1)" +FLAGS \
	'\Answered'
sync_ok "conflicting flags: exits 0"
tap_check "conflicting flags: the merge is reported" \
	grep -qF "local(INBOX): merged flags for UID $(store_uid_of "$LOCAL" INBOX r2) (+\\Seen from local, +\\Flagged from remote)" \
	"$SYNC_ERR"
tap_check "conflicting flags: the removals are reported" \
	grep -qF "local(INBOX): merged flags for UID $(store_uid_of "$LOCAL" INBOX r1) (-\\Seen from local, -kw_l from remote, +\\Answered from remote)" \
	"$SYNC_ERR"
no_warning "conflicting flags: no warning"
sync_dumps_equal "conflicting flags: stores equal"
tap_is "$(store_msgflags "$REMOTE" INBOX |
	grep "^$(store_uid_of "$REMOTE" INBOX r2) " | cut -d' ' -f2-)" \
	'$Label1 \Flagged \Seen' "conflicting flags: both additions on Cyrus"
tap_is "$(store_msgflags "$REMOTE" INBOX |
	grep "^$(store_uid_of "$REMOTE" INBOX r1) " | cut -d' ' -f2-)" \
	'\Answered \Flagged' "conflicting flags: both sides' removals on Cyrus"
sync_noop "conflicting flags: the next run changes nothing"

# --- expunges, each side ---------------------------------------------------
store_expunge "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l2)"
store_expunge "$REMOTE" Work "$(store_uid_of "$REMOTE" Work w1)"
synced "expunges"
tap_is "$(store_count "$REMOTE" INBOX) $(store_count "$LOCAL" Work)" "3 0" \
	"expunges: gone on both sides"

# --- new mail each side, then both ------------------------------------------
store_append "$LOCAL" INBOX -s l3 >/dev/null
synced "new local mail"
store_append "$REMOTE" Lists -s li2 -f '\Seen' >/dev/null
synced "new remote mail"
store_append "$LOCAL" Lists -s li3 >/dev/null
store_append "$REMOTE" Lists -s li4 >/dev/null
store_append "$REMOTE" Work/2024 -s w3 --size 200000 >/dev/null
synced "new mail on both sides"
tap_is "$(store_count "$LOCAL" Lists)" 4 "new mail: no duplicate"

# --- new mailboxes, children, subscriptions ----------------------------------
store_create "$LOCAL" Projects/Alpha
store_append "$LOCAL" Projects/Alpha -s p1 >/dev/null
store_create "$REMOTE" Archive
store_create "$REMOTE" Archive/2023
store_append "$REMOTE" Archive/2023 -s a1 >/dev/null
store_subscribe "$REMOTE" Archive/2023
store_unsubscribe "$LOCAL" Lists
sync_ok "new mailboxes and children: exits 0"
no_warning "new mailboxes and children: no warning"
# Cyrus makes the parent of Projects/Alpha a mailbox of its own (Dovecot
# has it \Noselect): the next run creates it locally too.
sync_ok "new mailboxes: the next run exits 0"
tap_check "new mailboxes: it creates Cyrus's parent locally" \
	grep -q 'local: Created mailbox Projects$' "$SYNC_ERR"
synced "new mailboxes and children"
tap_check "new mailboxes: Projects/Alpha on Cyrus" \
	sh -c "$IMAPTOOL '$REMOTE' list | grep -q ' Projects/Alpha\$'"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "Archive/2023 INBOX Work " \
	"subscriptions follow the side that changed"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "Archive/2023 INBOX Work " \
	"subscriptions on Cyrus"

# --- renames (Cyrus's MAILBOXID, asked alone) --------------------------------
store_rename "$REMOTE" Archive/2023 Archive/Old
# Cyrus's RENAME leaves the subscription under the old name (Dovecot's
# moves it): a client that renames there moves it itself.
store_unsubscribe "$REMOTE" Archive/2023
store_subscribe "$REMOTE" Archive/Old
sync_ok "remote rename: exits 0"
tap_check "remote rename: recognised by its id" \
	grep -q 'Renamed' "$SYNC_ERR"
no_warning "remote rename: no warning"
sync_dumps_equal "remote rename: stores equal"
store_rename "$LOCAL" Projects Things
synced "local rename"
tap_check "local rename: done on Cyrus" \
	sh -c "$IMAPTOOL '$REMOTE' list | grep -q ' Things/Alpha\$'"

# --- moves: several messages out of one mailbox into several --------------
store_create "$LOCAL" Sort
{
	for i in 1 2 3 4; do echo "append Sort -s s$i"; done
	echo "create Sort/A"
	echo "create Sort/B"
} | store_script "$LOCAL" >/dev/null
sync_ok "moves: the mailboxes synced"
store_move "$LOCAL" Sort "$(store_uid_of "$LOCAL" Sort s1)" Sort/A
store_move "$LOCAL" Sort "$(store_uid_of "$LOCAL" Sort s2)" Sort/B
store_move "$LOCAL" Sort "$(store_uid_of "$LOCAL" Sort s3)" Sort/A
sync_ok "moves: exits 0" --debug
sync_dumps_equal "moves: stores equal"
n=$(store_dump "$REMOTE" | grep -c message)
tap_is "$n" "$(store_dump "$LOCAL" | grep -c message)" \
	"moves: as many messages on Cyrus as local"
# Fault 3: each pipelined MOVE takes the COPYUID that names its UIDs.
tap_is "$(grep -c 'remote -> A[0-9]* UID MOVE' "$SYNC_ERR")" 2 \
	"moves: two UID MOVEs sent to Cyrus"
tap_check "moves: no body copied for a moved message" \
	sh -c "! grep -q 'remote -> A[0-9]* APPEND' '$SYNC_ERR'"
no_warning "moves: no warning"
sync_noop "moves: the next run changes nothing"

# --- a killed run, resumed ------------------------------------------------
i=1
while [ $i -le 12 ]; do
	echo "append Big -s big$i --size 300000"
	i=$((i + 1))
done | { echo "create Big"; cat; } | store_script "$LOCAL" >/dev/null
# Killed once the APPEND to Cyrus has begun (the trace says so).
XDG_CONFIG_HOME=$SYNC_DIR/xdg-config XDG_DATA_HOME=$SYNC_DIR/xdg-data \
	"$SYNC_BIN" --config="$SYNC_CONF" --debug \
	>"$SYNC_DIR/logs/killed.out" 2>"$SYNC_DIR/logs/killed.err" </dev/null &
pid=$!
i=0
while [ $i -lt 400 ] &&
	! grep -q 'remote -> A[0-9]* APPEND Big' "$SYNC_DIR/logs/killed.err"; do
	sleep 0.05
	i=$((i + 1))
done
if kill -9 $pid 2>/dev/null; then
	tap_pass "killed run: killed while copying"
else
	tap_fail "killed run: killed while copying" "it had ended"
fi
wait $pid 2>/dev/null
tap_diag "killed with $(store_count "$REMOTE" Big 2>/dev/null) of 12 on Cyrus"
synced "a killed run, resumed"
tap_is "$(store_count "$REMOTE" Big)" 12 "killed run: 12 on Cyrus, none doubled"

# --- Cyrus's variants ----------------------------------------------------------
# statuscache: said to make MAILBOXID right in LIST-STATUS; in 3.6.1 it
# is still botched on a first listing (as measured).
cyrus_server_stop
cyrus_server_start "statuscache: 1" ||
	{ echo "Bail out! cannot restart cyrus"; exit 1; }
rm -f "$SYNC_DB" "$SYNC_DB"-*
sync_ok "statuscache: a first sync on a new database exits 0"
tap_check "statuscache: no warning but (maybe) the MAILBOXID one" \
	sh -c "! grep WARNING '$SYNC_ERR' | grep -v 'botches STATUS MAILBOXID'"
tap_diag "statuscache: $(grep -c WARNING "$SYNC_ERR") warning(s)"
sync_dumps_equal "statuscache: stores equal"
sync_noop "statuscache: the next run changes nothing"

# suppress_capabilities: no OBJECTID, so no ids at all (X-GUID refused).
cyrus_server_stop
cyrus_server_start "suppress_capabilities: OBJECTID" ||
	{ echo "Bail out! cannot restart cyrus"; exit 1; }
rm -f "$SYNC_DB" "$SYNC_DB"-*
store_append "$LOCAL" INBOX -s l4 >/dev/null
sync_ok "without OBJECTID: a first sync on a new database exits 0"
no_warning "without OBJECTID: no warning"
tap_check "without OBJECTID: X-GUID's refusal is said" \
	grep -q 'remote: the server has no STATUS X-GUID' "$SYNC_ERR"
sync_dumps_equal "without OBJECTID: stores equal"
store_append "$REMOTE" INBOX -s r4 >/dev/null
sync_ok "without OBJECTID: the next run exits 0" --debug
tap_check "without OBJECTID: X-GUID not asked again" \
	sh -c "! grep -q 'remote -> .*X-GUID' '$SYNC_ERR'"
sync_dumps_equal "without OBJECTID: stores equal again"
tap_done
