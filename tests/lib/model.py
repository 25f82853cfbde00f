#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""model.py: model-based random test of a two-way IMAP sync (issue 21).

A model of both stores, written from what a user expects of a two-way
sync and from nothing in the engine, and random user actions done on two
real Dovecot stores (the local and the remote of a pair) between syncs.
After each sync the model says what both stores must hold; the stores are
read back and compared.

  model.py run [OPTIONS] SEED...      run these seeds, report each
  model.py soak [OPTIONS]             run seeds until --seconds or --seeds
  model.py replay [OPTIONS] FILE...   run the operation list in each
                                      FILE (as --shrink writes it; the
                                      cases in tests/model/; a line
                                      "# options: --conflicts" in a
                                      FILE turns that on for it)

Options:
  --rounds N        rounds of user actions and a sync (default 4)
  --ops N           user actions per side and round, at most (default 12)
  --sides both|local|remote|one   who acts: both sides in every round,
                    one side only, or one side picked per round
                    (default both)
  --no-renames      no mailbox renamed (interimap cannot carry renames)
  --no-deletes      no mailbox deleted
  --no-subscriptions   no subscription changed (every mailbox stays
                    unsubscribed)
  --no-dry-run      no differential --dry-run before each sync (by
                    default, unless SYNC_DRYRUN=0, one runs, must leave
                    both stores as they were and say what the sync then
                    does)
  --disjoint        the two sides never act on the same message in the
                    same round (no flag change on one side of a message
                    the other side moves, for one)
  --conflicts       also make cross-side conflicts on one message: an
                    expunge on one side and a move or a flag change on the
                    other (see CONFLICTS below)
  --kills P         probability that a sync is interrupted (default 0.3)
  --kill-mode sig|exit|mix   SIGKILL at a random instant, or
                    IMAPSYNC_DEBUG_EXIT_AT=k (deterministic, with the
                    tests' build BUILD/tests/imapsync-hooks), or both
                    (default mix; interimap: sig)
  --tool T          imapsync (default: $IMAPSYNC_BUILD/imapsync),
                    interimap (implies --no-renames --no-deletes and
                    --kill-mode sig), or a path
  --compare T       run every sequence with tool T too (e.g. interimap,
                    which implies what --tool interimap does, for both)
                    and count its results apart
  --shrink          shrink a failing sequence (delta debugging) and print
                    the shortest one found with a reproducer command
  --keep DIR        keep the stores of failing runs under DIR
  --seconds S, --seeds N, --first-seed N   (soak) the budget, the count
                    of sequences and the first seed
  --tap             (run) print TAP, one test per seed
  --todo "SEED..."  (with --tap) these seeds (or replayed files, by name
                    without .ops) are known to fail: TODO
  --todo-why TEXT   the reason given with TODO (default "issue 21")
  --flag-rule union|perflag   what merge_flags() does when both sides
                    changed a message's flags (default perflag, issue 18;
                    union for interimap, with --tool or --compare)
  --paranoid        also check that each store is what the user's actions
                    made it before each sync (a check of the test itself)
  -v                say what is done

What the oracle expects (class Model): a message is where the side that
moved it last put it; a change made on one side only is carried to the
other; a copy exists twice on both; an expunge on one side removes the
message on both; flags changed on one side only are that side's, changed
on both sides are merged by merge_flags() (per flag from the flags of the
last sync: FLAG_RULE);
a mailbox created, renamed, deleted or (un)subscribed on one side is so
on both (deleted with the messages in it: the other side did not touch
it in that round).  Renames and deletions are done as a mail client does them:
subscriptions follow (unsubscribe the old name, subscribe the new).

The generator avoids what has no single answer a user would give: the
same message moved on both sides, a mailbox deleted on one side and
touched on the other, a mailbox family renamed/deleted/created in on both
sides, a subscription changed on both sides.  CONFLICTS (--conflicts
only): a message expunged on one side and moved on the other survives
where it was moved (back where it was too), with that side's flags;
expunged on one side and its flags changed on the other, it is gone.
And what no tool can tell: a message moved on one side whose copies
there are new in two mailboxes (or differ in flags), while the other
side changes its flags: which of them was moved is on neither server.

An operation list (what --shrink prints and replay reads) has one action
a line: "append SIDE BOX TOKEN FLAGS", "flag SIDE TOKEN BOX N +|- FLAG",
"expunge SIDE TOKEN BOX N", "copy|move SIDE TOKEN BOX N DEST", "create
SIDE BOX PARENT|- SUBSCRIBED", "delete SIDE BOX", "rename SIDE BOX NEWNAME",
"sub SIDE BOX 0|1", and "sync KILLS" ends a round ("()" for none, else
"sig:F" for SIGKILL after F times a usual run, "exit:K" for
IMAPSYNC_DEBUG_EXIT_AT=K, comma-separated: a run each, then one to the
end).  A mailbox is named by the name it was created with, whatever its
renames; a message by its token (its X-Model-Id header), the mailbox it
is in and N, its rank among the copies of that token there.  An action
that does not apply (once others are cut away) is skipped.

