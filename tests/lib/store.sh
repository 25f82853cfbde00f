# SPDX-License-Identifier: GPL-3.0-or-later
# store.sh: sourced by integration tests (POSIX sh). Throwaway Dovecot
# stores reached through a pre-authenticated `imap` script, and TAP output.
#
#   . "$IMAPSYNC_TOP/tests/lib/store.sh"
#   imap=$(store_new local mdbox)        # prints the path of an executable
#   imap=$(store_new remote maildir . INBOX.)  # separator ".", prefix
#   tap_ok "description" command args...
#   tap_is "$got" "$expected" "description"
#   tap_done
#
# Everything lives under $STORE_TMP (mktemp -d) and goes on exit, on
# failure and on INT/TERM/HUP; with KEEP=1 in the environment a failed
# test's directory stays, and its path and what to look at are printed as
# TAP comments. On failure, a fixture's store_on_failure (sync.sh: the
# last run's stderr, the difference between the stores) runs first.
# Nothing uses a fixed path or a port, so tests run in parallel. As root
# the stores belong to nobody and sessions run as nobody (Dovecot refuses
# root); otherwise as the current user.

STORE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/imapsync-test.XXXXXX") || exit 1
chmod 755 "$STORE_TMP"

# store_cleanup: called by the EXIT traps (here and in the other fixtures),
# which set rc to the script's exit status first.
store_cleanup() {
	if [ -n "${STORE_TMP:-}" ] && [ -d "$STORE_TMP" ]; then
		if [ "${rc:-0}" -ne 0 ] || [ "${TAP_FAILED:-0}" -gt 0 ]; then
			if command -v store_on_failure >/dev/null 2>&1; then
				store_on_failure
			fi
			if [ "${KEEP:-}" = 1 ]; then
				store_kept
				STORE_TMP=
				return 0
			fi
		fi
		rm -rf "$STORE_TMP"
	fi
	STORE_TMP=
}

# store_kept: the kept directory and the commands to look inside it.
store_kept() {
	_top=${IMAPSYNC_TOP:-.}
	echo "# kept: $STORE_TMP (KEEP=1); to look inside:"
	echo "# kept:   ls -lR $STORE_TMP"
	find "$STORE_TMP" -maxdepth 5 -name imap -type f 2>/dev/null | sort |
		head -n 8 | while read -r _f; do
		echo "# kept:   python3 $_top/tests/lib/imaptool.py $_f dump    # the store"
	done
	find "$STORE_TMP" -maxdepth 4 -name '*.db' -type f 2>/dev/null | sort |
		head -n 4 | while read -r _f; do
		echo "# kept:   sqlite3 $_f .dump    # the state database"
	done
	find "$STORE_TMP" -maxdepth 4 -name logs -type d 2>/dev/null | sort |
		head -n 4 | while read -r _f; do
		echo "# kept:   ls -l $_f    # imapsync's runN.out, runN.err"
	done
	find "$STORE_TMP" -maxdepth 5 -name '*.log' -size +0 -type f \
		! -path '*/home/*' 2>/dev/null | sort | head -n 12 | while read -r _f; do
		echo "# kept:   less $_f"
	done
	echo "# kept:   rm -rf $STORE_TMP    # when done"
}
trap 'rc=$?; store_cleanup; exit $rc' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" = 0 ]; then
	STORE_USER=nobody
	STORE_GROUP=$(id -gn nobody)
	STORE_RUN="setpriv --reuid=nobody --regid=$STORE_GROUP --clear-groups"
else
	STORE_USER=$(id -un)
	STORE_GROUP=$(id -gn)
	STORE_RUN=
fi

# A session runs Dovecot's imap binary itself where it is found: through
# `doveadm exec imap` (what the README tells users) it would cost two
# more starts of doveadm, a third of a short session's CPU.
STORE_IMAP=
for _b in /usr/lib/dovecot/imap /usr/libexec/dovecot/imap \
	/usr/local/libexec/dovecot/imap; do
	if [ -x "$_b" ]; then
		STORE_IMAP=$_b
		break
	fi
done

# store_new NAME [maildir|mdbox] [SEPARATOR] [PREFIX]: a new empty store in
# $STORE_TMP/NAME (default maildir, separator "/", no prefix); prints the
# path of its `imap` script, which starts a pre-authenticated IMAP session
# on stdin/stdout (its stderr goes to $STORE_TMP/NAME/imap.log).
store_new() {
	_d=$STORE_TMP/$1
	case ${2:-maildir} in
	maildir) _loc="maildir:~/Mail" ;;
	mdbox) _loc="mdbox:~/mdbox" ;;
	*) echo "store_new: unknown format '$2'" >&2; return 1 ;;
	esac
	mkdir -p "$_d/home" "$_d/run" "$_d/state" || return 1
	cat >"$_d/dovecot.conf" <<EOC
