#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""dryrun-diff.py DRY_LOG REAL_LOG...: compare what a --dry-run said it would
do with what the real run that followed it did (tests/lib/sync.sh).

Both logs are reduced to a set of actions: "would " dropped, the UIDs a
server assigns (the target of a copy) left out, and lines one run may
split where the other does not (a copy in several MULTIAPPENDs, an
expunge settled in two steps, flags stored in chunks) merged per
mailbox: the UIDs of a copy's source, of an expunge and of a flag store
are compared as sets, the counts of moves and pairings as sums. Exits 0
when both sets are equal and the summary lines (client/summary.c) give
the same counts, 1 with the difference on stdout."""

import re
import sys

PREFIX = re.compile(r"^(?:\d{4}-\d\d-\d\d \S+ )?"
                    r"(?P<p>(?:local|remote|database)(?:\(.*?\))?): "
                    r"(?:would )?(?P<m>.*)$")

# (regex on the message, first letter lowercased; kind; key groups;
#  UID-set group or None; count group or None)
RULES = [
    (r"^added (\d+) UIDs? (\S+) -> \S+$", "copy->", (), 2, None),
    (r"^added (\d+) UIDs? \S+ <- (\S+)$", "copy<-", (), 2, None),
    (r"^add (\d+) UIDs? (\S+) -> \S+$", "copy->", (), 2, None),
    (r"^add (\d+) UIDs? \S+ <- (\S+)$", "copy<-", (), 2, None),
    (r"^(?:expunged|expunge) (\d+) messages? on \w+ \(gone from \w+\): "
     r"UIDs? (\S+)$", "expunge", (), 2, None),
    (r"^(?:updated|update) flags \((.*)\) for UID (\S+)$", "flags", (1,), 2,
     None),
    (r"^couldn't update flags \((.*)\) for UID (\S+), will try again later$",
     "flags", (1,), 2, None),
    (r"^(?:moved|move) (\d+) messages? to (.*)$", "move", (2,), None, 1),
    (r"^(?:paired|pair) (\d+) messages? found on both sides$", "pair", (),
     None, 1),
    (r"^(?:paired|pair) again (\d+) messages? that left (\w+) and came "
     r"back$", "pair-again", (2,), None, 1),
    (r"^(?:subscribe) to (.*)$", "subscribe", (1,), None, None),
    (r"^(?:unsubscribe) (?:to|from) (.*)$", "unsubscribe", (1,), None, None),
    (r"^(?:created|create) mailbox (.*)$", "create", (1,), None, None),
    (r"^(?:deleted|delete) mailbox (.*)$", "delete", (1,), None, None),
    (r"^(?:removed|remove) mailbox (.*)$", "forget", (1,), None, None),
    (r"^(?:renamed|rename) mailbox (.*)$", "rename", (1,), None, None),
    (r"^(?:imported|import) interimap's (.*)$", "import", (1,), None, None),
]
RULES = [(re.compile(r), k, g, u, c) for r, k, g, u, c in RULES]


def uids(text):
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        lo = int(lo)
        hi = int(hi) if hi else lo
        if hi < lo:
            lo, hi = hi, lo
        out.update(range(lo, hi + 1))
    return out


def actions(*paths):
    """The actions of a log: key -> set of UIDs, sum, or True; and key ->
    how many UIDs a dry run could not name ("?", a message's UID after a
    move)."""
    acts, wild = {}, {}
    lines = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines.extend(f)
    for line in lines:
        m = PREFIX.match(line.rstrip("\n"))
        if not m:
            continue
        msg = m.group("m")
        msg = msg[:1].lower() + msg[1:]
        for rx, kind, keys, ugroup, cgroup in RULES:
            r = rx.match(msg)
            if not r:
                continue
            key = (m.group("p"), kind) + tuple(r.group(g) for g in keys)
            if ugroup is not None and r.group(ugroup) == "?":
                acts.setdefault(key, set())
                wild[key] = wild.get(key, 0) + 1
            elif ugroup is not None:
                acts.setdefault(key, set()).update(uids(r.group(ugroup)))
            elif cgroup is not None:
                acts[key] = acts.get(key, 0) + int(r.group(cgroup))
            else:
                acts[key] = True
            break
    return acts, wild


def same(dry, wild, real):
    """Whether the real run did what the dry run said: the same keys, and
    each dry set found in the real one with exactly as many more UIDs as
    it left unnamed."""
    if set(dry) != set(real):
        return False
    for key, value in dry.items():
        if key in wild:
            if not (value <= real[key] and
                    len(real[key]) == len(value) + wild[key]):
                return False
        elif value != real[key]:
            return False
    return True


def show(key, value):
    if isinstance(value, set):
        v = sorted(value)
        value = "%d UIDs %s" % (len(v), ",".join(map(str, v[:20])) +
                                  ("..." if len(v) > 20 else ""))
    return "%s: %s %s" % (key[0], " ".join(key[1:]), value)


SUMMARY = re.compile(r"^(?:\d{4}-\d\d-\d\d \S+ )?"
                     r"(?:Dry run done in|Done in|Stopped\b)[^;]*(?P<rest>;.*)?$")
SUMMARY_VERBS = {"add": "add", "added": "add",
                 "update flags of": "flags", "updated flags of": "flags",
                 "expunge": "expunge", "expunged": "expunge",
                 "move": "move", "moved": "move",
                 "create": "create", "created": "create",
                 "rename": "rename", "renamed": "rename",
                 "delete": "delete", "deleted": "delete"}


def summary(*paths):
    """The counts of a log's summary line (client/summary.c), in either
    tense: (side, kind) -> n; None when the log has none."""
    found = None
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = SUMMARY.match(line.rstrip("\n"))
                if m:
                    found = m.group("rest") or ""
    if found is None:
        return None
    counts = {}
    for part in re.finditer(r"(?:on )?(local|remote): ([^;]*)", found):
        for item in part.group(2).split(", "):
            m = re.match(r"^(.*) (\d+) \S+$", item)
            if m and m.group(1) in SUMMARY_VERBS:
                counts[(part.group(1), SUMMARY_VERBS[m.group(1)])] = \
                    int(m.group(2))
    return counts


def compare(dry_log, real_logs, out):
    """0 when the dry run said what the real run did, else 1 with the
    difference written to out."""
    (dry, wild), (real, _) = actions(dry_log), actions(*real_logs)
    if same(dry, wild, real):
        dry_sum, real_sum = summary(dry_log), summary(*real_logs)
        if dry_sum is None or real_sum is None or dry_sum == real_sum:
            return 0
        for name, counts in (("dry run ", dry_sum), ("real run", real_sum)):
            out.write("%s summary: %s\n" % (name, ", ".join(
                "%s %s %d" % (k[0], k[1], v)
                for k, v in sorted(counts.items())) or "nothing"))
        return 1
    for key in sorted(set(dry) | set(real)):
        if dry.get(key) == real.get(key):
            continue
        if key in dry:
            out.write("dry run:  " + show(key, dry[key]) + "\n")
        else:
            out.write("dry run:  (nothing) for " + show(key, "")[:-1] + "\n")
        if key in real:
            out.write("real run: " + show(key, real[key]) + "\n")
        else:
            out.write("real run: (nothing) for " + show(key, "")[:-1] + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(compare(sys.argv[1], sys.argv[2:], sys.stdout))
