#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""demo-fill.py DIR COUNT: write COUNT sample messages as files in DIR and
print, on stdout, the imaptool.py script that creates the mailboxes and
appends them (with flags and dates), for `make demo`. Seeded: the same
mail every time. Python 3 standard library only."""

import email.utils
import os
import random
import sys

BOXES = [('INBOX', 40), ('Work', 15), ('Work/Projects', 10),
         ('Lists/dovecot', 15), ('Lists/openssh', 8), ('Archive/2023', 10),
         ('Sent', 2)]
PEOPLE = ['Ada Lovelace <ada@example.org>', 'Alan Turing <alan@example.net>',
          'Grace Hopper <grace@example.com>', 'Ken Thompson <ken@example.org>',
          'Barbara Liskov <barbara@example.net>', 'Timo <tss@example.fi>',
          'Damien <djm@example.org>', 'Edsger <ewd@example.nl>']
TOPICS = ['quarterly report', 'lunch on Friday', 'release notes',
          'the build is red again', 'travel plans', 'invoice',
          'meeting minutes', 'QRESYNC question', 'ControlPersist tips',
          'maildir vs mdbox', 'backup schedule', 'conference talk',
          'code review', 'holiday photos', 'new laptop']
WORDS = ('mail sync server laptop offline message folder flag seen answered '
         'draft archive ssh tunnel dovecot imap state database round trip '
         'change both sides stream literal append expunge').split()


def message(rnd, n, box):
    sender = rnd.choice(PEOPLE)
    subject = '%s%s (#%d)' % (rnd.choice(['', 'Re: ', 'Fwd: ']),
                              rnd.choice(TOPICS), n)
    when = 1672531200 + rnd.randrange(0, 700 * 86400)
    body = []
    for _ in range(rnd.randrange(3, 40)):
        body.append(' '.join(rnd.choice(WORDS)
                             for _ in range(rnd.randrange(4, 14))))
    head = ['From: %s' % sender,
            'To: Demo User <demo@example.org>',
            'Subject: %s' % subject,
            'Date: %s' % email.utils.formatdate(when),
            'Message-ID: <demo-%d@imapsync.example>' % n,
            'X-Demo-Folder: %s' % box,
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset=utf-8']
    text = '\r\n'.join(head) + '\r\n\r\n' + '\r\n'.join(body) + '\r\n'
    flags = []
    if rnd.random() < 0.7:
        flags.append('\\Seen')
    if rnd.random() < 0.1:
        flags.append('\\Flagged')
    if rnd.random() < 0.15:
        flags.append('\\Answered')
    if rnd.random() < 0.05:
        flags.append('$Important')
    return text.encode(), ' '.join(flags), when


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(2024)
    os.makedirs(out, exist_ok=True)
    total = sum(w for _, w in BOXES)
    for box, _ in BOXES:
        if box != 'INBOX':
            print('create %s' % box)
            print('subscribe %s' % box)
    n = 0
    for box, weight in BOXES:
        for _ in range(max(1, count * weight // total)):
            n += 1
            data, flags, when = message(rnd, n, box)
            path = os.path.join(out, '%04d.eml' % n)
            with open(path, 'wb') as f:
                f.write(data)
            line = 'append %s --file %s -d %d' % (box, path, when)
            if flags:
                line += " -f '%s'" % flags
            print(line)


if __name__ == '__main__':
    main()
