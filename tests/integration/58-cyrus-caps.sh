#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 58-cyrus-caps.sh: what each extension buys, measured against a real
# Cyrus IMAP with it switched off (suppress_capabilities): without one the
# sync still ends identical, or stops at once with an error naming the
# server and the missing capability. Prints the server x feature table
# (README "Servers") as TAP diagnostics.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/cyrus-server.sh"

sync_is_interimap && tap_skip_all "imapsync against Cyrus"

cyrus_pair_new
cyrus_plain_conf
{
	echo "append INBOX -s l1 -f '\\Seen'"
	echo "create Box"
	echo "append Box -s b1"
	echo "append Box -s b2"
} | store_script "$LOCAL" >/dev/null
store_append "$REMOTE" INBOX -s r1 >/dev/null
sync_ok "stock: first sync exits 0"
sync_dumps_equal "stock: stores equal"

# without CAP REQUIRED: Cyrus restarted without CAP, a new database
# (first sync: pairing), then changes on both sides (new mail, flags,
# an expunge, a move) and a sync, then a no-op run.
without() {
	_cap=$1 _req=$2
	cyrus_server_stop
	cyrus_server_start "suppress_capabilities: $_cap" ||
		{ echo "Bail out! cannot restart cyrus"; exit 1; }
	rm -f "$SYNC_DB" "$SYNC_DB"-*
	sync_run
	if [ "$_req" = required ]; then
		if [ "$SYNC_RC" -eq 3 ] &&
			grep -q "remote.*$_cap" "$SYNC_ERR"; then
			tap_pass "without $_cap: stops, naming the server and $_cap"
			tap_diag "$_cap: required: $(grep ERROR "$SYNC_ERR" | head -n 1)"
		else
			tap_fail "without $_cap: stops, naming the server and $_cap" \
				"exit status $SYNC_RC
$(tail -n 3 "$SYNC_ERR")"
		fi
		return
	fi
	_rc1=$SYNC_RC
	[ "$_rc1" -eq 0 ] || tap_diag "$(grep -B3 ERROR "$SYNC_ERR" | head -n 8)"
	store_append "$LOCAL" Box -s "b1-$_cap" >/dev/null
	store_append "$LOCAL" Box -s "b2-$_cap" >/dev/null
	sync_run
	store_append "$LOCAL" Box -s "l-$_cap" >/dev/null
	store_append "$REMOTE" INBOX -s "r-$_cap" -f '\Flagged' >/dev/null
	store_flags "$LOCAL" INBOX 1 +FLAGS "kw-$(echo "$_cap" | tr -cd 'A-Za-z')"
	store_expunge "$REMOTE" Box "$(store_uids "$REMOTE" Box | head -n 1)"
	store_move "$LOCAL" Box "$(store_uids "$LOCAL" Box | tail -n 1)" INBOX
	sync_run --debug
	_rc2=$SYNC_RC
	[ "$_rc2" -eq 0 ] || tap_diag "$(grep -B3 ERROR "$SYNC_ERR" | head -n 8)"
	_rt=$(grep -c 'remote -> A[0-9]' "$SYNC_ERR")
	sync_dumps_equal "without $_cap: stores identical"
	if [ "$_rc1" -eq 0 ] && [ "$SYNC_RC" -eq 0 ] && [ "$_rc2" -eq 0 ]; then
		tap_pass "without $_cap: the runs exit 0"
	else
		tap_fail "without $_cap: the runs exit 0" \
			"exit status $_rc1, $_rc2
$(tail -n 3 "$SYNC_ERR")"
	fi
	sync_noop "without $_cap: the next run changes nothing"
	tap_diag "$_cap: works ($_rt remote commands for the changes)"
}

without MOVE
without LITERAL+
without MULTIAPPEND
without LIST-STATUS required
without OBJECTID
without ESEARCH
without COMPRESS=DEFLATE
without QRESYNC required
without UIDPLUS required
without LIST-EXTENDED required
tap_done
