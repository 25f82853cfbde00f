#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# check-loaded.sh: `make check` with every core kept busy by another
# process (a shell busy loop per core), as on a shared machine: the tests
# must not depend on how fast they are scheduled.
set -u
cd "$(dirname "$0")/.." || exit 2
n=$(nproc 2>/dev/null || echo 2)
pids=
stop() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	pids=
}
trap 'stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
i=0
while [ $i -lt "$n" ]; do
	sh -c 'while :; do :; done' &
	pids="$pids $!"
	i=$((i + 1))
done
echo "# $n busy loops:$pids"
tests/check.sh
