#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""rewrite.py [server|client PATTERN REPLACEMENT]... -- COMMAND...: run
COMMAND (a real IMAP tunnel) and relay its session, rewriting each whole
line (literals included) of the server's answers or of the client's
commands with re.sub(PATTERN, REPLACEMENT) (bytes, Python syntax): the
same real server, made to answer or to be asked otherwise."""
import re
import sys

from imaprelay import Lines, relay


def main():
    args = sys.argv[1:]
    rules = {'server': [], 'client': []}
    while args and args[0] != '--':
        way, pat, repl = args[:3]
        rules[way].append((re.compile(pat.encode(), re.S), repl.encode()))
        args = args[3:]
    cut = {'server': Lines(), 'client': Lines(client=True)}

    def edit(way, data):
        if not data:
            return cut[way].pending
        out = []
        for line in cut[way].feed(data):
            for pat, repl in rules[way]:
                line = pat.sub(repl, line)
            out.append(line)
        return b''.join(out)

    return relay(args[1:], lambda d: edit('server', d),
                 lambda d: edit('client', d))


if __name__ == '__main__':
    sys.exit(main())
