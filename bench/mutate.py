#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""mutate.py IMAPCMD SIDE SEED [FRACTION]: seeded random offline changes to
one store of a synced pair, through a pre-authenticated IMAP command.

In a third of the mailboxes (at least one): flag changes on FRACTION of
the messages (default 0.05, at least one), half as many expunged, half as
many new messages appended. Messages are picked by Subject (unique in a
mailbox, see populate.py), never by UID, and the choices depend only on
SEED, SIDE and the store's contents: two copies of a pair synced by
different tools get exactly the same changes. Flag changes go out as one
UID STORE per (operation, flag), so mutating is quick even on 100 000
messages. Python 3 standard library only.
"""

import imaplib
import random
import re
import sys

from store import mailboxes  # bench/store.py, beside this script

imaplib._MAXLINE = 10 * 1024 * 1024
FLAGS = ('\\Seen', '\\Flagged', '\\Answered', '$Label1')
NOW = 1790000000


def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def check(res, what):
    typ, dat = res
    if typ != 'OK':
        raise RuntimeError('%s: %s %r' % (what, typ, dat))
    return dat


def subjects(imap):
    """Subject -> UID in the selected mailbox."""
    out = {}
    dat = check(imap.uid('FETCH', '1:*',
                         '(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), 'FETCH')
    for item in dat:
        if not isinstance(item, tuple):
            continue
        m = re.search(rb'UID (\d+)', item[0])
        s = re.search(rb'Subject: *(.*?)\r?\n', item[1], re.I)
        if m and s:
            out[s.group(1).decode()] = m.group(1).decode()
    return out


def new_message(rnd, side, seed, box, i):
    lines = ['line %d of a new message, %s' % (j, 'z' * rnd.randint(0, 70))
             for j in range(rnd.randint(2, 100))]
    return ('From: new@example.org\r\nTo: user@example.net\r\n'
            'Subject: new %s %s %s %d\r\n'
            'Message-ID: <new.%s.%s.%s.%d@bench.imapsync.test>\r\n'
            'Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n\r\n' %
            (side, seed, box, i, side, seed, box, i) +
            '\r\n'.join(lines) + '\r\n').encode()


def mutate(cmd, side, seed, frac):
    rnd = random.Random('%s/%s' % (seed, side))
    imap = imaplib.IMAP4_stream(cmd)
    counts = [0, 0, 0]
    try:
        names = mailboxes(imap)
        for box in sorted(rnd.sample(names, max(1, len(names) // 3))):
            check(imap.select(quote(box)), 'SELECT ' + box)
            subj = subjects(imap)
            order = sorted(subj)
            if not order:
                continue
            k = max(1, int(len(order) * frac))
            groups = {}
            for s in rnd.sample(order, k):
                op = rnd.choice(('+FLAGS.SILENT', '-FLAGS.SILENT'))
                groups.setdefault((op, rnd.choice(FLAGS)), []).append(subj[s])
            for (op, flag), uids in sorted(groups.items()):
                check(imap.uid('STORE', ','.join(uids), op, '(%s)' % flag),
                      'STORE')
            gone = ','.join(subj[s] for s in
                            rnd.sample(order, max(1, k // 2)))
            check(imap.uid('STORE', gone, '+FLAGS.SILENT', '(\\Deleted)'),
                  'STORE')
            check(imap.uid('EXPUNGE', gone), 'UID EXPUNGE')
            n_new = max(1, k // 2)
            for i in range(n_new):
                date = imaplib.Time2Internaldate(NOW - rnd.randint(0, 86400))
                check(imap.append(quote(box), '(\\Seen)', date,
                                  new_message(rnd, side, seed, box, i)),
                      'APPEND')
            check(imap.unselect() if hasattr(imap, 'unselect')
                  else imap.close(), 'UNSELECT')
            counts[0] += k
            counts[1] += len(gone.split(','))
            counts[2] += n_new
    finally:
        imap.logout()
    return counts


def main():
    if len(sys.argv) < 4:
        sys.exit('usage: mutate.py IMAPCMD SIDE SEED [FRACTION]')
    frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    c = mutate(sys.argv[1], sys.argv[2], sys.argv[3], frac)
    print('%d flag changes, %d expunged, %d appended' % tuple(c))


if __name__ == '__main__':
    main()
