#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""evilname.py WORD COMMAND...: run COMMAND (a real IMAP tunnel) and relay
its session, showing the mailbox named WORD under a hostile name: in every
untagged LIST and STATUS line the server sends, WORD (an atom or a quoted
string) becomes a literal holding terminal escape sequences, a bell, a
newline followed by a forged log line, a carriage return, DEL, a C1 CSI
and bytes that are not UTF-8. Real servers refuse such names (they are
not modified UTF-7); a hostile one need not. The text of the tagged OK
that ends a LIST gets an escape sequence too (seen in --debug traces,
which show lines but not literals)."""
import re
import sys

from imaprelay import Lines, relay

EVIL = (b'evil\x1b]0;pwned\x07\x1b[2J\x1b[31m'
        b'\nlocal: ERROR: forged line\r\x7f\xc2\x9b2J\xff\xfe end')


def main():
    word = re.escape(sys.argv[1].encode())
    pat = re.compile(rb'^(\* (?:LIST|STATUS) .*?)(?<=[ )])(?:"' + word +
                     rb'"|' + word + rb')(?=[ \r])')
    lit = b'{%d}\r\n' % len(EVIL) + EVIL
    lines = Lines()

    def from_server(data):
        if not data:
            return lines.pending
        out = b''
        for line in lines.feed(data):
            line = pat.sub(lambda m: m.group(1) + lit, line, count=1)
            if re.match(rb'^[^* ]+ OK List completed', line):
                line = line.replace(b'List completed',
                                    b'List completed\x1b]0;pwned-ok\x07', 1)
            out += line
        return out

    return relay(sys.argv[2:], from_server)


if __name__ == '__main__':
    sys.exit(main())
