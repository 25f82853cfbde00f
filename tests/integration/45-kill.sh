#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 45-kill.sh: a run interrupted at step boundaries (IMAPSYNC_DEBUG_EXIT_AT)
# and at random instants (SIGKILL), during a first sync and during an
# incremental one, then resumed, ends with exactly the stores of an
# uninterrupted run: no message lost, none doubled; flags changed on both
# sides are merged as by an uninterrupted run, and so is the next change.
#
# By default (make check) a sample: the first three boundaries, the last
# two and three between, and 3 random kills. With SYNC_LONG=1 (make
# check-long) the full sweep: every boundary and 200 random kills.
# SYNC_KILLS=N sets the number of random kills.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's crash safety"
if [ -n "${SYNC_LONG:-}" ]; then
	KILLS=${SYNC_KILLS:-200}
else
	KILLS=${SYNC_KILLS:-3}
fi
kill_dryrun=${SYNC_DRYRUN:-1}

# The step hook is in the tests' build only (make tests).
HOOKS_BIN=$IMAPSYNC_BUILD/tests/imapsync-hooks
[ -x "$HOOKS_BIN" ] || tap_skip_all "$HOOKS_BIN not built (make tests)"

sync_pair_new --name base --remote-format mdbox
BASE=$SYNC_DIR
{
	for i in 1 2 3 4 5 6 7 8; do
		echo "append INBOX -s l$i -f '\\Seen'"
	done
	echo "create a"
	for i in 1 2 3 4 5; do echo "append a -s a$i"; done
} | store_script "$LOCAL" >/dev/null
{
	for i in 1 2 3 4 5 6 7; do echo "append INBOX -s r$i -f '\\Flagged'"; done
	echo "create b"
	for i in 1 2 3 4 5 6; do echo "append b -s b$i --size 300000"; done
} | store_script "$REMOTE" >/dev/null

# dump_of DIR: "local dump / remote dump" of a pair, for comparison.
dump_of() {
	store_dump "$1/local/imap" >"$1/dump.local" 2>&1
	store_dump "$1/remote/imap" >"$1/dump.remote" 2>&1
}

# The reference: the same pair synced without interruption.
sync_pair_use "$BASE"
sync_pair_clone ref
sync_ok "reference first sync exits 0"
REF=$SYNC_DIR
dump_of "$REF"
tap_check "reference pair equal" diff -u "$REF/dump.local" "$REF/dump.remote"

# The program users run has no step hook: the variable changes nothing.
sync_pair_use "$BASE"
sync_pair_clone nohook
IMAPSYNC_DEBUG_EXIT_AT=1 sync_run
tap_is "$SYNC_RC" 0 "imapsync (not the tests' build) ignores IMAPSYNC_DEBUG_EXIT_AT"
tap_check "and holds no trace of it" \
	sh -c "! grep -q IMAPSYNC_DEBUG_EXIT_AT '$SYNC_BIN'"
sync_pair_use "$REF"

# An incremental base: the synced reference, then changes on both sides.
sync_pair_clone incbase
INCBASE=$SYNC_DIR
python3 "$IMAPSYNC_TOP/tests/lib/mutate.py" 45 0 "$INCBASE/local/imap" \
	"$INCBASE/remote/imap" 2>"$INCBASE/mutate.err"
sync_pair_clone incref
sync_ok "reference incremental sync exits 0"
INCREF=$SYNC_DIR
dump_of "$INCREF"

# stops_at FROM K: a run from a copy of FROM stops at step boundary K
# (it has at least K).
stops_at() {
	sync_pair_use "$1"
	sync_pair_clone "probe-$2" >/dev/null
	IMAPSYNC_DEBUG_EXIT_AT=$2 sync_run_with "$HOOKS_BIN"
	_r=$SYNC_RC
	store_wait_sessions "$LOCAL" "$REMOTE"
	rm -rf "$SYNC_DIR"
	[ "$_r" -eq 99 ]
}

# steps_of FROM: how many step boundaries a run from FROM has (doubling,
# then bisecting, on runs stopped at a boundary).
steps_of() {
	_lo=0 _hi=8
	while stops_at "$1" $_hi; do
		_lo=$_hi _hi=$((_hi * 2))
		[ $_hi -le 4096 ] || break
	done
	while [ $((_hi - _lo)) -gt 1 ]; do
		_mid=$(((_lo + _hi) / 2))
		if stops_at "$1" $_mid; then _lo=$_mid; else _hi=$_mid; fi
	done
	echo $_lo
}

