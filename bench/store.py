# SPDX-License-Identifier: GPL-3.0-or-later
"""store.py: throwaway Dovecot maildir stores and synced pairs for bench/run.

A store is a directory holding home/Mail (the maildir), dovecot.conf and an
executable `imap` that starts a pre-authenticated session on stdin/stdout,
as `nobody` when we are root (Dovecot refuses root), like the tests'
tests/lib/store.sh. A pair is a directory with local/ and remote/ stores
and state/ for the synchronizers' own state. Pairs are copied with cp -a
(ownership kept) and their scripts rewritten for the new place.
"""

import hashlib
import imaplib
import os
import pwd
import grp
import re
import shutil
import subprocess

imaplib._MAXLINE = 10 * 1024 * 1024

if os.getuid() == 0:
    USER = 'nobody'
    GROUP = grp.getgrgid(pwd.getpwnam('nobody').pw_gid).gr_name
    RUN = 'setpriv --reuid=nobody --regid=%s --clear-groups ' % GROUP
else:
    USER = pwd.getpwuid(os.getuid()).pw_name
    GROUP = grp.getgrgid(os.getgid()).gr_name
    RUN = ''


def write_store_files(d):
    """(Re)write DIR's dovecot.conf and imap script for where DIR is now."""
    for sub in ('home/Mail', 'run', 'state'):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, 'dovecot.conf'), 'w') as f:
        f.write('ssl = no\n'
                'base_dir = %s/run\n'
                'state_dir = %s/state\n'
                'log_path = %s/dovecot.log\n'
                'mail_location = maildir:~/Mail\n'
                'namespace inbox {\n'
                '  inbox = yes\n'
                '  separator = /\n'
                '}\n' % (d, d, d))
    imap = os.path.join(d, 'imap')
    with open(imap, 'w') as f:
        f.write('#!/bin/sh\n'
                'exec %senv -i PATH=/usr/bin:/bin USER=%s HOME=%s/home '
                'doveadm -c %s/dovecot.conf exec imap 2>>%s/imap.log\n' %
                (RUN, USER, d, d, d))
    os.chmod(imap, 0o755)
    return imap


def chown_tree(d):
    if os.getuid() != 0:
        return
    subprocess.run(['chown', '-R', '%s:%s' % (USER, GROUP), d], check=True)


def new_store(d):
    """An empty store in D; returns the path of its imap script."""
    imap = write_store_files(d)
    chown_tree(d)
    return imap


def new_pair(d):
    os.makedirs(os.path.join(d, 'state'), exist_ok=True)
    new_store(os.path.join(d, 'local'))
    new_store(os.path.join(d, 'remote'))


def copy_pair(src, dst):
    """Copy pair SRC to DST (which must not exist), stores and state."""
    subprocess.run(['cp', '-a', src, dst], check=True)
    relocate_pair(dst)


def relocate_pair(dst):
    """Rewrite the scripts of a pair moved or copied to DST."""
    for side in ('local', 'remote'):
        d = os.path.join(dst, side)
        for sub in ('run', 'state'):
            shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
        write_store_files(d)
        chown_tree(os.path.join(d, 'run'))
        chown_tree(os.path.join(d, 'state'))
    for f in ('bytes.local', 'bytes.remote'):
        try:
            os.unlink(os.path.join(dst, f))
        except FileNotFoundError:
            pass


def imap_cmd(pair, side):
    return os.path.join(pair, side, 'imap')


def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def mailboxes(imap):
    typ, dat = imap.list('""', '*')
    if typ != 'OK':
        raise RuntimeError('LIST: %r' % dat)
    names = []
    for item in dat:
        if isinstance(item, tuple):
            names.append(item[1].decode())
            continue
        m = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', item)
        if m is None or b'\\Noselect' in m.group(1):
            continue
        name = m.group(2).decode()
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
        names.append(name)
    return sorted(names)


def index(cmd):
    """SELECT every mailbox once, so copies start with Dovecot's indexes
    built (the first scan of a maildir is nobody's sync work)."""
    imap = imaplib.IMAP4_stream(cmd)
    try:
        for box in mailboxes(imap):
            imap.select(quote(box), readonly=True)
            imap.uid('FETCH', '1:*', '(FLAGS INTERNALDATE RFC822.SIZE)')
    finally:
        imap.logout()


def digest(cmd):
    """(messages, digest) of a store: the mailboxes with each message's
    Subject and flags (not \\Recent), independent of UIDs and order."""
    imap = imaplib.IMAP4_stream(cmd)
    h = hashlib.blake2b(digest_size=8)
    n = 0
    try:
        for box in mailboxes(imap):
            imap.select(quote(box), readonly=True)
            typ, dat = imap.uid('FETCH', '1:*', '(FLAGS BODY.PEEK[HEADER.'
                                'FIELDS (SUBJECT)])')
            items = []
            for item in dat:
                if not isinstance(item, tuple):
                    continue
                fl = re.search(rb'FLAGS \(([^)]*)\)', item[0])
                fl = sorted(f for f in (fl.group(1).split() if fl else [])
                            if f != b'\\Recent')
                s = re.search(rb'Subject: *(.*?)\r?\n', item[1], re.I)
                items.append((s.group(1) if s else b'') + b'\0' +
                             b' '.join(fl))
            items.sort()
            n += len(items)
            h.update(box.encode() + b'\n' + b'\n'.join(items) + b'\n\n')
    finally:
        imap.logout()
    return n, h.hexdigest()
