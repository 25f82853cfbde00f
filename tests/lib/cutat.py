#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""cutat.py REGEX COMMAND...: run COMMAND (a real IMAP tunnel) and relay
its session until the client sends a command matching REGEX (a Python
bytes regular expression, searched in the command line): that command
and everything after it are never passed on; once the server has
answered every command sent before it, the session ends, as if the
client had died right there (a crash between two pipelined commands,
e.g. after a STORE \\Deleted and before its UID EXPUNGE, which a real
kill hits only by chance)."""
import os
import re
import sys

from imaprelay import Lines, relay


def main():
    pattern = re.compile(sys.argv[1].encode())
    up, down = Lines(client=True), Lines()
    st = {'cut': False, 'inflight': set(), 'literal_next': False}

    def from_client(data):
        out = []
        for c in up.feed(data):
            if st['cut']:
                break
            cont = st['literal_next']
            st['literal_next'] = bool(re.search(rb'\{\d+\}\r\n$', c))
            m = None if cont else re.match(rb'([A-Za-z0-9.]+) ', c)
            if m is not None and pattern.search(c):
                st['cut'] = True
                break
            if m is not None and m.group(1).upper() != b'DONE':
                st['inflight'].add(m.group(1))
            out.append(c)
        if st['cut'] and not st['inflight'] and not out:
            os._exit(0)  # nothing left to wait for
        return b''.join(out)

    def from_server(data):
        out = []
        for line in down.feed(data):
            m = re.match(rb'([A-Za-z0-9.]+) (OK|NO|BAD)', line)
            if m is not None:
                st['inflight'].discard(m.group(1))
            out.append(line)
        if st['cut'] and not st['inflight']:
            return None
        return b''.join(out) if data else b''.join(out) + down.pending

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