# interrupted FROM REFDIR LABEL: for each step k (or the sample), a fresh
# copy of FROM is interrupted at step k, resumed, and compared with
# REFDIR.
interrupted() {
	_from=$1 _ref=$2 _label=$3
	_bad=0 _steps=0 _sample='' _k=1
	if [ -z "${SYNC_LONG:-}" ]; then
		_nsteps=$(steps_of "$_from")
		_sample=$(for _s in 1 2 3 $((_nsteps / 4)) $((_nsteps / 2)) \
			$((_nsteps * 3 / 4)) $((_nsteps - 1)) $_nsteps; do
			[ "$_s" -ge 1 ] && echo "$_s"
		done | sort -nu)
		tap_diag "$_label: $_nsteps steps; interrupted at" $_sample
		set -- $_sample
		_k=$1
	fi
	# Each pass resumes the same scenario: the differential dry run (on
	# for the reference syncs) would only repeat itself, at twice the cost.
	SYNC_DRYRUN=0
	while :; do
		sync_pair_use "$_from"
		sync_pair_clone "$_label-$_k" >/dev/null
		IMAPSYNC_DEBUG_EXIT_AT=$_k sync_run_with "$HOOKS_BIN"
		_rc=$SYNC_RC
		if [ $_rc -ne 99 ] && [ -z "$_sample" ]; then
			# The run finished before step k: every step was tried.
			_steps=$((_k - 1))
			break
		elif [ $_rc -ne 99 ]; then
			tap_diag "$_label: the run ended before step $_k"
			rm -rf "$SYNC_DIR"
			_steps=$_nsteps
			shift
			[ $# -gt 0 ] || break
			_k=$1
			continue
		fi
		# A resumed run starts once the killed run's server
		# sessions have finished what they had read, as it would in
		# life (they would race it here; see the notes in sync.c).
		store_wait_sessions "$LOCAL" "$REMOTE"
		if ! sync_run; then
			_bad=$((_bad + 1))
			tap_diag "$_label: resume after step $_k exits $SYNC_RC"
		fi
		dump_of "$SYNC_DIR"
		if ! diff -q "$_ref/dump.local" "$SYNC_DIR/dump.local" >/dev/null ||
			! diff -q "$_ref/dump.remote" "$SYNC_DIR/dump.remote" \
				>/dev/null; then
			_bad=$((_bad + 1))
			tap_diag "$_label: after step $_k the stores differ from the reference"
			diff "$_ref/dump.local" "$SYNC_DIR/dump.local" | head -n 10 |
				sed 's/^/# /'
		fi
		rm -rf "$SYNC_DIR"
		if [ -n "$_sample" ]; then
			_steps=$_nsteps
			shift
			[ $# -gt 0 ] || break
			_k=$1
		else
			_k=$((_k + 1))
		fi
	done
	SYNC_DRYRUN=$kill_dryrun
	[ -n "$_sample" ] ||
		tap_diag "$_label: interrupted at each of $_steps steps"
	tap_is "$_bad" 0 "$_label: every interrupted run resumes to the reference"
	tap_check "$_label: more than a handful of steps were tried" \
		test "$_steps" -gt 8
}

interrupted "$BASE" "$REF" first
interrupted "$INCBASE" "$INCREF" incremental

# Flags changed on both sides since the last sync (issue 18): a run
# stopped at each step, between a STORE and the database write that
# records the merged flags as the pair's base, or after, then resumed,
# gives the reference's flags (no flag lost); a second round of changes
# merged from the recorded base gives the reference's too (no flag
# resurrected by a base left stale).
sync_pair_new --name fbase
FBASE=$SYNC_DIR
{
	echo "append INBOX -s f1 -f '\\Seen'"
	echo "append INBOX -s f2 -f '\$label2'"
	echo "append INBOX -s f3 -f '\\Answered \\Flagged \\Seen'"
	echo "append INBOX -s f4"
	echo "append INBOX -s f5 -f '\\Seen'"
	echo "append INBOX -s f6"
} | store_script "$LOCAL" >/dev/null
sync_ok "flags: first sync exits 0"
# flag_changes N: round N of changes, on the current pair.
flag_changes() {
	_l() { store_uid_of "$LOCAL" INBOX "$1"; }
	_r() { store_uid_of "$REMOTE" INBOX "$1"; }
	if [ "$1" = 1 ]; then
		store_flags "$LOCAL" INBOX "$(_l f1)" -FLAGS '\Seen'
		store_flags "$REMOTE" INBOX "$(_r f1)" +FLAGS '\Flagged'
		store_flags "$LOCAL" INBOX "$(_l f2)" +FLAGS '$label1'
		store_flags "$REMOTE" INBOX "$(_r f2)" -FLAGS '$label2'
		store_flags "$LOCAL" INBOX "$(_l f3)" -FLAGS '\Flagged'
		store_flags "$REMOTE" INBOX "$(_r f3)" -FLAGS '\Seen'
		store_flags "$LOCAL" INBOX "$(_l f4)" +FLAGS '\Seen'
		store_flags "$REMOTE" INBOX "$(_r f4)" +FLAGS '\Seen'
		store_flags "$LOCAL" INBOX "$(_l f5)" -FLAGS '\Seen'
		store_flags "$REMOTE" INBOX "$(_r f6)" +FLAGS '\Answered'
	else
		store_flags "$LOCAL" INBOX "$(_l f1)" +FLAGS '\Seen'
		store_flags "$REMOTE" INBOX "$(_r f1)" -FLAGS '\Flagged'
		store_flags "$LOCAL" INBOX "$(_l f3)" +FLAGS '\Seen'
		store_flags "$REMOTE" INBOX "$(_r f3)" -FLAGS '\Answered'
		store_flags "$LOCAL" INBOX "$(_l f5)" +FLAGS '\Draft'
		store_flags "$REMOTE" INBOX "$(_r f5)" +FLAGS '\Flagged'
		store_flags "$LOCAL" INBOX "$(_l f6)" -FLAGS '\Answered'
		store_flags "$REMOTE" INBOX "$(_r f6)" +FLAGS '\Seen'
	fi >/dev/null
}
flag_changes 1
sync_pair_clone fref
sync_ok "flags: reference sync exits 0"
FREF=$SYNC_DIR
dump_of "$FREF"
# flag_lists: the flags of f1 to f6 on the remote, \Recent left out.
flag_lists() {
	store_msgflags "$REMOTE" INBOX | awk '{ s = ""
		for (i = 2; i <= NF; i++) if ($i != "\\Recent") s = s " " $i
		printf "%s/", substr(s, 2) }'
}
tap_is "$(flag_lists)" '\Flagged/$label1/\Answered/\Seen//\Answered/' \
	"flags: the reference merged per flag"
flag_changes 2
sync_ok "flags: reference second sync exits 0"
tap_is "$(flag_lists)" '\Seen/$label1/\Seen/\Seen/\Draft \Flagged/\Seen/' \
	"flags: the reference merged the next changes from the merged flags"
store_dump "$LOCAL" >"$FREF/dump2.local" 2>&1
fbad=0
fsteps=$(steps_of "$FBASE")
k=1
# Each pass resumes the same scenario: the differential dry run (on
# for the reference syncs) would only repeat itself, at twice the cost.
SYNC_DRYRUN=0
while [ "$k" -le "$fsteps" ]; do
	sync_pair_use "$FBASE"
	sync_pair_clone "flags-$k" >/dev/null
	IMAPSYNC_DEBUG_EXIT_AT=$k sync_run_with "$HOOKS_BIN"
	store_wait_sessions "$LOCAL" "$REMOTE"
	sync_run || fbad=$((fbad + 1))
	dump_of "$SYNC_DIR"
	if ! diff -q "$FREF/dump.local" "$SYNC_DIR/dump.local" >/dev/null ||
		! diff -q "$FREF/dump.remote" "$SYNC_DIR/dump.remote" \
			>/dev/null; then
		fbad=$((fbad + 1))
		tap_diag "flags: after step $k the stores differ from the reference"
		diff "$FREF/dump.local" "$SYNC_DIR/dump.local" | head -n 10 |
			sed 's/^/# /'
	fi
	flag_changes 2
	sync_run || fbad=$((fbad + 1))
	dump_of "$SYNC_DIR"
	if ! diff -q "$FREF/dump2.local" "$SYNC_DIR/dump.local" >/dev/null ||
		! diff -q "$FREF/dump2.local" "$SYNC_DIR/dump.remote" \
			>/dev/null; then
		fbad=$((fbad + 1))
		tap_diag "flags: after step $k, the next merge differs from the reference"
		diff "$FREF/dump2.local" "$SYNC_DIR/dump.local" | head -n 10 |
			sed 's/^/# /'
	fi
	rm -rf "$SYNC_DIR"
	k=$((k + 1))
done
SYNC_DRYRUN=$kill_dryrun
tap_diag "flags: interrupted at each of $fsteps steps"
tap_is "$fbad" 0 "flags: every interrupted run resumes to the reference, and merges the next changes as it does"
tap_check "flags: the run has steps between its STOREs and its commit" \
	test "$fsteps" -ge 3

# A message moved on one side with a flag removed, and flagged on the
# other side: stopped at each step, resumed, it ends where it was moved
# with both changes (\Flagged \Seen), whatever step the run stopped at,
# the move's intent carrying the pair's base when the move was made and
# not recorded.
sync_pair_new --name mbase
MBASE=$SYNC_DIR
store_create "$LOCAL" m2 >/dev/null
store_append "$LOCAL" m2 -s t1 -f '$Label1 \Seen' >/dev/null
store_append "$LOCAL" m2 -s t2 >/dev/null
sync_ok "move and flags: first sync exits 0"
store_flags "$LOCAL" m2 "$(store_uid_of "$LOCAL" m2 t1)" -FLAGS '$Label1'
store_flags "$REMOTE" m2 "$(store_uid_of "$REMOTE" m2 t1)" +FLAGS '\Flagged'
store_move "$LOCAL" m2 "$(store_uid_of "$LOCAL" m2 t1)" INBOX
mflags() {
	store_msgflags "$1" INBOX | awk '{ s = ""
		for (i = 2; i <= NF; i++) if ($i != "\\Recent") s = s " " $i
		printf "%s/", substr(s, 2) }'
}
mbad=0
msteps=$(steps_of "$MBASE")
k=1
# Each pass resumes the same scenario: the differential dry run (on
# for the reference syncs) would only repeat itself, at twice the cost.
SYNC_DRYRUN=0
while [ "$k" -le "$msteps" ]; do
	sync_pair_use "$MBASE"
	sync_pair_clone "move-$k" >/dev/null
	IMAPSYNC_DEBUG_EXIT_AT=$k sync_run_with "$HOOKS_BIN"
	store_wait_sessions "$LOCAL" "$REMOTE"
	sync_run || mbad=$((mbad + 1))
	got="$(mflags "$LOCAL")$(mflags "$REMOTE")"
	if [ "$got" != '\Flagged \Seen/\Flagged \Seen/' ]; then
		mbad=$((mbad + 1))
		tap_diag "move and flags: after step $k: $got"
	fi
	rm -rf "$SYNC_DIR"
	k=$((k + 1))
