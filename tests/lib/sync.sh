# SPDX-License-Identifier: GPL-3.0-or-later
# sync.sh: scenario helpers for the sync engine tests (POSIX sh, sourced).
# Sources store.sh (stores in $STORE_TMP, tap_result/tap_is/tap_done) and
# adds tap_pass DESC, tap_fail DESC [DIAG], tap_check DESC CMD...,
# tap_skip_one DESC REASON, tap_diag TEXT, tap_skip_all REASON.
#
# The tool under test is $SYNC_TOOL when set (e.g. SYNC_TOOL=interimap, or
# a path), else $IMAPSYNC_BUILD/imapsync; when that is not built yet the
# script reports "1..0 # SKIP" and exits 0.  Both tools take the same
# command line and config file (interimap's).
#
#   sync_pair_new [--local-format maildir|mdbox] [--remote-format F]
#                 [--local-sep S] [--remote-sep S]
#                 [--local-prefix P] [--remote-prefix P]
#                 [--local-ref R] [--remote-ref R]
#                 [--list-mailbox "PATTERNS"] [--ignore-mailbox PCRE]
#                 [--log-prefix FMT] [--name NAME]
#       makes two stores and a config; sets LOCAL and REMOTE (imap tunnel
#       scripts), SYNC_DIR, SYNC_CONF and SYNC_DB.  Call it directly, not
#       in $(...).
#   sync_pair_clone NAME   copies the current pair (stores, config, database)
#       to a new pair NAME and makes it current (sets the same variables).
#   sync_pair_use DIR      makes the pair in DIR (an earlier SYNC_DIR) current.
#   sync_run [ARGS]        runs the tool with --config=$SYNC_CONF ARGS; sets
#       SYNC_RC, SYNC_OUT and SYNC_ERR (files holding this run's stdout and
#       stderr); returns the exit status.
#   sync_run_with TOOL [ARGS]   same with another tool (path or name).
#   sync_changes           the lines of the last run's log that report a
#       change (Added / Removed / Updated / Created / Deleted / Renamed ...).
#   sync_db SQL            sqlite3 on the state database.
#   sync_dumps_equal DESC [DUMP OPTS]   TAP: local and remote dumps match.
#   sync_ok DESC [ARGS]    TAP: a run that exits 0.
#   sync_noop DESC         TAP: a run that exits 0 and logs no change.
#   sync_is_interimap      true when the tool under test is interimap.
#   sync_imapsync_only DESC CMD...   tap_check, or "ok - DESC # SKIP
#       interimap differs" under interimap.
#
# Store actions (IMAPCMD is $LOCAL or $REMOTE; see imaptool.py):
#   store_append IMAPCMD BOX [-f FLAGS] [-d DATE] [-s SUBJ] [--file F]
#                [--size N]                (prints the UID)
#   store_flags IMAPCMD BOX UIDSET +FLAGS|-FLAGS|FLAGS "FLAG..."
#   store_expunge IMAPCMD BOX UIDSET
#   store_move|store_copy IMAPCMD BOX UIDSET DEST
#   store_create|store_delete|store_subscribe|store_unsubscribe IMAPCMD BOX..
#   store_rename IMAPCMD SRC DST
#   store_list / store_lsub IMAPCMD;  store_count / store_status /
#   store_uidvalidity / store_uids / store_msgflags IMAPCMD BOX
#   store_fetch IMAPCMD BOX UID (raw message on stdout)
#   store_uid_of IMAPCMD BOX SUBJECT (UID of the message with that Subject)
#   store_script IMAPCMD < lines   (several actions over one session)
#   store_dump IMAPCMD [--canon] [--ref PREFIX] [--keep-recent]

: "${IMAPSYNC_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${IMAPSYNC_BUILD:=$IMAPSYNC_TOP/build}"

if [ -n "${SYNC_TOOL:-}" ]; then
	SYNC_BIN=$SYNC_TOOL
	command -v "$SYNC_BIN" >/dev/null 2>&1 ||
		{ echo "1..0 # SKIP $SYNC_TOOL not installed"; exit 0; }
else
	SYNC_BIN=$IMAPSYNC_BUILD/imapsync
	[ -x "$SYNC_BIN" ] ||
		{ echo "1..0 # SKIP imapsync not built yet"; exit 0; }
