#!/usr/bin/env python3
"""floor.py SOURCECMD TARGETCMD: the servers' own floor for an initial copy.

Copies every mailbox of the source to the (empty) target with no sync
logic at all: one LIST, then for every mailbox a pipelined SELECT and
`UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])` on the source, all sent
at once; then on the target one CREATE and one LITERAL+ MULTIAPPEND per
mailbox of the same bytes, all sent at once by a writer thread while the
responses are read. No synchronizer can copy the mail in less time than
these two servers take for this work. Prints one line of JSON: the time
of each phase, the messages and bytes, and this process's own CPU time
(so one can see that the floor is not held up by its own client).
Python 3 standard library only.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

LITERAL = re.compile(rb'\{(\d+)\+?\}\r\n$')
FLAGS = re.compile(rb'FLAGS \(([^)]*)\)')
IDATE = re.compile(rb'INTERNALDATE ("[^"]*")')


def session(cmd):
    p = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, bufsize=1 << 20)
    greeting = p.stdout.readline()
    if not greeting.startswith(b'* PREAUTH') and \
            not greeting.startswith(b'* OK'):
        sys.exit('floor: bad greeting from %s: %r' % (cmd, greeting))
    return p


def responses(p, tag):
    """(line, literal) pairs up to the tagged response; raises on NO/BAD."""
    t = tag + b' '
    out = []
    rd = p.stdout
    while True:
        line = rd.readline()
        if not line:
            sys.exit('floor: connection closed waiting for %s' % tag)
        m = LITERAL.search(line)
        if m:
            lit = rd.read(int(m.group(1)))
            rest = rd.readline()
            out.append((line, lit, rest))
            continue
        if line.startswith(t):
            if not line[len(t):].startswith(b'OK'):
                sys.exit('floor: %r' % line)
            return out
        out.append((line, None, None))


def logout(p):
    p.stdin.write(b'z LOGOUT\r\n')
    p.stdin.close()
    p.stdout.read()
    p.wait()


def name_of(line):
    m = re.match(rb'\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (.*)\r\n$', line)
    if m is None or b'\\Noselect' in m.group(1):
        return None
    return m.group(2)


def main():
    fetch_only = len(sys.argv) == 3 and sys.argv[1] == '--fetch-only'
    if len(sys.argv) != 3:
        sys.exit('usage: floor.py SOURCECMD TARGETCMD\n'
                 '       floor.py --fetch-only SOURCECMD')
    src = session(sys.argv[2] if fetch_only else sys.argv[1])
    dst = None if fetch_only else session(sys.argv[2])
    t0 = time.monotonic()
    src.stdin.write(b'l LIST "" "*"\r\n')
    src.stdin.flush()
    boxes = [n for n in (name_of(l) for l, _, _ in responses(src, b'l'))
             if n is not None]
    for i, b in enumerate(boxes):
        src.stdin.write(b's%d SELECT %s\r\nf%d UID FETCH 1:* '
                        b'(FLAGS INTERNALDATE BODY.PEEK[])\r\n' % (i, b, i))
    src.stdin.flush()
    data = []
    nbytes = nmsgs = 0
    for i, b in enumerate(boxes):
        responses(src, b's%d' % i)
        msgs = []
        for line, lit, _ in responses(src, b'f%d' % i):
            if lit is None:
                continue
            fl = FLAGS.search(line).group(1).replace(b'\\Recent', b'')
            msgs.append((b' '.join(fl.split()),
                         IDATE.search(line).group(1), lit))
            nbytes += len(lit)
        nmsgs += len(msgs)
        data.append((b, msgs))
    t1 = time.monotonic()
    if fetch_only:
        logout(src)
        print(json.dumps({'fetch_s': round(t1 - t0, 4), 'messages': nmsgs,
                          'bytes': nbytes}))
        return

    def writer():
        w = dst.stdin
        for i, (b, msgs) in enumerate(data):
            if b.upper() != b'INBOX':
                w.write(b'c%d CREATE %s\r\n' % (i, b))
            if not msgs:
                continue
            w.write(b'a%d APPEND %s' % (i, b))
            for fl, idate, lit in msgs:
                w.write(b' (%s) %s {%d+}\r\n' % (fl, idate, len(lit)))
                w.write(lit)
            w.write(b'\r\n')
        w.flush()

    th = threading.Thread(target=writer)
    th.start()
    for i, (b, msgs) in enumerate(data):
        if b.upper() != b'INBOX':
            responses(dst, b'c%d' % i)
        if msgs:
            responses(dst, b'a%d' % i)
    th.join()
    t2 = time.monotonic()
    logout(src)
    logout(dst)
    cpu = os.times()
    print(json.dumps({'fetch_s': round(t1 - t0, 4),
                      'append_s': round(t2 - t1, 4),
                      'mailboxes': len(boxes), 'messages': nmsgs,
                      'bytes': nbytes,
                      'cpu_s': round(cpu.user + cpu.system, 4)}))


if __name__ == '__main__':
    main()
