#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 38-large.sh: a 30 MB message, an 8-bit one and a binary-ish one (no NUL,
# bytes >= 0x80, lines of tens of kilobytes) are copied byte for byte.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --remote-format mdbox
d=$SYNC_DIR
python3 - "$d" <<'PY'
import base64, random, sys
d = sys.argv[1]
rnd = random.Random(38)
hdr = (b'From: Big <big@example.org>\r\nTo: x@example.org\r\n'
       b'Subject: %s\r\nMessage-ID: <%s@imapsync.test>\r\n'
       b'Date: Mon, 01 Jan 2024 12:00:00 +0000\r\nMIME-Version: 1.0\r\n')
def put(name, body):
    with open(d + '/' + name, 'wb') as f:
        f.write(body)
# 30 MB: base64 of random bytes, 76-column lines.
raw = rnd.randbytes(22 * 1024 * 1024)
b64 = base64.encodebytes(raw).replace(b'\n', b'\r\n')
put('big.eml', hdr % (b'big', b'big') +
    b'Content-Type: application/octet-stream\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\n' + b64)
# 8-bit: UTF-8 and Latin-1 text, raw in headers and body.
put('8bit.eml', hdr % ('8bit Entw\u00fcrfe \u65e5\u672c'.encode(), b'8bit') +
    b'Content-Type: text/plain; charset=utf-8\r\n'
    b'Content-Transfer-Encoding: 8bit\r\n\r\n' +
    'Gr\u00fc\u00dfe aus K\u00f6ln, \u00e7a va? \u2603\r\n'.encode() * 50 +
    b'latin-1: \xe9\xe8\xe0\xff\r\n')
# Binary-ish: every byte but NUL, CR and LF, in very long lines.
alphabet = bytes(b for b in range(1, 256) if b not in (10, 13))
lines = []
for n in (100, 5000, 40000, 120000, 3):
    lines.append(bytes(rnd.choice(alphabet) for _ in range(n)))
put('bin.eml', hdr % (b'binary', b'binary') +
    b'Content-Type: application/octet-stream\r\n'
    b'Content-Transfer-Encoding: binary\r\n\r\n' + b'\r\n'.join(lines) +
    b'\r\n')
PY
tap_is "$(($(wc -c <"$d/big.eml") > 30000000))" 1 \
	"the big message is over 30 MB"
store_create "$LOCAL" big
store_append "$LOCAL" big --file "$d/big.eml" >/dev/null
store_append "$LOCAL" INBOX --file "$d/8bit.eml" -f '\Seen' >/dev/null
store_append "$REMOTE" INBOX --file "$d/bin.eml" >/dev/null

sync_ok "sync exits 0"
store_fetch "$REMOTE" big "$(store_uid_of "$REMOTE" big big)" >"$d/big.out"
tap_check "the 30 MB message is byte-identical remotely" \
	cmp "$d/big.eml" "$d/big.out"
for u in $($IMAPTOOL "$REMOTE" uids INBOX); do
	store_fetch "$REMOTE" INBOX "$u" >"$d/remote.$u"
done
for u in $($IMAPTOOL "$LOCAL" uids INBOX); do
	store_fetch "$LOCAL" INBOX "$u" >"$d/local.$u"
done
tap_check "the 8-bit message is byte-identical remotely" sh -c \
	"for f in '$d'/remote.*; do cmp -s '$d/8bit.eml' \"\$f\" && exit 0; done; exit 1"
tap_check "the binary message is byte-identical locally" sh -c \
	"for f in '$d'/local.*; do cmp -s '$d/bin.eml' \"\$f\" && exit 0; done; exit 1"
sync_dumps_equal "dumps equal"
sync_noop "a further run is a no-op"
tap_done
