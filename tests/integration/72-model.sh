#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 72-model.sh: the model-based random test (tests/lib/model.py) on a fixed
# handful of seeds: random user actions on one or both sides between
# syncs (appends, flags and keywords, expunges, copies, moves back, on and
# apart, mailboxes created, renamed, deleted, subscriptions), syncs
# interrupted at a step and resumed; after each sync both stores hold what
# the model says, and a second sync is a no-op.  `make soak` runs
# thousands of seeds.  A failing seed says how to reproduce and shrink it.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap &&
	tap_skip_all "run tests/lib/model.py --tool interimap for interimap"

MODEL="python3 $IMAPSYNC_TOP/tests/lib/model.py"
# Every sync interrupted, if at all, at a step boundary
# (IMAPSYNC_DEBUG_EXIT_AT), not at an instant: the same seed, the same run.
COMMON="--tool $SYNC_BIN --rounds 3 --ops 8 --kill-mode exit"

# block LABEL "SEEDS" "TODO SEEDS" ARGS...: one TAP test per seed; the
# seeds known to fail on main are marked TODO.
block() {
	_label=$1 _seeds=$2 _todo=$3
	shift 3
	# shellcheck disable=SC2086
	TMPDIR=$STORE_TMP $MODEL run --tap --todo "$_todo" $COMMON "$@" \
		$_seeds >"$STORE_TMP/$_label.tap" 2>&1
	tap_import "$STORE_TMP/$_label.tap" "$_label: "
}

# The differential dry run before each sync (model.py's, as the
# fixtures') in the block with everything and in the cases; the first
# three blocks check the engine alone, at half the cost.
# One side only, no renames or subscriptions: the moves of issue 21.
block local "1 2 3" "" --sides local --no-renames --no-subscriptions \
	--disjoint --kills 0 --no-dry-run
# One side per round, with interruptions.
block one "1 2 4" "" --sides one --no-subscriptions --disjoint --no-dry-run
# Both sides in each round, never on the same message.
block both "1 2 4" "" --disjoint --no-subscriptions --no-dry-run
# Everything: renames, subscriptions, a flag changed on one side of a
# message the other side moves (merged per flag from the pair's last
# synced flags, which the move carries: issue 18).
block all "1 2 3" ""
# And the conflicts (--conflicts): a message expunged on one side and
# moved, moved away and back, or its flags changed on the other.
block conflicts "1 2 3" "" --conflicts

# The shortest failures found so far (tests/model/*.ops, from --shrink);
# those still failing on main are TODO.
TMPDIR=$STORE_TMP $MODEL replay --tap --tool "$SYNC_BIN" \
	--todo "move-intent-twin-stolen" \
	--todo-why "a stopped run's move, its twin taken for another move" \
	"$IMAPSYNC_TOP"/tests/model/*.ops >"$STORE_TMP/cases.tap" 2>&1
tap_import "$STORE_TMP/cases.tap" "case "

# The oracle is not vacuous: a "sync" that does nothing is caught.
if TMPDIR=$STORE_TMP $MODEL run --tool /bin/true --rounds 1 1 \
	>"$STORE_TMP/true.out" 2>&1; then
	tap_fail "a sync that does nothing fails the test" \
		"$(cat "$STORE_TMP/true.out")"
else
	tap_check "a sync that does nothing fails the test: messages lost" \
		grep -q 'lost: round 0' "$STORE_TMP/true.out"
fi
tap_done
