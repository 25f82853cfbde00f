#!/usr/bin/env python3
"""unusual.py MODE[,MODE...] COMMAND...: run COMMAND (a real IMAP tunnel)
and relay its session, making the server answer in ways that are legal
but that Dovecot never uses. Relays nest (COMMAND may be another relay:
quirks.py store-fetch, for a STORE's FETCH answers to be reordered).

  late-tagged     a command's tagged response is held while the commands
                  sent after it are answered: a pipelined burst gets all
                  its untagged responses first (two MOVEs' COPYUIDs and
                  VANISHED, a later FETCH's data), then its tagged ones
                  (RFC 9051 5.5: commands in progress at once). Never
                  across a command whose outcome the next ones depend on
                  (SELECT, EXAMINE, CLOSE, UNSELECT, ENABLE, the login
                  and layers): that would be ambiguous, and not allowed
  fetch-reverse   the items of every FETCH response in reverse order (UID
                  and MODSEQ last, the literal of a body first)
  fetch-split     the items of a FETCH response in several FETCH responses
                  for the same message, each with its UID: FLAGS with
                  MODSEQ (RFC 7162 3.1.4.1), then every other item alone
                  (M. Crispin, imap-protocol 2011-11: "completely
                  compliant ... There are servers that do it")
  fetch-split-keys
                  the same, only for the FETCH responses that carry a
                  header field (BODY[HEADER.FIELDS ...]: the keys a first
                  sync pairs messages by), not the bodies
  vanished-repeat every VANISHED (EARLIER) cut into one response per range,
                  the whole sent twice (RFC 7162 3.2.10: the server may
                  name UIDs the client has not, or has already seen go)
  copyuid-tagged  a MOVE's untagged OK [COPYUID] given in its tagged OK
                  instead (RFC 6851 4.3: SHOULD untagged, not MUST)
  copyuid-split   a COPYUID of several UIDs sent as one untagged
                  OK [COPYUID] per UID, all together
  no-enabled      no ENABLED response to ENABLE (a server that enables
                  QRESYNC but does not say so: the client must cope or
                  stop with a clear error)
  no-greeting-caps
                  no CAPABILITY code in the greeting: the client has to
                  ask (RFC 9051 7.1: the code is optional)
  prelogin-minimal
                  before the login, every capability list reduced to
                  IMAP4rev1, STARTTLS, LOGINDISABLED and AUTH= (the rest
                  is only said once logged in, RFC 9051 6.2.3)
  login-no-caps   no CAPABILITY code in the tagged OK of LOGIN or
                  AUTHENTICATE: the client must ask again, not go on
                  with what it was told before the login
  modseq-ok       after every tagged response while a mailbox is selected,
                  an untagged OK [HIGHESTMODSEQ n] with the highest
                  mod-sequence seen so far (RFC 7162 3.1.2.1)
  list-bare       LIST responses with no \\HasChildren/\\HasNoChildren
                  (often "()": the CHILDREN attributes are optional)
  names-literal   every mailbox name in LIST, LSUB and STATUS responses
                  sent as a literal (astring)
  names-quoted    every mailbox name sent as an atom sent as a quoted
                  string instead
  split-writes    every response line written in four pieces, 2 ms apart
                  (the client's reads end anywhere)

COMPRESS is taken out of every capability list (the relay reads lines).
Over TCP, with a login: tests/lib/listen.py serves this relay.
"""
import os
import re
import sys
import time

from imaprelay import Lines, relay

MODES = ('late-tagged', 'fetch-reverse', 'fetch-split', 'fetch-split-keys',
         'vanished-repeat',
         'copyuid-tagged', 'copyuid-split', 'no-enabled', 'no-greeting-caps',
         'prelogin-minimal', 'login-no-caps',
         'modseq-ok', 'list-bare', 'names-literal', 'names-quoted',
         'split-writes')


# ---- parsing the items of a FETCH response ----------------------------

