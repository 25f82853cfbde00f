#!/usr/bin/env python3
"""flagdiff.py: the flags a two-way sync must leave, from imaptool dumps.

  flagdiff.py RULE BASE LOCAL REMOTE RESULT

BASE is a dump of the pair as the last sync left it (both sides equal;
/dev/null for none), LOCAL and REMOTE dumps of each side before this
sync, RESULT a dump of a side after it.  For each message that was in
BASE and is on both sides still (a message is its mailbox and its
"message HASH size N date D" key), RESULT must hold its flags as RULE
says:

  perflag   each flag as the side that changed it since BASE left it
            (imapsync, issue 18)
  union     one side changed: that side's flags; both did: the union of
            both lists (interimap).  A side may have changed a flag and
            changed it back, which interimap sees as a change (a MODSEQ)
            and a dump does not: the union with that side is allowed too.

Prints one line per message in RESULT that breaks the rule, and exits 1
if any does.  Written from the rule, not from either tool's code."""

import collections
import re
import sys

MSG = re.compile(r'^  (message \S+ size \d+ date \S+) flags \((.*)\)$')


def load(path):
    """{(mailbox, key): [frozenset(flags), ...]} (a key may repeat)."""
    res = collections.defaultdict(list)
    box = None
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('mailbox '):
                box = line.split(' delim ')[0]
                continue
            m = MSG.match(line)
            if m:
                res[(box, m.group(1))].append(
                    frozenset(m.group(2).split()))
    return res


def perflag(base, a, b):
    res = set()
    for f in base | a | b:
        changed = [s for s in (a, b) if (f in s) != (f in base)]
        if (f in changed[0]) if changed else (f in base):
            res.add(f)
    return [frozenset(res)]


def union(base, a, b):
    if a == base:
        return [b, a | b]
    if b == base:
        return [a, a | b]
    return [a | b]


def main(argv):
    rule = {'perflag': perflag, 'union': union}[argv[1]]
    base, local, remote, result = (load(p) for p in argv[2:6])
    bad = 0
    for k, got in sorted(result.items()):
        # Only one message under its key on every side: no doubt which.
        if not all(len(x.get(k, ())) == 1 for x in (base, local, remote)) \
                or len(got) != 1:
            continue
        want = rule(base[k][0], local[k][0], remote[k][0])
        if got[0] not in want:
            bad += 1
            print('%s %s: flags (%s), want (%s) from base (%s), local '
                  '(%s), remote (%s)' % (
                      k[0], k[1], ' '.join(sorted(got[0])),
                      ' or '.join(' '.join(sorted(w)) for w in want),
                      ' '.join(sorted(base[k][0])),
                      ' '.join(sorted(local[k][0])),
                      ' '.join(sorted(remote[k][0]))))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