done
SYNC_DRYRUN=$kill_dryrun
tap_diag "move and flags: interrupted at each of $msteps steps"
tap_is "$mbad" 0 "move and flags: every interrupted run resumes with both changes"
# The run stopped once the server made its UID MOVE and before it
# recorded it (a SIGKILL's window, no step's): stopped once its intent
# is on disk (the APPLY flight's records, committed before any of its
# commands go), the move made by hand as the server would have. The old pair is gone on
# both sides then; MATCH pairs the two again from the intent, which
# kept the pair's last synced flags (not the union: $Label1 stays off).
k=1
# Each pass resumes the same scenario: the differential dry run (on
# for the reference syncs) would only repeat itself, at twice the cost.
SYNC_DRYRUN=0
while [ "$k" -le "$msteps" ]; do
	sync_pair_use "$MBASE"
	sync_pair_clone "intent-$k" >/dev/null
	IMAPSYNC_DEBUG_EXIT_AT=$k sync_run_with "$HOOKS_BIN"
	grep -q "(apply flight recorded)" "$SYNC_ERR" && break
	rm -rf "$SYNC_DIR"
	k=$((k + 1))
done
SYNC_DRYRUN=$kill_dryrun
tap_check "move and flags: a run stops at its move intent" \
	grep -q "(apply flight recorded)" "$SYNC_ERR"