fi
command -v python3 >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP python3 not installed"; exit 0; }
command -v sqlite3 >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP sqlite3 not installed"; exit 0; }
command -v doveadm >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP doveadm not installed"; exit 0; }

. "$IMAPSYNC_TOP/tests/lib/store.sh"

# TAP helpers on top of store.sh's tap_result / tap_is / tap_done.
tap_pass() { tap_result 0 "$1"; }

# tap_fail DESC [DIAG]: a failure, with DIAG as "#" lines.
tap_fail() {
	tap_result 1 "$1"
	if [ $# -gt 1 ]; then
		shift
		printf '%s\n' "$*" | sed 's/^/#   /'
	fi
}

# tap_check DESC CMD...: passes when CMD succeeds; its output (kept out of
# the TAP stream) becomes the diagnostic when it fails.
tap_check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		tap_result 0 "$_desc"
	else
		tap_fail "$_desc" "$(printf '%s\n' "$_out" | head -n 40)"
	fi
}

# tap_skip_one DESC REASON: one named test counted as skipped.
tap_skip_one() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

tap_diag() { printf '%s\n' "$*" | sed 's/^/# /'; }

# tap_skip_all REASON: the whole script is skipped (before any test).
tap_skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

# One imaptool.py for the whole script, serving imaptool-client; not a
# job of this shell (a bare `wait` would wait for it); it ends when
# $STORE_TMP goes or this shell exits.
IMAPTOOL_SERVER=$STORE_TMP/imaptool
if mkdir "$IMAPTOOL_SERVER" && mkfifo "$IMAPTOOL_SERVER/req"; then
	(
		python3 "$IMAPSYNC_TOP/tests/lib/imaptool.py" --serve \
			"$IMAPTOOL_SERVER" $$ </dev/null >/dev/null \
			2>"$IMAPTOOL_SERVER/log" &
		echo $! >"$IMAPTOOL_SERVER/pid"
	)
	export IMAPTOOL_SERVER
fi
IMAPTOOL="sh $IMAPSYNC_TOP/tests/lib/imaptool-client"
SYNC_SEQ=0

sync_is_interimap() {
	case $(basename "$SYNC_BIN") in
	interimap*) return 0 ;;
	esac
	return 1
}

sync_imapsync_only() {
	if sync_is_interimap; then
		tap_skip_one "$1" "interimap differs"
	else
		tap_check "$@"
	fi
}

store_flags() { _c=$1; shift; $IMAPTOOL "$_c" store "$@"; }
store_expunge() { _c=$1; shift; $IMAPTOOL "$_c" expunge "$@"; }
store_move() { _c=$1; shift; $IMAPTOOL "$_c" move "$@"; }
store_copy() { _c=$1; shift; $IMAPTOOL "$_c" copy "$@"; }
store_create() { _c=$1; shift; $IMAPTOOL "$_c" create "$@"; }
store_delete() { _c=$1; shift; $IMAPTOOL "$_c" delete "$@"; }
store_rename() { _c=$1; shift; $IMAPTOOL "$_c" rename "$@"; }
store_subscribe() { _c=$1; shift; $IMAPTOOL "$_c" subscribe "$@"; }
store_unsubscribe() { _c=$1; shift; $IMAPTOOL "$_c" unsubscribe "$@"; }
store_list() { $IMAPTOOL "$1" list; }
store_lsub() { $IMAPTOOL "$1" lsub; }
store_count() { $IMAPTOOL "$1" count "$2"; }
store_status() { $IMAPTOOL "$1" status "$2"; }
store_uidvalidity() { $IMAPTOOL "$1" uidvalidity "$2"; }
store_uids() { $IMAPTOOL "$1" uids "$2"; }
store_msgflags() { $IMAPTOOL "$1" flags "$2"; }
store_fetch() { $IMAPTOOL "$1" fetch "$2" "$3"; }
store_uid_of() { $IMAPTOOL "$1" uid "$2" "$3"; }
store_script() { $IMAPTOOL "$1" script; }
store_dump() { _c=$1; shift; $IMAPTOOL "$_c" dump "$@"; }

store_append() {
	_c=$1
	shift
	$IMAPTOOL "$_c" append "$@"
}

