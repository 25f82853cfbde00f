#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 80-watch.sh: watch mode against real Dovecot stores. --notify: a message
# delivered on either side, a flag set, a mailbox created, subscribed,
# renamed, deleted reach the other side (before a generous deadline,
# $WATCH_DEADLINE s: how fast is a figure of `make bench`, bench/watch
# delay, not a test); over a server without NOTIFY, IDLE on INBOX does
# it for INBOX. --watch polls. SIGHUP re-reads the config
# (a broken one is refused, the old one kept); SIGTERM ends it cleanly;
# the safety brake ends it with status 5.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's watch mode"

sync_pair_new
store_append "$LOCAL" INBOX -s l1 >/dev/null
store_append "$REMOTE" INBOX -s r1 >/dev/null
store_create "$REMOTE" work
store_append "$REMOTE" work -s w1 >/dev/null

# --- --notify -----------------------------------------------------------
watch_start --notify
tap_check "--notify: the first sync copies both ways" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'local(work): Added'
sleep 0.5

# delivered ONE SIDE BOX SUBJECT: append, then wait for the other side's
# "Added" line; TAP, the delay as a comment.
delivered() {
	_n=$(($(watch_count "$4): Added") + 1))
	if [ "$1" = local ]; then _imap=$LOCAL; else _imap=$REMOTE; fi
	if [ "$1" = local ]; then _other=remote; else _other=local; fi
	store_append "$_imap" "$2" -s "$3" >/dev/null
	if watch_until "$WATCH_DEADLINE" watch_log_has "$_n" "$4): Added"; then
		tap_pass "--notify: $3 delivered on the $1 side reaches the $_other side"
		tap_diag "in $WATCH_MS ms"
	else
		tap_fail "--notify: $3 delivered on the $1 side reaches the $_other side" \
			"$(tail -n 5 "$WATCH_LOG")"
	fi
}
delivered remote INBOX r2 "local(INBOX"
delivered local INBOX l2 "remote(INBOX"
# Not INBOX: NOTIFY covers every mailbox, not just one IDLE could watch.
delivered remote work w2 "local(work"
delivered local work l3 "remote(work"

uid=$(store_uid_of "$REMOTE" work w1)
store_flags "$REMOTE" work "$uid" +FLAGS '\Flagged'
tap_check "--notify: a flag set on the remote side is carried" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'local(work): Updated flags' '$WATCH_LOG'"

store_create "$LOCAL" projects
store_subscribe "$LOCAL" projects
tap_check "--notify: a mailbox created on the local side is created on the remote side" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'remote: Created mailbox projects' '$WATCH_LOG'"
remote_subscribed() {
	store_lsub "$REMOTE" | grep -q "$1"
}
tap_check "--notify: its subscription follows" \
	watch_until "$WATCH_DEADLINE" remote_subscribed projects

# Renamed and deleted mailboxes (interimap's --notify misses both).
# Dovecot 2.3 announces a rename made in another session only with the
# next event there (here, new mail), not at once: what is tested is that
# the watcher carries it then.
store_rename "$REMOTE" projects projects2
store_append "$REMOTE" INBOX -s after-rename >/dev/null
tap_check "--notify: a mailbox renamed on the remote side is renamed on the local side" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'local: Renamed mailbox projects to projects2' '$WATCH_LOG'"
store_delete "$LOCAL" projects2
tap_check "--notify: a mailbox deleted on the local side is deleted on the remote side" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'remote: Deleted mailbox projects2' '$WATCH_LOG'"

# An expunge.
uid=$(store_uid_of "$LOCAL" INBOX l1)
store_expunge "$LOCAL" INBOX "$uid"
tap_check "--notify: an expunge on the local side is carried" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'remote(INBOX): Expunged' '$WATCH_LOG'"

# --- SIGHUP ---------------------------------------------------------------
cp "$SYNC_CONF" "$SYNC_CONF.good"
kill -HUP "$WATCH_PID"
tap_check "SIGHUP: the configuration is read again" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'configuration read again' '$WATCH_LOG'"
echo "this is = not [valid" >>"$SYNC_CONF"
kill -HUP "$WATCH_PID"
tap_check "SIGHUP: a broken configuration is refused, the old one kept" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'going on with the configuration read before' '$WATCH_LOG'"
cp "$SYNC_CONF.good" "$SYNC_CONF"
delivered remote INBOX r3 "local(INBOX"