ssl = no
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/dovecot.log
mail_location = $_loc
namespace inbox {
  inbox = yes
  separator = ${3:-/}
  prefix = ${4:-}
}
EOC
	if [ -n "$STORE_IMAP" ]; then
		_imap="$STORE_IMAP -c $_d/dovecot.conf"
	else
		_imap="doveadm -c $_d/dovecot.conf exec imap"
	fi
	cat >"$_d/imap" <<EOC
#!/bin/sh
echo \$\$ >>$_d/sessions
exec $STORE_RUN env -i PATH=/usr/bin:/bin USER=$STORE_USER HOME=$_d/home $_imap 2>>$_d/imap.log
EOC
	chmod 755 "$_d/imap"
	: >"$_d/imap.log"
	if [ "$(id -u)" = 0 ]; then
		chown -R "$STORE_USER:$STORE_GROUP" "$_d" || return 1
	fi
	echo "$_d/imap"
}

# store_running PID: true while process PID runs. A zombie has ended: a
# session whose client was killed is reparented to PID 1, which may reap
# it only seconds later (kill -0 still finds it meanwhile).
store_running() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	read -r _st <"/proc/$1/stat" 2>/dev/null || return 1
	case ${_st##*) } in
	Z* | X*) return 1 ;;
	esac
	return 0
}

# store_wait_sessions IMAPCMD...: wait (up to 20 s) until every IMAP
# session ever started on these stores has ended: a client killed with
# SIGKILL leaves its server session finishing the commands it had read.
store_wait_sessions() {
	for _c in "$@"; do
		_f=$(dirname "$_c")/sessions
		[ -f "$_f" ] || continue
		for _p in $(cat "$_f"); do
			_n=0
			while store_running "$_p" && [ $_n -lt 200 ]; do
				sleep 0.1
				_n=$((_n + 1))
			done
		done
	done
}

TAP_N=0
TAP_FAILED=0
TAP_PLAN=

# tap_plan N: announce N tests up front (else tap_done prints the count).
tap_plan() {
	TAP_PLAN=$1
	echo "1..$1"
}

# While TAP_TODO is set (to a reason, e.g. "issue 21"), results are marked
# "# TODO reason": a known bug, reported but not counted as a failure (nor
# is a description that already says "# TODO", from tap_import).
tap_result() {
	TAP_N=$((TAP_N + 1))
	_todo=${TAP_TODO:+ # TODO $TAP_TODO}
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2$_todo"
	else
		echo "not ok $TAP_N - $2$_todo"
		case "$2$_todo" in
		*"# TODO"*) ;;
		*) TAP_FAILED=$((TAP_FAILED + 1)) ;;
		esac
	fi
}

# tap_ok DESC COMMAND [ARGS...]: passes when the command succeeds.
tap_ok() {
	_desc=$1
	shift
	"$@"
	tap_result $? "$_desc"
}

# tap_is GOT EXPECTED DESC: passes when the two strings are equal.
tap_is() {
	if [ "$1" = "$2" ]; then
		tap_result 0 "$3"
	else
		tap_result 1 "$3"
		echo "#      got: '$1'"
		echo "# expected: '$2'"
	fi
}

# tap_skip N REASON: count N tests as skipped.
tap_skip() {
	_i=0
	while [ $_i -lt "$1" ]; do
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP $2"
		_i=$((_i + 1))
	done
}

# tap_import FILE [PREFIX]: re-number the TAP a program wrote to FILE as
# tests of this script; a test for "ran as many as it planned" is added.
tap_import() {
	_plan= _ran=0
	while IFS= read -r _line; do
		case $_line in
		"not ok"*)
			_ran=$((_ran + 1))
			tap_result 1 "${2:-}$(echo "$_line" | sed 's/^not ok [0-9]* *-* *//')"
			;;
		ok*)
			_ran=$((_ran + 1))
			tap_result 0 "${2:-}$(echo "$_line" | sed 's/^ok [0-9]* *-* *//')"
			;;
		1..*) _plan=${_line#1..} ;;
		*) echo "$_line" ;;
		esac
	done <"$1"
	tap_is "$_ran" "${_plan:-none}" "${2:-}ran every planned test"
}

# tap_done: end the TAP; the status says whether everything passed.
tap_done() {
	if [ -z "$TAP_PLAN" ]; then
		echo "1..$TAP_N"
	elif [ "$TAP_PLAN" -ne "$TAP_N" ]; then
		echo "# planned $TAP_PLAN tests, ran $TAP_N"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	[ "$TAP_FAILED" -eq 0 ]
}
