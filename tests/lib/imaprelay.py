# SPDX-License-Identifier: GPL-3.0-or-later
"""imaprelay: run an IMAP tunnel command and relay its session between
our standard input/output and it, handing each chunk to the caller on the
way (the shared part of capfilter.py and hostile.py)."""
import os
import re
import selectors
import subprocess


def relay(cmd, from_server, from_client=None, started=None):
    """Run cmd; relay stdin to it and its stdout to ours. from_server(data)
    returns the bytes to pass on (b'' at the end of its output: what is
    left), or None to end the session; from_client(data), if given, sees
    what the client sends and may return other bytes to pass on instead;
    started(child), if given, gets the command's Popen (to write to it
    later). Returns the command's exit status, or 0."""
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, bufsize=0)
    if started is not None:
        started(child)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, 'in')
    sel.register(child.stdout, selectors.EVENT_READ, 'out')
    while True:
        for key, _ in sel.select():
            if key.data == 'in':
                data = os.read(0, 65536)
                if not data:
                    child.stdin.close()
                    sel.unregister(0)
                    continue
                if from_client is not None:
                    out = from_client(data)
                    if out is not None:
                        data = out
                child.stdin.write(data)
                continue
            data = os.read(child.stdout.fileno(), 65536)
            out = from_server(data)
            if out is None:
                return 0
            if out:
                os.write(1, out)
            if not data:
                return child.wait()


class Lines:
    """Cut one direction of an IMAP session into its lines, each with the
    literals it announces ({N} or {N+}), so a line that begins inside a
    literal is never taken for a command or a response. A client's
    synchronizing literal ({N}) waits for the server's go-ahead: its line
    is cut there, and the literal read as the start of the next line."""

    def __init__(self, client=False):
        self.pending = b''
        self.client = client

    def feed(self, data):
        """The complete lines (literals included) that data completes."""
        self.pending += data
        out = []
        while True:
            end = 0
            while True:
                nl = self.pending.find(b'\n', end)
                if nl < 0:
                    return out
                line = self.pending[end:nl + 1]
                end = nl + 1
                m = re.search(rb'\{(\d+)(\+?)\}\r?\n$', line)
                if m is None or (self.client and not m.group(2)):
                    break
                end += int(m.group(1))
                if end > len(self.pending):
                    return out
            out.append(self.pending[:end])
            self.pending = self.pending[end:]
