"""imaprelay: run an IMAP tunnel command and relay its session between
our standard input/output and it, handing each chunk to the caller on the
way (the shared part of capfilter.py and hostile.py)."""
import os
import selectors
import subprocess


def relay(cmd, from_server, from_client=None):
    """Run cmd; relay stdin to it and its stdout to ours. from_server(data)
    returns the bytes to pass on (b'' at the end of its output: what is
    left), or None to end the session; from_client(data), if given, sees
    what the client sends. Returns the command's exit status, or 0."""
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, bufsize=0)
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
                    from_client(data)
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
