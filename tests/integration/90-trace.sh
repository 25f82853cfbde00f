#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 90-trace.sh: --debug=sync, the decision trace. A first sync of two
# stores that share some mail, then a change scenario (a flag set, a
# message moved, one expunged, one delivered, a flag conflict), each
# traced: every kind of decision has its line (paired, moved, expunged,
# stored with UNCHANGEDSINCE, conflict merged, copied, committed, phase
# changes); --debug=sync shows no wire line and --debug=imap no decision
# line; plain --debug shows both.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's decision trace"

# has DESC ERE: the last run's trace has a "sync: " line matching ERE.
has() {
	tap_check "$1" grep -qE "^sync: $2" "$SYNC_ERR"
}
no_wire() {
	tap_check "$1" sh -c "! grep -qE '^(local|remote) (->|<-) ' '$SYNC_ERR'"
}

sync_pair_new
D='01-Jan-2024 12:00:00 +0000'
{
	for i in 1 2 3 4; do echo "append INBOX -s both$i -d '$D'"; done
	echo "create Archive"
	echo "create Caf&AOk-"
	echo "append Caf&AOk- -s c1"
} | store_script "$LOCAL" >/dev/null
{
	for i in 1 2 3 4; do echo "append INBOX -s both$i -d '$D'"; done
	echo "append INBOX -s r1"
} | store_script "$REMOTE" >/dev/null

sync_ok "first sync, traced, exits 0" --debug=sync
no_wire "--debug=sync: no wire line"
has "which mailboxes are synced" 'mailboxes: 3 to sync, 0 unchanged'
has "mailbox names in UTF-8" 'Café: copied local -> remote: UID\(s\) 1 -> 1'
has "the first SELECT, or why none" \
	'local INBOX: select: none, LIST-STATUS said it all \(never synced; UIDVALIDITY [0-9]+ UIDNEXT 5 HIGHESTMODSEQ [0-9]+\)'
has "phase changes with counts" \
	'INBOX: phase SELECT -> SIZES: local 0 vanished, 0 changed, 4 new, 0 to move; remote 0 vanished, 0 changed, 5 new'
has "paired on a first sync, by key" \
	'INBOX: paired local 1 <-> remote 1 by key [0-9a-f]{12} \(size, date and Message-ID\): first sync$'
has "all four pairs" 'INBOX: paired local 4 <-> remote 4 by key'
has "copied, with direction, UIDs and bytes" \
	'INBOX: copied remote -> local: UID\(s\) 5 -> 5, [1-9][0-9]* bytes \(APPENDUID\)'
has "committed, with both sides' numbers and the pairs" \
	'INBOX: committed \(as the last CHECK saw it\): local UIDVALIDITY [0-9]+ UIDNEXT 6 HIGHESTMODSEQ [0-9]+, remote UIDVALIDITY [0-9]+ UIDNEXT 6 HIGHESTMODSEQ [0-9]+; 5 pairs'
has "the brake, with its numbers" \
	'brake safety-expunge: 0 of [0-9]+ pairs? gone from local, to expunge on remote; limit [0-9]+% \(and at least [0-9]+\): within'
sync_dumps_equal "first sync: dumps equal"

# The change scenario: local sets \Seen on both1 and moves both2 to
# Archive; remote expunges both3 and gets new mail; both change r1's
# flags (a conflict, merged per flag).
changes() {
	store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX both1)" \
		+FLAGS '\Seen'
	store_move "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX both2)" Archive
	store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX both3)"
	echo "append INBOX -s m4 -d '$D'" | store_script "$REMOTE" >/dev/null
	store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX r1)" \
		+FLAGS '\Flagged'
	store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r1)" \
		+FLAGS '\Answered'
}
# What imapsync sends to each side ("IMAP traffic" line).
sent() {
	sed -n 's/^\(local\|remote\): IMAP traffic (bytes): recv .* sent /\1 /p' \
		"$SYNC_ERR"
}

# The same scenario on a twin of the pair, without the trace: the trace
# is only logging, the same bytes go to the servers.
traced=$SYNC_DIR
sync_pair_clone twin
changes
sync_ok "the change scenario, untraced, exits 0"
quiet_sent=$(sent)
sync_pair_use "$traced"
changes

sync_ok "the change scenario, traced, exits 0" --debug=sync
tap_is "$(sent)" "$quiet_sent" "the trace changes no byte sent"
tap_check "some were" test -n "$quiet_sent"
no_wire "--debug=sync: still no wire line"
has "the SELECT, with the stored and listed numbers" \
	'remote INBOX: select: QRESYNC from the stored numbers \(stored UIDVALIDITY [0-9]+ UIDNEXT 6 HIGHESTMODSEQ [0-9]+; listed UIDNEXT 7 HIGHESTMODSEQ [0-9]+\), with the new messages. sizes'
has "the SELECT's VANISHED" \
	'remote INBOX: VANISHED \(EARLIER\) 3 at SELECT'
has "a move found, with both mailboxes, the UIDs and the side" \
	'remote INBOX: move UID 2 to Archive: its pair local 2 left INBOX and came to Archive as 1 \(key [0-9a-f]{12}\)'
has "the move sent" 'remote INBOX: move UID\(s\) 2 to Archive: UID MOVE'
has "the flight's records committed once, before its commands go" \
	"round 1: APPLY flight's records committed for 2 mailboxes, before its commands go"
has "the move done, the pair following" \
	'remote INBOX: moved UID\(s\) 2 to Archive as [0-9]+ \(COPYUID\)'
has "a mirrored expunge, with its reason" \
	'local INBOX: expunge UID\(s\) 3: mirrored expunge \(their pairs vanished from remote\)'
has "the expunge seen, the pair removed" \
	'local INBOX: expunged UID\(s\) 3, seen vanished'
