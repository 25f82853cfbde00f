#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 44-differential.sh: the same seeded random changes applied to two copies
# of a pair; one copy synced by imapsync, the other by interimap; after
# each round both pairs are in step and hold the same messages in the same
# mailboxes.  Their flags agree except where both sides changed a
# message's flags and interimap's union differs from imapsync's per-flag
# merge (issue 18): each copy's flags are checked against its own rule
# (tests/lib/flagdiff.py), from the dumps before and after the changes.
# (SYNC_DIFF_SELFTEST=1 with SYNC_TOOL=interimap runs it with interimap on
# both copies.)
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
# Two messages whose flags both sides change in the first round, so that
# interimap's union and the per-flag merge differ for sure.
store_append "$LOCAL" INBOX -s c1 -f '\Seen' >/dev/null
store_append "$LOCAL" INBOX -s c2 -f '$Label1 \Flagged' >/dev/null
sync_pair_clone b
B=$SYNC_DIR

# noflags DUMP: the dump without flags.
noflags() { sed 's/ flags (.*)$//' "$1"; }
FLAGDIFF="python3 $IMAPSYNC_TOP/tests/lib/flagdiff.py"
if sync_is_interimap; then A_RULE=union; else A_RULE=perflag; fi

# changes R: round R's changes to both copies ("conflict": the flag
# conflicts on c1 and c2; "first": none), with the dumps before them
# (dump.base: as the last sync left the pair) and after.
changes() {
	for p in "$A" "$B"; do
		cp "$p/dump.local" "$p/dump.base"
		case $1 in
		first) ;;
		conflict)
			sync_pair_use "$p"
			l1=$(store_uid_of "$LOCAL" INBOX c1)
			r1=$(store_uid_of "$REMOTE" INBOX c1)
			l2=$(store_uid_of "$LOCAL" INBOX c2)
			r2=$(store_uid_of "$REMOTE" INBOX c2)
			store_flags "$LOCAL" INBOX "$l1" -FLAGS '\Seen'
			store_flags "$REMOTE" INBOX "$r1" +FLAGS '\Flagged'
			store_flags "$LOCAL" INBOX "$l2" -FLAGS '\Flagged'
			store_flags "$REMOTE" INBOX "$r2" -FLAGS '$Label1'
			store_flags "$REMOTE" INBOX "$r2" +FLAGS '\Answered'
			;;
		*)
			python3 "$IMAPSYNC_TOP/tests/lib/mutate.py" "$SEED" \
				"$1" "$p/local/imap" "$p/remote/imap" \
				2>"$p/mutate.err" || cat "$p/mutate.err" >&2
			;;
		esac
		store_dump "$p/local/imap" >"$p/dump.before.local" 2>&1
		store_dump "$p/remote/imap" >"$p/dump.before.remote" 2>&1
	done
}

# synced R: both copies synced, each by its tool, checked; $n is how
# many messages have other flags than interimap's.
synced() {
	sync_pair_use "$A"
	sync_ok "round $1: imapsync exits 0"
	sync_pair_use "$B"
	if sync_run_with "$REF"; then
		tap_pass "round $1: interimap exits 0"
	else
		tap_fail "round $1: interimap exits 0" "$(tail -n 5 "$SYNC_ERR")"
	fi
	for p in "$A" "$B"; do
		store_dump "$p/local/imap" >"$p/dump.local" 2>&1
		store_dump "$p/remote/imap" >"$p/dump.remote" 2>&1
	done
	tap_check "round $1: imapsync's pair equal" \
		diff -u "$A/dump.local" "$A/dump.remote"
	tap_check "round $1: interimap's pair equal" \
		diff -u "$B/dump.local" "$B/dump.remote"
	# The same messages in the same places; flags changed on both
	# sides of a message since the last sync differ where interimap's
	# union and imapsync's per-flag merge do (issue 18): interimap
	# undoes a removal that the other side's change meets. Each copy
	# is held to its tool's rule.
	noflags "$A/dump.local" >"$A/dump.noflags"
	noflags "$B/dump.local" >"$B/dump.noflags"
	tap_check "round $1: imapsync's messages are interimap's" \
		diff -u "$B/dump.noflags" "$A/dump.noflags"
	tap_check "round $1: imapsync's flags merged per flag" $FLAGDIFF \
		$A_RULE "$A/dump.base" "$A/dump.before.local" \
		"$A/dump.before.remote" "$A/dump.local"
	tap_check "round $1: interimap's flags the union" $FLAGDIFF \
		union "$B/dump.base" "$B/dump.before.local" \
		"$B/dump.before.remote" "$B/dump.local"
	n=$(diff "$B/dump.local" "$A/dump.local" | grep -c '^>')
	tap_diag "round $1: $n message(s) with other flags than interimap's"
}

for p in "$A" "$B"; do
	: >"$p/dump.local"
done
changes first
synced first
changes conflict
synced conflict
if sync_is_interimap; then
	tap_is "$n" 0 "round conflict: the same flags"
else
	tap_is "$n" 2 "round conflict: flags apart where the union undoes a removal"
	tap_check "round conflict: -\\Seen and +\\Flagged give \\Flagged" \
		grep -q "^  message .* flags (\\\\Flagged)$" "$A/dump.local"
fi
r=0
merged=$n
while [ $r -lt $ROUNDS ]; do
	changes $r
	synced $r
	merged=$((merged + n))
	tap_check "round $r: the stores hold messages" \
		test "$(grep -c '^  message' "$A/dump.local")" -gt $r
	r=$((r + 1))
done
tap_diag "$merged message line(s) in all differ from interimap's by their flags"
sync_pair_use "$A"
sync_noop "imapsync: a further run is a no-op"
tap_done