sync_write_conf() {
	{
		echo "database = $SYNC_DB"
		sync_merge_key
		[ -z "$_sp_listmb" ] || echo "list-mailbox = $_sp_listmb"
		[ -z "$_sp_ignore" ] || echo "ignore-mailbox = $_sp_ignore"
		[ -z "$_sp_logprefix" ] || echo "log-prefix = $_sp_logprefix"
		echo
		echo "[local]"
		echo "type = tunnel"
		echo "command = $LOCAL"
		echo "null-stderr = YES"
		[ -z "$_sp_lref" ] || echo "list-reference = $_sp_lref"
		echo
		echo "[remote]"
		echo "type = tunnel"
		echo "command = $REMOTE"
		echo "null-stderr = YES"
		[ -z "$_sp_rref" ] || echo "list-reference = $_sp_rref"
	} >"$SYNC_CONF"
}

# The scenarios' first runs merge two stores that both hold mail on
# purpose: their configs say so (safety-merge = NO; 88-first-merge tests
# the brake without it). interimap knows no such key: sync_run_with gives
# it the config without.
sync_merge_key() {
	echo "safety-merge = NO"
}

sync_pair_new() {
	_sp_lfmt=maildir _sp_rfmt=maildir _sp_lsep=/ _sp_rsep=/
	_sp_lpfx='' _sp_rpfx='' _sp_lref='' _sp_rref='' _sp_listmb='' _sp_ignore=''
	_sp_logprefix='' _sp_name=pair
	while [ $# -gt 0 ]; do
		case $1 in
		--local-format) _sp_lfmt=$2 ;;
		--remote-format) _sp_rfmt=$2 ;;
		--local-sep) _sp_lsep=$2 ;;
		--remote-sep) _sp_rsep=$2 ;;
		--local-prefix) _sp_lpfx=$2 ;;
		--remote-prefix) _sp_rpfx=$2 ;;
		--local-ref) _sp_lref=$2 ;;
		--remote-ref) _sp_rref=$2 ;;
		--list-mailbox) _sp_listmb=$2 ;;
		--ignore-mailbox) _sp_ignore=$2 ;;
		--log-prefix) _sp_logprefix=$2 ;;
		--name) _sp_name=$2 ;;
		*) echo "sync_pair_new: unknown option $1" >&2; return 1 ;;
		esac
		shift 2
	done
	SYNC_DIR=$STORE_TMP/$_sp_name
	mkdir -p "$SYNC_DIR/logs" || return 1
	LOCAL=$(store_new "$_sp_name/local" "$_sp_lfmt" "$_sp_lsep" \
		"$_sp_lpfx") || return 1
	REMOTE=$(store_new "$_sp_name/remote" "$_sp_rfmt" "$_sp_rsep" \
		"$_sp_rpfx") || return 1
	SYNC_CONF=$SYNC_DIR/config
	SYNC_DB=$SYNC_DIR/state.db
	sync_write_conf
}

