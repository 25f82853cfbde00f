#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""capfilter.py CAP COMMAND...: run COMMAND (an IMAP tunnel) and relay
its standard input and output, taking CAP out of every CAPABILITY the
server announces: the same real server, seen as one that lacks CAP."""
import re
import sys

from imaprelay import relay


def main():
    cap = sys.argv[1].encode()
    pat = re.compile(rb'(CAPABILITY[^\r\n]*?) ' + re.escape(cap) +
                     rb'(?=[ \]\r])')
    pending = [b'']

    def from_server(data):
        if not data:
            return pending[0]
        pending[0] += data
        # Edit whole lines only: a capability list is one line.
        cut = pending[0].rfind(b'\n') + 1
        out, pending[0] = pending[0][:cut], pending[0][cut:]
        return pat.sub(rb'\1', out)

    return relay(sys.argv[2:], from_server)


if __name__ == '__main__':
    sys.exit(main())
