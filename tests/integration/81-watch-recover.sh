#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 81-watch-recover.sh: a watcher survives the real world. SIGTERM in the
# middle of a big copy stops it at once with the database consistent (no
# copy left half-recorded; the next run finishes without a duplicate); a
# tunnel killed mid-copy is reconnected and the copy finished; a Dovecot
# server killed and started again is reconnected, logged once, and what
# arrived meanwhile is synced. A mailbox that keeps failing is said once
# and left out for a while, the others synced.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's watch mode"

N=600

# fill IMAPCMD BOX N: N messages of 40 kB over one session.
fill() {
	_i=1
	while [ "$_i" -le "$3" ]; do
		echo "append $2 -s m$_i --size 40000"
		_i=$((_i + 1))
	done | store_script "$1" >/dev/null
}

# pairs_ok DESC: the stores are equal, N messages on each side, no
# duplicate, nothing left pending in the database.
pairs_ok() {
	sync_ok "$1: a run afterwards exits 0"
	sync_dumps_equal "$1: the stores are equal"
	tap_is "$(store_count "$LOCAL" INBOX) $(store_count "$REMOTE" INBOX)" \
		"$N $N" "$1: $N messages on each side, no duplicate"
	tap_is "$(sync_db 'SELECT count(*) FROM pending')" 0 \
		"$1: no copy intent left in the database"
}

# --- SIGTERM mid-copy -------------------------------------------------------
sync_pair_new --name term
fill "$REMOTE" INBOX "$N"
watch_start --notify
if watch_until "$WATCH_DEADLINE" watch_log_has 1 'local(INBOX): Added'; then
	watch_stop_within "mid-copy"
	tap_diag "copied before the stop: $(store_count "$LOCAL" INBOX) of $N"
	tap_is "$(sync_db 'SELECT count(*) FROM pending')" 0 \
		"SIGTERM mid-copy: every APPEND sent was answered and recorded"
	mapped=$(sync_db 'SELECT count(*) FROM mapping')
	tap_is "$mapped" "$(store_count "$LOCAL" INBOX)" \
		"SIGTERM mid-copy: the mapping holds exactly the copies made"
else
	tap_fail "SIGTERM mid-copy: the copy started" "$(tail -n 5 "$WATCH_LOG")"
	watch_stop KILL
fi
pairs_ok "SIGTERM mid-copy"

# --- a mailbox that keeps failing ------------------------------------------
: >"$WATCH_LOG"
sync_pair_new --name failing
store_create "$REMOTE" bad
store_append "$REMOTE" bad -s b1 >/dev/null
sync_ok "failing: a first run exits 0"
store_append "$REMOTE" bad -s b2 >/dev/null
# The session (nobody) can no longer open it: SELECT fails.
chmod 000 "$SYNC_DIR/remote/home/Mail/.bad" 2>/dev/null ||
	chmod 000 "$SYNC_DIR/remote/home/Mail/bad"
watch_start --notify
tap_check "failing: the failure is reported, with the mailbox skipped for a while" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'mailbox bad failed 1 time in a row: left out'
for i in 1 2 3; do
	store_append "$REMOTE" INBOX -s x$i >/dev/null
	watch_until "$WATCH_DEADLINE" watch_log_has "$i" 'local(INBOX): Added'
done
tap_is "$(watch_count 'local(INBOX): Added')" 3 \
	"failing: the other mailboxes go on syncing (3 deliveries)"
tap_is "$(watch_count 'remote(bad): ERROR')" 1 \
	"failing: the mailbox is not retried at each sync"
watch_stop TERM
tap_is "$WATCH_RC" 0 "failing: SIGTERM exits 0"

# --- a tunnel killed mid-copy -----------------------------------------------
: >"$WATCH_LOG"
sync_pair_new --name tunnel
fill "$REMOTE" INBOX "$N"
watch_start --notify
if watch_until "$WATCH_DEADLINE" watch_log_has 1 'local(INBOX): Added'; then
	# Every remote session: the sync's and the watch's.
	kill -9 $(cat "$(dirname "$REMOTE")/sessions") 2>/dev/null
	tap_check "tunnel killed: the watcher connects again" \
		watch_until "$WATCH_DEADLINE" watch_log_has 1 'connected again'
	finished() {
		[ "$(store_count "$LOCAL" INBOX)" = "$N" ]
	}
	tap_check "tunnel killed: the copy is finished" watch_until 60 finished
	sleep 1
else
	tap_fail "tunnel killed: the copy started" "$(tail -n 5 "$WATCH_LOG")"
fi
watch_stop TERM
tap_is "$WATCH_RC" 0 "tunnel killed: SIGTERM exits 0 afterwards"
pairs_ok "tunnel killed"

# --- the server killed and started again -----------------------------------
: >"$WATCH_LOG"
dovecot_pair_new --name restart
dovecot_remote_conf "type = imap" "host = 127.0.0.1" \
	"port = $DOVECOT_IMAP_PORT" "username = test" "password = secret" \
	"SSL_CAfile = $CERTS/ca.crt"
store_append "$REMOTE" INBOX -s before >/dev/null
watch_start --notify
tap_check "restart: the first sync is done" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'local(INBOX): Added'
errors_before=$(watch_count 'ERROR')
dovecot_server_kill
# Delivered while the server is down (straight into the store).
store_append "$REMOTE" INBOX -s during >/dev/null
sleep 4
tap_check "restart: the loss is noticed and said" \
	watch_until "$WATCH_DEADLINE" grep -q 'connecting again in the background' "$WATCH_LOG"
dovecot_server_restart ||
	{ echo "Bail out! cannot restart dovecot"; exit 1; }
tap_check "restart: the watcher connects again" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'connected again'
tap_check "restart: what arrived meanwhile is synced" \
	watch_until "$WATCH_DEADLINE" watch_log_has 2 'local(INBOX): Added'
errors=$(($(watch_count 'ERROR') - errors_before))
tap_check "restart: the outage is logged once, not at every attempt ($errors error line(s))" \
	test "$errors" -le 1
attempts=$(sed -n 's/.*connected again after \([0-9]*\) failed attempt.*/\1/p' "$WATCH_LOG")
tap_check "restart: it tried more than once (${attempts:-?} attempts), with backoff" \
	test "${attempts:-0}" -ge 2 -a "${attempts:-0}" -le 6
store_append "$REMOTE" INBOX -s after >/dev/null
tap_check "restart: NOTIFY works again after the reconnection" \
	watch_until "$WATCH_DEADLINE" watch_log_has 3 'local(INBOX): Added'
# Stopped while it waits to reconnect: at once, and it says so.
dovecot_server_kill
tap_check "outage: the second loss is noticed" \
	watch_until "$WATCH_DEADLINE" watch_log_has 2 'connecting again in the background'
sleep 2
watch_stop_within "outage"
tap_check "outage: it says why it stops, though reconnection errors are muted" \
	grep -q 'stopping on a signal' "$WATCH_LOG"
sync_dumps_equal "restart: the stores are equal"

tap_done