def skip_value(b, i):
    """The end of the value (atom, quoted, literal or list) at b[i]."""
    c = b[i:i + 1]
    if c == b'"':
        i += 1
        while b[i:i + 1] != b'"':
            i += 2 if b[i:i + 1] == b'\\' else 1
        return i + 1
    if c == b'{':
        m = re.match(rb'\{(\d+)\+?\}\r\n', b[i:])
        return i + m.end() + int(m.group(1))
    if c == b'(':
        i += 1
        while True:
            while b[i:i + 1] == b' ':
                i += 1
            if b[i:i + 1] == b')':
                return i + 1
            i = skip_value(b, i)
    j = i
    while j < len(b) and b[j:j + 1] not in (b' ', b')', b'\r', b'\n'):
        if b[j:j + 1] == b'[':
            j = b.index(b']', j)
        j += 1
    return j


def skip_name(b, i):
    """The end of a FETCH item name at b[i] (BODY[HEADER.FIELDS (X)]<0>)."""
    j = i
    while b[j:j + 1] not in (b' ', b')'):
        if b[j:j + 1] == b'[':
            depth = 0
            while True:
                if b[j:j + 1] == b'[':
                    depth += 1
                elif b[j:j + 1] == b']':
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
        j += 1
    return j


FETCH = re.compile(rb'\* (\d+) FETCH \(')


def fetch_items(chunk):
    """(number, [(name, value)]) of a FETCH response, or None."""
    m = FETCH.match(chunk)
    if m is None or not chunk.endswith(b')\r\n'):
        return None
    b = chunk
    i = m.end()
    items = []
    while True:
        while b[i:i + 1] == b' ':
            i += 1
        if b[i:i + 1] == b')':
            break
        j = skip_name(b, i)
        name = b[i:j]
        k = skip_value(b, j + 1)
        items.append((name, b[j + 1:k]))
        i = k
    if b[i:] != b')\r\n':
        return None
    return m.group(1), items


def fetch_line(num, items):
    return b'* ' + num + b' FETCH (' + b' '.join(
        n + b' ' + v for n, v in items) + b')\r\n'


# ---- sets ----------------------------------------------------------------

def expand(s):
    out = []
    for r in s.split(b','):
        lo, _, hi = r.partition(b':')
        lo, hi = int(lo), int(hi or lo)
        out += range(min(lo, hi), max(lo, hi) + 1)
    return out