Each failure is counted: duplicates (a message more often on a side than
the model has it), lost (less often), misplaced (right count, wrong
mailbox), flags, mailboxes (names or subscriptions), divergent (the two
stores differ from each other), sync errors (a final run exiting non-zero),
not idle (a second sync that is not a no-op).
"""

import collections
import fcntl
import imaplib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

imaplib._MAXLINE = 10 * 1024 * 1024

SIDES = ('local', 'remote')
FLAGS = ('\\Seen', '\\Flagged', '\\Answered', '\\Draft', '$Label1',
         '$Forwarded', 'kw_a', 'kw_b')
FLAG_RULE = 'perflag'
CHANGE_RE = re.compile(r'(Added|Removed|Updated|Created|Deleted|Renamed|'
                       r'Subscribe|Unsubscribe|Expunged|Copied|Moved)')


def merge_flags(base, a, b):
    """The flags of a message both sides may have changed since BASE.

    The one place that says what a flag conflict gives.  'perflag' (issue
    18, the default): each flag as the side that changed it since BASE
    left it; a flag both changed was changed the same way (it can only be
    set or unset), and a flag neither changed stays as in BASE.  'union'
    (interimap): one side changed, that side's; both changed, the union
    of both lists."""
    if a == base:
        return b
    if b == base:
        return a
    if FLAG_RULE == 'union':
        return a | b
    res = set(base)
    for f in set(FLAGS) | a | b:
        for side in (a, b):
            if (f in side) != (f in base):
                if f in side:
                    res.add(f)
                else:
                    res.discard(f)
                break
    return frozenset(res)


# The wire, as --debug logs it (MODEL_TOOL_ARGS=--debug): no change.
DEBUG_RE = re.compile(r'(local|remote) (<-|->) ')


class Skip(Exception):
    """The operation does not apply (its message or mailbox is not there,
    or it would make a conflict the generator avoids)."""


# --- the model ---------------------------------------------------------

class View:
    """One side's stores as the model sees it.

    boxes: box id -> [full name, subscribed]; msgs: instance -> [token,
    box id, flags].  A box id is the name the mailbox was created with
    (unique in a sequence); an instance is one message in one place
    (a copy is a new instance with the same token)."""

    def __init__(self):
        self.boxes = {}
        self.msgs = {}

    def copy(self):
        v = View()
        v.boxes = {k: list(x) for k, x in self.boxes.items()}
        v.msgs = {k: list(x) for k, x in self.msgs.items()}
        return v

    def by_name(self, name):
        for bid, (n, s) in self.boxes.items():
            if n == name:
                return bid
        return None

    def expected(self):
        """(names, subscribed names, {name: Counter((token, flags))})."""
        names = set(n for n, s in self.boxes.values())
        subs = set(n for n, s in self.boxes.values() if s)
        content = {n: collections.Counter() for n in names}
        for tok, bid, fl in self.msgs.values():
            content[self.boxes[bid][0]][(tok, frozenset(fl))] += 1
        return names, subs, content


def family(name):
    return name.split('/')[0]


class Model:
    """The oracle: the converged state (base) and each side's view of the
    current round; sync() merges them as a user expects."""

    def __init__(self, conflicts=False, disjoint=False):
        self.conflicts = conflicts
        self.disjoint = disjoint
        self.base = View()
        self.base.boxes['INBOX'] = ['INBOX', False]
        self.view = [self.base.copy(), self.base.copy()]
        self.next_iid = 1
        self.new_round()

    def new_round(self):
        # touch[side][instance]: what that side did to the message;
        # btouch[side][box id]: 'content', 'mbox', 'sub', 'delete';
        # ftouch[side]: families whose mailboxes were created in, renamed
        # or deleted.
        self.touch = [collections.defaultdict(set) for _ in SIDES]
        self.btouch = [collections.defaultdict(set) for _ in SIDES]
        self.ftouch = [set(), set()]

    # Resolving the references an operation carries.
    def box(self, s, bid):
        if bid not in self.view[s].boxes:
            raise Skip('no mailbox %s' % bid)
        if 'delete' in self.btouch[1 - s][bid]:
            raise Skip('mailbox %s deleted on the other side' % bid)
        return bid

    def instances(self, s, tok, bid):
        return sorted(i for i, (t, b, f) in self.view[s].msgs.items()
                      if t == tok and b == bid)

    def inst(self, s, tok, bid, k):
        lst = self.instances(s, tok, bid)
        if k >= len(lst):
            raise Skip('no message %d in %s' % (tok, bid))
        return lst[k]

    def twins(self, iid):
        """iid and the instances no user can tell from it: copies of the
        same message in the same mailbox when the round began.  Which of
        them a sync paired with which is the engine's choice, so what one
        side does to any of them meets what the other does to any."""
        b = self.base.msgs.get(iid)
        if b is None:
            return [iid]
        return [j for j, (t, bid, f) in self.base.msgs.items()
                if t == b[0] and bid == b[1]]

    def token(self, iid):
        for v in (self.base,) + tuple(self.view):
            if iid in v.msgs:
                return v.msgs[iid][0]
        return None

    def ambiguous(self, a, tok):
        """Whether side a moved a message with token tok this round and
        which of the new instances of tok there is which vanished one is
        on neither server: the new ones in more than one mailbox, the
        vanished (moved or expunged) from more than one, or the new ones
        with different flags. (Copies side by side with the same flags
        no one can tell apart: any of them is the one moved.)"""
        b, moved = self.base.msgs, False
        new, gone, flags = set(), set(), set()
        for iid, (t, bid, fl) in self.view[a].msgs.items():
            if t != tok:
                continue
            if iid not in b:
                new.add(bid)
                flags.add(fl)
            elif 'move' in self.touch[a].get(iid, ()):
                moved = True
                new.add(bid)
                flags.add(fl)
                gone.add(b[iid][1])
        for iid, (t, bid, fl) in b.items():
            if t == tok and iid not in self.view[a].msgs:
                gone.add(bid)
        return moved and (len(new) > 1 or len(gone) > 1 or len(flags) > 1)

    def unplaceable(self, a, tok):
        """Whether side a's moves of tok are ambiguous() and the other
        side changed the flags of one of the vanished: that change has no
        place a sync could find (the engine expunges the vanished and
        copies the new ones; a user would want it on the one moved). The
        generator avoids it: it has no answer a tool could give."""
        if not self.ambiguous(a, tok):
            return False
        for j, kinds in self.touch[1 - a].items():
            if 'flags' not in kinds or self.token(j) != tok:
                continue
            for t in self.twins(j):
                if self.touch[a].get(t, set()) & {'move', 'expunge'}:
                    return True
        return False

    def msg_ok(self, s, iid, kind):
        """Whether side s may do KIND to instance iid, given what the
        other side did to it this round."""
        other = set()
        for j in self.twins(iid):
            other |= self.touch[1 - s].get(j, set())
        if kind == 'copysrc':
            return True
        if self.disjoint and other - {'copysrc'}:
            return False
        if kind == 'flags':
            return 'expunge' not in other or self.conflicts
        if kind == 'expunge':
            return other <= {'expunge', 'copysrc'} or self.conflicts
        if kind == 'move':
            if 'move' in other:
                return False
            return 'expunge' not in other or self.conflicts
        raise ValueError(kind)

    def apply(self, op):
        """Apply one user operation to the model (Skip if it does not
        apply); returns what the store runner needs: (kind, side, ...)
        with instances resolved."""
        kind, s = op[0], SIDES.index(op[1])
        v = self.view[s]
        if kind == 'append':
            bid, tok, flags = op[2], op[3], frozenset(op[4])
            self.box(s, bid)
            iid = self.new_iid()
            v.msgs[iid] = [tok, bid, flags]
            self.btouch[s][bid].add('content')
            return ('append', s, v.boxes[bid][0], tok, flags, iid)
        if kind in ('flag', 'expunge', 'copy', 'move'):
            tok, bid, k = op[2], op[3], op[4]
            self.box(s, bid)
            iid = self.inst(s, tok, bid, k)
            mk = {'flag': 'flags', 'copy': 'copysrc'}.get(kind, kind)
            if not self.msg_ok(s, iid, mk):
                raise Skip('conflict on message %d' % tok)
            saved = ({k: list(x) for k, x in v.msgs.items()},
                     set(self.touch[s][iid]))
            if kind == 'flag':
                sign, flag = op[5], op[6]
                fl = set(v.msgs[iid][2])
                if sign == '+':
                    fl.add(flag)
                else:
                    fl.discard(flag)
                v.msgs[iid][2] = frozenset(fl)
                res = ('flag', s, v.boxes[bid][0], iid, sign, flag)
            elif kind == 'expunge':
                del v.msgs[iid]
                res = ('expunge', s, v.boxes[bid][0], iid)
            else:
                dst = self.box(s, op[5])
                if dst == bid:
                    raise Skip('same mailbox')
                if kind == 'copy':
                    new = self.new_iid()
                    v.msgs[new] = [tok, dst, v.msgs[iid][2]]
                    res = ('copy', s, v.boxes[bid][0], iid,
                           v.boxes[dst][0], new)
                else:
                    v.msgs[iid][1] = dst
                    res = ('move', s, v.boxes[bid][0], iid,
                           v.boxes[dst][0])
            self.touch[s][iid].add(mk)
            if self.unplaceable(0, tok) or self.unplaceable(1, tok):
                v.msgs, self.touch[s][iid] = saved
                raise Skip('no place for a flag change on message %d' % tok)
            if kind in ('copy', 'move'):
                self.btouch[s][dst].add('content')
            self.btouch[s][bid].add('content')
            return res
        if kind == 'create':
            bid, parent = op[2], op[3]
            if bid in v.boxes or any(bid in x.boxes for x in self.view) \
                    or bid in self.base.boxes:
                raise Skip('mailbox %s exists' % bid)
            if parent:
                self.box(s, parent)
                if parent == 'INBOX':
                    raise Skip('no child of INBOX')
                pname = v.boxes[parent][0]
                if family(pname) in self.ftouch[1 - s]:
                    raise Skip('family changed on the other side')
                name = pname + '/' + bid
                self.ftouch[s].add(family(pname))
                self.btouch[s][parent].add('mbox')
            else:
                name = bid
            v.boxes[bid] = [name, bool(op[4])]
            self.btouch[s][bid].add('mbox')
            return ('create', s, name, bool(op[4]))
        if kind in ('rename', 'delete', 'sub'):
            bid = self.box(s, op[2])
            if bid == 'INBOX':
                raise Skip('INBOX')
            name = v.boxes[bid][0]
            sub = [b for b, (n, x) in v.boxes.items()
                   if n == name or n.startswith(name + '/')]
            o = self.btouch[1 - s]
            if kind == 'sub':
                if any(o[b] & {'sub', 'mbox'} for b in sub):
                    raise Skip('changed on the other side')
                v.boxes[bid][1] = bool(op[3])
                self.btouch[s][bid].add('sub')
                return ('sub', s, name, bool(op[3]))
            if family(name) in self.ftouch[1 - s] or \
                    any(o[b] & {'sub', 'mbox'} for b in sub):
                raise Skip('family changed on the other side')
            if kind == 'delete':
                if len(sub) > 1:
                    raise Skip('has children')
                if o[bid]:
                    raise Skip('touched on the other side')
                gone = [i for i, m in v.msgs.items() if m[1] == bid]
                for i in gone:
                    del v.msgs[i]
                subscribed = v.boxes[bid][1]
                del v.boxes[bid]
                self.ftouch[s].add(family(name))
                self.btouch[s][bid] |= {'delete', 'mbox'}
                return ('delete', s, name, subscribed)
            # rename: to a new name at the same level.
            new = op[3]
            if v.by_name(new) is not None or any(
                    x.by_name(new) for x in self.view):
                raise Skip('name taken')
            if '/' in name:
                new = name.rsplit('/', 1)[0] + '/' + new
            subs_before = {}
            for b in sub:
                n = v.boxes[b][0]
                subs_before[n] = v.boxes[b][1]
                v.boxes[b][0] = new + n[len(name):]
                self.btouch[s][b].add('mbox')
            self.ftouch[s].add(family(name))
            self.ftouch[s].add(family(new))
            return ('rename', s, name, new, subs_before)
        raise ValueError(kind)

    def new_iid(self):
        self.next_iid += 1
        return self.next_iid - 1

    def sync(self):
        """Merge both views into the new converged state."""
        base, a, b = self.base, self.view[0], self.view[1]
        res = View()
        for bid in set(base.boxes) | set(a.boxes) | set(b.boxes):
            if bid in base.boxes:
                if bid not in a.boxes or bid not in b.boxes:
                    continue
                bn, bs = base.boxes[bid]
                name = a.boxes[bid][0] if a.boxes[bid][0] != bn \
                    else b.boxes[bid][0]
                sub = a.boxes[bid][1] if a.boxes[bid][1] != bs \
                    else b.boxes[bid][1]
                res.boxes[bid] = [name, sub]
            else:
                res.boxes[bid] = list((a.boxes.get(bid) or
                                       b.boxes.get(bid)))
        for iid in set(base.msgs) | set(a.msgs) | set(b.msgs):
            ma, mb = a.msgs.get(iid), b.msgs.get(iid)
            if iid not in base.msgs:
                m = ma or mb
                res.msgs[iid] = list(m)
                continue
            tok, bb, bf = base.msgs[iid]
            if ma and mb:
                box = ma[1] if ma[1] != bb else mb[1]
                res.msgs[iid] = [tok, box, merge_flags(bf, ma[2], mb[2])]
            elif ma or mb:
                # Expunged on one side, moved on the other (--conflicts):
                # it survives where it was moved, back where it was too
                # (it left and came back: a new UID there, and a user's
                # move as much as any).
                m, s = (ma, 0) if ma else (mb, 1)
                if m[1] != bb or 'move' in self.touch[s].get(iid, ()):
                    res.msgs[iid] = list(m)
        for iid, m in res.msgs.items():
            assert m[1] in res.boxes, (iid, m)
        self.base = res
        self.view = [res.copy(), res.copy()]
        self.new_round()


# --- the generator -----------------------------------------------------

class Gen:
    """Random user actions for one seed; every action is checked against
    a scratch model, so the list it makes applies as generated."""

    def __init__(self, seed, opts):
        self.rnd = random.Random(seed)
        self.o = opts
        self.tok = 0
        self.nbox = 0
        self.pending = []

    def name(self, prefix):
        self.nbox += 1
        return '%s%d' % (prefix, self.nbox)

    def append(self, m, side, bid):
        self.tok += 1
        fl = sorted(self.rnd.sample(FLAGS, self.rnd.choice((0, 0, 1, 2))))
        return ('append', side, bid, self.tok, fl)

    def setup(self, m):
        """Round 0: mailboxes and messages on local, then the first
        sync."""
        ops = []
        boxes = ['INBOX']
        for _ in range(self.rnd.randint(2, 4)):
            bid = self.name('m')
            parent = None
            if len(boxes) > 1 and self.rnd.random() < 0.3:
                parent = self.rnd.choice(boxes[1:])
            ops.append(('create', 'local', bid, parent,
                        int(self.rnd.random() < 0.6 and
                            not self.o.no_subscriptions)))
            boxes.append(bid)
        for _ in range(self.rnd.randint(8, 20)):
            ops.append(self.append(m, 'local', self.rnd.choice(boxes)))
        return ops

    def kill(self):
        r = self.rnd
        kills = []
        while r.random() < (self.o.kills if not kills else 0.3):
            mode = self.o.kill_mode
            if mode == 'mix':
                mode = r.choice(('sig', 'exit'))
            if mode == 'sig':
                kills.append('sig:%.3f' % r.random())
            else:
                kills.append("exit:%d" % r.randint(1, 12))
            if len(kills) >= 2:
                break
        return ('sync', kills)

    def round(self, m, rnd_no):
        r = self.rnd
        sides = {'both': [0, 1], 'local': [0], 'remote': [1],
                 'one': [r.randrange(2)]}[self.o.sides]
        ops = []
        self.pending = []
        budget = {s: r.randint(1, self.o.ops) for s in sides}
        moved = {s: [] for s in sides}     # (tok, box id) moved this round
        tries = 0
        while any(budget.values()) and tries < 400:
            tries += 1
            s = r.choice([x for x in sides if budget[x]])
            op = self.one(m, s, moved[s])
            if op is None:
                continue
            try:
                m.apply(op)
            except Skip:
                continue
            if op[0] == 'move':
                moved[s].append((op[2], op[5]))
            ops.append(op)
            budget[s] -= 1
        return ops

    def one(self, m, s, moved):
        r = self.rnd
        if self.pending:
            op = self.pending.pop(0)
            if op[1] == SIDES[s]:
                return op
            self.pending = []
        side = SIDES[s]
        v = m.view[s]
        boxes = sorted(v.boxes)
        msgs = sorted(v.msgs.items())
        w = [('append', 3), ('flag', 4), ('expunge', 2), ('copy', 1),
             ('move', 6), ('moveback', 4), ('create', 1), ('sub', 1)]
        if self.o.no_subscriptions:
            w.remove(('sub', 1))
        if not self.o.no_renames:
            w.append(('rename', 1))
        if not self.o.no_deletes:
            w.append(('delete', 1))
        kind = r.choices([k for k, x in w], [x for k, x in w])[0]
        if kind == 'append':
            return self.append(m, side, r.choice(boxes))
        if kind == 'create':
            parent = None
            if r.random() < 0.3:
                parent = r.choice(boxes)
            return ('create', side, self.name('m'), parent,
                    int(r.random() < 0.5 and not self.o.no_subscriptions))
        if kind == 'sub':
            bid = r.choice(boxes)
            return ('sub', side, bid, int(not v.boxes[bid][1]))
        if kind == 'rename':
            return ('rename', side, r.choice(boxes), self.name('r'))
        if kind == 'delete':
            # Mostly an empty mailbox, as a user would leave it.
            empty = [b for b in boxes
                     if not any(x[1] == b for x in v.msgs.values())]
            pool = empty if empty and r.random() < 0.7 else boxes
            return ('delete', side, r.choice(pool))
        if kind == 'moveback' and moved:
            # A message moved this round: on again, back, or elsewhere.
            tok, bid = r.choice(moved)
            lst = m.instances(s, tok, bid)
            if not lst:
                return None
            return ('move', side, tok, bid, 0, r.choice(boxes))
        if not msgs:
            return None
        iid, (tok, bid, fl) = r.choice(msgs)
        k = m.instances(s, tok, bid).index(iid)
        if kind == 'flag':
            f = r.choice(FLAGS)
            return ('flag', side, tok, bid, k, '-' if f in fl else '+', f)
        if kind == 'expunge':
            return ('expunge', side, tok, bid, k)
        if kind in ('move', 'moveback'):
            # Sometimes a few messages of one mailbox moved together (the
            # others queued for the next calls).
            dst = r.choice(boxes)
            if r.random() < 0.3:
                more = [x for x in msgs if x[1][1] == bid and x[0] != iid]
                for i2, (t2, b2, f2) in r.sample(more, min(len(more),
                                                           r.randint(1, 4))):
                    self.pending.append(
                        ('move', side, t2, bid,
                         m.instances(s, t2, bid).index(i2), dst))
            return ('move', side, tok, bid, k, dst)
        if kind == 'copy':
            return ('copy', side, tok, bid, k, r.choice(boxes))
        return None

    def sequence(self):
        m = Model(self.o.conflicts, self.o.disjoint)
        ops = self.setup(m)
        for op in ops:
            m.apply(op)
        ops.append(('sync', []))
        m.sync()
        for rn in range(self.o.rounds):
            rops = self.round(m, rn)
            ops.extend(rops)
            ops.append(self.kill())
            m.sync()
        return ops


def op_text(op):
    return ' '.join(fmt(x) for x in op)


def fmt(x):
    if x is None:
        return '-'
    if isinstance(x, (list, tuple)):
        return ','.join(x) if x else '()'
    return str(x)


def parse_op(line):
    w = line.split()
    k = w[0]

    def lst(x):
        return [] if x == '()' else x.split(',')

    if k == 'sync':
        return ('sync', lst(w[1]) if len(w) > 1 else [])
    if k == 'append':
        return (k, w[1], w[2], int(w[3]), lst(w[4]))
    if k in ('expunge',):
        return (k, w[1], int(w[2]), w[3], int(w[4]))
    if k in ('copy', 'move'):
        return (k, w[1], int(w[2]), w[3], int(w[4]), w[5])
    if k == 'flag':
        return (k, w[1], int(w[2]), w[3], int(w[4]), w[5], w[6])
    if k == 'create':
        return (k, w[1], w[2], None if w[3] == '-' else w[3], int(w[4]))
    if k == 'sub':
        return (k, w[1], w[2], int(w[3]))
    if k == 'rename':
        return (k, w[1], w[2], w[3])
    if k == 'delete':
        return (k, w[1], w[2])
    raise ValueError('unknown operation: ' + line)


# --- the real stores ---------------------------------------------------

def quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


class Pair:
    """Two throwaway Dovecot stores (local maildir, remote mdbox, "/" as
    the delimiter, pre-authenticated `imap` scripts like store.sh's) and
    a config for the tool."""

    def __init__(self, top):
        self.dir = tempfile.mkdtemp(prefix='imapsync-model.', dir=top)
        os.chmod(self.dir, 0o755)
        self.imap = [self.store('local', 'maildir:~/Mail'),
                     self.store('remote', 'mdbox:~/mdbox')]
        self.db = os.path.join(self.dir, 'state.db')
        self.conf = os.path.join(self.dir, 'config')
        with open(self.conf, 'w') as f:
            f.write('database = %s\n\n' % self.db)
            for i, side in enumerate(SIDES):
                f.write('[%s]\ntype = tunnel\ncommand = %s\n'
                        'null-stderr = YES\n\n' % (side, self.imap[i]))
        os.makedirs(os.path.join(self.dir, 'logs'))
        self.runs = 0

    def store(self, name, loc):
        d = os.path.join(self.dir, name)
        for sub in ('home', 'run', 'state'):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(d, 'dovecot.conf'), 'w') as f:
            f.write('ssl = no\nbase_dir = %s/run\nstate_dir = %s/state\n'
                    'log_path = %s/dovecot.log\nmail_location = %s\n'
                    'namespace inbox {\n  inbox = yes\n  separator = /\n'
                    '  prefix =\n}\n' % (d, d, d, loc))
        if os.getuid() == 0:
            run = 'setpriv --reuid=nobody --regid=%s --clear-groups ' % \
                grp_of_nobody()
            user = 'nobody'
        else:
            run, user = '', os.environ.get('USER', 'user')
        # Dovecot's imap binary itself where it is found, as store.sh
        # does: `doveadm exec imap` costs two more starts of doveadm.
        imap = 'doveadm -c %s/dovecot.conf exec imap' % d
        for b in IMAP_BINS:
            if os.access(b, os.X_OK):
                imap = '%s -c %s/dovecot.conf' % (b, d)
                break
        script = os.path.join(d, 'imap')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho $$ >>%s/sessions\nexec %senv -i '
                    'PATH=/usr/bin:/bin USER=%s HOME=%s/home %s '
                    '2>>%s/imap.log\n' % (d, run, user, d, imap, d))
        os.chmod(script, 0o755)
        if os.getuid() == 0:
            subprocess.run(['chown', '-R', 'nobody:' + grp_of_nobody(), d],
                           check=True)
        return script

    def wait_sessions(self):
        """Wait until every server session started so far has ended (a
        killed client leaves its session finishing what it had read)."""
        for c in self.imap:
            f = os.path.join(os.path.dirname(c), 'sessions')
            if not os.path.exists(f):
                continue
            for p in open(f).read().split():
                for _ in range(200):
                    if not running(int(p)):
                        break
                    time.sleep(0.05)
            # Those are done: a later wait need not look at their PIDs
            # (which another process may have by then).
            open(f, 'w').close()
        # A session forked but not yet started when the client was killed
        # holds the client's lock until it starts (a loaded machine makes
        # that long enough for the next run to find it locked).
        lock = self.db + '.lock'
        if os.path.exists(lock):
            with open(lock) as fd:
                for _ in range(200):
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(fd, fcntl.LOCK_UN)
                        break
                    except OSError:
                        time.sleep(0.05)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


_nobody_grp = None


IMAP_BINS = ('/usr/lib/dovecot/imap', '/usr/libexec/dovecot/imap',
             '/usr/local/libexec/dovecot/imap')


def running(pid):
    """True while process PID runs. A zombie has ended: a session whose
    client was killed is reparented to PID 1, which may reap it only
    seconds later (kill(pid, 0) still finds it meanwhile)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return True
    return state not in ('Z', 'X')


def grp_of_nobody():
    global _nobody_grp
    if _nobody_grp is None:
        _nobody_grp = subprocess.run(['id', '-gn', 'nobody'],
                                     capture_output=True, text=True,
                                     check=True).stdout.strip()
    return _nobody_grp


class Harness(Exception):
    """The test itself went wrong (a store refused a user action)."""


class Session:
    """One IMAP session on a store: the user's actions and the read-back."""

    def __init__(self, cmd):
        self.imap = imaplib.IMAP4_stream(cmd)
        self.sel = None

    def close(self):
        try:
            self.imap.logout()
        except Exception:
            pass

    def ok(self, res, what):
        typ, dat = res
        if typ != 'OK':
            raise Harness('%s: %s %r' % (what, typ, dat))
        return dat

    def select(self, box, ro=False):
        if self.sel != (box, ro):
            self.ok(self.imap.select(quote(box), readonly=ro), 'SELECT ' + box)
            self.sel = (box, ro)

    def unselect(self):
        if self.sel:
            self.imap.unselect()
            self.sel = None

    def simple(self, cmd, *args):
        self.unselect()
        return self.ok(self.imap._simple_command(cmd, *map(quote, args)),
                       cmd + ' ' + ' '.join(args))

    def append(self, box, tok, flags, seed):
        self.unselect()
        r = random.Random(tok * 7919 + seed)
        body = ['From: Model <model@example.org>',
                'To: user@example.org',
                'Subject: model message %d' % tok,
                'Message-ID: <model-%d.%d@imapsync.test>' % (tok, seed),
                'Date: Tue, 02 Jan 2024 10:00:00 +0000',
                'X-Model-Id: %d' % tok, '']
        for _ in range(r.randrange(1, 20)):
            body.append('x' * r.randrange(0, 70))
        msg = ('\r\n'.join(body) + '\r\n').encode()
        fl = '(' + ' '.join(flags) + ')' if flags else None
        date = imaplib.Time2Internaldate(1704189600 + tok * 61)
        dat = self.ok(self.imap.append(quote(box), fl, date, msg), 'APPEND')
        m = re.search(rb'APPENDUID \d+ (\d+)', dat[-1] or b'')
        if not m:
            raise Harness('APPEND: no APPENDUID')
        return int(m.group(1))

    def store(self, box, uid, sign, flag):
        self.select(box)
        self.ok(self.imap.uid('STORE', str(uid), sign + 'FLAGS.SILENT',
                              '(' + flag + ')'), 'STORE')

    def expunge(self, box, uid):
        self.select(box)
        self.store(box, uid, '+', '\\Deleted')
        self.ok(self.imap.uid('EXPUNGE', str(uid)), 'UID EXPUNGE')

    def copymove(self, cmd, box, uid, dst):
        self.select(box)
        self.imap.untagged_responses.pop('COPYUID', None)
        dat = self.ok(self.imap.uid(cmd, str(uid), quote(dst)), cmd)
        texts = [d for d in dat if isinstance(d, bytes)]
        texts += self.imap.untagged_responses.pop('COPYUID', []) or []
        for t in texts:
            m = re.search(rb'(?:COPYUID )?\d+ \d+ (\d+)\]?', t)
            if m:
                return int(m.group(1))
        raise Harness('%s: no COPYUID in %r' % (cmd, texts))

    def read(self):
        """(names, subscribed, {name: {uid: (token, flags)}})."""
        self.unselect()
        names, subs = set(), set()
        for opts in ('', '(SUBSCRIBED) '):
            typ, dat = self.imap._simple_command(
                'LIST', *(([opts.strip()] if opts else []) + ['""', '"*"']))
            self.ok((typ, dat), 'LIST')
            typ, dat = self.imap._untagged_response(typ, dat, 'LIST')
            for item in dat:
                if not item:
                    continue
                if isinstance(item, tuple):
                    head, lit = item
                else:
                    head, lit = item, None
                m = re.match(rb'\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', head)
                if not m:
                    continue
                fl = m.group(1).decode().lower().split()
                nm = lit if lit is not None else m.group(2)
                nm = nm.decode()
                if nm.startswith('"'):
                    nm = re.sub(r'\\(.)', r'\1', nm[1:-1])
                if opts:
                    subs.add(nm)
                elif not ({'\\noselect', '\\nonexistent'} & set(fl)):
                    names.add(nm)
        content = {}
        for n in sorted(names):
            self.select(n, True)
            typ, dat = self.imap.uid(
                'FETCH', '1:*',
                '(UID FLAGS BODY.PEEK[HEADER.FIELDS (X-Model-Id)])')
            self.ok((typ, dat), 'FETCH ' + n)
            msgs = {}
            for item in dat:
                if not isinstance(item, tuple):
                    continue
                uid = int(re.search(rb'UID (\d+)', item[0]).group(1))
                m = re.search(rb'FLAGS \(([^)]*)\)', item[0])
                fl = frozenset(x for x in (m.group(1).decode().split()
                                           if m else [])
                               if x.lower() != '\\recent')
                m = re.search(rb'(?i)X-Model-Id: *(\d+)', item[1] or b'')
                msgs[uid] = (int(m.group(1)) if m else -1, fl)
            content[n] = msgs
            self.unselect()
        return names, subs, content


class Runner:
    """Runs an operation list on a fresh pair and checks every round
    against the model.  Returns a Result."""

    def __init__(self, opts, seed):
        self.o = opts
        self.seed = seed

    def tool_cmd(self, pair):
        t = self.o.tool
        env = dict(os.environ,
                   XDG_CONFIG_HOME=os.path.join(pair.dir, 'xdg-config'),
                   XDG_DATA_HOME=os.path.join(pair.dir, 'xdg-data'))
        cmd = [t, '--config=' + pair.conf]
        if not is_interimap(t):
            cmd.append('--force')
            # MODEL_TOOL_ARGS="--debug": more in each run's log (--keep).
            cmd += os.environ.get('MODEL_TOOL_ARGS', '').split()
        return cmd, env

    def run_tool(self, pair, kill=None, dry=False):
        """One run; KILL 'sig:F' (SIGKILL after F times the usual run
        time) or 'exit:K'; DRY: with --dry-run.  Returns (status, log
        text, killed)."""
        cmd, env = self.tool_cmd(pair)
        if dry:
            cmd.append('--dry-run')
        pair.runs += 1
        self.res.syncs += 1
        log = os.path.join(pair.dir, 'logs', 'run%d' % pair.runs)
        if kill and kill.startswith('exit:'):
            env['IMAPSYNC_DEBUG_EXIT_AT'] = kill[5:]
            # Only the tests' build (IMAPSYNC_TEST_HOOKS) obeys it.
            hooks = os.path.join(os.path.dirname(cmd[0]), 'tests',
                                 'imapsync-hooks')
            if os.path.exists(hooks):
                cmd[0] = hooks
        t0 = time.monotonic()
        with open(log, 'w') as out:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env)
            killed = False
            if kill and kill.startswith('sig:'):
                delay = float(kill[4:]) * self.usual
                try:
                    p.wait(delay)
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGKILL)
                    killed = True
            try:
                rc = p.wait(300)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                rc = p.wait()
                self.res.fail('hang', 'the tool ran for 300 s')
        if kill and kill.startswith('exit:') and rc == 99:
            killed = True
        if not killed:
            dt = time.monotonic() - t0
            self.usual = 0.7 * self.usual + 0.3 * dt
        with open(log, errors='replace') as f:
            text = f.read()
        if killed:
            self.res.kills += 1
            pair.wait_sessions()
        return rc, text, killed

    def run(self, ops):
        self.res = Result(self.seed)
        self.usual = 0.5
        pair = Pair(self.o.tmp)
        self.res.dir = pair.dir
        m = Model(self.o.conflicts, self.o.disjoint)
        uids = [{}, {}]     # side -> instance -> (mailbox name, uid)
        sess = [None, None]
        rno = 0
        try:
            for op in ops:
                if op[0] != 'sync':
                    try:
                        act = m.apply(op)
                    except Skip:
                        continue
                    s = act[1]
                    if sess[s] is None:
                        sess[s] = Session(pair.imap[s])
                    self.act(sess[s], act, uids[s])
                    self.res.ops += 1
                    continue
                for s in (0, 1):
                    if sess[s]:
                        sess[s].close()
                        sess[s] = None
                if self.o.paranoid:
                    self.check_views(pair, m, rno)
                m.sync()
                if not self.sync_round(pair, m, op[1], uids, rno):
                    break
                rno += 1
        except Harness as e:
            self.res.fail('harness', str(e))
        finally:
            for s in (0, 1):
                if sess[s]:
                    sess[s].close()
        self.res.rounds = rno
        if (self.res.failed or os.environ.get('MODEL_KEEP_ALL')) and self.o.keep:
            dst = os.path.join(self.o.keep, 'seed-%s' % self.seed)
            shutil.rmtree(dst, ignore_errors=True)
            shutil.move(pair.dir, dst)
            self.res.dir = dst
        else:
            pair.remove()
        return self.res

    def act(self, se, act, uids):
        kind, seed = act[0], self.seed if isinstance(self.seed, int) else 0
        if kind == 'append':
            _, s, box, tok, flags, iid = act
            uids[iid] = (box, se.append(box, tok, sorted(flags), seed))
        elif kind == 'flag':
            _, s, box, iid, sign, flag = act
            se.store(box, uids[iid][1], sign, flag)
        elif kind == 'expunge':
            _, s, box, iid = act
            se.expunge(box, uids.pop(iid)[1])
        elif kind == 'copy':
            _, s, box, iid, dst, new = act
            uids[new] = (dst, se.copymove('COPY', box, uids[iid][1], dst))
        elif kind == 'move':
            _, s, box, iid, dst = act
            uids[iid] = (dst, se.copymove('MOVE', box, uids[iid][1], dst))
        elif kind == 'create':
            _, s, name, sub = act
            se.simple('CREATE', name)
            if sub:
                se.simple('SUBSCRIBE', name)
        elif kind == 'sub':
            _, s, name, sub = act
            se.simple('SUBSCRIBE' if sub else 'UNSUBSCRIBE', name)
        elif kind == 'delete':
            _, s, name, sub = act
            if sub:
                se.simple('UNSUBSCRIBE', name)
            se.simple('DELETE', name)
            for i in [i for i, (b, u) in uids.items() if b == name]:
                del uids[i]
        elif kind == 'rename':
            # As a mail client does: the subscriptions follow.
            _, s, name, new, subs = act
            for n, sub in subs.items():
                if sub:
                    se.simple('UNSUBSCRIBE', n)
            se.simple('RENAME', name, new)
            for n, sub in subs.items():
                if sub:
                    se.simple('SUBSCRIBE', new + n[len(name):])
            for i, (b, u) in list(uids.items()):
                if b == name or b.startswith(name + '/'):
                    uids[i] = (new + b[len(name):], u)

    def check_views(self, pair, m, rno):
        """The test's own check: each store is what the user made it."""
        got = self.read_both(pair)
        for s in (0, 1):
            names, subs, content = m.view[s].expected()
            gn, gs, gc = got[s]
            have = {n: collections.Counter(c.values()) for n, c in gc.items()}
            if (names, subs, content) != (gn, gs, have):
                raise Harness('round %d: %s is not what the user made it: '
                              '%r\n%r' % (rno, SIDES[s],
                                           (names, subs, content),
                                           (gn, gs, have)))

    def read_both(self, pair):
        out = []
        for s in (0, 1):
            se = Session(pair.imap[s])
            try:
                out.append(se.read())
            finally:
                se.close()
        return out

    def sync_round(self, pair, m, kills, uids, rno):
        res = self.res
        for k in kills:
            rc, text, killed = self.run_tool(pair, k)
            if not killed and rc != 0:
                res.fail('sync', 'round %d: a run exits %d:\n%s' %
                         (rno, rc, tail(text)))
                return False
        dry = None
        if self.o.dry_diff and not is_interimap(self.o.tool):
            # The differential dry run (as tests/lib/sync.sh's): it
            # writes nothing and says what the real run then does.
            before = self.read_both(pair)
            drc, dtext, _ = self.run_tool(pair, dry=True)
            if self.read_both(pair) != before:
                res.fail('dry-run', 'round %d: the dry run changed a '
                         'store' % rno)
            dry = os.path.join(pair.dir, 'logs', 'run%d' % pair.runs)
        rc, text, killed = self.run_tool(pair)
        if dry is not None and rc == drc == 0:
            d = subprocess.run(
                [sys.executable, os.path.join(os.path.dirname(
                    os.path.abspath(__file__)), 'dryrun-diff.py'), dry,
                 os.path.join(pair.dir, 'logs', 'run%d' % pair.runs)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                universal_newlines=True)
            if d.returncode != 0:
                res.fail('dry-run', 'round %d: the dry run did not say '
                         'what the sync did:\n%s' % (rno, d.stdout))
        elif dry is not None and drc != rc:
            res.fail('dry-run', 'round %d: the dry run exits %d, the sync '
                     '%d:\n%s' % (rno, drc, rc, tail(dtext)))
        if rc != 0:
            # Counted; then, as a user would, run it again and look at
            # what the stores hold.
            res.fail('sync', 'round %d: the sync exits %d:\n%s' %
                     (rno, rc, tail(text)))
            rc, text, killed = self.run_tool(pair)
            self.compare(m, self.read_both(pair), rno,
                         'after the sync failed and ran again (exit %d)' % rc)
            return False
        got = self.read_both(pair)
        if not self.compare(m, got, rno, 'after the sync'):
            return False
        rc, text, killed = self.run_tool(pair)
        changes = [x for x in text.splitlines() if CHANGE_RE.search(x)
                   and not DEBUG_RE.match(x)]
        if rc != 0 or changes:
            res.fail('idle', 'round %d: a second sync exits %d and logs:'
                     '\n%s' % (rno, rc, '\n'.join(changes[:20]) or
                               tail(text)))
            return False
        got2 = self.read_both(pair)
        if not self.compare(m, got2, rno, 'after a second sync'):
            return False
        self.assign_uids(pair, m, got2, uids)
        return True

    def assign_uids(self, pair, m, got, uids):
        """The instances' UIDs, afresh (the sync gave new ones). A message
        is known by its mailbox, token and flags; where two instances
        share all three (a copy beside its original), nothing tells them
        apart, on either side, and which local one is which remote one is
        the sync's choice, not the user's: the local UIDs are given in
        order and the remote ones follow the database's pairs. Giving
        both in order would make the model take two unpaired messages
        for one and expect a move on one side and a flag change on the
        other to meet on a message the sync never paired."""
        free = [collections.defaultdict(list) for _ in (0, 1)]
        for s in (0, 1):
            uids[s].clear()
            for name, msgs in got[s][2].items():
                for uid, (tok, fl) in sorted(msgs.items()):
                    free[s][(name, tok, fl)].append(uid)
        pairs = self.db_pairs(pair)
        for iid, (tok, bid, fl) in sorted(m.base.msgs.items()):
            name = m.base.boxes[bid][0]
            key = (name, tok, frozenset(fl))
            luid = free[0][key].pop(0)
            uids[0][iid] = (name, luid)
            ruid = pairs.get((name, luid))
            if ruid not in free[1][key]:
                ruid = free[1][key][0]
            free[1][key].remove(ruid)
            uids[1][iid] = (name, ruid)

    @staticmethod
    def db_pairs(pair):
        """{(mailbox, local UID): remote UID} from the tool's database
        (interimap's tables, which imapsync keeps), or {} without one."""
        if not os.path.exists(pair.db):
            return {}
        db = sqlite3.connect('file:%s?mode=ro' % pair.db, uri=True)
        try:
            rows = db.execute('SELECT m.mailbox, p.lUID, p.rUID FROM '
                              'mapping p JOIN mailboxes m ON m.idx = '
                              'p.idx').fetchall()
        finally:
            db.close()
        out = {}
        for name, luid, ruid in rows:
            if isinstance(name, bytes):
                name = name.decode('utf-8', 'replace')
            out[(name.replace('\0', '/'), luid)] = ruid
        return out

    def compare(self, m, got, rno, when):
        """Both stores against the model; counts what differs."""
        res = self.res
        names, subs, content = m.base.expected()
        bad = []
        for s in (0, 1):
            gn, gs, gc = got[s]
            side = SIDES[s]
            if gn != names:
                bad.append(('mailboxes', '%s mailboxes: extra %s, missing %s'
                            % (side, sorted(gn - names), sorted(names - gn))))
            if gs != subs:
                bad.append(('mailboxes', '%s subscriptions: extra %s, '
                            'missing %s' % (side, sorted(gs - subs),
                                            sorted(subs - gs))))
            # Per token, everywhere: duplicates and losses.
            want_t, have_t = collections.Counter(), collections.Counter()
            for c in content.values():
                for (tok, fl), n in c.items():
                    want_t[tok] += n
            for msgs in gc.values():
                for tok, fl in msgs.values():
                    have_t[tok] += 1
            for tok in set(want_t) | set(have_t):
                d = have_t[tok] - want_t[tok]
                if d > 0:
                    res.dups += d
                    bad.append(('duplicates', '%s: message %d %d time(s) '
                                'instead of %d' % (side, tok, have_t[tok],
                                                   want_t[tok])))
                elif d < 0:
                    res.lost += -d
                    bad.append(('lost', '%s: message %d %d time(s) instead '
                                'of %d' % (side, tok, have_t[tok],
                                           want_t[tok])))
            # Per mailbox: the place and the flags.
            for n in sorted(names & gn):
                want = content[n]
                have = collections.Counter(gc[n].values())
                if want == have:
                    continue
                wt = collections.Counter(t for t, f in want.elements())
                ht = collections.Counter(t for t, f in have.elements())
                what = 'misplaced' if wt != ht else 'flags'
                bad.append((what, '%s %s: expected %s, found %s' % (
                    side, n, show(want - have), show(have - want))))
        if got[0][0] != got[1][0] or got[0][1] != got[1][1] or \
                {n: collections.Counter(c.values())
                 for n, c in got[0][2].items()} != \
                {n: collections.Counter(c.values())
                 for n, c in got[1][2].items()}:
            res.divergent += 1
            bad.append(('divergent', 'the two stores differ'))
        for what, text in bad:
            res.fail(what, 'round %d, %s: %s' % (rno, when, text))
        return not bad


def show(counter):
    return '[' + ', '.join(
        '%d(%s)%s' % (t, ' '.join(sorted(f)), '' if n == 1 else ' x%d' % n)
        for (t, f), n in sorted(counter.items(), key=lambda x: x[0][0])) + ']'


def tail(text, n=15):
    return '\n'.join(text.splitlines()[-n:])


def is_interimap(t):
    return os.path.basename(t).startswith('interimap')


class Result:
    def __init__(self, seed):
        self.seed = seed
        self.ops = self.syncs = self.kills = self.rounds = 0
        self.dups = self.lost = self.divergent = 0
        self.kinds = collections.Counter()
        self.msgs = []
        self.dir = None

    @property
    def failed(self):
        return bool(self.kinds)

    def fail(self, kind, text):
        self.kinds[kind] += 1
        self.msgs.append('%s: %s' % (kind, text))


# --- shrinking ---------------------------------------------------------

def shrink(opts, seed, ops, res, log):
    """Delta debugging over the operation list: the shortest list found
    that still fails with one of the same kinds of failure."""
    want = set(res.kinds) - {'harness'}

    def fails(cand):
        r = Runner(opts, seed).run(cand + [last])
        return bool(want & set(r.kinds))

    # Cut after the failing round.
    nsync = 0
    for i, op in enumerate(ops):
        if op[0] == 'sync':
            if nsync == res.rounds:
                ops = ops[:i + 1]
                break
            nsync += 1
    last = ops[-1]
    cur = ops[:-1]
    tests = 0
    n = 2
    while len(cur) >= 2:
        size = (len(cur) + n - 1) // n
        chunks = [cur[i:i + size] for i in range(0, len(cur), size)]
        reduced = False
        for i in range(len(chunks)):
            cand = [x for j, c in enumerate(chunks) if j != i for x in c]
            tests += 1
            if fails(cand):
                cur = cand
                n = max(n - 1, 2)
                reduced = True
                log('  shrink: %d operations (%d tries)' % (len(cur), tests))
                break
        if not reduced:
            if n >= len(cur):
                break
            n = min(len(cur), n * 2)
    # Kills that are not needed go too.
    final = cur + [last]
    for i, op in enumerate(final):
        if op[0] == 'sync' and op[1]:
            cand = final[:i] + [('sync', [])] + final[i + 1:]
            tests += 1
            if want & set(Runner(opts, seed).run(cand).kinds):
                final = cand
    return final, tests


# --- the commands ------------------------------------------------------

class Opts:
    rounds = 4
    ops = 12
    sides = 'both'
    no_renames = False
    no_deletes = False
    no_subscriptions = False
    disjoint = False
    conflicts = False
    kills = 0.3
    kill_mode = 'mix'
    tool = None
    shrink = False
    keep = None
    seconds = None
    seeds = None
    first_seed = 1
    tap = False
    verbose = False
    tmp = None
    flag_rule = None
    paranoid = False
    compare = None
    todo = ()
    todo_why = 'issue 21'
    # As tests/lib/sync.sh's: SYNC_DRYRUN=0 turns it off too.
    dry_diff = os.environ.get('SYNC_DRYRUN', '1') != '0'


def parse(argv):
    o = Opts()
    args = []
    it = iter(argv)
    for a in it:
        if a == '--rounds':
            o.rounds = int(next(it))
        elif a == '--ops':
            o.ops = int(next(it))
        elif a == '--sides':
            o.sides = next(it)
            if o.sides not in ('both', 'local', 'remote', 'one'):
                sys.exit('model.py: --sides both|local|remote|one')
        elif a == '--no-renames':
            o.no_renames = True
        elif a == '--no-dry-run':
            o.dry_diff = False
        elif a == '--no-deletes':
            o.no_deletes = True
        elif a == '--no-subscriptions':
            o.no_subscriptions = True
        elif a == '--disjoint':
            o.disjoint = True
        elif a == '--conflicts':
            o.conflicts = True
        elif a == '--kills':
            o.kills = float(next(it))
        elif a == '--kill-mode':
            o.kill_mode = next(it)
        elif a == '--tool':
            o.tool = next(it)
        elif a == '--flag-rule':
            o.flag_rule = next(it)
        elif a == '--shrink':
            o.shrink = True
        elif a == '--keep':
            o.keep = os.path.abspath(next(it))
        elif a == '--seconds':
            o.seconds = float(next(it))
        elif a == '--seeds':
            o.seeds = int(next(it))
        elif a == '--first-seed':
            o.first_seed = int(next(it))
        elif a == '--paranoid':
            o.paranoid = True
        elif a == '--todo':
            o.todo = next(it).split()
        elif a == '--todo-why':
            o.todo_why = next(it)
        elif a == '--compare':
            o.compare = next(it)
        elif a == '--tap':
            o.tap = True
        elif a == '-v':
            o.verbose = True
        elif a.startswith('-') and a != '-':
            sys.exit('model.py: unknown option %s' % a)
        else:
            args.append(a)
    build = os.environ.get('IMAPSYNC_BUILD') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build')
    if o.tool in (None, 'imapsync'):
        o.tool = os.path.join(os.path.abspath(build), 'imapsync')
    elif '/' not in o.tool:
        o.tool = shutil.which(o.tool) or o.tool
    if o.compare and '/' not in o.compare:
        o.compare = shutil.which(o.compare) or o.compare
    if is_interimap(o.tool) or (o.compare and is_interimap(o.compare)):
        # interimap cannot carry a rename, and stops at a mailbox deleted
        # on one side; it has no IMAPSYNC_DEBUG_EXIT_AT.
        o.kill_mode = 'sig'
        o.no_renames = o.no_deletes = True
    o.flag_rule_given = o.flag_rule is not None
    if o.flag_rule is None:
        o.flag_rule = 'union' if is_interimap(o.tool) else 'perflag'
    if o.flag_rule not in ('union', 'perflag'):
        sys.exit('model.py: --flag-rule union|perflag')
    global FLAG_RULE
    FLAG_RULE = o.flag_rule
    o.tmp = os.environ.get('TMPDIR', '/tmp')
    if o.keep:
        os.makedirs(o.keep, exist_ok=True)
    return o, args


def flags_of(o):
    """The options that change the sequences, for a reproducer."""
    f = ['--rounds', str(o.rounds), '--ops', str(o.ops)]
    if o.sides != 'both':
        f += ['--sides', o.sides]
    if o.no_renames:
        f.append('--no-renames')
    if o.no_deletes:
        f.append('--no-deletes')
    if o.no_subscriptions:
        f.append('--no-subscriptions')
    if o.conflicts:
        f.append('--conflicts')
    if o.disjoint:
        f.append('--disjoint')
    if o.kills != Opts.kills:
        f += ['--kills', str(o.kills)]
    if o.kill_mode != Opts.kill_mode:
        f += ['--kill-mode', o.kill_mode]
    return f


def report(o, res, ops, out, log):
    me = 'python3 tests/lib/model.py'
    name = 'seed %s' % res.seed
    if getattr(o, 'replaying', None):
        name = os.path.basename(o.replaying)
    out('%s: %d round(s), %d operation(s), %d sync(s), %d kill(s): %s'
        % (name, res.rounds, res.ops, res.syncs, res.kills,
           'ok' if not res.failed else 'FAILED ' + ', '.join(
               '%s %d' % kv for kv in sorted(res.kinds.items()))))
    if not res.failed:
        return
    for line in res.msgs[:12]:
        out('  ' + line.replace('\n', '\n    '))
    if len(res.msgs) > 12:
        out('  ... %d more' % (len(res.msgs) - 12))
    if getattr(o, 'replaying', None):
        out('  reproduce: %s replay %s %s' % (me, ' '.join(flags_of(o)),
                                              o.replaying))
    elif isinstance(res.seed, int):
        out('  reproduce: %s run %s %d' % (me, ' '.join(flags_of(o)),
                                           res.seed))
    if res.dir and o.keep:
        out('  stores kept in %s' % res.dir)
    if o.shrink:
        log('  shrinking %d operations...' % len(ops))
        small, tries = shrink(o, res.seed, ops, res, log)
        fname = os.path.join(o.keep or o.tmp, 'model-seed-%s.ops' % res.seed)
        with open(fname, 'w') as f:
            f.write('# model.py operations, seed %s\n' % res.seed)
            for op in small:
                f.write(op_text(op) + '\n')
        r2 = Runner(o, res.seed).run(small)
        out('  shortest failing list (%d operations, %d tries; it %s '
            'again):' % (len(small), tries,
                         'fails' if r2.failed else 'did NOT fail'))
        for op in small:
            out('    ' + op_text(op))
        for line in r2.msgs[:6]:
            out('    => ' + line.replace('\n', '\n       '))
        out('  reproduce: %s replay %s %s' % (me, ' '.join(flags_of(o)),
                                              fname))


def main(argv):
    if len(argv) < 1 or argv[0] not in ('run', 'soak', 'replay'):
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[0]
    o, args = parse(argv[1:])
    if not os.path.exists(o.tool) and not shutil.which(o.tool):
        print('1..0 # SKIP %s not found' % o.tool)
        return 0

    def out(s):
        print(('# ' + s.replace('\n', '\n# ')) if o.tap else s, flush=True)

    def log(s):
        if o.verbose:
            out(s)

    totals = Result('all')
    totals2 = Result('compared')
    nfail2 = 0
    nseq = 0
    nfail = 0
    failed = []

    def one(seed, ops, label=None):
        nonlocal nseq, nfail
        t0 = time.monotonic()
        res = Runner(o, seed).run(ops)
        nseq += 1
        for k in ('ops', 'syncs', 'kills', 'dups', 'lost', 'divergent'):
            setattr(totals, k, getattr(totals, k) + getattr(res, k))
        totals.kinds.update(res.kinds)
        if res.failed:
            nfail += 1
            failed.append(res.seed)
        if o.tap:
            label = label or 'seed %s, %d rounds' % (seed, o.rounds + 1)
            print('%s %d - %s: the stores converge%s' % (
                'not ok' if res.failed else 'ok', nseq, label,
                ' # TODO %s' % o.todo_why if str(seed) in o.todo or
                label in o.todo else ''), flush=True)
        if res.failed or o.verbose or cmd != 'soak':
            report(o, res, ops, out, log)
        if o.compare:
            nonlocal nfail2
            o2 = Opts()
            o2.__dict__.update(o.__dict__)
            o2.tool = o.compare
            # Each tool held to its own flag rule (interimap: the
            # union), unless --flag-rule says one for both.
            global FLAG_RULE
            if not o.flag_rule_given:
                FLAG_RULE = 'union' if is_interimap(o.compare) else \
                    'perflag'
            r2 = Runner(o2, seed).run(ops)
            FLAG_RULE = o.flag_rule
            for k in ('ops', 'syncs', 'kills', 'dups', 'lost', 'divergent'):
                setattr(totals2, k, getattr(totals2, k) + getattr(r2, k))
            totals2.kinds.update(r2.kinds)
            nfail2 += r2.failed
            if res.failed or r2.failed or o.verbose or cmd != 'soak':
                out('  the same with %s: %s' % (
                    os.path.basename(o.compare), 'ok' if not r2.failed else
                    'FAILED ' + ', '.join('%s %d' % kv for kv in
                                          sorted(r2.kinds.items()))))
                for line in r2.msgs[:4]:
                    out('    ' + line.replace('\n', '\n      '))
        log('  (%.1f s)' % (time.monotonic() - t0))
        return res

    if cmd == 'replay':
        if o.tap:
            print('1..%d' % len(args))
        conflicts = o.conflicts
        for fname in args:
            with open(fname) as f:
                lines = f.readlines()
            ops = [parse_op(x) for x in lines
                   if x.strip() and not x.startswith('#')]
            # A case of --conflicts says so in a line of its own.
            o.conflicts = conflicts or '# options: --conflicts\n' in lines
            seed = re.sub(r'\D', '', os.path.basename(fname)) or '0'
            o.replaying = fname
            res = one(int(seed), ops,
                      os.path.basename(fname).rsplit('.', 1)[0])
            for op in ops:
                log('  ' + op_text(op))
        o.conflicts = conflicts
    elif cmd == 'run':
        if o.tap:
            print('1..%d' % len(args))
        for a in args:
            seed = int(a)
            ops = Gen(seed, o).sequence()
            if o.verbose:
                for op in ops:
                    out('  ' + op_text(op))
            one(seed, ops)
    else:
        t_end = time.monotonic() + (o.seconds or 1e12)
        seed = o.first_seed
        limit = o.seeds if o.seeds is not None else (
            1 << 62 if o.seconds else 100)
        # SIGTERM or ^C: the counts so far (the sequence cut short is
        # not counted).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while nseq < limit and time.monotonic() < t_end:
                ops = Gen(seed, o).sequence()
                one(seed, ops)
                seed += 1
        except KeyboardInterrupt:
            print('stopped at seed %d' % seed)
    if cmd == 'soak' or len(args) > 1 or o.compare:
        print('%ssequences %d, operations %d, syncs %d, kills %d, '
              'duplicates %d, lost %d, divergent stores %d, failed '
              'sequences %d%s' % (
                  '# ' if o.tap else '', nseq, totals.ops, totals.syncs,
                  totals.kills, totals.dups, totals.lost, totals.divergent,
                  nfail, (' (' + ', '.join('%s %d' % kv for kv in sorted(
                      totals.kinds.items())) + ')') if nfail else ''))
        if failed:
            print('%sfailing seeds: %s' % ('# ' if o.tap else '',
                                           ' '.join(map(str, failed))))
        if o.compare:
            t = totals2
            print('%s%s on the same sequences: operations %d, syncs %d, '
                  'kills %d, duplicates %d, lost %d, divergent stores %d, '
                  'failed sequences %d%s' % (
                      '# ' if o.tap else '', os.path.basename(o.compare),
                      t.ops, t.syncs, t.kills, t.dups, t.lost, t.divergent,
                      nfail2, (' (' + ', '.join('%s %d' % kv for kv in sorted(
                          t.kinds.items())) + ')') if nfail2 else ''))
    return 0 if o.tap or not nfail else 1


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        # The reader (head) has seen enough.
        sys.stdout = None
        sys.exit(1)