has "a flag change, what it adds" \
	'local INBOX: flags of UID 1 changed to \(\\Seen\): \+\\Seen since the last sync \(\); store on remote UID 1'
has "stored, with UNCHANGEDSINCE" \
	'remote INBOX: store FLAGS.SILENT \(\\Seen\) on UID\(s\) 1, UNCHANGEDSINCE [0-9]+'
has "the STORE answered" 'remote INBOX: stored \(\\Seen\) on UID\(s\) 1; refused by \[MODIFIED\]: none'
has "a conflict merged per flag from the base" \
	'INBOX: conflict: local 5 \(\\Flagged\), remote 5 \(\\Answered\), last synced \(\): merged per flag to \(\\Answered \\Flagged\): \+\\Flagged from local, \+\\Answered from remote'
has "the merge stored on both sides" \
	'local INBOX: store FLAGS.SILENT \(\\Answered \\Flagged\) on UID\(s\) 5, UNCHANGEDSINCE'
has "the new message copied" \
	'INBOX: copied remote -> local: UID\(s\) 6 -> [0-9]+, [1-9][0-9]* bytes'
has "the copy's intent first" \
	'INBOX: append 1 message, [0-9]+ bytes, remote -> local: intents recorded \(floor [0-9]+\)'
has "APPLY and CHECK rounds" 'round 1: APPLY flight'
has "phase MATCH -> APPLY, with what is left" \
	'INBOX: phase MATCH -> APPLY: local 0 vanished, [0-9]+ changed, 0 new, 0 to move; remote 1 vanished, [0-9]+ changed, 1 new, 1 to move'
has "the check decided per side, with its reason" \
	'remote Archive: check: SELECT again \(moved into from another mailbox\)'
has "no CHECK where APPLY's selection saw all" \
	'local INBOX: check: APPLY.s selection saw the whole round, no SELECT'
has "each mailbox committed" 'Archive: committed \('
has "INBOX committed" 'INBOX: committed \(as the last CHECK saw it\)'
# doc/HACKING.md shows this run's trace as the example to read: its
# sync: lines are this run's, in any order (the two servers' answers
# interleave as they come), UIDVALIDITYs aside.
trace_lines() {
	sed -E 's/UIDVALIDITY [0-9]+/UIDVALIDITY N/g' | LC_ALL=C sort
}
doc_trace=$(awk '/^The change scenario of tests\/integration\/90-trace.sh/ { f = 1 }
	f && /^```$/ { if (++n == 2) exit }
	f && n == 1 && /^sync: /' "$IMAPSYNC_TOP/doc/HACKING.md" | trace_lines)
tap_check "doc/HACKING.md has the example" test -n "$doc_trace"
tap_is "$(grep '^sync: ' "$SYNC_ERR" | trace_lines)" "$doc_trace" \
	"doc/HACKING.md's example is what this run traces"
sync_dumps_equal "the change scenario: dumps equal"

# --debug=imap: today's wire trace, no decision line.
echo "append INBOX -s m5" | store_script "$LOCAL" >/dev/null
sync_ok "--debug=imap exits 0" --debug=imap
tap_check "--debug=imap: the wire" grep -qE '^local -> [^ ]+ UID FETCH' "$SYNC_ERR"
tap_check "--debug=imap: no decision line" sh -c "! grep -q '^sync: ' '$SYNC_ERR'"

# --debug alone: both.
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX m5)" +FLAGS '\Seen'
sync_ok "--debug exits 0" --debug
tap_check "--debug: the wire" grep -qE '^remote -> [^ ]+ UID STORE|^local -> [^ ]+ UID STORE' "$SYNC_ERR"
has "--debug: the decisions" 'local INBOX: store FLAGS.SILENT \(\\Seen\)'

# A run stopped after its APPEND went out and before APPENDUID was
# recorded leaves the copy unpaired, the intent recorded and the numbers
# of before: made here in the database, for m5 (copied local -> remote).
luid=$(store_uid_of "$LOCAL" INBOX m5)
ruid=$(store_uid_of "$REMOTE" INBOX m5)
idx=$(sync_db_idx INBOX)
sync_db "DELETE FROM mapping WHERE idx = $idx AND lUID = $luid;
	UPDATE local SET UIDNEXT = $luid WHERE idx = $idx;
	UPDATE remote SET UIDNEXT = $ruid WHERE idx = $idx;
	INSERT INTO pending (idx, side, uid, fingerprint, created)
	VALUES ($idx, 'local', $luid, CAST('floor $ruid' AS BLOB), 0);"
sync_ok "after a stopped run, traced, exits 0" --debug=sync
has "re-paired from the stopped run's intent" \
	"INBOX: paired local $luid <-> remote $ruid by key [0-9a-f]{12} \\(size, date and Message-ID\\): re-pair after a stopped run \\(a local intent names it\\)"
has "its intent dropped" 'INBOX: dropped 1 intent of a stopped run'
tap_check "nothing copied again" sh -c "! grep -q 'Added' '$SYNC_ERR'"
sync_dumps_equal "after the stopped run: dumps equal"

# --repair compares every message, and says so.
sync_ok "--repair, traced, exits 0" --repair --debug=sync
has "why in full" 'INBOX: compared in full: --repair or --verify'
has "what the comparison found" \
	'INBOX: compared in full: 0 pairs joining two messages, 0 gone from both sides, 0 missing on local, 0 on remote'

# Nothing traced without it, and a bad value is a usage error.
sync_noop "then a sync is a no-op"
tap_check "no --debug: no trace" sh -c "! grep -qE '^sync: |^(local|remote) (->|<-) ' '$SYNC_ERR'"
sync_run --debug=wire
tap_is "$SYNC_RC" 2 "--debug=wire: a usage error (exit 2)"
tap_done
