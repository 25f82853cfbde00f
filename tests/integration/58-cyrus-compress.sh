#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 58-cyrus-compress.sh: local Dovecot, remote a real Cyrus IMAP over a
# plain-text password login with COMPRESS=DEFLATE: large, very
# compressible messages both ways (each run bounded by `timeout`), flags,
# expunges and new mail; stores identical, nothing doubled, a second run
# changes nothing.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/cyrus-server.sh"

sync_is_interimap && tap_skip_all "imapsync against Cyrus"
command -v timeout >/dev/null 2>&1 || tap_skip_all "no timeout(1)"

cyrus_pair_new
cyrus_plain_conf

bounded=$STORE_TMP/bounded
printf '#!/bin/sh\nexec timeout 60 %s "$@"\n' "$SYNC_BIN" >"$bounded"
chmod 755 "$bounded"
# The differential dry run (tests/lib/sync.sh) goes through it too.
SYNC_DRYRUN_TOOL=$bounded

# run DESC [ARGS]: a bounded run exits 0 with no warning but Cyrus's
# MAILBOXID one and the (true) one about a password sent in clear.
run() {
	_d=$1
	shift
	sync_run_with "$bounded" "$@"
	case $SYNC_RC in
	0) tap_pass "$_d: exits 0" ;;
	124) tap_fail "$_d: exits 0" "hung: killed after 60 s" ;;
	*) tap_fail "$_d: exits 0" "exit status $SYNC_RC
$(tail -n 5 "$SYNC_ERR")" ;;
	esac
	tap_check "$_d: no false warning" sh -c \
		"! grep WARNING '$SYNC_ERR' |
		grep -v 'botches STATUS MAILBOXID\\|STARTTLS = NO'"
}

store_append "$LOCAL" INBOX -s lbig --size 1048576 >/dev/null
store_append "$REMOTE" INBOX -s rbig --size 1048576 -f '\Seen' >/dev/null
store_create "$REMOTE" Notes
store_append "$REMOTE" Notes -s n1 >/dev/null
run "first sync" --debug
tap_check "COMPRESS DEFLATE was used" \
	grep -q 'remote -> A[0-9]* COMPRESS DEFLATE' "$SYNC_ERR"
tap_check "no STARTTLS (plain login)" \
	sh -c "! grep -q 'remote -> A[0-9]* STARTTLS' '$SYNC_ERR'"
sync_dumps_equal "first sync: stores equal"

i=1
while [ $i -le 5 ]; do
	store_append "$REMOTE" Notes -s "big$i" --size 1048576 >/dev/null
	store_append "$LOCAL" INBOX -s "lbig$i" --size 500000 >/dev/null
	run "large messages, run $i"
	i=$((i + 1))
done
sync_dumps_equal "large messages: stores equal"
tap_is "$(store_count "$LOCAL" Notes)" 6 "large messages: none doubled"

store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX lbig)" +FLAGS \
	'\Flagged kw'
store_expunge "$LOCAL" Notes "$(store_uid_of "$LOCAL" Notes n1)"
run "flags and an expunge"
sync_dumps_equal "flags and an expunge: stores equal"
sync_noop "the next run changes nothing"

# Capabilities said only once logged in, and not in the login's answer
# either: the client must ask after the login. Through tests/lib/
# unusual.py (which hides COMPRESS: it reads lines), served on TCP by
# listen.py; Cyrus's own FETCH answers to our STOREs reversed (UID and
# MODSEQ last), tagged responses late, VANISHED (EARLIER) repeated, a
# message's items in several FETCH responses (a new one's FLAGS, date
# and body apart).
dovecot_bg RELAYPORT "$IMAPSYNC_TOP/tests/lib/listen.py" serve \
	"$STORE_TMP/RELAYPORT.port" python3 "$IMAPSYNC_TOP/tests/lib/unusual.py" \
	no-greeting-caps,prelogin-minimal,login-no-caps,late-tagged,fetch-reverse,vanished-repeat,fetch-split \
	python3 "$IMAPSYNC_TOP/tests/lib/listen.py" connect 127.0.0.1 "$CYRUS_PORT"
sed -i "s/^port = $CYRUS_PORT\$/port = $RELAYPORT/" "$SYNC_CONF"
store_append "$LOCAL" INBOX -s after1 >/dev/null
store_flags "$REMOTE" INBOX "$(store_uid_of "$REMOTE" INBOX rbig)" +FLAGS \
	'\Answered'
store_expunge "$REMOTE" Notes "$(store_uid_of "$REMOTE" Notes big1)"
store_expunge "$LOCAL" Notes "$(store_uid_of "$LOCAL" Notes big2)"
store_append "$REMOTE" Notes -s after2 -f '\Flagged' >/dev/null
run "capabilities after the login" --debug
tap_check "capabilities after the login: asked once logged in" \
	sh -c "sed -n '/remote -> A[0-9]* AUTHENTICATE/,\$p' '$SYNC_ERR' |
		grep -q 'remote -> A[0-9]* CAPABILITY'"
tap_check "capabilities after the login: Cyrus's FETCH answered our STORE" \
	grep -q 'remote <- \* [0-9]* FETCH (MODSEQ ([0-9]*) .*\\Deleted' \
	"$SYNC_ERR"
tap_check "capabilities after the login: a new message's date apart" \
	grep -q 'remote <- \* [0-9]* FETCH (INTERNALDATE "[^"]*" UID [0-9]*)' \
	"$SYNC_ERR"
sync_dumps_equal "capabilities after the login: stores equal"
sync_noop "capabilities after the login: the next run changes nothing"
tap_done
