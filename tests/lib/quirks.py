#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""quirks.py MODE COMMAND...: run COMMAND (a real IMAP tunnel, Dovecot)
and relay its session, giving the server another server's habits, so the
tests meet them without that server (Cyrus IMAP 3.6's, see
tests/lib/cyrus-server.sh for the real one).

  store-fetch   every STORE is answered with FETCH responses, as Cyrus
                does (RFC 7162 3.1.4 and 3.2 let a CONDSTORE server answer
                a silent STORE so): .SILENT is taken out of the client's
                STORE commands, and a "* 1 FETCH (UID u FLAGS (\Deleted)
                MODSEQ (1))" per UID comes before the tagged OK of a STORE
                +FLAGS.SILENT (\Deleted) (Dovecot sends none when the
                UID EXPUNGE follows at once)
  mailboxid-garbage
                the server offers OBJECTID; STATUS MAILBOXID is answered
                with Dovecot's X-GUID, valid when asked alone, but as
                control bytes when asked with other items (Cyrus 3.6.1)
  no-xguid      STATUS X-GUID is refused (BAD), as any server but Dovecot
                does
"""
import re
import sys

from imaprelay import Lines, relay

# Cyrus's garbage looks like a heap pointer's bytes: any byte, LF too.
GARBAGE = [b'MAILBOXID (O\xb7\x12\tV)', b'MAILBOXID (\x93 {\n\rV)',
           b'MAILBOXID (\xce z\xe3\xe5\x137V)']


def first_line(chunk, edit):
    """edit() applied to the line that starts chunk, not its literals."""
    nl = chunk.find(b'\n') + 1
    if nl == 0:
        return chunk
    return edit(chunk[:nl]) + chunk[nl:]


def uids(s):
    """The UIDs of a set without '*'."""
    out = []
    for r in s.split(b','):
        lo, _, hi = r.partition(b':')
        out += range(int(lo), int(hi or lo) + 1)
    return out


def main():
    mode = sys.argv[1]
    if mode not in ('store-fetch', 'mailboxid-garbage', 'no-xguid'):
        sys.stderr.write('quirks.py: unknown mode %s\n' % mode)
        return 2
    up, down = Lines(client=True), Lines()
    deleting = {}  # tag: the UIDs its STORE \Deleted names
    garbage = [0]

    def client_line(line):
        if not re.match(rb'\S+ (UID )?(STORE|STATUS|LIST) ', line, re.I):
            return line
        if mode == 'store-fetch':
            m = re.match(rb'(\S+) UID STORE ([0-9:,]+) \+FLAGS\.SILENT '
                         rb'\(\\Deleted\)', line, re.I)
            if m:
                deleting[m.group(1)] = uids(m.group(2))
            return re.sub(rb'(?i)(FLAGS)\.SILENT', rb'\1', line)
        if mode == 'mailboxid-garbage':
            return re.sub(rb'(?i)\bMAILBOXID\b', b'X-GUID', line)
        return re.sub(rb'(?i)\bX-GUID\b', b'X-NOSUCH', line)

    def server_line(line):
        if mode == 'store-fetch':
            tag = line.split(b' ', 1)[0]
            if tag in deleting:
                return b''.join(b'* 1 FETCH (UID %d FLAGS (\\Deleted) '
                                b'MODSEQ (1))\r\n' % u
                                for u in deleting.pop(tag)) + line
        if mode != 'mailboxid-garbage':
            return line
        if re.search(rb'CAPABILITY ', line):
            return re.sub(rb'(CAPABILITY [^\r\n\]]*?)(?=[\]\r\n])',
                          rb'\1 OBJECTID', line, count=1)
        m = re.match(rb'(\* STATUS .*\()(.*)(\)\r?\n)$', line, re.S)
        if m is None:
            return line
        items = m.group(2)
        g = re.search(rb'X-GUID (\S+)', items)
        if g is None:
            return line
        if items.strip() == g.group(0):
            new = b'MAILBOXID (' + g.group(1) + b')'
        else:
            new = GARBAGE[garbage[0] % len(GARBAGE)]
            garbage[0] += 1
        return m.group(1) + items.replace(g.group(0), new) + m.group(3)

    def from_client(data):
        return b''.join(first_line(c, client_line) for c in up.feed(data))

    def from_server(data):
        if not data:
            return down.pending
        return b''.join(first_line(c, server_line) for c in down.feed(data))

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
