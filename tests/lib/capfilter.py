#!/usr/bin/env python3
"""capfilter.py CAP COMMAND...: run COMMAND (an IMAP tunnel) and relay its
standard input and output, taking CAP out of every CAPABILITY the server
announces: the same real server, seen as one that lacks CAP."""
import os
import re
import selectors
import subprocess
import sys


def main():
    cap = sys.argv[1].encode()
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, bufsize=0)
    pat = re.compile(rb'(CAPABILITY[^\r\n]*?) ' + re.escape(cap) + rb'(?=[ \]\r])')
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(child.stdout, selectors.EVENT_READ, 'out')
    pending = b''
    while True:
        for key, _ in sel.select():
            if key.data == 'in':
                data = os.read(0, 65536)
                if not data:
                    child.stdin.close()
                    sel.unregister(0)
                    continue
                child.stdin.write(data)
            else:
                data = os.read(child.stdout.fileno(), 65536)
                if not data:
                    if pending:
                        os.write(1, pending)
                    return child.wait()
                pending += data
                # Edit whole lines only: a capability list is one line.
                cut = pending.rfind(b'\n') + 1
                out, pending = pending[:cut], pending[cut:]
                os.write(1, pat.sub(rb'\1', out))


if __name__ == '__main__':
    sys.exit(main())
