#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run-test.sh VARIANT NAME: run one test of check.sh and print its result
# in one block: VARIANT is plain (build/) or san (build-san/); NAME is a
# unit test binary (test-buf), an integration script (31-flags) or
# fuzz-smoke. Its TAP goes to BUILD/tests/log/NAME.tap, its stderr to
# NAME.err, and "passed failed skipped seconds cpu" to NAME.res (wall
# and CPU seconds, user + system, of the test and the processes it
# waited for: a server it left to PID 1 is not counted).
set -u
variant=$1 name=$2
top=$(cd "$(dirname "$0")/.." && pwd)
case $variant in
plain) B=$top/build ;;
san) B=$top/build-san ;;
*) echo "run-test.sh: unknown variant $variant" >&2; exit 2 ;;
esac
export IMAPSYNC_BUILD="$B" IMAPSYNC_TOP="$top"
log=$B/tests/log
mkdir -p "$log"
out=$log/$name.tap err=$log/$name.err
case $name in
test-*) set -- "$B/tests/$name" ;;
fuzz-smoke)
	# Built here, not before the tests: it builds while they run.
	set -- sh -c 'command -v "${CLANG:-clang}" >/dev/null 2>&1 ||
		{ echo "1..0 # SKIP clang not installed"; exit 0; }
	make -s -C "$1" BUILD="$2" fuzz >"$3" 2>&1 ||
		{ sed "s/^/# /" "$3"; echo "not ok - the fuzz targets build"; exit 1; }
	exec sh "$1/tests/fuzz-smoke.sh" "$2/fuzz"' sh "$top" "$B" "$log/fuzz-build.log"
	;;
*) set -- sh "$top/tests/integration/$name.sh" ;;
esac
t0=$(date +%s)
times >"$log/$name.cpu"
timeout -k 10 "${IMAPSYNC_TEST_TIMEOUT:-900}" "$@" >"$out" 2>"$err"
rc=$?
times >>"$log/$name.cpu"
secs=$(($(date +%s) - t0))
# The children's lines of `times` ("0m1.250000s 0m0.500000s"), after
# less before.
cpu=$(awk 'function s(x) { sub(/s$/, "", x); split(x, a, "m")
		return a[1] * 60 + a[2] }
	NR == 2 { b = s($1) + s($2) } NR == 4 { e = s($1) + s($2) }
	END { printf "%.1f\n", e - b }' "$log/$name.cpu")
rm -f "$log/$name.cpu"
p=$(grep -c '^ok ' "$out")
s=$(grep -c '^ok .*# *SKIP' "$out")
# "not ok ... # TODO": a known bug, reported, not a failure.
f=$(grep '^not ok ' "$out" | grep -vc '# *TODO')
todo=$(grep '^not ok ' "$out" | grep -c '# *TODO')
p=$((p - s))
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
	f=1
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "not ok - $name timed out" >>"$out"
	else
		echo "not ok - $name exited with status $rc" >>"$out"
	fi
elif [ -n "$plan" ] && [ $((p + s + f + todo)) -ne "$plan" ]; then
	f=$((f + 1))
	echo "not ok - $name planned $plan, ran $((p + s + f + todo - 1))" >>"$out"
fi
echo "$p $f $s $secs ${cpu:-0}" >"$log/$name.res"
# One write, so that results of tests running side by side do not mix.
block=$log/$name.block
if [ "$f" -gt 0 ]; then
	{
		echo "FAIL $variant $name: $p passed, $f failed ($secs s, cpu $cpu s)"
		grep -E '^(not ok|#)' "$out" | grep -v '^# kept' |
			head -n 40 | sed 's/^/    /'
		grep '^# kept: ' "$out" | sed 's/^# kept: /    kept: /'
		if [ -s "$err" ]; then
			echo "    stderr ($err):"
			tail -n 10 "$err" | sed 's/^/      /'
		fi
		echo "    TAP: $out"
	} >"$block"
else
	skip=
	[ "$s" -gt 0 ] && skip=", $s skipped"
	[ "$todo" -gt 0 ] && skip="$skip, $todo known failures (TODO)"
	echo "ok   $variant $name: $p passed$skip ($secs s, cpu $cpu s)" >"$block"
fi
cat "$block"
rm -f "$block"
exit 0
