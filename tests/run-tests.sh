#!/bin/sh
# run-tests.sh BUILD [LABEL]: run every unit test binary and integration
# script against the programs in BUILD; each prints TAP. Writes
# "passed failed skipped" to BUILD/tests/counts and a line per test file.
set -u
B=$1
LABEL=${2:-$B}
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$top" && cd "$B" && pwd)
export IMAPSYNC_BUILD="$B" IMAPSYNC_TOP="$top"
log="$B/tests/log"
mkdir -p "$log"
pass=0 fail=0 skip=0

run_one() {
	name=$1; shift
	out="$log/$name.tap"
	timeout -k 10 ${IMAPSYNC_TEST_TIMEOUT:-600} "$@" >"$out" 2>"$log/$name.err"
	rc=$?
	p=$(grep -c '^ok ' "$out" | tr -d ' ')
	s=$(grep -c '^ok .*# *SKIP' "$out" | tr -d ' ')
	# "not ok ... # TODO": a known bug, reported, not a failure.
	f=$(grep '^not ok ' "$out" | grep -vc '# *TODO' | tr -d ' ')
	todo=$(grep '^not ok ' "$out" | grep -c '# *TODO' | tr -d ' ')
	p=$((p - s))
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$out"
	elif [ -n "$plan" ] && [ $((p + s + f + todo)) -ne "$plan" ]; then
		f=$((f + 1))
		echo "not ok - $name planned $plan, ran $((p + s + f + todo - 1))" >>"$out"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $LABEL $name: $p passed, $f failed"
		grep -E '^(not ok|#)' "$out" | head -n 20 | sed 's/^/    /'
		tail -n 5 "$log/$name.err" | sed 's/^/    stderr: /'
	else
		_t=
		[ "$todo" -eq 0 ] || _t=", $todo known failures (TODO)"
		if [ "$s" -gt 0 ]; then echo "ok   $LABEL $name: $p passed, $s skipped$_t"; else echo "ok   $LABEL $name: $p passed$_t"; fi
	fi
}

for t in "$B"/tests/test-*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/integration/[0-9]*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t" .sh)" sh "$t"
done
echo "$pass $fail $skip" >"$B/tests/counts"
