#!/bin/sh
# 58-cyrus-both.sh: Cyrus IMAP on both sides (two masters of
# tests/lib/cyrus-server.sh, stock settings) over STARTTLS, the remote
# with COMPRESS. The end-to-end scenarios of 58-cyrus (first sync both
# ways, flags and keywords each side, a conflict, expunges each side, new
# mail each side and both, new mailboxes and children, subscriptions,
# renames by MAILBOXID, a killed run resumed, a no-op run) and moves on
# each side: several messages out of one mailbox into several, pipelined
# (#13's two-moves trace), carried as moves. After each: exit 0, no
# warning, stores identical, no message doubled, the next run changes
# nothing; at the end a new database pairs everything, copies nothing.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/cyrus-server.sh"

sync_is_interimap && tap_skip_all "imapsync against Cyrus"
tap_diag "Cyrus IMAP $(cyrus_version), twice"

cyrus_pair_new
cyrus_local_start || { echo "Bail out! cannot start the second cyrus"; exit 1; }
cyrus_both_conf

# no_warning DESC: the last run logged no WARNING (but, on a first sync,
# the one for Cyrus's botched MAILBOXID, once per side).
no_warning() {
	tap_check "$1" sh -c "! grep WARNING '$SYNC_ERR' '$SYNC_OUT' |
		grep -v 'botches STATUS MAILBOXID'"
}

# dups STORE: how many messages of STORE have an identical twin in their
# mailbox (same bytes, flags and date: every test message is unique).
dups() {
	store_dump "$1" | awk '/^mailbox/ { b = $0 } /^  message/ { print b $0 }' |
		sort | uniq -d | wc -l
}

# synced DESC [ARGS]: a run (with ARGS) exits 0 with no warning, the
# stores are equal with no duplicate, and the next run changes nothing.
# RUN_ERR: that run's stderr.
synced() {
	_d=$1
	shift
	sync_ok "$_d: exits 0" "$@"
	RUN_ERR=$SYNC_ERR
	no_warning "$_d: no warning"
	sync_dumps_equal "$_d: stores equal"
	tap_is "$(dups "$LOCAL") $(dups "$REMOTE")" "0 0" "$_d: no duplicate"
	sync_noop "$_d: the next run changes nothing"
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

synced "first sync"
tap_is "$(grep -c 'botches STATUS MAILBOXID' "$RUN_ERR")" 2 \
	"first sync: one warning per side for Cyrus's botched MAILBOXID"
tap_is "$(grep -c 'botches STATUS MAILBOXID' "$SYNC_ERR")" 0 \
	"first sync: the MAILBOXID warning is not repeated"
tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" "4 4" \
	"first sync: 4 messages in INBOX on both"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "INBOX Lists Work " \
	"first sync: subscriptions local"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "INBOX Lists Work " \
	"first sync: subscriptions remote"

# --- flags and keywords, each side; conflicting flags --------------------
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r1)" +FLAGS \
	'\Seen kw_l'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l1)" -FLAGS \
	'\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX l2)" +FLAGS \
	'$Forwarded'
synced "flags and keywords"
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r2)" +FLAGS '\Seen'
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r2)" +FLAGS \
	'\Flagged'
sync_ok "conflicting flags: exits 0"
tap_check "conflicting flags: the merge is reported" \
	grep -qF "local(INBOX): merged flags for UID $(store_uid_of "$LOCAL" INBOX r2) (+\\Seen from local, +\\Flagged from remote)" \
	"$SYNC_ERR"
sync_dumps_equal "conflicting flags: stores equal"
tap_is "$(store_msgflags "$LOCAL" INBOX |
	grep "^$(store_uid_of "$LOCAL" INBOX r2) " | cut -d' ' -f2-)" \
	'$Label1 \Flagged \Seen' "conflicting flags: both additions"
sync_noop "conflicting flags: the next run changes nothing"

# --- expunges, each side ---------------------------------------------------
store_expunge "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l2)"
store_expunge "$REMOTE" Work "$(store_uid_of "$REMOTE" Work w1)"
synced "expunges"
tap_is "$(store_count "$REMOTE" INBOX) $(store_count "$LOCAL" Work)" "3 0" \
	"expunges: gone on both sides"

# --- new mail each side, then both ------------------------------------------
store_append "$LOCAL" INBOX -s l3 >/dev/null
store_append "$REMOTE" Lists -s li2 -f '\Seen' >/dev/null
synced "new mail each side"
store_append "$LOCAL" Lists -s li3 >/dev/null
store_append "$REMOTE" Lists -s li4 >/dev/null
store_append "$REMOTE" Work/2024 -s w3 --size 200000 >/dev/null
synced "new mail on both sides"
tap_is "$(store_count "$LOCAL" Lists) $(store_count "$REMOTE" Lists)" "4 4" \
	"new mail: 4 in Lists on both"

