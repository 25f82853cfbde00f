#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 56-uidvalidity-restore.sh: a mailbox restored from a backup on one side
# (new UIDVALIDITY, same messages, the newest missing) is paired again by
# content: nothing is copied twice, the missing message comes back.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's UIDVALIDITY recovery"

sync_pair_new
{
	echo "create box"
	for i in 1 2 3 4 5 6; do echo "append box -s b$i -f '\\Seen'"; done
} | store_script "$LOCAL" >/dev/null
sync_ok "first sync exits 0"
old=$(store_uidvalidity "$REMOTE" box)

# The backup: every message but the newest, with its flags and date, in a
# mailbox made anew (so a new UIDVALIDITY).
python3 - "$REMOTE" <<'PY'
import imaplib, re, sys
m = imaplib.IMAP4_stream(sys.argv[1])
m.select('box')
typ, data = m.uid('FETCH', '1:*', '(FLAGS INTERNALDATE BODY.PEEK[])')
msgs = []
for item in data:
    if isinstance(item, tuple):
        meta = item[0].decode()
        flags = re.search(r'FLAGS \(([^)]*)\)', meta).group(1)
        date = re.search(r'INTERNALDATE "([^"]*)"', meta).group(1)
        msgs.append((flags, date, item[1]))
m.close()
m.delete('box')
m.create('box')
for flags, date, body in msgs[:-1]:
    m.append('box', '(%s)' % flags.replace('\\Recent', '').strip(),
             '"%s"' % date, body)
m.logout()
PY
tap_check "the restored mailbox has a new UIDVALIDITY" \
	test "$(store_uidvalidity "$REMOTE" box)" != "$old"
sync_ok "the sync after the restore exits 0"
tap_check "it says so" grep -q 'UIDVALIDITY changed.*pairing' "$SYNC_ERR"
tap_check "nothing copied to local" sh -c \
	"! grep -q '^local(box): Added' '$SYNC_ERR'"
tap_check "the missing message copied back to remote" \
	grep -q '^remote(box): Added 1 UID' "$SYNC_ERR"
tap_is "$(store_count "$LOCAL" box) $(store_count "$REMOTE" box)" "6 6" \
	"six messages on both sides"
tap_is "$(sync_db "SELECT count(*) FROM mapping WHERE idx = $(sync_db_idx box)")" \
	6 "six pairs"
tap_is "$(sync_db "SELECT UIDVALIDITY FROM remote WHERE idx = $(sync_db_idx box)")" \
	"$(store_uidvalidity "$REMOTE" box)" "the new UIDVALIDITY stored"
sync_dumps_equal "dumps equal"
sync_noop "then a sync is a no-op"
tap_done
