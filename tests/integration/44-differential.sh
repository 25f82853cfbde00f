#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 44-differential.sh: the same seeded random changes applied to two copies
# of a pair; one copy synced by imapsync, the other by interimap; after
# each round the four dumps are equal.  (SYNC_DIFF_SELFTEST=1 with
# SYNC_TOOL=interimap runs it with interimap on both copies.)
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

if sync_is_interimap && [ "${SYNC_DIFF_SELFTEST:-0}" != 1 ]; then
	tap_skip_all "differential test compares imapsync with interimap"
fi
REF=$(command -v interimap) || tap_skip_all "interimap not installed"
SEED=${SYNC_DIFF_SEED:-44}
ROUNDS=${SYNC_DIFF_ROUNDS:-4}
tap_diag "seed $SEED, $ROUNDS rounds"

sync_pair_new --name a --remote-format mdbox
A=$SYNC_DIR
sync_pair_clone b
B=$SYNC_DIR

r=0
while [ $r -lt $ROUNDS ]; do
	for p in "$A" "$B"; do
		python3 "$IMAPSYNC_TOP/tests/lib/mutate.py" "$SEED" $r \
			"$p/local/imap" "$p/remote/imap" 2>"$p/mutate.err" ||
			cat "$p/mutate.err" >&2
	done
	sync_pair_use "$A"
	sync_ok "round $r: imapsync exits 0"
	sync_pair_use "$B"
	if sync_run_with "$REF"; then
		tap_pass "round $r: interimap exits 0"
	else
		tap_fail "round $r: interimap exits 0" "$(tail -n 5 "$SYNC_ERR")"
	fi
	for p in "$A" "$B"; do
		store_dump "$p/local/imap" >"$p/dump.local" 2>&1
		store_dump "$p/remote/imap" >"$p/dump.remote" 2>&1
	done
	tap_check "round $r: imapsync's pair equal" \
		diff -u "$A/dump.local" "$A/dump.remote"
	tap_check "round $r: interimap's pair equal" \
		diff -u "$B/dump.local" "$B/dump.remote"
	tap_check "round $r: imapsync's result is interimap's" \
		diff -u "$B/dump.local" "$A/dump.local"
	tap_check "round $r: the stores hold messages" \
		test "$(grep -c '^  message' "$A/dump.local")" -gt $r
	r=$((r + 1))
done
sync_pair_use "$A"
sync_noop "imapsync: a further run is a no-op"
tap_done
