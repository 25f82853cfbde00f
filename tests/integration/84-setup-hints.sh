#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 84-setup-hints.sh: what a new user would otherwise guess. --notify and
# --watch say at once what they do and when the first sync is done, each
# line with its date and time; a
# second account run without its own `database =` (every tunnel shares
# localhost.db) gets a hint with the "UIDVALIDITY changed on both sides"
# error; --import-interimap=~/... finds the file.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's own messages"

# --- two accounts, one default database ---------------------------------
shared=$STORE_TMP/shared-data
sync_pair_new --name a
store_append "$LOCAL" INBOX -s a1 >/dev/null
store_append "$REMOTE" INBOX -s a2 >/dev/null
sed -i '/^database = /d' "$SYNC_CONF"
conf_a=$SYNC_CONF
# Dovecot's UIDVALIDITY is the time a mailbox is made: the second
# account's mailboxes must be made in another second.
sleep 1.1
sync_pair_new --name b
store_append "$LOCAL" INBOX -s b1 >/dev/null
store_append "$REMOTE" INBOX -s b2 >/dev/null
sed -i '/^database = /d' "$SYNC_CONF"
conf_b=$SYNC_CONF

run_default_db() {
	XDG_CONFIG_HOME=$STORE_TMP/xdg-config XDG_DATA_HOME=$shared \
		"$SYNC_BIN" --config="$1" >"$STORE_TMP/out" 2>"$STORE_TMP/err" \
		</dev/null
}
run_default_db "$conf_a"
tap_is $? 0 "the first account syncs into localhost.db"
tap_ok "localhost.db is the default database" \
	test -s "$shared/imapsync/localhost.db"
run_default_db "$conf_b"
tap_is $? 1 "the second account's INBOX fails with the same database"
sed 's/^/# /' "$STORE_TMP/err"
tap_ok "it says UIDVALIDITY changed on both sides" \
	grep -q 'UIDVALIDITY changed on both sides' "$STORE_TMP/err"
tap_ok "and hints at a database of its own" \
	grep -q 'database = NAME.db' "$STORE_TMP/err"
echo "database = b.db" >"$STORE_TMP/conf_b"
cat "$conf_b" >>"$STORE_TMP/conf_b"
run_default_db "$STORE_TMP/conf_b"
tap_is $? 0 "with its own database, the second account syncs"
tap_is "$(store_count "$LOCAL" INBOX)" 2 "both its messages on the local side"

# An explicit database gets no hint: it was chosen.
sed -i "1i database = $shared/imapsync/localhost.db" "$conf_b"
run_default_db "$conf_b"
tap_is $? 1 "the same clash with an explicit database"
tap_is "$(grep -c 'database = NAME.db' "$STORE_TMP/err")" 0 \
	"gets no hint"

# --- --notify and --watch say what they do, and when ----------------------
STAMP='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:]\{8\}\.[0-9]\{3\}[-+][0-9]\{4\}'
sync_pair_new --name c
store_append "$LOCAL" INBOX -s c1 >/dev/null
: >"$WATCH_LOG"
watch_start --notify
tap_check "--notify says at once what it does" \
	watch_until 10 watch_log_has 1 "^$STAMP --notify: syncing now, then at each change"
tap_check "--notify says when the first sync is done" \
	watch_until 10 watch_log_has 1 'first sync done; waiting for changes'
watch_stop TERM
tap_is "$WATCH_RC" 0 "--notify stops with SIGTERM"
: >"$WATCH_LOG"
watch_start --watch=30
tap_check "--watch says at once what it does" \
	watch_until 10 watch_log_has 1 "^$STAMP --watch: syncing now, then every 30 s"
tap_check "--watch says when the first sync is done" \
	watch_until 10 watch_log_has 1 'first sync done; waiting for changes'
watch_stop TERM
tap_is "$WATCH_RC" 0 "--watch stops with SIGTERM"
tap_is "$(grep -vc "^$STAMP " "$WATCH_LOG")" 0 \
	"each of its lines starts with the date and time"
sed 's/^/# /' "$WATCH_LOG"

# --- --import-interimap=~/... -----------------------------------------------
# The shell leaves "~" alone after "=": imapsync expands it.
mkdir -p "$STORE_TMP/home"
HOME=$STORE_TMP/home sync_run --import-interimap='~/nosuch.db'
sed 's/^/# /' "$SYNC_ERR" | head -n 5
tap_ok "--import-interimap=~/nosuch.db looks in \$HOME" \
	grep -q "$STORE_TMP/home/nosuch.db" "$SYNC_ERR"
tap_done
