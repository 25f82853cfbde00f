#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 85-progress.sh: on a terminal, a run's copies show as one progress line
# (messages and bytes done out of the total, the rate, the time left),
# redrawn at most twice a second: a 5000-message first copy writes under
# 5 KB of it. Without a terminal, nothing of it.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_is_interimap && tap_skip_all "imapsync's progress line"

N=5000
sync_pair_new
# Straight into the local INBOX's maildir (~/Mail): 5000 APPENDs would
# take longer than the copy under test.
inbox=$SYNC_DIR/local/home/Mail
python3 - "$inbox" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for sub in ('cur', 'new', 'tmp'):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
for i in range(n):
    body = ('From: a@example.org\r\nTo: b@example.org\r\n'
            'Subject: m%d\r\nMessage-ID: <m%d@progress.test>\r\n'
            'Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n\r\n'
            'message %d\r\n' % (i, i, i)) + 'x' * 2000 + '\r\n'
    with open(os.path.join(d, 'new', '1700000000.M%dP1.test' % i), 'w') as f:
        f.write(body)
PY
[ "$(id -u)" = 0 ] && chown -R "$STORE_USER:$STORE_GROUP" "$SYNC_DIR/local"

# The run on a pseudo-terminal: its output, byte for byte, in tty.out.
python3 - "$SYNC_DIR" "$SYNC_BIN" "$SYNC_CONF" <<'PY' >"$SYNC_DIR/tty.rc"
import os, pty, subprocess, sys
d, binary, conf = sys.argv[1:4]
master, slave = pty.openpty()
env = dict(os.environ, XDG_CONFIG_HOME=d + '/xdg-config',
           XDG_DATA_HOME=d + '/xdg-data', TERM='xterm')
p = subprocess.Popen([binary, '--config=' + conf], stdin=subprocess.DEVNULL,
                     stdout=slave, stderr=slave, env=env)
os.close(slave)
out = b''
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
open(d + '/tty.out', 'wb').write(out)
print(p.wait())
PY
tap_is "$(cat "$SYNC_DIR/tty.rc")" 0 "the first copy on a terminal exits 0"
tap_is "$(store_count "$REMOTE" INBOX)" "$N" "all $N messages copied"

# Progress: each "\r ESC [K" that clears the line and each line drawn
# (text up to the next "\r" that does not end a line: the terminal turns
# each message's "\n" into "\r\n").
python3 - "$SYNC_DIR/tty.out" <<'PY' >"$SYNC_DIR/progress"
import re, sys
out = open(sys.argv[1], 'rb').read()
draws = re.findall(rb'\r\x1b\[K([^\r\n]*)(?=\r(?!\n))', out)
clears = out.count(b'\r\x1b[K')
print(len(draws), clears * 4 + sum(len(d) for d in draws))
print(draws[-1].decode() if draws else '')
PY
read -r draws bytes <"$SYNC_DIR/progress"
last=$(sed -n 2p "$SYNC_DIR/progress")
tap_diag "$draws progress line(s), $bytes bytes of $(wc -c <"$SYNC_DIR/tty.out"); the last: $last"
tap_ok "the progress line is drawn" test "$draws" -gt 0
tap_ok "a $N-message copy writes under 5 KB of progress ($bytes bytes)" \
	test "$bytes" -lt 5120
tap_ok "one line for the whole run: messages done out of the total" \
	sh -c "echo '$last' | grep -q '^copying [0-9]*/$N messages, '"
tap_ok "and bytes done out of the total" \
	sh -c "echo '$last' | grep -q ' messages, [0-9.]* [KMG]*i*B of ~*[0-9.]* [KMG]*i*B'"
tap_ok "the messages' own lines are whole" \
	grep -q '^local: IMAP traffic' "$SYNC_DIR/tty.out"

# Not a terminal: not a byte of it.
sync_pair_new --name p2
{
	for i in 1 2 3 4 5; do echo "append INBOX -s n$i"; done
} | store_script "$LOCAL" >/dev/null
sync_run
tap_is "$SYNC_RC" 0 "a copy to a file exits 0"
tap_is "$(cat "$SYNC_ERR" "$SYNC_OUT" | tr -d -c '\r\033' | wc -c)" 0 \
	"and writes no progress (no CR, no escape)"
tap_done
