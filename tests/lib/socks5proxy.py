#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small SOCKS5 proxy (RFC 1928, CONNECT only) with optional RFC 1929
username/password authentication, for the tests. It listens on a free
127.0.0.1 port (written to PORTFILE), connects only to loopback targets,
and appends one line per request to LOG: "connect HOST PORT ATYP".

usage: socks5proxy.py PORTFILE LOG [USER PASSWORD]
"""
import os
import socket
import struct
import sys
import threading


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("eof")
        b += c
    return b


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def handle(c, log, creds):
    ver, n = recvn(c, 2)
    methods = recvn(c, n)
    if ver != 5:
        return
    want = 2 if creds else 0
    if want not in methods:
        c.sendall(b"\x05\xff")
        return
    c.sendall(bytes([5, want]))
    if creds:
        v, ulen = recvn(c, 2)
        user = recvn(c, ulen).decode()
        plen = recvn(c, 1)[0]
        pw = recvn(c, plen).decode()
        if (user, pw) != creds:
            c.sendall(b"\x01\x01")
            return
        c.sendall(b"\x01\x00")
    ver, cmd, _, atyp = recvn(c, 4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recvn(c, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recvn(c, 16))
    else:
        host = recvn(c, recvn(c, 1)[0]).decode()
    port = struct.unpack(">H", recvn(c, 2))[0]
    with open(log, "a") as f:
        f.write("connect %s %d %d\n" % (host, port, atyp))
    if cmd != 1 or host not in ("127.0.0.1", "localhost", "::1"):
        c.sendall(b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00")
        return
    try:
        u = socket.create_connection(("127.0.0.1", port))
    except OSError:
        c.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
        return
    c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port))
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    u.close()


def main():
    portfile, log = sys.argv[1], sys.argv[2]
    creds = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else None
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    with open(portfile + ".tmp", "w") as pf:
        pf.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)

    def run(c):
        try:
            handle(c, log, creds)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=run, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
