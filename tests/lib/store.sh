# store.sh: throwaway Dovecot stores and TAP helpers for integration tests.
# Sourced (POSIX sh) by tests/integration/*.sh; needs doveadm.
#
#   STORE=$(store_new NAME [maildir|mdbox] [SEP] [PREFIX])
#     makes a Dovecot store in $TEST_TMP/NAME and prints the path of an
#     executable script that starts a pre-authenticated IMAP session on it
#     (usable as a tunnel command).  SEP is the hierarchy separator ("/" by
#     default, or "."; $STORE_SEP overrides the default), PREFIX the
#     namespace prefix ("" by default; $STORE_PREFIX), e.g. "INBOX.".
#     When run as root the store belongs to, and Dovecot runs as, nobody.
#   store_dir IMAPCMD   prints the store's directory.
#
# TAP: tap_ok DESC | tap_fail DESC [DIAG] | tap_check DESC CMD... |
#      tap_is DESC GOT WANT | tap_skip DESC REASON | tap_diag TEXT... |
#      tap_skip_all REASON | tap_done (prints the plan; exit status).
# The whole $TEST_TMP goes away on exit (trap EXIT INT TERM HUP), unless
# TEST_KEEP=1.

if [ -z "${STORE_SH_LOADED:-}" ]; then
STORE_SH_LOADED=1

TAP_N=0
TAP_FAILED=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	if [ $# -gt 1 ]; then
		shift
		printf '%s\n' "$*" | sed 's/^/#   /'
	fi
}

# tap_check DESC CMD...: ok when CMD succeeds; its output is a diagnostic
# when it fails.
tap_check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		tap_ok "$_desc"
	else
		tap_fail "$_desc" "$(printf '%s\n' "$_out" | head -n 40)"
	fi
}

tap_is() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_fail "$1" "got: '$2'
expected: '$3'"
	fi
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap_skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

store_cleanup() {
	if [ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ]; then
		if [ "${TEST_KEEP:-0}" = 1 ]; then
			echo "# kept $TEST_TMP" >&2
		else
			rm -rf "$TEST_TMP"
		fi
	fi
}

# store_trap SIGNAL STATUS: the script's own exit status must survive the
# trap (run-tests.sh counts it).
store_trap() {
	store_cleanup
	trap - EXIT
	case $1 in
	EXIT) exit "$2" ;;
	INT) exit 130 ;;
	TERM) exit 143 ;;
	*) exit 129 ;;
	esac
}

command -v doveadm >/dev/null 2>&1 || tap_skip_all "doveadm not installed"

if [ "$(id -u)" = 0 ]; then
	STORE_USER=${STORE_USER:-nobody}
	STORE_GROUP=$(id -gn "$STORE_USER")
	STORE_RUNAS="setpriv --reuid=$STORE_USER --regid=$STORE_GROUP --clear-groups"
	# The store user must traverse every parent: a root-only TMPDIR won't do.
	_base=${TMPDIR:-/tmp}
	$STORE_RUNAS test -x "$_base" 2>/dev/null || _base=/tmp
else
	STORE_USER=$(id -un)
	STORE_GROUP=$(id -gn)
	STORE_RUNAS=
	_base=${TMPDIR:-/tmp}
fi
TEST_TMP=$(mktemp -d "$_base/imapsync-test.XXXXXX") || exit 1
chmod 755 "$TEST_TMP"
trap 'store_trap EXIT $?' EXIT
trap 'store_trap INT 1' INT
trap 'store_trap TERM 1' TERM
trap 'store_trap HUP 1' HUP

store_new() {
	_name=$1
	_fmt=${2:-maildir}
	_sep=${3:-${STORE_SEP:-/}}
	_prefix=${4-${STORE_PREFIX:-}}
	_d=$TEST_TMP/$_name
	case $_fmt in
	maildir) _loc='maildir:~/Mail' ;;
	mdbox) _loc='mdbox:~/mdbox' ;;
	*) echo "store_new: unknown format $_fmt" >&2; return 1 ;;
	esac
	mkdir -p "$_d/home" "$_d/run" "$_d/state" || return 1
	cat >"$_d/dovecot.conf" <<EOC
ssl = no
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/dovecot.log
mail_location = $_loc
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = $_sep
  prefix = $_prefix
}
EOC
	cat >"$_d/imap" <<EOC
#!/bin/sh
exec $STORE_RUNAS env -i PATH=/usr/bin:/bin USER=$STORE_USER HOME=$_d/home doveadm -c $_d/dovecot.conf exec imap 2>>$_d/imap.log
EOC
	chmod 755 "$_d/imap"
	: >"$_d/imap.log"
	if [ -n "$STORE_RUNAS" ]; then
		chown -R "$STORE_USER:$STORE_GROUP" "$_d/home" "$_d/run" \
			"$_d/state" "$_d/imap.log" || return 1
		chmod 755 "$_d"
	fi
	echo "$_d/imap"
}

store_dir() {
	dirname "$1"
}

fi