def main():
    modes = set(sys.argv[1].split(','))
    bad = modes - set(MODES)
    if bad:
        sys.stderr.write('unusual.py: unknown mode(s) %s\n' %
                         ', '.join(sorted(bad)))
        return 2
    up, down = Lines(client=True), Lines()
    # Commands the ones after depend on: their tagged response comes
    # before anything the next command causes (RFC 9051 5.5).
    barriers = {b'SELECT', b'EXAMINE', b'CLOSE', b'UNSELECT', b'ENABLE',
                b'LOGIN', b'AUTHENTICATE', b'STARTTLS', b'COMPRESS',
                b'LOGOUT', b'IDLE', b'CREATE', b'DELETE', b'RENAME'}
    st = {'verbs': {}, 'inflight': [], 'held': [], 'moves': {},
          'copyuid': [],
          'greeted': False, 'literal_next': False, 'modseq': 0,
          'authed': False, 'logins': set(),
          'selected': False, 'selecting': set()}

    def from_client(data):
        out = []
        for c in up.feed(data):
            cont = st['literal_next']
            st['literal_next'] = bool(re.search(rb'\{\d+\}\r\n$', c))
            if cont:
                out.append(c)
                continue
            m = re.match(rb'([A-Za-z0-9.]+) (UID )?([A-Za-z]+)(?: ([0-9:,]+))?',
                         c)
            if m and m.group(1).upper() != b'DONE':
                tag = m.group(1)
                st['inflight'].append(tag)
                verb = m.group(3).upper()
                st['verbs'][tag] = verb
                if verb == b'MOVE' and m.group(4):
                    st['moves'][tag] = set(expand(m.group(4)))
                if verb in (b'SELECT', b'EXAMINE'):
                    st['selecting'].add(tag)
                    st['selected'] = False
                    # Its answers start once those before it are done
                    # (the mailbox before may still report its own).
                    if len(st['inflight']) == 1:
                        st['modseq'] = 0
                if verb in (b'CLOSE', b'UNSELECT'):
                    st['selected'] = False
                if verb in (b'LOGIN', b'AUTHENTICATE'):
                    st['logins'].add(tag)
            out.append(c)
        return b''.join(out)

    def names(c):
        """Mailbox names of LIST/LSUB/STATUS as literals or quoted."""
        m = (re.match(rb'(\* (?:LIST|LSUB) \([^)]*\) (?:"[^"]*"|NIL) )'
                      rb'("(?:[^"\\]|\\.)*"|\{\d+\}\r\n|[^ \r\n]+)(.*)$', c,
                      re.S) or
             re.match(rb'(\* STATUS )("(?:[^"\\]|\\.)*"|\{\d+\}\r\n|'
                      rb'[^ \r\n]+)( \(.*)$', c, re.S))
        if m is None:
            return c
        head, name, rest = m.groups()
        if name.startswith(b'{'):
            return c  # already a literal (its bytes follow in rest)
        if name.startswith(b'"'):
            raw = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        else:
            raw = name
        if 'names-literal' in modes:
            return head + b'{%d}\r\n' % len(raw) + raw + rest
        if 'names-quoted' in modes and not name.startswith(b'"'):
            return head + b'"' + raw + b'"' + rest
        return c

    def minimal(c):
        """Capability lists before the login cut to the login's needs."""
        def cut(m):
            keep = [w for w in m.group(2).split()
                    if w.upper() in (b'IMAP4REV1', b'STARTTLS',
                                     b'LOGINDISABLED')
                    or w.upper().startswith(b'AUTH=')]
            return m.group(1) + b' '.join(keep)
        return re.sub(rb'(CAPABILITY )([^\]\r\n]*)', cut, c, count=1)

    def server_chunk(c):
        """The bytes to pass on for one response (its literals included)."""
        # A compressed stream cannot be read line by line: never offered.
        if b'COMPRESS=' in c and b'CAPABILITY' in c:
            c = re.sub(rb' COMPRESS=[A-Za-z0-9]+', b'', c)
        t = re.match(rb'(\S+) OK', c)
        if 'prelogin-minimal' in modes and not st['authed'] and \
                not (t and t.group(1) in st['logins']):
            c = minimal(c)
        if re.match(rb'\* PREAUTH', c):
            st['authed'] = True
        if not st['greeted']:
            st['greeted'] = True
            if 'no-greeting-caps' in modes:
                c = re.sub(rb'^(\* (?:OK|PREAUTH) )\[CAPABILITY [^\]]*\] ?',
                           rb'\1', c)
            return c
        for m in re.finditer(rb'MODSEQ \((\d+)\)|\[HIGHESTMODSEQ (\d+)\]', c):
            st['modseq'] = max(st['modseq'], int(m.group(1) or m.group(2)))
        if 'no-enabled' in modes and c.startswith(b'* ENABLED'):
            return b''
        if 'list-bare' in modes and re.match(rb'\* (LIST|LSUB) ', c):
            c = re.sub(rb' ?\\Has(No)?Children', b'', c, count=2)
            c = c.replace(b'( ', b'(')
        if modes & {'names-literal', 'names-quoted'}:
            c = names(c)
        if 'vanished-repeat' in modes and \
                c.startswith(b'* VANISHED (EARLIER) '):
            ranges = c[len(b'* VANISHED (EARLIER) '):].strip().split(b',')
            one = b''.join(b'* VANISHED (EARLIER) ' + r + b'\r\n'
                           for r in ranges)
            return one + one
        cu = re.match(rb'\* OK \[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]', c)
        if cu and modes & {'copyuid-tagged', 'copyuid-split'}:
            if 'copyuid-split' in modes:
                src, dst = expand(cu.group(2)), expand(cu.group(3))
                out = b''.join(b'* OK [COPYUID %s %d %d] moved\r\n' %
                               (cu.group(1), s, d) for s, d in zip(src, dst))
                if 'copyuid-tagged' not in modes:
                    return out
            # Kept for the tagged OK of the MOVE of those UIDs.
            st['copyuid'].append((set(expand(cu.group(2))), cu.group(0)[5:]))
            return b''
        fi = fetch_items(c) if modes & {'fetch-reverse', 'fetch-split',
                                        'fetch-split-keys'} else None
        if fi is not None:
            num, items = fi
            if 'fetch-split' in modes or (
                    'fetch-split-keys' in modes and
                    any(n.upper().startswith(b'BODY[HEADER')
                        for n, _ in items)):
                uid = [it for it in items if it[0].upper() == b'UID']
                flags = [it for it in items
                         if it[0].upper() in (b'FLAGS', b'MODSEQ')]
                rest = [it for it in items if it not in uid and
                        it not in flags]
                groups = ([flags] if flags else []) + [[it] for it in rest]
                if len(groups) > 1:
                    return b''.join(fetch_line(
                        num, (g[::-1] + uid) if 'fetch-reverse' in modes
                        else uid + g) for g in groups)
            if 'fetch-reverse' in modes:
                return fetch_line(num, items[::-1])
        m = re.match(rb'([A-Za-z0-9.]+) (OK|NO|BAD)\b', c)
        if m and m.group(1) in st['inflight']:
            tag = m.group(1)
            st['inflight'].remove(tag)
            if tag in st['logins']:
                st['logins'].discard(tag)
                if m.group(2) == b'OK':
                    st['authed'] = True
                    if 'login-no-caps' in modes:
                        c = re.sub(rb'^(\S+ OK )\[CAPABILITY [^\]]*\] ?',
                                   rb'\1', c)
            if tag in st['selecting']:
                st['selecting'].discard(tag)
                st['selected'] = m.group(2) == b'OK'
            pre = b''
            if tag in st['moves']:
                uids = st['moves'].pop(tag)
                kept = None
                for k in st['copyuid']:
                    if k[0] <= uids:
                        kept = k[1]
                        st['copyuid'].remove(k)
                        break
                if kept is not None and m.group(2) == b'OK':
                    c = re.sub(rb'^(\S+ OK) (\[[^\]]*\] )?',
                               rb'\1 ' + kept.replace(b'\\', b'\\\\') + b' ',
                               c)
            if 'modseq-ok' in modes and st['selected'] and st['modseq']:
                pre = b'* OK [HIGHESTMODSEQ %d] so far\r\n' % st['modseq']
            if st['inflight'] and st['verbs'].get(st['inflight'][0]) in \
                    (b'SELECT', b'EXAMINE'):
                st['modseq'] = 0  # what comes next is that SELECT's
            verb = st['verbs'].pop(tag, b'')
            if 'late-tagged' in modes:
                st['held'].append(pre + c)
                # Dovecot answers in order: what comes next is caused by
                # the oldest command still in flight.
                if verb not in barriers and st['inflight'] and \
                        st['verbs'].get(st['inflight'][0]) not in barriers:
                    return b''
                out = b''.join(st['held'])
                st['held'] = []
                return out
            return pre + c
        return c

    def from_server(data):
        if not data:
            held = b''.join(st['held'])
            st['held'] = []
            return held + down.pending
        out = [server_chunk(c) for c in down.feed(data)]
        if 'split-writes' not in modes:
            return b''.join(out)
        for o in out:
            n = len(o)
            cuts = sorted({0, n // 3, n // 2, (2 * n) // 3, n})
            for a, b in zip(cuts, cuts[1:]):
                os.write(1, o[a:b])
                time.sleep(0.002)
        return b''

    return relay(sys.argv[2:], from_server, from_client)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (BrokenPipeError, ConnectionResetError):
        sys.exit(0)  # the client went (over TCP, listen.py)
