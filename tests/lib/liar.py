#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""liar.py MODE COMMAND...: run COMMAND (a real IMAP tunnel) and relay its
session, with the server's answers made to lie:

  vanished     each SELECT or EXAMINE with QRESYNC also answers
               * VANISHED (EARLIER) 1000:4000000000 (UIDs that never
               were: the client must not look up each of them)
  low          UIDNEXT n reads n-3 (at least 1) and HIGHESTMODSEQ 1,
               in LIST-STATUS and SELECT alike, as after a lost index
  appenduid-v  APPENDUID gives a UIDVALIDITY one higher than the real one
  appenduid-low  APPENDUID gives UIDs from 1 (ones that exist already)
  notify-silent  NOTIFY SET is never answered (its tagged line dropped)
"""
import re
import sys

from imaprelay import Lines, relay


def lie_appenduid(line, mode):
    m = re.search(rb'\[APPENDUID (\d+) ([0-9:,]+)\]', line)
    if m is None:
        return line
    v, uids = int(m.group(1)), m.group(2).decode()
    if mode == 'appenduid-v':
        new = b'[APPENDUID %d %s]' % (v + 1, uids.encode())
    else:
        n = 0
        for part in uids.split(','):
            lo, _, hi = part.partition(':')
            n += abs(int(hi or lo) - int(lo)) + 1
        new = b'[APPENDUID %d 1:%d]' % (v, n) if n > 1 else \
            b'[APPENDUID %d 1]' % v
    return line[:m.start()] + new + line[m.end():]


def main():
    mode = sys.argv[1]
    client, server = Lines(client=True), Lines()
    qresync_tags = set()
    notify_tags = set()

    def from_client(data):
        for line in client.feed(data):
            m = re.match(rb'(\S+) (SELECT|EXAMINE) .*QRESYNC', line, re.I)
            if m:
                qresync_tags.add(m.group(1))
            m = re.match(rb'(\S+) NOTIFY SET ', line, re.I)
            if m:
                notify_tags.add(m.group(1))

    def from_server(data):
        out = []
        for line in server.feed(data):
            tag = line.split(b' ', 1)[0]
            if mode == 'notify-silent' and tag in notify_tags:
                continue
            if mode == 'vanished' and tag in qresync_tags:
                qresync_tags.discard(tag)
                out.append(b'* VANISHED (EARLIER) 1000:4000000000\r\n')
            elif mode == 'low' and not re.search(rb'\{\d+\+?\}\r\n$', line):
                line = re.sub(rb'UIDNEXT (\d+)', lambda m: b'UIDNEXT %d'
                              % max(1, int(m.group(1)) - 3), line)
                line = re.sub(rb'HIGHESTMODSEQ (\d+)',
                              b'HIGHESTMODSEQ 1', line)
            elif mode.startswith('appenduid'):
                line = lie_appenduid(line, mode)
            out.append(line)
        if not data:
            out.append(server.pending)
        return b''.join(out)

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
