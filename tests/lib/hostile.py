#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""hostile.py MODE COMMAND...: run COMMAND (a real IMAP tunnel) and relay
its session, turning the server hostile once the client has sent its
first SELECT: what a broken or malicious server, or a corrupted link,
would do in the middle of a sync.

  garbage     a line of binary garbage in place of the next response line
  badfetch    a FETCH response whose UID is not a number, once, among
              the real responses, which go on
  hugeliteral a FETCH announcing a 1 TB literal, then nothing
  cut         the connection closed in the middle of a response line
  bye         an untagged BYE, then the connection closed
"""
import sys
import time

from imaprelay import relay


def main():
    mode = sys.argv[1]
    st = {'armed': False, 'done': False, 'pending': b''}

    def from_client(data):
        if b' SELECT ' in data.upper() and not st['done']:
            st['armed'] = True

    def from_server(data):
        if not st['armed']:
            return data
        st['pending'] += data
        if b'\n' not in st['pending'] and data:
            return b''
        line, _, rest = st['pending'].partition(b'\n')
        st['pending'] = b''
        if mode == 'badfetch':
            # One bad line among good ones: the session goes on.
            st['armed'] = False
            st['done'] = True
            return b'* 1 FETCH (UID notanumber FLAGS ())\r\n' + line + \
                b'\n' + rest
        if mode == 'garbage':
            sys.stdout.buffer.write(b'\x00\xff\x13garbage (( ]]\x01\r\n' + rest)
        elif mode == 'hugeliteral':
            sys.stdout.buffer.write(b'* 1 FETCH (UID 1 BODY[] {1000000000000}\r\n')
        elif mode == 'cut':
            sys.stdout.buffer.write(line[:len(line) // 2])
            sys.stdout.buffer.flush()
            return None
        elif mode == 'bye':
            sys.stdout.buffer.write(b'* BYE going away\r\n')
            sys.stdout.buffer.flush()
            return None
        sys.stdout.buffer.flush()
        # From here on the session is broken: relay nothing more.
        time.sleep(3600)
        return None

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    sys.exit(main())
