#!/usr/bin/env python3
"""listen.py: put a stdio relay of tests/lib (unusual.py, rewrite.py...)
in front of an IMAP server that is reached over TCP, for a client that
connects with type = imap (a login, STARTTLS = NO).

  listen.py serve PORTFILE COMMAND...   listen on a free 127.0.0.1 port
      (written to PORTFILE once listening), and for each connection run
      COMMAND with the connection as its stdin and stdout; runs until
      killed
  listen.py connect HOST PORT           stdin/stdout to HOST:PORT and back
      (the COMMAND's own COMMAND, last in the chain)
"""
import os
import selectors
import signal
import socket
import subprocess
import sys


def serve(portfile, cmd):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 0))
    s.listen(8)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # no zombies
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % s.getsockname()[1])
    os.rename(portfile + '.tmp', portfile)
    while True:
        conn, _ = s.accept()
        subprocess.Popen(cmd, stdin=conn, stdout=conn)
        conn.close()


def connect(host, port):
    s = socket.create_connection((host, int(port)), 30)
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


def main():
    if len(sys.argv) > 3 and sys.argv[1] == 'serve':
        return serve(sys.argv[2], sys.argv[3:])
    if len(sys.argv) == 4 and sys.argv[1] == 'connect':
        return connect(sys.argv[2], sys.argv[3])
    sys.stderr.write('usage: listen.py serve PORTFILE COMMAND... | '
                     'listen.py connect HOST PORT\n')
    return 2


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)
