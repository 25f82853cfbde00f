#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 91-output.sh: what a run says is honest and readable. One summary line
# at the end of each run (and of each watch round that did something):
# messages copied to each side, flags updated, expunged, moved, mailboxes
# created, renamed, deleted, the time; a dry run says what a sync would
# do, --quiet says nothing. Mailbox names in UTF-8 in every line (the
# wire's modified UTF-7 only in --debug's trace), UTF-8 names taken on
# the command line; "1 message", "2 messages", never "message(s)"; a
# watcher that never connected says it connected, not "connected again".
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's own output"

# summary [LOG]: the run's summary line, its time left out.
summary() {
	grep -E '^(Dry run|Done|Stopped)' "${1:-$SYNC_ERR}" |
		sed -E 's/ [0-9]+(\.[0-9]+)? (s|min [0-9]+ s|h [0-9]+ min)([;,]|$)/ T\3/'
}
# dry_summary: the summary line of the dry run tests/lib/sync.sh made
# before the last run.
dry_summary() {
	summary "$SYNC_DIR/logs/run$((SYNC_SEQ - 1)).dry.err"
}
# no_plural_s DESC: TAP: no "(s)"-style plural in the last run's output.
no_plural_s() {
	tap_check "$1: no \"(s)\" plural" sh -c \
		"! grep -E '[A-Za-z]\\((s|es)\\)' '$SYNC_ERR' '$SYNC_OUT'"
}
# utf8_names DESC: TAP: the names are shown in UTF-8, never as on the wire.
utf8_names() {
	tap_check "$1: no modified UTF-7 name in the output" sh -c \
		"! grep -E '&[A-Za-z0-9+,]+-' '$SYNC_ERR' '$SYNC_OUT'"
}

CAFE='Caf&AOk-'
GROSSE='Caf&AOk-/Gr&APYA3w-e'

sync_pair_new
{
	echo "append INBOX -s l1"
	echo "append INBOX -s l2"
	echo "create Archive"
} | store_script "$LOCAL" >/dev/null
{
	echo "append INBOX -s r1"
	echo "create $CAFE"
	echo "create $GROSSE"
	echo "append $GROSSE -s g1"
	echo "append $GROSSE -s g2"
	echo "create old"
	echo "append old -s o1"
} | store_script "$REMOTE" >/dev/null

# --- a first run: copies both ways, mailboxes created ------------------------
sync_ok "first run exits 0"
tap_diag "$(grep -v traffic "$SYNC_ERR")"
tap_is "$(summary)" \
	"Done in T; local: added 4 messages, created 3 mailboxes; remote: added 2 messages, created 1 mailbox" \
	"first run: the summary line counts the copies and creations of each side"
tap_is "$(dry_summary)" \
	"Dry run done in T; a sync would, on local: add 4 messages, create 3 mailboxes; on remote: add 2 messages, create 1 mailbox" \
	"first run: its dry run says the same, as what a sync would do"
tap_is "$(grep -c '^Done in' "$SYNC_ERR")" 1 "first run: one summary line"
tap_check "first run: the created mailbox's name in UTF-8" \
	grep -q '^local: Created mailbox Café/Größe$' "$SYNC_ERR"
tap_check "first run: the mailbox column in UTF-8" \
	grep -q '^local(Café/Größe): Added 2 UIDs ' "$SYNC_ERR"
tap_check "first run: one copy is 1 UID" \
	grep -q '^local(INBOX): Added 1 UID [0-9]* <- [0-9]*$' "$SYNC_ERR"
utf8_names "first run"
no_plural_s "first run"

# --- flags, expunge, move, rename --------------------------------------------
store_flags "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l1)" +FLAGS '\Flagged'
store_expunge "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX r1)"
store_move "$LOCAL" INBOX "$(store_uid_of "$LOCAL" INBOX l2)" Archive
store_rename "$REMOTE" old new
store_flags "$REMOTE" "$GROSSE" "$(store_uid_of "$REMOTE" "$GROSSE" g1)" \
	+FLAGS '\Seen'
sync_ok "second run exits 0"
tap_diag "$(grep -v traffic "$SYNC_ERR")"
tap_is "$(summary)" \
	"Done in T; local: updated flags of 1 message, expunged 1 message, renamed 1 mailbox; remote: updated flags of 1 message, moved 1 message" \
	"second run: flags, expunge, move and rename counted on their side"
tap_is "$(dry_summary)" \
	"Dry run done in T; a sync would, on local: update flags of 1 message, expunge 1 message, rename 1 mailbox; on remote: update flags of 1 message, move 1 message" \
	"second run: its dry run counts the same"
tap_check "second run: the expunge said in plain words" \
	grep -q '^local(INBOX): Expunged 1 message on local (gone from remote): UID [0-9]*$' "$SYNC_ERR"
tap_check "second run: the move too" \
	grep -q '^remote(INBOX): Moved 1 message to Archive$' "$SYNC_ERR"
