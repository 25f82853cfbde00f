#!/bin/sh
# check.sh: build and run every test twice (plainly, then under
# AddressSanitizer and UBSan), then the fuzz smoke run, and end with one
# line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
total_p=0 total_f=0 total_s=0

add_counts() {
	read -r p f s <"$1"
	total_p=$((total_p + p)) total_f=$((total_f + f))
	total_s=$((total_s + s))
}

for variant in plain san; do
	if [ $variant = plain ]; then
		args="BUILD=build"; dir=build
	else
		args="BUILD=build-san SAN=1"; dir=build-san
	fi
	# shellcheck disable=SC2086
	if ! make -s -j"$jobs" $args tests >"/tmp/imapsync-build-$$.log" 2>&1; then
		cat "/tmp/imapsync-build-$$.log"
		echo "build ($variant) failed"
		total_f=$((total_f + 1))
		continue
	fi
	rm -f "/tmp/imapsync-build-$$.log"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run-tests.sh $dir $variant
	add_counts $dir/tests/counts
done

if command -v clang >/dev/null 2>&1; then
	mkdir -p build/tests
	if make -s -j"$jobs" BUILD=build fuzz >build/fuzz-build.log 2>&1; then
		tests/fuzz-smoke.sh build/fuzz >build/fuzz-smoke.tap
		p=$(grep -c '^ok ' build/fuzz-smoke.tap)
		f=$(grep -c '^not ok ' build/fuzz-smoke.tap)
		grep -E '^(ok|not ok)' build/fuzz-smoke.tap | sed 's/^/fuzz /'
		total_p=$((total_p + p)) total_f=$((total_f + f))
	else
		cat build/fuzz-build.log
		echo "fuzz build failed"
		total_f=$((total_f + 1))
	fi
fi

if [ $total_s -gt 0 ]; then
	echo "$total_p passed, $total_f failed, $total_s skipped"
else
	echo "$total_p passed, $total_f failed"
fi
[ $total_f -eq 0 ]
