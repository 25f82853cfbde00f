#!/usr/bin/env python3
"""hostile.py MODE COMMAND...: run COMMAND (a real IMAP tunnel) and relay
its session, turning the server hostile once the client has sent its
first SELECT: what a broken or malicious server, or a corrupted link,
would do in the middle of a sync.

  garbage     a line of binary garbage in place of the next response line
  badfetch    a FETCH response whose UID is not a number, once, among
              the real responses, which go on
  hugeliteral a FETCH announcing a 1 TB literal, then nothing
  cut         the connection closed in the middle of a response line
  stall       nothing more is ever sent (the client must time out)
  bye         an untagged BYE, then the connection closed
"""
import os
import selectors
import subprocess
import sys
import time


def main():
    mode = sys.argv[1]
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, bufsize=0)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(child.stdout, selectors.EVENT_READ, 'out')
    armed = False
    pending = b''
    while True:
        for key, _ in sel.select():
            if key.data == 'in':
                data = os.read(0, 65536)
                if not data:
                    child.stdin.close()
                    sel.unregister(0)
                    continue
                if b' SELECT ' in data.upper():
                    armed = True
                child.stdin.write(data)
                continue
            data = os.read(child.stdout.fileno(), 65536)
            if not data:
                os.write(1, pending)
                return 0
            if not armed:
                os.write(1, data)
                continue
            pending += data
            if b'\n' not in pending:
                continue
            line, _, rest = pending.partition(b'\n')
            if mode == 'garbage':
                os.write(1, b'\x00\xff\x13garbage (( ]]\x01\r\n' + rest)
            elif mode == 'badfetch':
                # One bad line among good ones: the session goes on.
                os.write(1, b'* 1 FETCH (UID notanumber FLAGS ())\r\n' +
                         pending)
                pending = b''
                armed = False
                continue
            elif mode == 'hugeliteral':
                os.write(1, b'* 1 FETCH (UID 1 BODY[] {1000000000000}\r\n')
                time.sleep(3600)
            elif mode == 'cut':
                os.write(1, line[:len(line) // 2])
                return 0
            elif mode == 'stall':
                time.sleep(3600)
            elif mode == 'bye':
                os.write(1, b'* BYE going away\r\n')
                return 0
            # From here on the session is broken: relay nothing more.
            time.sleep(3600)


if __name__ == '__main__':
    sys.exit(main())
