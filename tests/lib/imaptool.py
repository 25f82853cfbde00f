#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""imaptool.py IMAPCMD SUBCOMMAND [ARGS]: act on an IMAP store for the tests.

IMAPCMD is a command speaking IMAP on stdin/stdout with a PREAUTH greeting
(the `imap` script store_new prints), or imap://USER:PASSWORD@HOST:PORT
for a server on the network (plain LOGIN, no TLS: a test's own server).  Mailbox names are taken and printed
raw (modified UTF-7, real hierarchy delimiter).  Python 3 standard library
only.  Subcommands:

  append BOX [-f FLAGS] [-d DATE] [-s SUBJECT] [--file F] [--size N]
                         append a message (generated unless --file, '-' is
                         stdin); FLAGS space separated; DATE an epoch or an
                         IMAP date-time; prints the new UID
  store BOX UIDSET OP FLAGS   OP is +FLAGS, -FLAGS or FLAGS
  expunge BOX UIDSET     \\Deleted and UID EXPUNGE those messages
  move BOX UIDSET DEST   UID MOVE those messages to DEST
  copy BOX UIDSET DEST   UID COPY those messages to DEST
  create|delete|subscribe|unsubscribe BOX...
  rename SRC DST
  list                   "DELIM NAME" per mailbox, sorted
  lsub                   subscribed names, sorted
  count BOX              number of messages
  uids BOX               UIDs, one per line
  flags BOX              "UID FLAG..." per message (\\Recent kept)
  status BOX             UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES
  uidvalidity BOX
  fetch BOX UID          the raw message on stdout
  uid BOX SUBJECT        UID(s) of the message(s) with exactly that Subject
  dump [--canon] [--ref PREFIX] [--keep-recent]
                         canonical text dump of the whole store, no UIDs:
                         mailboxes sorted, then messages sorted by content
                         (BLAKE2b-128 of the message, flags, INTERNALDATE
                         in UTC).  --canon writes names with the delimiter
                         replaced by "/" so stores with different
                         delimiters compare; --ref lists below PREFIX only
                         and strips it.
  script                 read subcommands from stdin, one per line
                         (shell quoting), over one connection

imaptool.py --serve DIR PID: run the subcommands that imaptool-client (its
command line is this one's) hands over through the FIFO DIR/req, each in
a thread with its own connection, so that a test pays for one Python
start, not one per check. Ends when DIR goes or process PID exits.
"""

import hashlib
import imaplib
import io
import os
import re
import select
import shlex
import sys
import threading
import time
import traceback

imaplib._MAXLINE = 10 * 1024 * 1024


def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


class Fail(Exception):
    pass


def check(res, what):
    typ, dat = res
    if typ != 'OK':
        raise Fail('%s: %s %r' % (what, typ, dat))
    return dat


_tok = re.compile(rb'\s*(?:"((?:[^"\\]|\\.)*)"|(\{\d+\})|(NIL)|([^\s()]+))')


def parse_list_item(item):
    """(flags, delim, name) from one LIST/LSUB response item."""
    if isinstance(item, tuple):
        head, lit = item[0], item[1]
    else:
        head, lit = item, None
    m = re.match(rb'\(([^)]*)\)\s*', head)
    if not m:
        raise Fail('bad LIST line %r' % head)
    flags = m.group(1).decode().split()
    rest = head[m.end():]
    m = _tok.match(rest)
    if m.group(1) is not None:
        delim = re.sub(rb'\\(.)', rb'\1', m.group(1)).decode()
    elif m.group(3):
        delim = None
    else:
        delim = m.group(4).decode()
    rest = rest[m.end():]
    m = _tok.match(rest)
    if m.group(1) is not None:
        name = re.sub(rb'\\(.)', rb'\1', m.group(1))
    elif m.group(2):
        name = lit
    else:
        name = m.group(4) or m.group(3)
    return flags, delim, name.decode('utf-8', 'surrogateescape')


class Tool:
    def __init__(self, cmd, out=None, inb=None):
        self.cmd = cmd
        m = re.fullmatch(r'imap://([^:@]+):([^@]*)@([^:]+):(\d+)', cmd)
        if m:
            self.imap = imaplib.IMAP4(m.group(3), int(m.group(4)))
            self.imap.login(m.group(1), m.group(2))
        else:
            self.imap = imaplib.IMAP4_stream(cmd)
        self.selected = None
        self.out = out or sys.stdout
        self.inb = inb or sys.stdin.buffer

    def close(self):
        try:
            self.imap.logout()
        except Exception:
            pass

    def p(self, *a):
        print(*a, file=self.out)

    def select(self, box, readonly=False):
        key = (box, readonly)
        if self.selected == key:
            return
        check(self.imap.select(quote(box), readonly=readonly),
              'SELECT ' + box)
        self.selected = key

    def unselect(self):
        if self.selected is not None:
            # UNSELECT, not CLOSE: CLOSE would expunge \\Deleted mail.
            self.imap.unselect()
            self.selected = None

    def list_all(self, opts=None, ref='', pattern='*'):
        args = ([opts] if opts else []) + [quote(ref), quote(pattern)]
        typ, dat = self.imap._simple_command('LIST', *args)
        if typ != 'OK':
            raise Fail('LIST %r' % dat)
        typ, dat = self.imap._untagged_response(typ, dat, 'LIST')
        res = []
        for item in dat:
            if item is None or item == b')' or item == b'':
                continue
            res.append(parse_list_item(item))
        return res

    # --- subcommands ---
    def c_append(self, args):
        box = args.pop(0)
        flags, date, subject, fname, size = '', None, None, None, None
        while args:
            o = args.pop(0)
            if o == '-f':
                flags = args.pop(0)
            elif o == '-d':
                date = args.pop(0)
            elif o == '-s':
                subject = args.pop(0)
            elif o == '--file':
                fname = args.pop(0)
            elif o == '--size':
                size = int(args.pop(0))
            else:
                raise Fail('append: unknown option ' + o)
        if fname == '-':
            msg = self.inb.read()
        elif fname:
            with open(fname, 'rb') as f:
                msg = f.read()
        else:
            msg = make_message(subject or 'test message', size)
        if date is None:
            d = None
        elif re.fullmatch(r'\d+', date):
            d = imaplib.Time2Internaldate(int(date))
        else:
            d = '"' + date.strip('"') + '"'
        fl = '(' + flags + ')' if flags else None
        self.unselect()
        dat = check(self.imap.append(quote(box), fl, d, msg), 'APPEND')
        m = re.search(rb'APPENDUID \d+ (\d+)', dat[-1] or b'')
        self.p(m.group(1).decode() if m else '?')

    def c_store(self, args):
        box, uids, op, flags = args
        self.select(box)
        check(self.imap.uid('STORE', uids, op.upper() + '.SILENT',
                            '(' + flags + ')'), 'STORE')

    def c_expunge(self, args):
        box, uids = args
        self.select(box)
        check(self.imap.uid('STORE', uids, '+FLAGS.SILENT', '(\\Deleted)'),
              'STORE')
        check(self.imap.uid('EXPUNGE', uids), 'UID EXPUNGE')

    def c_move(self, args):
        box, uids, dest = args
        self.select(box)
        check(self.imap.uid('MOVE', uids, quote(dest)), 'UID MOVE')

    def c_copy(self, args):
        box, uids, dest = args
        self.select(box)
        check(self.imap.uid('COPY', uids, quote(dest)), 'UID COPY')

    def _simple(self, cmd, args):
        self.unselect()
        for b in args:
            check(self.imap._simple_command(cmd, quote(b)), cmd + ' ' + b)

    def c_create(self, args):
        self._simple('CREATE', args)

    def c_delete(self, args):
        self._simple('DELETE', args)

    def c_subscribe(self, args):
        self._simple('SUBSCRIBE', args)

    def c_unsubscribe(self, args):
        self._simple('UNSUBSCRIBE', args)

    def c_rename(self, args):
        src, dst = args
        self.unselect()
        check(self.imap._simple_command('RENAME', quote(src), quote(dst)),
              'RENAME')

    def c_list(self, args):
        for flags, delim, name in sorted(self.list_all(),
                                         key=lambda x: x[2]):
            self.p(delim or 'NIL', name)

    def c_lsub(self, args):
        names = [n for f, d, n in self.list_all('(SUBSCRIBED)')]
        for n in sorted(names):
            self.p(n)

    def status(self, box):
        self.unselect()
        dat = check(self.imap._simple_command(
            'STATUS', quote(box),
            '(UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES)'), 'STATUS')
        typ, dat = self.imap._untagged_response('OK', dat, 'STATUS')
        line = dat[-1]
        if isinstance(line, tuple):
            line = line[-1]
        items = re.findall(rb'([A-Z]+) (\d+)', line.rsplit(b'(', 1)[1])
        return {k.decode(): int(v) for k, v in items}

    def c_status(self, args):
        st = self.status(args[0])
        self.p(' '.join('%s %d' % (k, st[k]) for k in
                        ('UIDVALIDITY', 'UIDNEXT', 'HIGHESTMODSEQ',
                         'MESSAGES')))

    def c_uidvalidity(self, args):
        self.p(self.status(args[0])['UIDVALIDITY'])

    def c_count(self, args):
        self.p(self.status(args[0])['MESSAGES'])

    def fetch(self, box, what, uids='1:*'):
        """[(uid, flags, internaldate, body)] for the messages in UIDS."""
        self.select(box, readonly=True)
        typ, dat = self.imap.uid('FETCH', uids, '(' + what + ')')
        if typ != 'OK':
            raise Fail('FETCH %r' % dat)
        res = []
        cur = None
        for item in dat:
            if isinstance(item, tuple):
                text, body = item[0], item[1]
            else:
                text, body = item, None
            if text is None:
                continue
            if re.match(rb'\d+ \(', text):
                if cur:
                    res.append(cur)
                cur = {'text': text, 'body': body}
            elif cur is not None:
                cur['text'] += b' ' + text
                if body is not None:
                    cur['body'] = body
        if cur:
            res.append(cur)
        out = []
        for c in res:
            t = c['text']
            uid = int(re.search(rb'UID (\d+)', t).group(1))
            m = re.search(rb'FLAGS \(([^)]*)\)', t)
            flags = m.group(1).decode().split() if m else []
            m = re.search(rb'INTERNALDATE "([^"]*)"', t)
            date = m.group(1).decode() if m else None
            out.append((uid, flags, date, c['body']))
        return out

    def c_uids(self, args):
        for uid, f, d, b in sorted(self.fetch(args[0], 'UID')):
            self.p(uid)

    def c_flags(self, args):
        for uid, f, d, b in sorted(self.fetch(args[0], 'UID FLAGS')):
            self.p(uid, *sorted(f))

    def subjects(self, box):
        """[(subject, uid, flags)] for every message of BOX."""
        res = []
        for uid, flags, d, hdr in self.fetch(
                box, 'UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]'):
            m = re.search(rb'(?im)^Subject: *(.*?)\r?$', hdr or b'')
            subj = m.group(1).decode('utf-8', 'replace') if m else ''
            res.append((subj, uid, flags))
        return res

    def c_uid(self, args):
        box, subject = args
        for s, uid, f in sorted(self.subjects(box)):
            if s == subject:
                self.p(uid)

    def c_fetch(self, args):
        box, uid = args
        r = self.fetch(box, 'UID BODY.PEEK[]', uid)
        if len(r) != 1:
            raise Fail('fetch: no message %s' % uid)
        self.out.flush()
        self.out.buffer.write(r[0][3])
        self.out.buffer.flush()

    def c_dump(self, args):
        canon, ref, keep_recent = False, '', False
        while args:
            o = args.pop(0)
            if o == '--canon':
                canon = True
            elif o == '--ref':
                ref = args.pop(0)
            elif o == '--keep-recent':
                keep_recent = True
            else:
                raise Fail('dump: unknown option ' + o)
        boxes = self.list_all()
        subs = set(n for f, d, n in self.list_all('(SUBSCRIBED)'))
        rows = []
        seen = set()
        for flags, delim, name in boxes:
            if not name.startswith(ref):
                continue
            seen.add(name)
            show = name[len(ref):]
            if canon and delim:
                show = show.replace(delim, '/')
            sel = not any(f.lower() in ('\\noselect', '\\nonexistent')
                          for f in flags)
            rows.append((show, name, delim, sel, name in subs))
        lines = []
        for show, name, delim, sel, sub in sorted(rows):
            head = 'mailbox %s' % quote(show)
            if not canon:
                head += ' delim %s' % quote(delim or 'NIL')
            if not sel:
                head += ' noselect'
            if sub:
                head += ' subscribed'
            lines.append(head)
            if not sel:
                continue
            msgs = []
            for uid, flags, date, body in self.fetch(
                    name, 'UID FLAGS INTERNALDATE BODY.PEEK[]'):
                if not keep_recent:
                    flags = [f for f in flags if f.lower() != '\\recent']
                h = hashlib.blake2b(body or b'', digest_size=16).hexdigest()
                msgs.append('  message %s size %d date %s flags (%s)' % (
                    h, len(body or b''), utc(date), ' '.join(sorted(flags))))
            self.unselect()
            lines.extend(sorted(msgs))
        for n in sorted(subs - seen):
            if n.startswith(ref):
                lines.append('subscription-only %s' % quote(n[len(ref):]))
        for line in lines:
            self.p(line)

    def c_script(self, args):
        for line in io.TextIOWrapper(self.inb, encoding='utf-8',
                                     errors='surrogateescape'):
            words = shlex.split(line, comments=True)
            if words:
                self.run(words)

    def run(self, words):
        name = words[0]
        fn = getattr(self, 'c_' + name, None)
        if fn is None:
            raise Fail('unknown subcommand ' + name)
        fn(list(words[1:]))


def utc(date):
    if date is None:
        return 'NIL'
    tt = imaplib.Internaldate2tuple(b'INTERNALDATE "' + date.encode() + b'"')
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.mktime(tt)))


def make_message(subject, size=None):
    h = hashlib.sha256(subject.encode()).hexdigest()[:16]
    head = ('From: Tester <tester@example.org>\r\n'
            'To: Someone <someone@example.org>\r\n'
            'Subject: %s\r\n'
            'Message-ID: <%s@imapsync.test>\r\n'
            'Date: Mon, 01 Jan 2024 12:00:00 +0000\r\n'
            '\r\n' % (subject, h)).encode()
    body = ('Body of %s.\r\n' % subject).encode()
    if size:
        line = (b'x' * 74) + b'\r\n'
        body += line * max(0, (size - len(head) - len(body)) // len(line))
    return head + body


_dryrun_diff = None


def dryrun_diff():
    """dryrun-diff.py, loaded once."""
    global _dryrun_diff
    if _dryrun_diff is None:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'dryrun_diff', os.path.join(os.path.dirname(
                os.path.abspath(__file__)), 'dryrun-diff.py'))
        _dryrun_diff = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_dryrun_diff)
    return _dryrun_diff


def handle(r):
    """Run the request in directory r (args, in) for imaptool-client:
    out, err, and the exit status written to the FIFO r/done."""
    rc = 1
    try:
        with open(os.path.join(r, 'args'), 'rb') as f:
            args = [a.decode('utf-8', 'surrogateescape')
                    for a in f.read().split(b'\0')[:-1]]
        inp = os.path.join(r, 'in')
        inb = open(inp, 'rb') if os.path.exists(inp) else io.BytesIO()
        with open(os.path.join(r, 'out'), 'wb') as outb, \
                open(os.path.join(r, 'err'), 'w') as err, inb:
            out = io.TextIOWrapper(outb, encoding='utf-8',
                                   errors='surrogateescape',
                                   write_through=True)
            t = None
            try:
                if args[:1] == ['--dryrun-diff']:
                    # tests/lib/sync.sh's differential dry run: its
                    # comparison here, without a Python start per sync.
                    rc = dryrun_diff().compare(args[1], args[2:], out)
                    return
                if len(args) < 2:
                    raise Fail('usage: IMAPCMD SUBCOMMAND [ARGS]')
                t = Tool(args[0], out, inb)
                t.run(args[1:])
                rc = 0
            except (Fail, imaplib.IMAP4.error) as e:
                err.write('imaptool: %s\n' % e)
            except Exception:
                err.write(traceback.format_exc())
            finally:
                if t is not None:
                    t.close()
                out.flush()
    finally:
        with open(os.path.join(r, 'done'), 'w') as f:
            f.write('%d\n' % rc)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def serve(d, pid):
    fd = os.open(os.path.join(d, 'req'), os.O_RDWR)
    buf = b''
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            if not alive(pid) or not os.path.isdir(d):
                return 0
            continue
        buf += os.read(fd, 4096)
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            threading.Thread(target=handle, args=(line.decode(),),
                             daemon=True).start()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--serve':
        return serve(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) >= 4 and sys.argv[1] == '--dryrun-diff':
        return dryrun_diff().compare(sys.argv[2], sys.argv[3:], sys.stdout)
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    t = Tool(sys.argv[1])
    try:
        t.run(sys.argv[2:])
    except (Fail, imaplib.IMAP4.error) as e:
        sys.stderr.write('imaptool: %s\n' % e)
        return 1
    except BrokenPipeError:
        # The reader (grep -q) has seen enough.
        sys.stdout = None
        return 0
    finally:
        t.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