# --- new mailboxes, children, subscriptions ----------------------------------
store_create "$LOCAL" Projects/Alpha
store_append "$LOCAL" Projects/Alpha -s p1 >/dev/null
store_create "$REMOTE" Archive/2023
store_append "$REMOTE" Archive/2023 -s a1 >/dev/null
store_subscribe "$REMOTE" Archive/2023
store_unsubscribe "$LOCAL" Lists
synced "new mailboxes and children"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "Archive/2023 INBOX Work " \
	"subscriptions follow the side that changed (local)"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "Archive/2023 INBOX Work " \
	"subscriptions follow the side that changed (remote)"

# --- renames, each side (MAILBOXID asked alone) ---------------------------
store_rename "$REMOTE" Archive/2023 Archive/Old
store_unsubscribe "$REMOTE" Archive/2023
store_subscribe "$REMOTE" Archive/Old
synced "remote rename" --debug
tap_check "remote rename: carried as a rename" \
	grep -q 'local: Renamed mailbox Archive/2023 to Archive/Old' "$RUN_ERR"
tap_check "remote rename: no message copied" \
	sh -c "! grep -q 'local -> A[0-9]* APPEND' '$RUN_ERR'"
store_rename "$LOCAL" Projects Things
synced "local rename" --debug
tap_check "local rename: carried as a rename" \
	grep -q 'remote: Renamed mailbox Projects to Things' "$RUN_ERR"
tap_check "local rename: Things/Alpha on the remote" \
	sh -c "$IMAPTOOL '$REMOTE' list | grep -q ' Things/Alpha\$'"

# --- moves: several messages out of one mailbox into several -----------
# moves SIDE: on SIDE's Cyrus, s1 and s3 to Sort/A, s2 to Sort/B (the
# other side then pipelines a UID MOVE per target: #13's trace), s4 stays.
moves() {
	_st=$1
	store_move "$_st" Sort "$(store_uid_of "$_st" Sort s1)" Sort/A
	store_move "$_st" Sort "$(store_uid_of "$_st" Sort s2)" Sort/B
	store_move "$_st" Sort "$(store_uid_of "$_st" Sort s3)" Sort/A
}
{
	echo "create Sort"
	for i in 1 2 3 4; do echo "append Sort -s s$i --size 30000"; done
	echo "create Sort/A"
	echo "create Sort/B"
} | store_script "$LOCAL" >/dev/null
synced "moves: the mailboxes"
moves "$LOCAL"
synced "local moves" --debug
tap_is "$(grep -c 'remote -> A[0-9]* UID MOVE' "$RUN_ERR")" 2 \
	"local moves: two UID MOVEs sent to the remote"
tap_check "local moves: no body copied" \
	sh -c "! grep -q -- '-> A[0-9]* APPEND' '$RUN_ERR'"
tap_is "$(store_count "$REMOTE" Sort) $(store_count "$REMOTE" Sort/A) $(store_count "$REMOTE" Sort/B)" \
	"1 2 1" "local moves: 1, 2 and 1 on the remote"
# And on the remote: out of Sort/A into two mailboxes, one more back.
store_move "$REMOTE" Sort/A "$(store_uid_of "$REMOTE" Sort/A s1)" Sort/B
store_move "$REMOTE" Sort/A "$(store_uid_of "$REMOTE" Sort/A s3)" Sort
store_move "$REMOTE" Sort/B "$(store_uid_of "$REMOTE" Sort/B s2)" Sort
synced "remote moves" --debug
tap_is "$(grep -c 'local -> A[0-9]* UID MOVE' "$RUN_ERR")" 3 \
	"remote moves: three UID MOVEs sent locally"
tap_check "remote moves: no body copied" \
	sh -c "! grep -q -- '-> A[0-9]* APPEND' '$RUN_ERR'"
tap_is "$(store_count "$LOCAL" Sort) $(store_count "$LOCAL" Sort/A) $(store_count "$LOCAL" Sort/B)" \
	"3 0 1" "remote moves: 3, 0 and 1 locally"

# --- a killed run, resumed ------------------------------------------------
{
	echo "create Big"
	i=1
	while [ $i -le 8 ]; do
		echo "append Big -s big$i --size 300000"
		i=$((i + 1))
	done
} | store_script "$LOCAL" >/dev/null
# Killed once the APPEND to the remote has begun (the trace says so).
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
tap_diag "killed with $(store_count "$REMOTE" Big 2>/dev/null) of 8 copied"
synced "a killed run, resumed"
tap_is "$(store_count "$REMOTE" Big)" 8 "killed run: 8 on the remote, none doubled"

# --- the database agrees with both servers -------------------------------
rm -f "$SYNC_DB" "$SYNC_DB"-*
sync_ok "a new database: exits 0"
tap_check "a new database: nothing copied (all paired)" \
	sh -c "! grep -q 'Added\\|Copied' '$SYNC_ERR'"
sync_dumps_equal "a new database: stores equal"
tap_is "$(dups "$LOCAL") $(dups "$REMOTE")" "0 0" "a new database: no duplicate"
sync_noop "a new database: the next run changes nothing"
tap_done
