# SPDX-License-Identifier: GPL-3.0-or-later
# watch.sh: helpers for the watch-mode tests (POSIX sh, sourced after
# sync.sh).
#
#   watch_start ARGS...     start the tool in the background with
#       --config=$SYNC_CONF ARGS; its stdout and stderr go to $WATCH_LOG;
#       sets WATCH_PID. Stopped (SIGKILL) on exit if still running.
#   watch_stop [SIG]        send SIG (default TERM), wait; sets WATCH_RC.
#   watch_stop_within DESC  SIGTERM; TAP: exit 0, before the deadline.
#   watch_until SECONDS CMD...   run CMD every 20 ms until it succeeds;
#       returns 1 after SECONDS. Sets WATCH_MS: how long it took.
#
# WATCH_DEADLINE (default 60) is the seconds a test gives the watcher to
# do something: a generous bound, not a measure (a loaded machine may
# take seconds; bench/watch measures the delays).
#   watch_count PATTERN     lines of $WATCH_LOG matching PATTERN.
#   now_ms                  milliseconds since the epoch.

WATCH_DEADLINE=${WATCH_DEADLINE:-60}
WATCH_PID=
WATCH_LOG=$STORE_TMP/watch.log

watch_cleanup() {
	[ -n "$WATCH_PID" ] && kill -9 "$WATCH_PID" 2>/dev/null
	WATCH_PID=
}

now_ms() {
	date +%s%3N
}

watch_start() {
	"$SYNC_BIN" --config="$SYNC_CONF" "$@" >>"$WATCH_LOG" 2>&1 &
	WATCH_PID=$!
}

watch_stop() {
	kill "-${1:-TERM}" "$WATCH_PID" 2>/dev/null
	wait "$WATCH_PID"
	WATCH_RC=$?
	WATCH_PID=
}

# watch_stop_within DESC: SIGTERM; TAP: it exits 0, and before the
# deadline (not after a reconnection's backoff or a copy's end).
watch_stop_within() {
	_t0=$(now_ms)
	watch_stop TERM
	_took=$(($(now_ms) - _t0))
	tap_is "$WATCH_RC" 0 "$1: SIGTERM exits 0"
	tap_check "$1: SIGTERM ends it before the deadline" \
		test "$_took" -lt $((WATCH_DEADLINE * 1000))
	tap_diag "in $_took ms"
}

watch_count() {
	grep -c -- "$1" "$WATCH_LOG"
}

watch_until() {
	_limit=$(($(now_ms) + $1 * 1000))
	_start=$(now_ms)
	shift
	while :; do
		if "$@"; then
			WATCH_MS=$(($(now_ms) - _start))
			return 0
		fi
		[ "$(now_ms)" -ge "$_limit" ] && break
		sleep 0.02
	done
	WATCH_MS=$(($(now_ms) - _start))
	return 1
}

# watch_log_has N PATTERN: at least N lines of the log match PATTERN.
watch_log_has() {
	[ "$(watch_count "$2")" -ge "$1" ]
}

# Source this file after dovecot-server.sh, if that is used: its exit
# trap takes over the one set there.
watch_exit() {
	watch_cleanup
	if command -v dovecot_cleanup >/dev/null 2>&1; then
		dovecot_cleanup
	else
		store_cleanup
	fi
}
trap 'rc=$?; watch_exit; exit $rc' EXIT
