#!/bin/sh
# 70-bench-cyrus.sh: `bench/run --quick --remote=cyrus` on two resync
# scenarios, so the Cyrus remote of `make bench` cannot rot: a row with
# numbers and agreeing stores per scenario and tool, the ratio to
# interimap, Cyrus named in the versions, no master left running.
: "${IMAPSYNC_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${IMAPSYNC_BUILD:=$IMAPSYNC_TOP/build}"

command -v interimap >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP interimap not installed"; exit 0; }
for p in imapsync bench/tunnel bench/rusage; do
	[ -x "$IMAPSYNC_BUILD/$p" ] ||
		{ echo "1..0 # SKIP $p not built"; exit 0; }
done
why=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
import cyrus; print(cyrus.missing() or "")' "$IMAPSYNC_TOP/bench")
[ -z "$why" ] || { echo "1..0 # SKIP $why"; exit 0; }

. "$IMAPSYNC_TOP/tests/lib/store.sh"

D=$STORE_TMP/bench
# As in 70-bench-quick: LeakSanitizer cannot run under bench/rusage's
# ptrace.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
sc=noop-4x25,changes-12x3
"$IMAPSYNC_TOP/bench/run" --quick --remote=cyrus --build="$IMAPSYNC_BUILD" \
	--dir="$D" --tools=imapsync,interimap --scenarios=$sc \
	>"$STORE_TMP/out" 2>"$STORE_TMP/err"
rc=$?
tap_is "$rc" 0 "bench/run --quick --remote=cyrus exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$STORE_TMP/err" | tail -n 30
tap_ok "Cyrus is named in the versions" \
	grep -q '^# imapsync .*; remote Cyrus IMAP 3\.' "$STORE_TMP/out"

row() {
	awk -F'|' -v s="$1" -v t="$2" '
		function trim(x) { gsub(/^ +| +$/, "", x); return x }
		trim($2) == s && trim($3) == "loopback" && trim($4) == t {
			print; exit
		}' "$STORE_TMP/out"
}
num='[0-9][0-9]*\.[0-9][0-9]*'
for s in noop-4x25 changes-12x3; do
	for t in imapsync interimap; do
		r=$(row $s $t)
		echo "$r" | grep -Eq "^\| *$s *\| *loopback *\| *$t *\| *$num *\|.*\| *ok *\|$"
		tap_result $? "row $s $t has a time and agreeing stores"
	done
	row $s imapsync | awk -F'|' '{ gsub(/ /, "", $6); exit !($6 ~ /^[0-9]+\.[0-9]+$/) }'
	tap_result $? "row $s imapsync has its ratio to interimap"
done
no_leftovers() { ! pgrep -f "$D/" >/dev/null; }
tap_ok "nothing left running from the work directory" no_leftovers
tap_done