store_wait_sessions "$LOCAL" "$REMOTE"
store_move "$REMOTE" m2 "$(store_uid_of "$REMOTE" m2 t1)" INBOX
sync_ok "move made, not recorded: the next run exits 0"
tap_is "$(mflags "$LOCAL")$(mflags "$REMOTE")" '\Flagged \Seen/\Flagged \Seen/' \
	"move made, not recorded: both changes, merged from the intent's base"
sync_dumps_equal "move made, not recorded: dumps equal"

# Random instants: SIGKILL after 0 to 300 ms, then resume.
bad=0
i=0
# Each pass resumes the same scenario: the differential dry run (on
# for the reference syncs) would only repeat itself, at twice the cost.
SYNC_DRYRUN=0
while [ $i -lt "$KILLS" ]; do
	sync_pair_use "$BASE"
	sync_pair_clone "rnd-$i" >/dev/null
	XDG_CONFIG_HOME=$SYNC_DIR/xdg-config XDG_DATA_HOME=$SYNC_DIR/xdg-data \
		"$SYNC_BIN" --config="$SYNC_CONF" -q >/dev/null 2>&1 </dev/null &
	pid=$!
	sleep "0.$(awk -v s="$i" 'BEGIN { srand(s); printf "%03d", rand() * 300 }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	store_wait_sessions "$LOCAL" "$REMOTE"
	sync_run || bad=$((bad + 1))
	dump_of "$SYNC_DIR"
	if ! diff -q "$REF/dump.local" "$SYNC_DIR/dump.local" >/dev/null ||
		! diff -q "$REF/dump.remote" "$SYNC_DIR/dump.remote" >/dev/null; then
		bad=$((bad + 1))
		tap_diag "random kill $i: the stores differ from the reference"
	fi
	rm -rf "$SYNC_DIR"
	i=$((i + 1))
done
SYNC_DRYRUN=$kill_dryrun
tap_is "$bad" 0 "$KILLS random kills resume to the reference"
tap_done
