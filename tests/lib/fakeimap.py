#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted IMAP server for the connection tests: it listens on a free
127.0.0.1 port (written to PORTFILE), takes one connection at a time and
misbehaves as MODE says:

  inject       offers STARTTLS, then sends an untagged response right after
               the STARTTLS tagged OK, in the same segment (CVE-2020-12398)
  preauth      greets with PREAUTH on a plaintext connection
  nostarttls   greets without STARTTLS in its capabilities
  silent       takes any LOGIN, then answers nothing more (CAPABILITY
               aside); the first other command creates PORTFILE.silent

usage: fakeimap.py MODE PORTFILE
"""
import socket
import sys

CAPS = "IMAP4rev1 ENABLE QRESYNC LIST-EXTENDED LIST-STATUS UIDPLUS"


def serve_silent(conn, portfile):
    f = conn.makefile("rb")
    conn.sendall(("* OK [CAPABILITY %s AUTH=PLAIN] fake\r\n" % CAPS).encode())
    silent = False
    while True:
        line = f.readline()
        if not line:
            return
        parts = line.decode("latin-1").split()
        if len(parts) < 2 or silent:
            continue
        tag, cmd = parts[0], parts[1].upper()
        if cmd == "LOGIN":
            conn.sendall(("%s OK [CAPABILITY %s] in\r\n" % (tag, CAPS)).encode())
        elif cmd == "CAPABILITY":
            conn.sendall(("* CAPABILITY %s\r\n%s OK done\r\n" % (CAPS, tag)).encode())
        else:
            silent = True
            open(portfile + ".silent", "w").close()


def serve(conn, mode, portfile):
    if mode == "silent":
        return serve_silent(conn, portfile)
    f = conn.makefile("rb")
    if mode == "preauth":
        conn.sendall(("* PREAUTH [CAPABILITY %s STARTTLS] fake\r\n" % CAPS).encode())
    elif mode == "nostarttls":
        conn.sendall(("* OK [CAPABILITY %s AUTH=PLAIN] fake\r\n" % CAPS).encode())
    else:
        conn.sendall(("* OK [CAPABILITY %s STARTTLS AUTH=PLAIN] fake\r\n" % CAPS).encode())
    while True:
        line = f.readline()
        if not line:
            return
        parts = line.decode("latin-1").split()
        if len(parts) < 2:
            continue
        tag, cmd = parts[0], parts[1].upper()
        if cmd == "STARTTLS" and mode == "inject":
            conn.sendall((tag + " OK Begin TLS negotiation now\r\n"
                          "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n").encode())
            # Whatever comes now is the client's TLS attempt: end it.
            conn.recv(4096)
            return
        if cmd == "LOGOUT":
            conn.sendall(("* BYE bye\r\n%s OK done\r\n" % tag).encode())
            return
        if cmd == "CAPABILITY":
            conn.sendall(("* CAPABILITY %s\r\n%s OK done\r\n" % (CAPS, tag)).encode())
            continue
        conn.sendall((tag + " NO not here\r\n").encode())


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    with open(portfile + ".tmp", "w") as pf:
        pf.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = s.accept()
        try:
            serve(conn, mode, portfile)
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
