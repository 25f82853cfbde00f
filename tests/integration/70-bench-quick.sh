#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 70-bench-quick.sh: `bench/run --quick` (tiny data, one run, loopback)
# so that `make bench` cannot rot: the table has a row with numbers for
# every scenario and tool, both stores agree after every run, and the
# results files are written with the command on top.
: "${IMAPSYNC_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${IMAPSYNC_BUILD:=$IMAPSYNC_TOP/build}"

command -v interimap >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP interimap not installed"; exit 0; }
for p in python3 doveadm; do
	command -v $p >/dev/null 2>&1 ||
		{ echo "1..0 # SKIP $p not installed"; exit 0; }
done
for p in imapsync bench/tunnel bench/rusage; do
	[ -x "$IMAPSYNC_BUILD/$p" ] ||
		{ echo "1..0 # SKIP $p not built"; exit 0; }
done

. "$IMAPSYNC_TOP/tests/lib/store.sh"

D=$STORE_TMP/bench
# bench/rusage ptrace-stops the tool at its exit to read its own peak
# RSS, and LeakSanitizer cannot run under ptrace (it aborts the exit with
# status 1): the sanitizer build is checked for leaks by every other
# test, not by this one.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
# mbsync is optional for the benchmark: leave it out, so the result does
# not depend on what else is installed.
tools=imapsync,interimap,floor
"$IMAPSYNC_TOP/bench/run" --quick --build="$IMAPSYNC_BUILD" --dir="$D" \
	--tools=$tools >"$STORE_TMP/out" 2>"$STORE_TMP/err"
rc=$?
tap_is "$rc" 0 "bench/run --quick exits 0"
[ $rc -eq 0 ] || sed 's/^/# /' "$STORE_TMP/err" | tail -n 30

tap_ok "the command comes first" grep -q \
	"^# command: .*bench/run --quick --build=.* --dir=$D --tools=$tools\$" \
	"$STORE_TMP/out"

# row SCENARIO TOOL [FILE]: | scenario | link | tool | wall | xinterimap |
# xfloor | ... | check |
row() {
	awk -F'|' -v s="$1" -v t="$2" '
		function trim(x) { gsub(/^ +| +$/, "", x); return x }
		trim($2) == s && trim($3) == "loopback" && trim($4) == t {
			print; exit
		}' \
		"${3:-$STORE_TMP/out}"
}
num='[0-9][0-9]*\.[0-9][0-9]*'
for sc in init-4x25 noop-4x25 noop-25x2 changes-4x25 changes-12x3; do
	for t in imapsync interimap floor; do
		case $sc:$t in
		init-*:* | *:imapsync | *:interimap) ;;
		*) continue ;;
		esac
		r=$(row $sc $t)
		ok=1
		# wall time, bytes both ways on both sides, peak RSS, check ok
		echo "$r" | grep -Eq "^\| *$sc *\| *loopback *\| *$t *\| *$num *\|" || ok=0
		sz="[0-9.]+ (B|KiB|MiB) / [0-9.]+ (B|KiB|MiB) *\|"
		echo "$r" | grep -Eq "$sz *$sz" || ok=0
		echo "$r" | grep -Eq '\| *ok *\|$' || ok=0
		echo "$r" | awk -F'|' '{ gsub(/ /, "", $11)
			exit !($11 ~ /^[0-9]+\.[0-9]+$/ && $11 > 0) }' || ok=0
		if [ $ok = 1 ]; then
			tap_result 0 "row $sc $t has numbers and agreeing stores"
		else
			tap_result 1 "row $sc $t has numbers and agreeing stores"
			echo "# row: '$r'"
		fi
	done
	r=$(row $sc imapsync)
	echo "$r" | awk -F'|' '{ gsub(/ /, "", $6); exit !($6 ~ /^[0-9]+\.[0-9]+$/) }'
	tap_result $? "row $sc imapsync has its ratio to interimap"
done
r=$(row init-4x25 imapsync)
echo "$r" | awk -F'|' '{ gsub(/ /, "", $7); exit !($7 ~ /^[0-9]+\.[0-9]+$/) }'
tap_result $? "the initial copy has imapsync's ratio to the floor"

tap_ok "results.tsv has the command and a row per cell" sh -c "
	head -n 1 '$D/results.tsv' | grep -q '^# command: ' &&
	test \$(grep -c loopback '$D/results.tsv') -eq 11"
tap_ok "results.json parses" python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['command'] and len(d['rows']) == 11, d
" "$D/results.json"
# --vs: another build timed as "before" (here this one, against itself),
# a row of its own and this build's ratio to it.
"$IMAPSYNC_TOP/bench/run" --quick --build="$IMAPSYNC_BUILD" --dir="$D" \
	--tools=imapsync --vs="$IMAPSYNC_BUILD" --scenarios=noop-4x25,changes-4x25 \
	>"$STORE_TMP/vs.out" 2>"$STORE_TMP/vs.err"
tap_is "$?" 0 "bench/run --vs exits 0"
tap_ok "--vs: the table has a '× before' column" \
	grep -q '| × floor | × before |' "$STORE_TMP/vs.out"
for sc in noop-4x25 changes-4x25; do
	# | ... | xfloor | xbefore | ...: the 8th field.
	r=$(row $sc imapsync "$STORE_TMP/vs.out" | cut -d'|' -f8 | tr -d ' ')
	echo "$r" | grep -Eq '^[0-9]+\.[0-9]+$'
	tap_result $? "--vs: $sc has imapsync's ratio to before ($r)"
	tap_ok "--vs: $sc has a row for before, its stores agreeing" sh -c \
		"echo '$(row $sc before "$STORE_TMP/vs.out")' | grep -Eq '\| *ok *\|\$'"
done
no_leftovers() { ! pgrep -f "$D/" >/dev/null; }
tap_ok "nothing left running from the work directory" no_leftovers
tap_done
