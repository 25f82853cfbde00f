#!/usr/bin/env python3
"""preauth.py HOST PORT USER PASSWORD: a pre-authenticated IMAP session
on stdin/stdout out of a server that wants a login (bench/run's Cyrus).

Connects, logs in with LOGIN over plain text (loopback only), then greets
its own client with "* PREAUTH [CAPABILITY ...]" (the capabilities the
server gave after the login) and relays every byte both ways unchanged:
what the tools send and receive is the server's own session, COMPRESS
included, minus the login, which every tool would do the same way. A
tunnel command like `doveadm exec imap`, so the tools are configured and
measured (bench/tunnel) alike on either server. Standard library only.
"""

import os
import re
import selectors
import socket
import sys


def fail(msg):
    sys.stderr.write('preauth.py: %s\n' % msg)
    sys.exit(1)


def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 5:
        fail('usage: preauth.py HOST PORT USER PASSWORD')
    host, port, user, password = sys.argv[1:]
    s = socket.create_connection((host, int(port)), 30)
    s.settimeout(None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rd = s.makefile('rb', buffering=0)
    buf = b''

    def line():
        nonlocal buf
        while b'\n' not in buf:
            data = rd.read(65536)
            if not data:
                fail('%s:%s closed the connection during the login' %
                     (host, port))
            buf += data
        ln, _, buf = buf.partition(b'\n')
        return ln + b'\n'

    greeting = line()
    if not greeting.startswith(b'* OK'):
        fail('unexpected greeting %r' % greeting)
    s.sendall(('L LOGIN %s %s\r\n' % (quote(user), quote(password)))
              .encode())
    caps = None
    while True:
        ln = line()
        if ln.startswith(b'L '):
            if not ln.startswith(b'L OK'):
                fail('login refused: %r' % ln)
            m = re.search(rb'\[CAPABILITY ([^\]]*)\]', ln)
            if m:
                caps = m.group(1)
            break
        m = re.match(rb'\* CAPABILITY (.*?)\r?\n$', ln)
        if m:
            caps = m.group(1)
    if caps is None:
        s.sendall(b'C CAPABILITY\r\n')
        while True:
            ln = line()
            m = re.match(rb'\* CAPABILITY (.*?)\r?\n$', ln)
            if m:
                caps = m.group(1)
            if ln.startswith(b'C '):
                break
    os.write(1, b'* PREAUTH [CAPABILITY %s] logged in by preauth.py\r\n' %
             caps)
    if buf:
        os.write(1, buf)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(s, selectors.EVENT_READ, 'out')
    while True:
        for key, _ in sel.select():
            if key.data == 'in':
                data = os.read(0, 65536)
                if not data:
                    s.shutdown(socket.SHUT_WR)
                    sel.unregister(0)
                    continue
                s.sendall(data)
                continue
            data = s.recv(65536)
            if not data:
                return 0
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)