tap_check "second run: the flags of Café/Größe, named in UTF-8" \
	grep -q '^local(Café/Größe): Updated flags (\\Seen) for UID ' "$SYNC_ERR"
utf8_names "second run"
no_plural_s "second run"
# The STORE's own FETCH (UID MODSEQ) came while the next mailbox's SELECT
# was queued: taken as a piece of what that SELECT asks, it was held and
# handed on in the other mailbox, and the next run stored the flag again.
sync_noop "second run: the next run has nothing to do"

# --- nothing to do; --quiet; --debug -----------------------------------------
second=$(summary)
sync_ok "--quiet exits 0" --quiet
tap_check "--quiet: no summary line" test -n "$second" -a -z "$(summary)"
sync_ok "a no-op run exits 0"
tap_is "$(summary)" "Done in T; nothing changed" "no-op: the summary says so"
store_append "$REMOTE" "$GROSSE" -s g3 >/dev/null
sync_ok "--debug exits 0" --debug
tap_check "--debug: the trace has the wire's name, the action line UTF-8" \
	sh -c "grep -q ' -> .*$GROSSE' '$SYNC_ERR' &&
		grep -q '^local(Café/Größe): Added 1 UID ' '$SYNC_ERR'"

# --- a UTF-8 name on the command line ----------------------------------------
store_append "$REMOTE" "$GROSSE" -s g4 >/dev/null
store_append "$REMOTE" INBOX -s i4 >/dev/null
sync_ok "a UTF-8 MAILBOX argument is accepted" 'Café/Größe'
tap_check "and syncs that mailbox, only that one" sh -c \
	"grep -q '^local(Café/Größe): Added 1 UID ' '$SYNC_ERR' &&
		! grep -q INBOX '$SYNC_ERR'"
sync_ok "--rename with UTF-8 names" --rename 'Café/Größe' 'Café/Klein'
tap_check "--rename: said in UTF-8, nothing in modified UTF-7" sh -c \
	"grep -q '^local: Renamed mailbox Café/Größe to Café/Klein\$' '$SYNC_ERR' &&
		! grep -E '&[A-Za-z0-9+,]+-' '$SYNC_ERR' '$SYNC_OUT'"
tap_check "--rename: done on the server, in modified UTF-7" \
	sh -c "$IMAPTOOL '$REMOTE' list | grep -qx '/ Caf&AOk-/Klein'"
tap_is "$(summary)" \
	"Done in T; local: renamed 1 mailbox; remote: renamed 1 mailbox" \
	"--rename: the summary counts both sides"
sync_run --rename 'Café/Klein' 'Café'
tap_check "--rename onto a name that exists: refused, named in UTF-8" sh -c \
	"grep -q \"^local: ERROR: Mailbox 'Café' exists\" '$SYNC_ERR' &&
		! grep -q '&AOk-' '$SYNC_ERR'"
sync_ok "a sync after the rename exits 0"
tap_is "$(summary)" "Done in T; local: added 1 message" \
	"a sync after the rename copies only the INBOX message left out"

# --- a watcher that never connected ------------------------------------------
# The remote's tunnel fails until the gate file exists.
cat >"$SYNC_DIR/gate" <<EOF
#!/bin/sh
[ -e "$SYNC_DIR/open" ] || exit 1
exec "\$@"
EOF
chmod +x "$SYNC_DIR/gate"
sed -i "s|^command = $REMOTE\$|command = $SYNC_DIR/gate $REMOTE|" "$SYNC_CONF"
: >"$WATCH_LOG"
watch_start --watch=1
tap_check "watch: the failure is said" \
	watch_until "$WATCH_DEADLINE" grep -q 'in the background' "$WATCH_LOG"
sleep 2
touch "$SYNC_DIR/open"
store_append "$REMOTE" INBOX -s w1 >/dev/null
tap_check "watch: it connects and syncs" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'local(INBOX): Added'
tap_check "watch: a round's summary line" \
	watch_until "$WATCH_DEADLINE" watch_log_has 1 'Done in .*; local: added 1 message$'
# Rounds every second that find nothing.
sleep 3
watch_stop TERM
tap_diag "$(cat "$WATCH_LOG")"
tap_check "watch: never connected, so it says it is trying to connect" \
	grep -q 'trying to connect in the background' "$WATCH_LOG"
tap_check "watch: then that it connected" \
	grep -Eq 'connected after [0-9]+ failed attempts?$' "$WATCH_LOG"
tap_check "watch: not \"connected again\"" \
	sh -c "! grep -Eq 'connected again|connecting again' '$WATCH_LOG'"
tap_is "$(grep -c '^[0-9: .+-]*Done in' "$WATCH_LOG")" 1 \
	"watch: no summary line for a round that changed nothing"
tap_check "watch: no \"(s)\" plural" \
	sh -c "! grep -E '[A-Za-z]\\((s|es)\\)' '$WATCH_LOG'"
tap_done