sync_pair_clone() {
	_new=$STORE_TMP/$1
	[ ! -e "$_new" ] || { echo "sync_pair_clone: $1 exists" >&2; return 1; }
	cp -a "$SYNC_DIR" "$_new" || return 1
	# Each store's scripts and config name their own directory.
	for _f in "$_new"/local/imap "$_new"/local/dovecot.conf \
		"$_new"/remote/imap "$_new"/remote/dovecot.conf "$_new"/config; do
		sed -i "s|$SYNC_DIR/|$_new/|g; s|= $SYNC_DIR/state.db|= $_new/state.db|" "$_f" ||
			return 1
	done
	rm -rf "$_new"/local/run/* "$_new"/remote/run/* "$_new"/logs/* \
		"$_new"/local/sessions "$_new"/remote/sessions
	sync_pair_use "$_new"
}

# sync_pair_use DIR: make the pair in DIR (a SYNC_DIR) the current one.
sync_pair_use() {
	SYNC_DIR=$1
	LOCAL=$1/local/imap
	REMOTE=$1/remote/imap
	SYNC_CONF=$1/config
	SYNC_DB=$1/state.db
}

sync_run_with() {
	_tool=$1
	shift
	_dr_on=0
	if sync_dryrun_applies "$_tool" "$@"; then
		_dr_on=1
		sync_dryrun_before "$_tool" "$@"
	fi
	SYNC_SEQ=$((SYNC_SEQ + 1))
	SYNC_OUT=$SYNC_DIR/logs/run$SYNC_SEQ.out
	SYNC_ERR=$SYNC_DIR/logs/run$SYNC_SEQ.err
	_conf=$SYNC_CONF
	case $(basename "$_tool") in
	interimap*)
		_conf=$SYNC_CONF.interimap
		grep -v '^safety-merge *=' "$SYNC_CONF" >"$_conf"
		chmod 600 "$_conf"
		;;
	esac
	# The tools must not touch the user's own config or state.
	XDG_CONFIG_HOME=$SYNC_DIR/xdg-config XDG_DATA_HOME=$SYNC_DIR/xdg-data \
		"$_tool" --config="$_conf" "$@" >"$SYNC_OUT" 2>"$SYNC_ERR" \
		</dev/null
	SYNC_RC=$?
	[ "$_dr_on" = 0 ] || sync_dryrun_after
	return $SYNC_RC
}

# The differential dry run: before every sync a scenario runs, the same
# command with --dry-run (and --debug), which must send the servers no
# command but reads (its trace: LIST, STATUS, EXAMINE, FETCH with .PEEK
# ...), leave every file of the pair (database, lock, logfile) as it was,
# say the same actions the real run then logs (dryrun-diff.py: "would"
# and server-assigned UIDs aside), count them alike in its summary line
# and end with the same exit status. The
# stores' dumps before and after are compared too on the first dry run of
# each pair, and on every one with SYNC_DRYRUN_DUMPS=1: what a dry run
# sends is all it can change, and dumping both stores twice a sync would
# cost the suite more than the dry run itself. A difference is a "not ok"
# line of its own. On unless SYNC_DRYRUN=0 (a scenario's opt-out, with its
# reason in a comment there).
#
# Left out by design: runs that are not syncs (--watch/--notify,
# --delete, --rename, --verify, --status, --dry-run itself), another tool
# (interimap, a script's own wrapper unless it names it SYNC_DRYRUN_TOOL),
# and sync_run_relayed (the relay's faults are for the real
# run; a dry run through it would meet them first). Under
# IMAPSYNC_DEBUG_EXIT_AT the dry run runs without it (the crash is the
# real run's) and only its writes are checked: the interrupted run's
# actions are a prefix of its plan.
sync_dryrun_applies() {
	[ "${SYNC_DRYRUN:-1}" = 1 ] || return 1
	[ "$1" = "$SYNC_BIN" ] || [ "$1" = "${SYNC_DRYRUN_TOOL:-}" ] ||
		return 1
	sync_is_interimap && return 1
	shift
	for _dr_a in "$@"; do
		case $_dr_a in
		--dry-run | --watch* | --notify | --delete | --rename | \
			--verify | --status* | --help | -h | --version | -V)
			return 1
			;;
		esac
	done
	return 0
}

# The files of the pair but the stores' own and the logs: names, and for
# files size and content (a lock left, a database written or created).
sync_dryrun_files() {
	find "$SYNC_DIR" \( -path "$SYNC_DIR/local" -o -path "$SYNC_DIR/remote" \
		-o -path "$SYNC_DIR/logs" -o -name 'dump.*' -o -name 'dry.*' \) \
		-prune -o -type f -exec cksum {} + 2>/dev/null | sort
	find "$SYNC_DIR" \( -path "$SYNC_DIR/local" -o -path "$SYNC_DIR/remote" \
		-o -path "$SYNC_DIR/logs" \) -prune -o -type d -print | sort
}

sync_dryrun_snapshot() {
	: >"$SYNC_DIR/dry.$1.local"
	: >"$SYNC_DIR/dry.$1.remote"
	if [ "$_dr_dumps" = 1 ]; then
		store_dump "$LOCAL" --keep-recent >"$SYNC_DIR/dry.$1.local" 2>&1
		store_dump "$REMOTE" --keep-recent >"$SYNC_DIR/dry.$1.remote" 2>&1
	fi
	sync_dryrun_files >"$SYNC_DIR/dry.$1.files"
}

# The commands a --debug trace shows sent that are not reads, if any.
sync_dryrun_writes() {
	# A literal goes on a line of its own ("{N bytes} ..."): not a command.
	sed -n 's/^\(local\|remote\) -> [A-Za-z][^ ]* //p' "$1" |
		awk '{ c = toupper($1); if (c == "UID") c = c " " toupper($2) }
		c ~ /^(CAPABILITY|ENABLE|LIST|LSUB|STATUS|EXAMINE|NOOP|LOGOUT|ID|COMPRESS|AUTHENTICATE|LOGIN|NAMESPACE|STARTTLS|UNSELECT|IDLE|DONE|SEARCH|UID SEARCH)$/ { next }
		c ~ /^(UID )?FETCH$/ && toupper($0) !~ /BODY\[/ { next }
		{ print }'
}

sync_dryrun_before() {
	_dr_tool=$1
	shift
	SYNC_SEQ=$((SYNC_SEQ + 1))
	_dr_seq=$SYNC_SEQ
	_dr_err=$SYNC_DIR/logs/run$SYNC_SEQ.dry.err
	_dr_dumps=${SYNC_DRYRUN_DUMPS:-0}
	[ -e "$SYNC_DIR/dry.dumped" ] || _dr_dumps=1
	: >"$SYNC_DIR/dry.dumped"
	_dr_debug=--debug
	for _dr_a in "$@"; do
		# Already tracing the wire (--debug=sync alone is not).
		case $_dr_a in
		--debug | --debug=*imap*) _dr_debug=--dry-run ;;
		esac
	done
	sync_dryrun_snapshot before
	XDG_CONFIG_HOME=$SYNC_DIR/xdg-config XDG_DATA_HOME=$SYNC_DIR/xdg-data \
		IMAPSYNC_DEBUG_EXIT_AT='' \
		"$_dr_tool" --config="$SYNC_CONF" --dry-run $_dr_debug "$@" \
		>"$SYNC_DIR/logs/run$SYNC_SEQ.dry.out" 2>"$_dr_err" </dev/null
	_dr_rc=$?
	sync_dryrun_snapshot after
	_dr_w=$(sync_dryrun_writes "$_dr_err")
	[ -z "$_dr_w" ] ||
		tap_fail "the dry run $_dr_seq sent only reads" \
			"$(printf '%s\n' "$_dr_w" | head -n 10)"
	# A logfile takes the real run's lines (a dry run's stay on stderr).
	_dr_logf=$(sed -n 's/^logfile *= *//p' "$SYNC_CONF" | tail -n 1)
	_dr_logsz=0
	[ -z "$_dr_logf" ] || _dr_logsz=$(stat -c %s "$_dr_logf" 2>/dev/null || echo 0)
	for _dr_f in local remote files; do
		if ! cmp -s "$SYNC_DIR/dry.before.$_dr_f" \
			"$SYNC_DIR/dry.after.$_dr_f"; then
			tap_fail "the dry run $_dr_seq changed nothing ($_dr_f)" \
				"$(diff -u "$SYNC_DIR/dry.before.$_dr_f" \
					"$SYNC_DIR/dry.after.$_dr_f" | head -n 30)"
		fi
	done
}

