#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""cutat.py REGEX COMMAND...: run COMMAND (a real IMAP tunnel) and relay
its session until the client sends a command matching REGEX (a Python
bytes regular expression, searched in the command line): that command
and everything after it are never passed on; once the server has
answered every command sent before it, the session ends, as if the
client had died right there (a crash between two pipelined commands,
e.g. after a STORE \\Deleted and before its UID EXPUNGE, which a real
kill hits only by chance).

cutat.py --refuse REGEX COMMAND...: the session goes on, but every
command matching REGEX is answered NO (the server is sent a NOOP under
its tag instead): a server refusing that one command."""
import os
import re
import sys

from imaprelay import Lines, relay


def main():
    args = sys.argv[1:]
    refuse = args[0] == '--refuse'
    if refuse:
        args = args[1:]
    pattern = re.compile(args[0].encode())
    up, down = Lines(client=True), Lines()
    st = {'cut': False, 'inflight': set(), 'literal_next': False,
          'refused': set()}

    def from_client(data):
        out = []
        for c in up.feed(data):
            if st['cut']:
                break
            cont = st['literal_next']
            st['literal_next'] = bool(re.search(rb'\{\d+\}\r\n$', c))
            m = None if cont else re.match(rb'([A-Za-z0-9.]+) ', c)
            if m is not None and pattern.search(c):
                if refuse:
                    st['refused'].add(m.group(1))
                    out.append(m.group(1) + b' NOOP\r\n')
                    continue
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
                if m.group(1) in st['refused']:
                    st['refused'].discard(m.group(1))
                    line = m.group(1) + b' NO refused by the test\r\n'
            out.append(line)
        if st['cut'] and not st['inflight']:
            return None
        return b''.join(out) if data else b''.join(out) + down.pending

    return relay(args[1:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
