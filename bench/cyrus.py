"""cyrus.py: throwaway Cyrus IMAP stores for bench/run --remote=cyrus.

A Cyrus store is a directory holding the server's own imapd.conf,
cyrus.conf, sasldb2 (user "test", password "secret"), config/ and
spool/, set up as tests/lib/cyrus-server.sh does (Cyrus 3.6.1: imapd out
of the cyrus-imapd .deb, unpacked by mk/cyrus.sh into $CYRUS_CACHE; the
rest from cyrus-common), and an executable `imap` that gives a
pre-authenticated session on stdin/stdout (bench/preauth.py logs in over
loopback), like a Dovecot store's `doveadm exec imap`. Its master runs
only while the store is in use: ensure() starts it on a free 127.0.0.1
port (and rewrites `imap` for it), stop() ends it; a store is copied or
moved only when stopped (copy_pair and relocate do that). The masters are
children of bench/run: daemon_pids() names them, so that reaping the
tools' leftovers does not wait for them.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get('CYRUS_CACHE', '/var/cache/imapsync-test/cyrus')
IMAPD = os.path.join(CACHE, 'usr/lib/cyrus/bin/imapd')
BIN = '/usr/lib/cyrus/bin'
USER, PASSWORD = 'test', 'secret'

_masters = {}  # store directory: Popen of its master


def missing():
    """What this machine lacks to run Cyrus stores, or None."""
    if os.getuid() != 0:
        return 'Cyrus stores need root (the master drops to "cyrus")'
    if not os.access(os.path.join(BIN, 'master'), os.X_OK):
        return 'cyrus-common is not installed (mk/deps.sh)'
    if not os.access(IMAPD, os.X_OK):
        return 'no Cyrus imapd in %s (run mk/cyrus.sh)' % CACHE
    if shutil.which('saslpasswd2') is None:
        return 'sasl2-bin is not installed (mk/deps.sh)'
    try:
        import pwd
        pwd.getpwnam('cyrus')
    except KeyError:
        return 'no user "cyrus" (cyrus-common makes it)'
    return None


def version():
    p = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'cyrus-common'],
                       capture_output=True, text=True)
    return 'Cyrus IMAP ' + (p.stdout.strip() or '?')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _write_conf(d, port):
    with open(os.path.join(d, 'imapd.conf'), 'w') as f:
        f.write('configdirectory: %(d)s/config\n'
                'partition-default: %(d)s/spool\n'
                'defaultpartition: default\n'
                'lmtpsocket: %(d)s/socket/lmtp\n'
                'idlesocket: %(d)s/socket/idle\n'
                'notifysocket: %(d)s/socket/notify\n'
                'servername: localhost\n'
                'admins: cyrus\n'
                'sasl_pwcheck_method: auxprop\n'
                'sasl_auxprop_plugin: sasldb\n'
                'sasl_sasldb_path: %(d)s/sasldb2\n'
                'sasl_mech_list: PLAIN LOGIN\n'
                'allowplaintext: yes\n'
                'autocreate_quota: 0\n' % {'d': d})
    with open(os.path.join(d, 'cyrus.conf'), 'w') as f:
        f.write('START {\n'
                '\trecover cmd="%s/ctl_cyrusdb -C %s/imapd.conf -r"\n'
                '}\nSERVICES {\n'
                '\timap cmd="%s -C %s/imapd.conf" listen="127.0.0.1:%d" '
                'prefork=0\n}\nEVENTS {\n}\n' % (BIN, d, IMAPD, d, port))
    imap = os.path.join(d, 'imap')
    with open(imap, 'w') as f:
        f.write('#!/bin/sh\nexec %s %s 127.0.0.1 %d %s %s 2>>%s/imap.log\n'
                % (sys.executable, os.path.join(HERE, 'preauth.py'), port,
                   USER, PASSWORD, d))
    os.chmod(imap, 0o755)


def new_store(d):
    """An empty Cyrus store in D (stopped); returns its imap script."""
    for sub in ('config/log', 'spool', 'socket'):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    _write_conf(d, 0)
    p = subprocess.run(['saslpasswd2', '-p', '-c', '-f',
                        os.path.join(d, 'sasldb2'), '-u', 'localhost', USER],
                       input=PASSWORD, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit('bench: saslpasswd2: %s' % p.stderr)
    subprocess.run(['chown', '-R', 'cyrus:mail', d], check=True)
    return os.path.join(d, 'imap')


def ensure(d):
    """Start D's master unless it runs; returns its imap script."""
    d = os.path.abspath(d)
    imap = os.path.join(d, 'imap')
    p = _masters.get(d)
    if p is not None and p.poll() is None:
        return imap
    for attempt in range(5):
        port = free_port()
        _write_conf(d, port)
        subprocess.run(['chown', 'cyrus:mail', os.path.join(d, 'imapd.conf'),
                        os.path.join(d, 'cyrus.conf')], check=True)
        with open(os.path.join(d, 'master.out'), 'ab') as out:
            p = subprocess.Popen([os.path.join(BIN, 'master'), '-C',
                                  os.path.join(d, 'imapd.conf'), '-M',
                                  os.path.join(d, 'cyrus.conf'), '-p',
                                  os.path.join(d, 'master.pid')],
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=out)
        end = time.monotonic() + 20
        while time.monotonic() < end and p.poll() is None:
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                _masters[d] = p
                return imap
            except OSError:
                time.sleep(0.05)
        if p.poll() is None:
            p.terminate()
        p.wait()
    with open(os.path.join(d, 'master.out'), errors='replace') as f:
        raise SystemExit('bench: Cyrus did not start in %s:\n%s' %
                         (d, f.read()[-2000:]))


def stop(d):
    p = _masters.pop(os.path.abspath(d), None)
    if p is None:
        return
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_under(top):
    """Stop every master whose store is under TOP."""
    top = os.path.abspath(top) + os.sep
    for d in list(_masters):
        if (d + os.sep).startswith(top):
            stop(d)


def stop_all():
    for d in list(_masters):
        stop(d)


def daemon_pids():
    return {p.pid for p in _masters.values() if p.poll() is None}


def relocate(d):
    """Rewrite the configuration of a store copied or moved to D."""
    for f in ('master.pid', 'socket/lmtp', 'socket/idle', 'socket/notify'):
        try:
            os.unlink(os.path.join(d, f))
        except (FileNotFoundError, IsADirectoryError):
            pass
    _write_conf(d, 0)
    subprocess.run(['chown', 'cyrus:mail', os.path.join(d, 'imapd.conf'),
                    os.path.join(d, 'cyrus.conf')], check=True)