sync_dryrun_after() {
	[ -z "${IMAPSYNC_DEBUG_EXIT_AT:-}" ] || return 0
	# A run that failed (a fault a scenario made) is not compared.
	case $SYNC_RC in
	0 | 5) ;;
	*) return 0 ;;
	esac
	if [ "$_dr_rc" != "$SYNC_RC" ]; then
		tap_fail "the dry run $_dr_seq exits as run $SYNC_SEQ does" \
			"dry run: exit $_dr_rc, real run: exit $SYNC_RC
$(tail -n 15 "$_dr_err")"
		return 0
	fi
	_dr_log=$SYNC_DIR/logs/run$SYNC_SEQ.logfile
	: >"$_dr_log"
	[ -z "$_dr_logf" ] ||
		tail -c +$((_dr_logsz + 1)) "$_dr_logf" >"$_dr_log" 2>/dev/null
	if ! _dr_out=$($IMAPTOOL --dryrun-diff "$_dr_err" "$SYNC_ERR" \
		"$_dr_log" 2>&1); then
		tap_fail "the dry run $_dr_seq says what run $SYNC_SEQ does" \
			"$(printf '%s\n' "$_dr_out" | head -n 30)"
	fi
}

sync_run() {
	sync_run_with "$SYNC_BIN" "$@"
}

