#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""populate.py MAILDIR NBOXES NMSGS [SEED]: fill an empty Dovecot maildir
(Maildir++, namespace separator "/") with seeded random messages.

Mailboxes are INBOX and box001..; sizes follow an exponential law of mean
about 4 KiB (200 bytes of floor), like interimap's benchmark data; about
70 % are \\Seen, 20 % \\Answered, 5 % \\Flagged. Every Subject is unique
in its mailbox ("message M in box B"), so bench/mutate.py can pick the
same messages in two stores whatever UIDs the servers gave. The same seed
gives the same bytes. Files are written directly (the fast way to make
100 000 messages); the caller chowns them to the store's user.
"""

import os
import random
import sys
import time

NOW = 1790000000


def box_dir(root, i):
    return root if i == 0 else os.path.join(root, '.box%03d' % i)


def box_name(i):
    return 'INBOX' if i == 0 else 'box%03d' % i


def message(rnd, words, b, m, t):
    size = int(rnd.expovariate(1 / 4096)) + 200
    lines, n = [], 0
    while n < size:
        line = ' '.join(rnd.choices(words, k=rnd.randint(5, 14)))
        lines.append(line)
        n += len(line) + 2
    head = ('From: sender%d@example.org\r\n'
            'To: user@example.net\r\n'
            'Subject: message %d in box %d\r\n'
            'Message-ID: <%d.%d.%d@bench.imapsync.test>\r\n'
            'Date: %s\r\n\r\n' %
            (rnd.randint(0, 99), m, b, b, m, rnd.randint(0, 1 << 30),
             time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(t))))
    return (head + '\r\n'.join(lines) + '\r\n').encode()


def populate(root, nboxes, nmsgs, seed=1):
    rnd = random.Random(seed)
    letters = 'abcdefghijklmnopqrstuvwxyz'
    words = [''.join(rnd.choices(letters, k=rnd.randint(2, 9)))
             for _ in range(3000)]
    total = 0
    for b in range(nboxes):
        d = box_dir(root, b)
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for m in range(nmsgs):
            t = NOW - rnd.randint(0, 86400 * 365)
            data = message(rnd, words, b, m, t)
            flags = ''.join(f for f, p in (('F', .05), ('R', .2), ('S', .7))
                            if rnd.random() < p)
            # The sequence number keeps names unique and in order, so the
            # server's first scan gives UIDs in message order.
            name = '%d.M%06dP%d.bench,S=%d:2,%s' % (NOW, m, b, len(data),
                                                   flags)
            p = os.path.join(d, 'cur', name)
            with open(p, 'wb') as f:
                f.write(data)
            os.utime(p, (t, t))
            total += len(data)
    return total


def populate_one(root, size, seed=1):
    """One message of about SIZE bytes in INBOX (lines of random words, no
    flags); returns its size."""
    rnd = random.Random(seed)
    letters = 'abcdefghijklmnopqrstuvwxyz'
    words = [''.join(rnd.choices(letters, k=rnd.randint(2, 9)))
             for _ in range(3000)]
    for sub in ('cur', 'new', 'tmp'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = NOW - 86400
    head = ('From: sender@example.org\r\nTo: user@example.net\r\n'
            'Subject: message 0 in box 0\r\n'
            'Message-ID: <big.%d@bench.imapsync.test>\r\n'
            'Date: %s\r\n\r\n' %
            (size, time.strftime('%a, %d %b %Y %H:%M:%S +0000',
                                 time.gmtime(t)))).encode()
    parts, n = [head], len(head)
    while n < size:
        line = (' '.join(rnd.choices(words, k=12)) + '\r\n').encode()
        parts.append(line)
        n += len(line)
    data = b''.join(parts)
    p = os.path.join(root, 'cur', '%d.M000000P0.bench,S=%d:2,' % (
        NOW, len(data)))
    with open(p, 'wb') as f:
        f.write(data)
    os.utime(p, (t, t))
    return len(data)


def main():
    if len(sys.argv) < 4:
        sys.exit('usage: populate.py MAILDIR NBOXES NMSGS [SEED]')
    n = populate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                 int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    print('%d bytes' % n)


if __name__ == '__main__':
    main()
