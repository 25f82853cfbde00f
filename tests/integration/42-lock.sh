#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 42-lock.sh: while one run holds the database, a second instance is
# refused at once with a message (imapsync); the first run is unharmed;
# the lock file is removed at the end. A database that is a symbolic
# link, or in a directory others may write, is refused.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

sync_pair_new
store_append "$LOCAL" INBOX -s m1 >/dev/null
sync_ok "initial sync exits 0"
store_append "$REMOTE" INBOX -s m2 >/dev/null

# Same database, but the local server greets only after 4 s: the first run
# holds the lock meanwhile.
sed "s|^command = $LOCAL\$|command = sleep 4; exec $LOCAL|" "$SYNC_CONF" \
	>"$SYNC_DIR/config.slow"
XDG_CONFIG_HOME=$SYNC_DIR/xdg-config XDG_DATA_HOME=$SYNC_DIR/xdg-data \
	"$SYNC_BIN" --config="$SYNC_DIR/config.slow" \
	>"$SYNC_DIR/slow.out" 2>"$SYNC_DIR/slow.err" </dev/null &
slow=$!
sleep 1
t0=$(now_ms)
sync_run
t1=$(now_ms)
tap_diag "second instance: exit $SYNC_RC after $((t1 - t0)) ms:" \
	"$(head -n 3 "$SYNC_ERR")"
sync_imapsync_only "the second instance fails" test "$SYNC_RC" -ne 0
sync_imapsync_only "the second instance fails at once (< 2 s)" \
	test $((t1 - t0)) -lt 2000
sync_imapsync_only "the second instance says why" test -s "$SYNC_ERR"
wait $slow
rc=$?
tap_is "$rc" 0 \
	"the first run exits 0"
sync_run
sync_dumps_equal "dumps equal after both"
tap_ok "no lock file is left after the runs" test ! -e "$SYNC_DB.lock"
tap_is "$(store_count "$LOCAL" INBOX)" 2 \
	"m2 copied once"

# The database a symbolic link: not followed.
mv "$SYNC_DB" "$SYNC_DIR/real.db"
ln -s "$SYNC_DIR/real.db" "$SYNC_DB"
sync_run
sync_imapsync_only "a database that is a symbolic link is refused (exit 2)" \
	test "$SYNC_RC" -eq 2
sync_imapsync_only "with an error that says so" grep -q \
	"ERROR: database .*state.db is a symbolic link: imapsync does not follow it" \
	"$SYNC_ERR"
rm -f "$SYNC_DB"
mv "$SYNC_DIR/real.db" "$SYNC_DB"

# Its directory writable by others: they could swap the database.
chmod 777 "$SYNC_DIR"
sync_run
sync_imapsync_only "a database in a world-writable directory is refused (exit 2)" \
	test "$SYNC_RC" -eq 2
sync_imapsync_only "naming the directory and the fix" grep -q \
	"database directory $SYNC_DIR is writable by group or others.*chmod go-w" \
	"$SYNC_ERR"
chmod 755 "$SYNC_DIR"
sync_ok "with both fixed the run exits 0"
tap_done
