#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""storelag.py COMMAND...: run COMMAND (a real IMAP tunnel) and relay its
session, holding back a `UID STORE ... (\\Deleted)` followed in the same
write by a `UID EXPUNGE` until the server has answered that EXPUNGE: the
EXPUNGE then runs first and finds nothing flagged, the race Dovecot can
lose on its own when it runs the two side by side."""
import re
import sys

from imaprelay import Lines, relay


def main():
    st = {'child': None, 'held': [], 'wait': []}
    client, server = Lines(client=True), Lines()
    store = re.compile(rb'^\S+ UID STORE \S+ \+FLAGS\.SILENT \(\\Deleted\)\r\n$')
    expunge = re.compile(rb'^(\S+) UID EXPUNGE ')

    def started(child):
        st['child'] = child

    def from_client(data):
        lines = client.feed(data)
        out = []
        for i, line in enumerate(lines):
            nxt = lines[i + 1] if i + 1 < len(lines) else b''
            m = expunge.match(nxt)
            if store.match(line) and m:
                st['held'].append((m.group(1), line))
                continue
            out.append(line)
        return b''.join(out)

    def from_server(data):
        for line in server.feed(data):
            for tag, held in list(st['held']):
                if line.startswith(tag + b' '):
                    st['held'].remove((tag, held))
                    st['child'].stdin.write(held)
        return data

    return relay(sys.argv[1:], from_server, from_client, started)


if __name__ == '__main__':
    sys.exit(main())