# sync_run_relayed 'RELAY ARGS' [IMAPSYNC ARGS]: one run (at most 60 s)
# with the remote's tunnel behind RELAY (a relay of tests/lib taking the
# real command last), the configuration as it was after.
sync_run_relayed() {
	_relay=$1
	shift
	cp "$SYNC_CONF" "$SYNC_CONF.relayed"
	sed -i "s|^command = $REMOTE\$|command = $_relay $REMOTE|" "$SYNC_CONF"
	sync_run_with _sync_bounded "$@"
	mv "$SYNC_CONF.relayed" "$SYNC_CONF"
	return $SYNC_RC
}
_sync_bounded() { timeout 60 "$SYNC_BIN" "$@"; }

# The log lines that report a change on a store or in the database.
sync_changes() {
	grep -E '(Added|Removed|Updated|Created|Deleted|Renamed|Subscribe|Unsubscribe|Expunged|Copied|Moved)' \
		"${1:-$SYNC_ERR}" "${2:-$SYNC_OUT}" 2>/dev/null || true
}

sync_db() {
	sqlite3 "$SYNC_DB" "$@"
}

# sync_db_boxes: "idx subscribed name" per mailbox in the database, the
# stored NUL delimiters shown as "/".
sync_db_boxes() {
	python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for i, s, m in c.execute("SELECT idx, subscribed, CAST(mailbox AS BLOB) FROM mailboxes ORDER BY 3"):
    print(i, s, bytes(m).replace(b"\0", b"/").decode("utf-8", "replace"))
' "$SYNC_DB"
}

# sync_db_idx NAME: the database index of mailbox NAME ("/" delimited).
sync_db_idx() {
	sync_db_boxes | awk -v n="$1" '{ i = $1; sub(/^[^ ]* [^ ]* /, ""); if ($0 == n) print i }'
}

# sync_dumps_equal DESC [DUMP OPTS]: keeps the dumps as $SYNC_DIR/dump.*
sync_dumps_equal() {
	_desc=$1
	shift
	store_dump "$LOCAL" "$@" >"$SYNC_DIR/dump.local" 2>&1
	store_dump "$REMOTE" "$@" >"$SYNC_DIR/dump.remote" 2>&1
	tap_check "$_desc" diff -u "$SYNC_DIR/dump.local" "$SYNC_DIR/dump.remote"
}

# sync_ok DESC [ARGS]: TAP: a run that exits 0 (log shown otherwise).
sync_ok() {
	_desc=$1
	shift
	if sync_run "$@"; then
		tap_pass "$_desc"
	else
		tap_fail "$_desc" "exit status $SYNC_RC
$(tail -n 20 "$SYNC_ERR")"
	fi
}

# sync_noop DESC: TAP: another run exits 0 and reports no change.
sync_noop() {
	if ! sync_run; then
		tap_fail "$1" "exit status $SYNC_RC
$(tail -n 20 "$SYNC_ERR")"
	elif [ -n "$(sync_changes)" ]; then
		tap_fail "$1" "$(sync_changes)"
	else
		tap_pass "$1"
	fi
}

# store_on_failure: called by store_cleanup when the script fails: the
# last lines of the last run's stderr and the difference between the
# current pair's stores, as TAP comments.
store_on_failure() {
	if [ -n "${SYNC_ERR:-}" ] && [ -s "$SYNC_ERR" ]; then
		echo "# the last run's stderr ($SYNC_ERR), last lines:"
		tail -n 15 "$SYNC_ERR" | sed 's/^/#   /'
	fi
	[ -n "${SYNC_DIR:-}" ] && [ -x "${LOCAL:-}" ] && [ -x "${REMOTE:-}" ] ||
		return 0
	store_dump "$LOCAL" >"$SYNC_DIR/dump.local.end" 2>&1
	store_dump "$REMOTE" >"$SYNC_DIR/dump.remote.end" 2>&1
	if cmp -s "$SYNC_DIR/dump.local.end" "$SYNC_DIR/dump.remote.end"; then
		echo "# the local and remote stores are equal now"
	else
		echo "# the local and remote stores differ now (diff -u local remote):"
		diff -u "$SYNC_DIR/dump.local.end" "$SYNC_DIR/dump.remote.end" |
			sed -n '3,42s/^/#   /p'
	fi
}