watch_stop TERM
tap_is "$WATCH_RC" 0 "SIGTERM: exits 0"
tap_check "SIGTERM: says why it stops" grep -q 'stopping on a signal' "$WATCH_LOG"
sync_noop "after the watch, a run finds nothing to do"
sync_dumps_equal "after the watch, the stores are equal"

# --- IDLE where the server lacks NOTIFY -----------------------------------
: >"$WATCH_LOG"
sed -i "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/capfilter.py NOTIFY $REMOTE|" "$SYNC_CONF"
watch_start --notify
tap_check "no NOTIFY: the watcher says it falls back to IDLE on INBOX" \
	watch_until "$WATCH_DEADLINE" sh -c "grep -q 'remote: no NOTIFY: watching INBOX with IDLE' '$WATCH_LOG'"
sleep 0.5
delivered remote INBOX r4 "local(INBOX"
delivered local INBOX l4 "remote(INBOX"
watch_stop TERM
tap_is "$WATCH_RC" 0 "no NOTIFY: SIGTERM exits 0"

# Keepalives, every 300 ms here (every 10 minutes for real): NOOP on the
# sync connections, IDLE ended with DONE and begun again on the watch one.
: >"$WATCH_LOG"
IMAPSYNC_DEBUG_KEEPALIVE=300 watch_start --notify --debug
keepalives() {
	[ "$(watch_count 'remote -> A[0-9]* NOOP')" -ge 3 ]
}
idles() {
	[ "$(watch_count 'remote -> DONE')" -ge 3 ] &&
		[ "$(watch_count 'remote -> A[0-9]* IDLE')" -ge 4 ]
}
tap_check "keepalive: NOOP on the sync connections" \
	watch_until "$WATCH_DEADLINE" keepalives
tap_check "keepalive: IDLE ended with DONE and begun again" \
	watch_until "$WATCH_DEADLINE" idles
delivered remote INBOX r5 "local(INBOX"
watch_stop TERM
tap_is "$WATCH_RC" 0 "keepalive: SIGTERM exits 0"

# --- --watch: polling -----------------------------------------------------
: >"$WATCH_LOG"
watch_start --watch=1
sleep 1
store_append "$REMOTE" work -s w3 >/dev/null
if watch_until "$WATCH_DEADLINE" sh -c "grep -q 'local(work): Added' '$WATCH_LOG'"; then
	tap_pass "--watch=1: a delivery is carried by a poll"
	tap_diag "in $WATCH_MS ms"
else
	tap_fail "--watch=1: a delivery is carried by a poll" \
		"$(tail -n 5 "$WATCH_LOG")"
fi
watch_stop INT
tap_is "$WATCH_RC" 0 "--watch: SIGINT exits 0"
sync_dumps_equal "after --watch, the stores are equal"

# --- the safety brake ends a watch ---------------------------------------------
: >"$WATCH_LOG"
i=1
while [ $i -le 30 ]; do
	echo "append INBOX -s b$i"
	i=$((i + 1))
done | store_script "$REMOTE" >/dev/null
sync_ok "brake: a run copies 30 more messages"
before=$(store_count "$LOCAL" INBOX)
watch_start --notify
sleep 1
store_expunge "$REMOTE" INBOX 1:40
if watch_until "$WATCH_DEADLINE" sh -c "! kill -0 $WATCH_PID 2>/dev/null"; then
	watch_stop TERM
	tap_is "$WATCH_RC" 5 "brake: the watcher stops with exit status 5"
else
	watch_stop KILL
	tap_fail "brake: the watcher stops with exit status 5" \
		"$(tail -n 5 "$WATCH_LOG")"
fi
tap_check "brake: saying why and what to do" \
	grep -q 'safety-expunge.*--force' "$WATCH_LOG"
tap_is "$(store_count "$LOCAL" INBOX)" "$before" \
	"brake: nothing was expunged on local"

tap_done
