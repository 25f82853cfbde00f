#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# check.sh: build, then run the tests several at a time and end with one
# line "N passed, N failed". Every integration script runs once, against
# the ASan/UBSan build (build-san/); the plain build (build/) runs the
# unit tests, the install test and one end-to-end smoke test; the unit
# tests also run under the sanitizers; then the fuzz smoke run.
#
# Environment (make check passes its command-line variables on):
#   TESTS='31-flags 45-kill'   only these (names or shell patterns: a
#                              script's name without .sh, test-NAME for a
#                              unit test, fuzz-smoke)
#   SKIP_TESTS='80-*'          all but these
#   JOBS=N                     N tests at a time (default: make's -jN,
#                              else twice the number of cores: a test
#                              mostly waits on its servers, and the
#                              tests pass with every core busy, see
#                              check-loaded)
#   KEEP=1                     keep a failed test's directory (printed)
#   LONG=1                     the long variants (45-kill's full sweep)
set -u
cd "$(dirname "$0")/.." || exit 2
ncpu=$(nproc 2>/dev/null || echo 2)
mkjobs=$(printf ' %s ' "${MAKEFLAGS:-}" |
	sed -n 's/.* -[a-zA-Z]*j *\([0-9][0-9]*\) .*/\1/p')
jobs=${JOBS:-${mkjobs:-$((ncpu * 2))}}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=$((ncpu * 2))
TESTS=${TESTS:-} SKIP_TESTS=${SKIP_TESTS:-}
export KEEP="${KEEP:-}" SYNC_LONG="${LONG:-}"
# The plain build's integration runs: the install test and a smoke test.
PLAIN_ITESTS="30-new 82-install"

# wanted NAME: selected by TESTS and not excluded by SKIP_TESTS.
wanted() {
	if [ -n "$TESTS" ]; then
		_hit=
		for _p in $TESTS; do
			# shellcheck disable=SC2254
			case $1 in $_p | $_p-* | ${_p%.sh}) _hit=1 ;; esac
		done
		[ -n "$_hit" ] || return 1
	fi
	for _p in $SKIP_TESTS; do
		# shellcheck disable=SC2254
		case $1 in $_p | $_p-* | ${_p%.sh}) return 1 ;; esac
	done
	return 0
}

t_start=$(date +%s)
list=build-san/tests/jobs
mkdir -p build/tests build-san/tests

# python3 as its version manager resolves it, once: a shim (pyenv's) is
# a shell script and a few processes more at each Python start of the
# tests' helpers and relays, more than twice the CPU of a bare start.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -x "$py" ] && [ "$py" != "$(command -v python3)" ]; then
	mkdir -p build-san/tests/bin
	printf '#!/bin/sh\nexec %s "$@"\n' "'$py'" >build-san/tests/bin/python3
	chmod 755 build-san/tests/bin/python3
	PATH=$PWD/build-san/tests/bin:$PATH
	export PATH
fi
: >"$list.new"
units=$(for f in tests/unit/test-*.c; do
	n=$(basename "$f" .c)
	[ "$n" = test-main ] || echo "$n"
done)
for n in $units; do
	wanted "$n" && echo "plain $n" && echo "san $n"
done >>"$list.new"
for f in tests/integration/[0-9]*.sh; do
	[ -f "$f" ] || continue
	n=$(basename "$f" .sh)
	wanted "$n" || continue
	echo "san $n"
	case " $PLAIN_ITESTS " in *" $n "*) echo "plain $n" ;; esac
done >>"$list.new"
wanted fuzz-smoke && echo "plain fuzz-smoke" >>"$list.new"
if [ ! -s "$list.new" ]; then
	echo "no test matches TESTS='$TESTS' SKIP_TESTS='$SKIP_TESTS'"
	echo "0 passed, 1 failed"
	exit 1
fi

