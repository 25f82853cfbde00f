#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 90-limits.sh: a limit a real server's mailbox reaches fails that mailbox
# with an error naming the side, the mailbox and what to do; the run goes
# on with the others, and nothing the server said is dropped.
#
# 1. Flags: a conflict whose union is longer than one list's cap (64 KiB
#    once) is merged, and what the server then refuses fails the mailbox,
#    not the run ("out of memory" before).
# 2. UID sets: expunges whose partners need more ranges than a set holds
#    (IMAPSYNC_DEBUG_MAX_UID_RANGES lowers IMAP_MAX_UIDSET_RANGES in the
#    tests' build, so a mailbox of 16 messages gets there) fail the
#    mailbox; no VANISHED UID is dropped: the next run expunges them all.
#    The same for a VANISHED of more ranges than a set takes.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's limits"
HOOKS_BIN=$IMAPSYNC_BUILD/tests/imapsync-hooks
[ -x "$HOOKS_BIN" ] || tap_skip_all "$HOOKS_BIN not built (make tests)"

# --- 1. a union of flags past one list's cap ----------------------------
sync_pair_new --local-format mdbox --remote-format mdbox --name flags
store_append "$LOCAL" INBOX -s m1 >/dev/null
store_create "$LOCAL" other
sync_ok "flags: first sync exits 0"

# kw PREFIX: 750 keywords of 48 bytes (Dovecot's longest is 50), 36
# KiB: one STORE Dovecot takes.
kw() {
	_i=1
	while [ $_i -le 750 ]; do
		printf '%s%04d_%s ' "$1" $_i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
		_i=$((_i + 1))
	done
}
store_flags "$LOCAL" INBOX 1 +FLAGS "$(kw kwl)"
store_flags "$REMOTE" INBOX 1 +FLAGS "$(kw kwr)"
store_append "$REMOTE" other -s o1 >/dev/null
sync_run
tap_is "$SYNC_RC" 1 "flags: a union of 70 KiB fails a mailbox, not the run"
tap_check "flags: no out of memory" sh -c \
	"! grep -qi 'out of memory' '$SYNC_ERR'"
tap_check "flags: the merge is said, cut with a marker past 64 KiB" \
	grep -q "^local(INBOX): merged flags for UID 1 (+kwl0001_.*\.\.\. ([0-9]* more bytes not logged)\$" \
	"$SYNC_ERR"
# Dovecot takes no command line past 64 KiB: the STORE of the union is
# refused, an error of the server's, named.
tap_check "flags: the refused STORE fails INBOX, named" \
	grep -q "^local(INBOX): ERROR: UID STORE failed: " "$SYNC_ERR"
tap_is "$(store_count "$LOCAL" other)" 1 \
	"flags: the other mailbox is synced all the same"

# --- 2. UID sets past their cap -----------------------------------------
sync_pair_new --remote-format mdbox --name uids
{
	i=1
	while [ $i -le 16 ]; do
		echo "append INBOX -s r$i"
		i=$((i + 1))
	done
} | store_script "$REMOTE" >/dev/null
store_expunge "$REMOTE" INBOX 2,4,6,8,10,12,14,16
store_create "$REMOTE" other
sync_ok "uids: first sync exits 0"
tap_is "$(store_uids "$LOCAL" INBOX | tr '\n' ' ')" "1 2 3 4 5 6 7 8 " \
	"uids: local 1:8 pair remote 1,3,...,15"

# Local 1:8 is one range; the remote partners to expunge are eight.
store_expunge "$LOCAL" INBOX 1:8
store_append "$REMOTE" other -s o1 >/dev/null
IMAPSYNC_DEBUG_MAX_UID_RANGES=4
export IMAPSYNC_DEBUG_MAX_UID_RANGES
sync_run_with "$HOOKS_BIN"
unset IMAPSYNC_DEBUG_MAX_UID_RANGES
tap_is "$SYNC_RC" 1 "uids: a set past its cap fails the mailbox (exit 1)"
tap_check "uids: the error names the side, the mailbox, the limit, what to do" \
	grep -q "^remote(INBOX): ERROR: more than 4 separate UID ranges .*(IMAP_MAX_UIDSET_RANGES).*move part of its messages to another mailbox on the remote server" \
	"$SYNC_ERR"
tap_is "$(store_count "$REMOTE" INBOX)" 8 \
	"uids: nothing expunged on the remote side"
tap_is "$(store_count "$LOCAL" other)" 1 \
	"uids: the other mailbox is synced all the same"
tap_is "$(sync_db "SELECT COUNT(*) FROM mapping m JOIN mailboxes b ON b.idx = m.idx WHERE b.mailbox = CAST('INBOX' AS BLOB)")" 8 \
	"uids: every pair kept in the database"
sync_ok "uids: the next run, within the limit, exits 0"
tap_is "$(store_count "$REMOTE" INBOX)" 0 \
	"uids: no vanished UID was dropped: all eight expunged"
sync_dumps_equal "uids: dumps equal"

# A VANISHED of more ranges than a set takes: the mailbox fails with the
# limit named, and the next run still has them all.
{
	i=1
	while [ $i -le 10 ]; do
		echo "append INBOX -s v$i"
		i=$((i + 1))
	done
} | store_script "$REMOTE" >/dev/null
sync_ok "vanished: ten messages copied"
store_expunge "$REMOTE" INBOX "$(store_uids "$REMOTE" INBOX |
	awk 'NR % 2 == 1' | paste -sd, -)"
IMAPSYNC_DEBUG_MAX_UID_RANGES=4
export IMAPSYNC_DEBUG_MAX_UID_RANGES
sync_run_with "$HOOKS_BIN"
unset IMAPSYNC_DEBUG_MAX_UID_RANGES
tap_is "$SYNC_RC" 1 "vanished: five ranges past a cap of four fail the mailbox"
tap_check "vanished: the error names the side, the mailbox and the limit" \
	grep -q "^remote(INBOX): ERROR: .*VANISHED.*(IMAP_MAX_UIDSET_RANGES)" \
	"$SYNC_ERR"
tap_is "$(store_count "$LOCAL" INBOX)" 10 "vanished: nothing expunged locally"
sync_ok "vanished: the next run, within the limit, exits 0"
tap_is "$(store_count "$LOCAL" INBOX)" 5 \
	"vanished: the five expunged here too"
sync_dumps_equal "vanished: dumps equal"

tap_done
