#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""floor.py [--batch=N] [--overlap] SOURCECMD TARGETCMD: the servers' own
floor for an initial copy (--fetch-only SOURCECMD: the FETCH alone).

Copies every mailbox of the source to the (empty) target with no sync
logic at all: one LIST, then for every mailbox a pipelined SELECT and
`UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])` on the source, all sent
at once; then on the target one CREATE and one LITERAL+ MULTIAPPEND per
mailbox of the same bytes, all sent at once by a writer thread while the
responses are read. No synchronizer can copy the mail in less time than
these two servers take for this work. Prints one line of JSON: the time
of each phase, the messages and bytes, and this process's own CPU time
(so one can see that the floor is not held up by its own client).
--batch splits the MULTIAPPENDs, --overlap appends each mailbox while the
next ones are being fetched: variants to find what the servers do best.
Python 3 standard library only.
"""

import argparse
import json
import os
import queue
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
    ap = argparse.ArgumentParser(description='the servers\' floor for an '
                                 'initial copy')
    ap.add_argument('--fetch-only', action='store_true',
                    help='only the FETCH, from SOURCECMD (no target)')
    ap.add_argument('--batch', type=int, default=0,
                    help='messages per MULTIAPPEND (default: a mailbox)')
    ap.add_argument('--overlap', action='store_true',
                    help='append each mailbox once its FETCH is in, while '
                    'the next ones are fetched (default: fetch all first)')
    ap.add_argument('source')
    ap.add_argument('target', nargs='?')
    a = ap.parse_args()
    if (a.target is None) != a.fetch_only:
        ap.error('give SOURCECMD TARGETCMD, or --fetch-only SOURCECMD')
    src = session(a.source)
    dst = None if a.fetch_only else session(a.target)
    work = queue.Queue()
    tags = queue.Queue()

    def writer():
        w = dst.stdin
        while True:
            item = work.get()
            if item is None:
                break
            i, b, msgs = item
            if b.upper() != b'INBOX':
                w.write(b'c%d CREATE %s\r\n' % (i, b))
                tags.put(b'c%d' % i)
            step = a.batch or len(msgs) or 1
            for j in range(0, len(msgs), step):
                w.write(b'a%d.%d APPEND %s' % (i, j, b))
                for fl, idate, lit in msgs[j:j + step]:
                    w.write(b' (%s) %s {%d+}\r\n' % (fl, idate, len(lit)))
                    w.write(lit)
                w.write(b'\r\n')
                tags.put(b'a%d.%d' % (i, j))
            if a.overlap:
                w.flush()
        w.flush()
        tags.put(None)

    def reader():
        while True:
            tag = tags.get()
            if tag is None:
                break
            responses(dst, tag)

    t0 = time.monotonic()
    if dst is not None:
        threads = [threading.Thread(target=writer),
                   threading.Thread(target=reader)]
        if a.overlap:
            for th in threads:
                th.start()
    src.stdin.write(b'l LIST "" "*"\r\n')
    src.stdin.flush()
    boxes = [n for n in (name_of(line) for line, _, _ in responses(src, b'l'))
             if n is not None]
    for i, b in enumerate(boxes):
        src.stdin.write(b's%d SELECT %s\r\nf%d UID FETCH 1:* '
                        b'(FLAGS INTERNALDATE BODY.PEEK[])\r\n' % (i, b, i))
    src.stdin.flush()
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
        if dst is not None:
            work.put((i, b, msgs))
    t1 = time.monotonic()
    logout(src)
    res = {'fetch_s': round(t1 - t0, 4), 'mailboxes': len(boxes),
           'messages': nmsgs, 'bytes': nbytes}
    if dst is not None:
        work.put(None)
        if not a.overlap:
            for th in threads:
                th.start()
        for th in threads:
            th.join()
        t2 = time.monotonic()
        logout(dst)
        res.update({'append_s': round(t2 - t1, 4),
                    'total_s': round(t2 - t0, 4)})
    cpu = os.times()
    res['cpu_s'] = round(cpu.user + cpu.system, 4)
    print(json.dumps(res))


if __name__ == '__main__':
    main()