# Longest first, so that the run does not end on one long test alone:
# by the last run's times (BUILD/tests/log/NAME.res), else by the times
# in tests/durations (a clean clone's first run); a test in neither
# counts as long, so a new script starts early.
while read -r v n; do
	if [ "$v" = san ]; then d=build-san; else d=build; fi
	secs=
	[ -s "$d/tests/log/$n.res" ] &&
		read -r _ _ _ secs _ <"$d/tests/log/$n.res"
	[ -n "$secs" ] || [ ! -f tests/durations ] ||
		secs=$(awk -v n="$n" '$1 == n { print $2; exit }' tests/durations)
	case $n in test-*) def=1 ;; *) def=60 ;; esac
	echo "${secs:-$def} $v $n"
done <"$list.new" | sort -k1,1nr -k3,3r | cut -d' ' -f2- >"$list"
rm -f "$list.new"

fail_build=0
for variant in plain san; do
	grep -q "^$variant " "$list" || continue
	if [ $variant = plain ]; then
		args="BUILD=build"; dir=build
	else
		args="BUILD=build-san SAN=1"; dir=build-san
	fi
	# shellcheck disable=SC2086
	if ! make -s -j"$jobs" $args tests >"$dir/tests/build.log" 2>&1; then
		cat "$dir/tests/build.log"
		echo "build ($variant) failed"
		fail_build=$((fail_build + 1))
		grep -v "^$variant " "$list" >"$list.tmp"
		mv "$list.tmp" "$list"
	fi
done
t_built=$(date +%s)

# A system user the SSH tests share, created here once rather than by
# several scripts at the same time.
if [ "$(id -u)" = 0 ] && grep -q ' 6[0-9]-' "$list"; then
	sh -c '. tests/lib/sshd-user.sh && sshd_user_create' >/dev/null 2>&1
fi

while read -r v n; do
	if [ "$v" = san ]; then d=build-san; else d=build; fi
	rm -f "$d/tests/log/$n.res"
done <"$list"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
n=$(wc -l <"$list")
echo "# $n tests, $jobs at a time"
xargs -n 2 -P "$jobs" sh tests/run-test.sh <"$list"
t_end=$(date +%s)

# The run's times in tests/durations' format, for its refresh (after a
# whole `make check`: cp build-san/tests/durations tests/).
total_p=0 total_f=$fail_build total_s=0 cpus=
: >build-san/tests/durations.new
while read -r v n; do
	if [ "$v" = san ]; then d=build-san; else d=build; fi
	if [ -s "$d/tests/log/$n.res" ]; then
		read -r p f s w c _ <"$d/tests/log/$n.res"
		case $n in
		test-*) k=units ;;
		fuzz-*) k=fuzz ;;
		*) k=integration ;;
		esac
		cpus="$cpus $k ${w:-0} ${c:-0}"
		echo "$n $w" >>build-san/tests/durations.new
	else
		echo "FAIL $v $n: no result"
		p=0 f=1 s=0
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f))
	total_s=$((total_s + s))
done <"$list"
{
	sed -n '/^#/p' tests/durations 2>/dev/null
	# The longer of a name's two runs; a unit test under 2 s is left
	# out (check.sh counts it 1 s).
	sort -k1,1 -k2,2nr build-san/tests/durations.new |
		awk '$1 != last && !($1 ~ /^test-/ && $2 < 2) { print }
			{ last = $1 }' | sort -k2,2nr -k1,1
} >build-san/tests/durations
rm -f build-san/tests/durations.new
# Per kind of test: the sum of their wall times (side by side, more
# than the run's) and of their CPU times.
cpu=$(echo "$cpus" | awk '{ for (i = 1; i + 2 <= NF; i += 3) {
		w[$i] += $(i + 1); c[$i] += $(i + 2); t += $(i + 2) }
	printf "%d", t + 0.5
	split("units integration fuzz", ks, " ")
	for (j = 1; j <= 3; j++) if (ks[j] in w)
		printf "; %s %d s wall, %d s cpu", ks[j], w[ks[j]], c[ks[j]] + 0.5 }')
echo "# wall time: build $((t_built - t_start)) s, tests $((t_end - t_built)) s (cpu ${cpu%%;*} s)"
case $cpu in
*\;*) echo "# summed over the tests:${cpu#*;}" ;;
esac
if [ $total_s -gt 0 ]; then
	echo "$total_p passed, $total_f failed, $total_s skipped"
else
	echo "$total_p passed, $total_f failed"
fi
[ $total_f -eq 0 ]
