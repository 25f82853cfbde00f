#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""mutate.py SEED ROUND LOCALCMD REMOTECMD: seeded random changes on a pair.

Applies one round of changes to both stores of a pair: new mailboxes,
appends (random flags, keywords, INTERNALDATE), flag changes and expunges.
The choices depend only on SEED, ROUND and the stores' contents (messages
are picked by Subject, which every message written here has unique, never
by UID), so two copies of a pair with the same contents get the same
changes, whatever UIDs their servers gave.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaptool  # noqa: E402

FLAGS = ['\\Seen', '\\Flagged', '\\Answered', '\\Draft', '$Label1',
         '$Forwarded', 'kw_a', 'kw_b']


def message(rnd, subject):
    lines = ['From: Mutant <m%d@example.org>' % rnd.randrange(100),
             'To: someone@example.org',
             'Subject: %s' % subject,
             'Message-ID: <%s@mutate.imapsync.test>' % subject,
             'Date: Tue, 02 Jan 2024 10:00:00 +0000',
             '']
    for _ in range(rnd.randrange(1, 30)):
        lines.append(''.join(rnd.choice('abcdefghij klmnop')
                             for _ in range(rnd.randrange(0, 90))))
    return ('\r\n'.join(lines) + '\r\n').encode()


def flagset(rnd):
    return ' '.join(sorted(rnd.sample(FLAGS, rnd.randrange(0, 4))))


def mutate(rnd, rnd_round, side, tool):
    tag = '%s%d' % (side[0], rnd_round)
    boxes = sorted(n for f, d, n in tool.list_all()
                   if not any(x.lower() in ('\\noselect', '\\nonexistent')
                              for x in f))
    root = tool.list_all(pattern='')
    delim = root[0][1] if root else None
    # New mailboxes, sometimes below an existing one.
    for k in range(rnd.choice((0, 0, 1, 2))):
        name = 'box-%s-%d' % (tag, k)
        parent = rnd.choice(boxes + [None])
        if parent and parent != 'INBOX' and delim:
            name = parent + delim + name
        tool.run(['create', name])
        if rnd.random() < 0.5:
            tool.run(['subscribe', name])
        boxes.append(name)
    boxes.sort()
    # Existing messages, in an order that does not depend on UIDs.
    msgs = []
    for b in boxes:
        for subj, uid, flags in tool.subjects(b):
            msgs.append((b, subj, uid))
        tool.unselect()
    msgs.sort(key=lambda m: (m[0], m[1]))
    # Appends.
    for k in range(rnd.randrange(1, 6)):
        b = rnd.choice(boxes)
        subject = 'msg-%s-%d' % (tag, k)
        date = str(rnd.randrange(1577836800, 1704067200))
        fl = flagset(rnd)
        tool.unselect()
        tool.imap.append(imaptool.quote(b), '(' + fl + ')' if fl else None,
                         imaptool.imaplib.Time2Internaldate(int(date)),
                         message(rnd, subject))
    if not msgs:
        return
    # Flag changes.
    for k in range(min(len(msgs), rnd.randrange(0, 5))):
        b, subj, uid = rnd.choice(msgs)
        op = rnd.choice(('+FLAGS', '-FLAGS', 'FLAGS'))
        tool.run(['store', b, str(uid), op, flagset(rnd)])
    # Expunges (a small share: the sync's safety brake must not trip).
    for k in range(min(len(msgs) // 5, rnd.randrange(0, 3))):
        b, subj, uid = msgs.pop(rnd.randrange(len(msgs)))
        tool.run(['expunge', b, str(uid)])
    tool.unselect()


def main():
    seed, rnd_round, lcmd, rcmd = sys.argv[1:5]
    for side, cmd in (('local', lcmd), ('remote', rcmd)):
        rnd = random.Random('%s/%s/%s' % (seed, rnd_round, side))
        tool = imaptool.Tool(cmd)
        tool.out = sys.stderr
        try:
            mutate(rnd, int(rnd_round), side, tool)
        finally:
            tool.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
