#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 83-watch-stall.sh: --notify against a server that takes NOTIFY SET and
# never answers it: the watcher says so, naming the server, and goes on
# without NOTIFY (a message delivered is still synced); and a single
# SIGTERM ends it, also while it waits for that answer or for a greeting
# that trickles in.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's watch mode"

# term PID: one SIGTERM, then up to 20 s for PID to end (SIGKILL past
# that); sets rc to its exit status (137 if it had to be killed).
term() {
	kill -TERM "$1"
	_n=0
	while kill -0 "$1" 2>/dev/null && [ $_n -lt 200 ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1"
	rc=$?
}

sync_pair_new
store_append "$REMOTE" INBOX -s r1 >/dev/null
sed -i '1i timeout = 3' "$SYNC_CONF"
cp "$SYNC_CONF" "$SYNC_CONF.sane"
sed -i "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/liar.py notify-silent $REMOTE|" "$SYNC_CONF"

# One SIGTERM while NOTIFY SET waits for its answer (for up to 30 s).
sed 's/^timeout = 3$/timeout = 30/' "$SYNC_CONF" >"$SYNC_CONF.long"
"$SYNC_BIN" --config="$SYNC_CONF.long" --watch=2 --notify --debug \
	>"$WATCH_LOG" 2>&1 &
pid=$!
watch_until 20 sh -c "grep -q 'remote -> .* NOTIFY SET' '$WATCH_LOG'" || true
# A SIGHUP meanwhile is no failure of NOTIFY.
kill -HUP "$pid"
sleep 1
tap_check "a SIGHUP while NOTIFY SET waits is not taken for its failure" \
	sh -c "! grep 'NOTIFY SET failed' '$WATCH_LOG'"
term "$pid"
tap_is "$rc" 0 "one SIGTERM ends the watcher waiting for NOTIFY SET, exit 0"

# One SIGTERM while a server trickles its greeting (connect-timeout 30).
sed "s|^command = .*liar.py notify-silent $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/slowserver.py greeting $REMOTE|" \
	"$SYNC_CONF.long" >"$SYNC_CONF.slow"
sed -i '1i connect-timeout = 30' "$SYNC_CONF.slow"
: >"$WATCH_LOG"
"$SYNC_BIN" --config="$SYNC_CONF.slow" --watch=2 >"$WATCH_LOG" 2>&1 &
pid=$!
sleep 2 # a few bytes of the greeting in
term "$pid"
tap_is "$rc" 0 "one SIGTERM ends the watcher while it connects, exit 0"

# Left alone: it gives up on NOTIFY and goes on polling.
: >"$WATCH_LOG"
watch_start --watch=2 --notify
tap_check "the watcher says the remote did not answer NOTIFY SET" \
	watch_until 30 sh -c "grep -q 'remote: .*NOTIFY SET failed.*no answer to NOTIFY within 3 s' '$WATCH_LOG'"
store_append "$REMOTE" INBOX -s r2 >/dev/null
tap_check "without NOTIFY, a new message is still synced" \
	watch_until 30 sh -c "$IMAPTOOL $LOCAL uid INBOX r2 | grep -q ."
watch_stop TERM
tap_is "$WATCH_RC" 0 "SIGTERM ends it, exit 0"
tap_diag "$(grep -i 'notify\|error' "$WATCH_LOG" | head -n 4)"
tap_done
