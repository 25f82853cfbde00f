#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 68-names.sh: names one side cannot hold. A name holding the other
# side's hierarchy delimiter ("Mr. Smith" from a "/" server on a "."
# store) is never split, created, renamed or recorded: it is skipped with
# an error that says what to change, run after run (exit 1). A CREATE the
# server refuses records nothing. Advice quotes names for a shell and
# never deletes mail. Hostile names reach the terminal and the logfile as
# inert text. max-create caps the mailboxes one run creates.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's handling of unfit names"

# list_has IMAPCMD NAME: the store lists exactly NAME.
list_has() {
	$IMAPTOOL "$1" list | sed 's/^[^ ]* //' | grep -qxF "$2"
}

# no_renames: no run of this pair logged a rename.
no_renames() {
	! grep -h 'Renamed' "$SYNC_DIR"/logs/*.err
}

# --- A "/" remote with "Mr. Smith" and "v1.2", a "." local store -----
sync_pair_new --name dot-local --local-sep . --remote-format mdbox
store_create "$REMOTE" "Mr. Smith" v1.2 plain
store_append "$REMOTE" "Mr. Smith" -s smith >/dev/null
store_append "$REMOTE" plain -s plain >/dev/null
for run in 1 2 3; do
	sync_run
	tap_is "$SYNC_RC" 1 "dot local, run $run: exit status 1"
	tap_check "dot local, run $run: the error names the side, the mailbox and the fix" \
		grep -q "^local: ERROR: remote's mailbox 'Mr\. Smith' cannot exist here.*separator to '/'" "$SYNC_ERR"
	tap_check "dot local, run $run: v1.2 skipped too" \
		grep -q "^local: ERROR: remote's mailbox 'v1\.2' cannot exist here" "$SYNC_ERR"
done
tap_check "dot local: nothing split locally (no Mr, no v1)" \
	sh -c "! $IMAPTOOL '$LOCAL' list | grep -q ' Mr\| v1'"
tap_check "dot local: plain synced" list_has "$LOCAL" plain
tap_is "$(store_count "$LOCAL" plain)" 1 "dot local: plain's message copied"
tap_check "dot local: remote still has Mr. Smith" list_has "$REMOTE" "Mr. Smith"
tap_check "dot local: remote still has v1.2" list_has "$REMOTE" v1.2
tap_check "dot local: remote has no split name" \
	sh -c "! $IMAPTOOL '$REMOTE' list | grep -q 'Mr/\| Mr\$\|v1/\| v1\$'"
tap_check "dot local: no rename in any run" no_renames
tap_is "$(sync_db_boxes | sed 's/^[^ ]* [^ ]* //' | sort | tr '\n' ' ')" \
	"INBOX plain " "dot local: the database records no unfit name"
tap_is "$(store_count "$REMOTE" "Mr. Smith")" 1 "dot local: Mr. Smith's mail still there"

# An earlier version split it: local "Mr. Smith" (Mr, then " Smith")
# and a database row "Mr. Smith" with the ids of both. The split is not
# taken for a rename, nor created on remote.
xguid() {
	python3 -c '
import imaplib, re, sys
m = imaplib.IMAP4_stream(sys.argv[1])
typ, dat = m._simple_command("STATUS", "\"%s\"" % sys.argv[2], "(X-GUID)")
typ, dat = m._untagged_response(typ, dat, "STATUS")
print(re.search(rb"X-GUID (\w+)", dat[-1]).group(1).decode())
' "$1" "$2"
}
store_create "$LOCAL" "Mr. Smith"
sync_db "INSERT INTO mailboxes (mailbox, subscribed) VALUES (CAST('Mr. Smith' AS BLOB), 0);
	INSERT INTO mailbox_id SELECT idx, 'local', '$(xguid "$LOCAL" "Mr. Smith")' FROM mailboxes WHERE mailbox = CAST('Mr. Smith' AS BLOB);
	INSERT INTO mailbox_id SELECT idx, 'remote', '$(xguid "$REMOTE" "Mr. Smith")' FROM mailboxes WHERE mailbox = CAST('Mr. Smith' AS BLOB);"
for run in 1 2; do
	sync_run
	tap_is "$SYNC_RC" 1 "earlier split, run $run: exit status 1"
	tap_check "earlier split, run $run: the split is named" \
		grep -q "^local(Mr\. Smith): ERROR: this mailbox is remote's 'Mr\. Smith', split" "$SYNC_ERR"
done
tap_check "earlier split: no rename" no_renames
tap_check "earlier split: remote still has Mr. Smith, no Mr/ Smith" \
	sh -c "$IMAPTOOL '$REMOTE' list | grep -qx '/ Mr. Smith' && ! $IMAPTOOL '$REMOTE' list | grep -q 'Mr/'"

# --- The other way: a "." remote, a "/" local store holding "a.b" -------
sync_pair_new --name dot-remote --remote-sep . --local-format mdbox
store_create "$LOCAL" a.b c/d
store_append "$LOCAL" a.b -s ab >/dev/null
for run in 1 2 3; do
	sync_run
	tap_is "$SYNC_RC" 1 "dot remote, run $run: exit status 1"
	tap_check "dot remote, run $run: the error names the side, the mailbox and the fix" \
		grep -q "^remote: ERROR: local's mailbox 'a\.b' cannot exist here.*separator to '/'" "$SYNC_ERR"
done
tap_check "dot remote: remote has no a" sh -c "! $IMAPTOOL '$REMOTE' list | grep -q ' a\$\| a\.b'"
tap_check "dot remote: c/d synced as c.d" list_has "$REMOTE" c.d
tap_check "dot remote: local keeps a.b" list_has "$LOCAL" a.b
tap_check "dot remote: local has no a/b" sh -c "! $IMAPTOOL '$LOCAL' list | grep -q 'a/b\| a\$'"
tap_check "dot remote: no rename in any run" no_renames
tap_is "$(store_count "$LOCAL" a.b)" 1 "dot remote: a.b's mail still there"

# --- A CREATE the local server refuses ----------------------------------
# Dovecot's maildir++ layout with "/" refuses "." in a name.
sync_pair_new --name refused --remote-format mdbox
store_create "$REMOTE" "Dr. No" ok
store_subscribe "$REMOTE" "Dr. No"
store_append "$REMOTE" "Dr. No" -s drno >/dev/null
for run in 1 2; do
	sync_run
	tap_is "$SYNC_RC" 1 "refused, run $run: exit status 1"
	tap_check "refused, run $run: the error names local and the mailbox" \
		grep -q "^local(Dr\. No): ERROR: the server refused to create the mailbox" "$SYNC_ERR"
	tap_is "$(grep -c ERROR "$SYNC_ERR")" 1 "refused, run $run: one error, not one per command"
	tap_check "refused, run $run: no advice to --delete" \
		sh -c "! grep -q -- '--delete' '$SYNC_ERR'"
	tap_check "refused, run $run: not called gone" \
		sh -c "! grep -q 'gone from' '$SYNC_ERR'"
done
tap_is "$(sync_db_boxes | sed 's/^[^ ]* [^ ]* //' | sort | tr '\n' ' ')" \
	"INBOX ok " "refused: the database records no refused name"
tap_is "$(store_count "$REMOTE" "Dr. No")" 1 "refused: the remote mailbox keeps its mail"

# --- Advice quotes names for a shell and never deletes mail -------------
sync_pair_new --name quote --local-format mdbox --remote-format mdbox
name="it's \$(touch $SYNC_DIR/pwned); \`x\` y"
store_create "$REMOTE" "$name"
store_append "$REMOTE" "$name" -s first >/dev/null
sync_ok "quote: the odd name syncs"
store_delete "$LOCAL" "$name"
store_append "$REMOTE" "$name" -s second >/dev/null
sync_run
tap_is "$SYNC_RC" 1 "quote: gone locally, changed remotely: exit status 1"
tap_check "quote: the advice forgets it in the database only" \
	grep -q -- "--target=database --delete '" "$SYNC_ERR"
tap_check "quote: no advice deletes it on remote" \
	sh -c "! grep -q 'imapsync --delete\|--target=remote --delete' '$SYNC_ERR'"
q=$(sed -n "s/.*--target=database --delete \\('.*'\\)\` (the database.*/\\1/p" "$SYNC_ERR")
tap_diag "quoted: $q"
eval "set -- $q"
tap_is "$# $1" "1 $name" "quote: the quoted name is one shell word, the name"
tap_check "quote: nothing ran" test ! -e "$SYNC_DIR/pwned"
tap_is "$(store_count "$REMOTE" "$name")" 2 "quote: remote keeps its mail"

# --- Hostile names are inert in the terminal and the logfile ------------
sync_pair_new --name evil --remote-format mdbox
store_create "$REMOTE" evil
store_append "$REMOTE" INBOX -s hello >/dev/null
sed -i "s|^command = $REMOTE\$|command = $IMAPSYNC_TOP/tests/lib/evilname.py evil $REMOTE|" "$SYNC_CONF"
sed -i "1a logfile = $SYNC_DIR/logfile" "$SYNC_CONF"
sync_run
tap_is "$SYNC_RC" 1 "evil: exit status 1 (local refuses the name)"
tap_check "evil: the name got to the messages (escaped)" \
	grep -q 'evil\\x1b\]0;pwned\\x07' "$SYNC_ERR"
# inert FILE: UTF-8 with no control character (C0, DEL, C1) but newline.
inert() {
	python3 -c '
import re, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on invalid UTF-8
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
if bad:
    sys.exit("control characters: %r" % bad[:5])
' "$1"
}
tap_check "evil: stderr is inert" inert "$SYNC_ERR"
tap_check "evil: the logfile is inert" inert "$SYNC_DIR/logfile"
tap_check "evil: no line of its own for the forged text" \
	sh -c "! grep -q '^local: ERROR: forged' '$SYNC_ERR' '$SYNC_DIR/logfile'"
tap_is "$(store_count "$LOCAL" INBOX)" 1 "evil: INBOX synced all the same"
# Without a logfile every line goes to stderr; --debug adds the protocol
# trace, which shows the raw LIST lines.
sed -i "/^logfile = /d" "$SYNC_CONF"
sync_run --debug
tap_is "$SYNC_RC" 1 "evil, --debug: exit status 1"
tap_check "evil, --debug: the trace shows the server's text (escaped)" \
	grep -q '^remote <- .* OK List completed\\x1b\]0;pwned-ok\\x07' "$SYNC_ERR"
tap_check "evil, --debug: stderr is inert" inert "$SYNC_ERR"

# --- max-create caps the mailboxes one run creates -----------------------
sync_pair_new --name cap --local-format mdbox --remote-format mdbox
store_create "$REMOTE" m1 m2 m3 m4 m5
sed -i "1a max-create = 3" "$SYNC_CONF"
sync_run
tap_is "$SYNC_RC" 1 "cap: past max-create: exit status 1"
tap_check "cap: the error names the count and max-create" \
	grep -q "^local: ERROR: 2 more mailboxes of remote.*max-create (3)" "$SYNC_ERR"
tap_is "$($IMAPTOOL "$LOCAL" list | grep -c ' m[0-9]')" 3 "cap: 3 created"
sync_ok "cap: the next run creates the rest"
tap_is "$($IMAPTOOL "$LOCAL" list | grep -c ' m[0-9]')" 5 "cap: then all 5"
sync_noop "cap: then a no-op"
tap_done
