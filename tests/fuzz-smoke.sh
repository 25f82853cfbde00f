#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# fuzz-smoke.sh DIR: run each libFuzzer target in DIR for a few thousand
# iterations from its seed corpus, printing one TAP line per target.
set -u
D=$1
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${FUZZ_RUNS:-5000}
n=0
for f in "$D"/fuzz-*; do
	[ -x "$f" ] && n=$((n + 1))
done
echo "1..$n"
i=0
for f in "$D"/fuzz-*; do
	[ -x "$f" ] || continue
	i=$((i + 1))
	name=$(basename "$f")
	seeds="$top/tests/fuzz/corpus/${name#fuzz-}"
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
	if "$f" -runs="$runs" -max_len=4096 "$work" >"$D/$name.log" 2>&1; then
		echo "ok $i - $name $runs runs"
	else
		echo "not ok $i - $name (see $D/$name.log)"
		grep -m 5 -E 'ERROR|SUMMARY' "$D/$name.log" | sed 's/^/# /'
	fi
	rm -rf "$work"
done
