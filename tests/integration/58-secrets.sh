#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 58-secrets.sh: once logged in, the password is no longer in imapsync's
# memory, and the process cannot be dumped or traced by its own user.
# The run waits on a server that stops answering after LOGIN; meanwhile
# the test looks at /proc/PID.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/dovecot-server.sh"

sync_pair_new
dovecot_bg SILENT "$IMAPSYNC_TOP/tests/lib/fakeimap.py" silent \
	"$STORE_TMP/SILENT.port"

# The run belongs to an ordinary user: as root, nobody.
d=$STORE_TMP/secrets
mkdir -p "$d"
pw="pwQz7$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')Kx"
cat >"$d/config" <<EOF
database = $d/state.db

[local]
type = tunnel
command = echo \$\$ >$d/tunnel.pid; printf '* PREAUTH [CAPABILITY IMAP4rev1 ENABLE QRESYNC LIST-EXTENDED LIST-STATUS UIDPLUS] hi\r\n'; exec sleep 120

[remote]
type = imap
STARTTLS = NO
host = 127.0.0.1
port = $SILENT
auth = LOGIN
username = test
password = $pw
EOF
chmod 600 "$d/config"
if [ "$(id -u)" = 0 ]; then
	# A copy of the binary nobody can reach, whatever the checkout's
	# modes (a clone in a mktemp -d directory is root's alone).
	cp "$SYNC_BIN" "$d/imapsync"
	chown -R "$STORE_USER:$STORE_GROUP" "$d"
	$STORE_RUN env HOME="$d" "$d/imapsync" --config="$d/config" \
		>"$d/out" 2>"$d/err" </dev/null &
else
	"$SYNC_BIN" --config="$d/config" >"$d/out" 2>"$d/err" </dev/null &
fi
pid=$!
n=0
while [ ! -e "$STORE_TMP/SILENT.port.silent" ] && [ $n -lt 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
tap_check "the run logged in and waits on the silent server" \
	test -e "$STORE_TMP/SILENT.port.silent"
tap_diag "$(cat "$d/err")"

# A process that is not dumpable has its /proc files owned by root.
tap_is "$(stat -c %u "/proc/$pid/status" 2>&1)" 0 \
	"the process is not dumpable (its /proc files belong to root)"

# Root may still read its memory (CAP_SYS_PTRACE): the password is gone.
if [ "$(id -u)" = 0 ]; then
	python3 - "$pid" "$pw" >"$d/scan" 2>&1 <<'PY'
import sys
pid, secret = sys.argv[1], sys.argv[2].encode()
found = scanned = 0
with open("/proc/%s/maps" % pid) as maps, \
        open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in addr.split("-"))
        # Sanitizer shadow and other huge reservations hold no copies.
        if perms[0] != "r" or hi - lo > 1 << 30:
            continue
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        scanned += len(data)
        found += data.count(secret)
print("scanned", scanned, "found", found)
PY
	tap_diag "$(cat "$d/scan")"
	tap_check "the password is nowhere in its memory once sent" \
		grep -q "^scanned [1-9][0-9]* found 0$" "$d/scan"
else
	tap_skip_one "the password is nowhere in its memory once sent" \
		"reading another process's memory needs root"
fi

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -s "$d/tunnel.pid" ] && kill "$(cat "$d/tunnel.pid")" 2>/dev/null
tap_done
