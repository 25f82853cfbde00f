#!/bin/sh
# 87-status.sh: `imapsync --status` reads the database and the lock only:
# per mailbox its name in UTF-8 with the server's delimiter, pairs,
# numbers, last sync, interrupted copies; the lock's holder; --json.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"
. "$IMAPSYNC_TOP/tests/lib/watch.sh"

sync_is_interimap && tap_skip_all "imapsync's --status"
HOOKS_BIN=$IMAPSYNC_BUILD/tests/imapsync-hooks
[ -x "$HOOKS_BIN" ] || tap_skip_all "$HOOKS_BIN not built (make tests)"

# json EXPR: EXPR (Python, over the document d) of the last run's stdout.
json() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$SYNC_OUT" "$1"
}

sync_pair_new --local-sep . --remote-sep /
sync_run --status
tap_is "$SYNC_RC" 0 "--status before any run exits 0"
tap_check "saying there is no database yet" grep -q 'does not exist yet' \
	"$SYNC_OUT"
tap_check "and creating none" test ! -e "$SYNC_DB"

{
	for i in 1 2 3; do echo "append INBOX -s i$i"; done
	echo "create Caf&AOk-.Sub"
	for i in 1 2; do echo "append Caf&AOk-.Sub -s c$i"; done
} | store_script "$LOCAL" >/dev/null
sync_ok "first sync"

# An interrupted run: new mail on local, the run stopped after the
# intents to copy it were recorded and before their APPEND was answered.
for i in 4 5 6 7; do echo "append INBOX -s i$i"; done |
	store_script "$LOCAL" >/dev/null
sync_pair_clone probe
PROBE=$SYNC_DIR
n=1
while [ $n -le 20 ]; do
	rm -rf "$STORE_TMP/try"
	sync_pair_use "$PROBE"
	sync_pair_clone try
	IMAPSYNC_DEBUG_EXIT_AT=$n sync_run_with "$HOOKS_BIN"
	[ "$(sync_db 'SELECT count(*) FROM pending')" -gt 0 ] && break
	n=$((n + 1))
done
tap_check "a run stopped at step $n left interrupted copies" \
	test "$(sync_db 'SELECT count(*) FROM pending')" -gt 0
PENDING=$(sync_db 'SELECT count(*) FROM pending')
PAIRS=$(sync_db 'SELECT count(*) FROM mapping')

cp "$SYNC_DB" "$STORE_TMP/before.db"
sync_run --status
tap_is "$SYNC_RC" 0 "--status exits 0"
tap_diag "$(cat "$SYNC_OUT")"
tap_check "no server was asked (no session started)" \
	sh -c "! grep -q . '$SYNC_ERR'"
tap_check "the database is as it was" cmp "$SYNC_DB" "$STORE_TMP/before.db"
tap_check "lock: free" grep -q '^lock: free' "$SYNC_OUT"
tap_check "the name in UTF-8 with the local delimiter" \
	grep -q '^Café\.Sub  *2  *0 ' "$SYNC_OUT"
tap_check "INBOX: its pairs and its pending copies" \
	grep -Eq "^INBOX +3 +$PENDING +4 " "$SYNC_OUT"
tap_check "a last sync time" \
	grep -Eq '^INBOX .* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$' "$SYNC_OUT"
tap_check "the total" grep -q \
	"^total: 2 mailboxes, $PAIRS pairs\?, $PENDING interrupted cop" \
	"$SYNC_OUT"
tap_is "$(wc -l <"$SYNC_OUT")" 6 "one line a mailbox, a header and a total"

sync_run --status --json
tap_is "$SYNC_RC" 0 "--status --json exits 0"
tap_is "$(json 'd["lock"]')" "{'held': False, 'pid': None, 'by': None}" "json: lock free"
tap_is "$(json '[m["name"] for m in d["mailboxes"]]')" "['Café.Sub', 'INBOX']" \
	"json: names in UTF-8, local delimiter"
tap_is "$(json 'd["delimiter"]')" "{'local': '.', 'remote': '/'}" \
	"json: both delimiters"
tap_is "$(json '[(m["pairs"], m["pending"]) for m in d["mailboxes"]]')" \
	"[(2, 0), (3, $PENDING)]" "json: pairs and pending"
tap_is "$(json 'd["total"]')" \
	"{'mailboxes': 2, 'pairs': $PAIRS, 'pending': $PENDING}" "json: total"
tap_is "$(json 'd["mailboxes"][1]["local"]["uidnext"]')" \
	"$(sync_db "SELECT UIDNEXT FROM local WHERE idx = $(sync_db_idx INBOX)")" \
	"json: the stored UIDNEXT"
tap_is "$(json 'd["mailboxes"][1]["remote"]["highestmodseq"]')" \
	"$(sync_db "SELECT HIGHESTMODSEQ FROM remote WHERE idx = $(sync_db_idx INBOX)")" \
	"json: the stored HIGHESTMODSEQ"
tap_check "json: last_sync a time of today" python3 -c '
import json, sys, time
d = json.load(open(sys.argv[1]))
t = d["mailboxes"][1]["last_sync"]
sys.exit(0 if abs(time.time() - t) < 86400 else 1)' "$SYNC_OUT"

# A lock held (as take_lock() holds it: flock on DB.lock with the pid).
sh -c 'exec 9>>"$0.lock"; flock 9; echo $$ >"$0.lock"; : >"$0.held"
exec sleep 600' "$SYNC_DB" &
HOLDER=$!
watch_until 30 test -e "$SYNC_DB.held"
sync_run --status
tap_is "$SYNC_RC" 0 "--status with the lock held exits 0"
tap_check "naming the holder's pid" \
	grep -q "^lock: held by pid $HOLDER (a run is using" "$SYNC_OUT"
tap_check "and still the mailboxes" grep -Eq "^INBOX +3 +$PENDING " "$SYNC_OUT"
sync_run --status --json
tap_is "$(json 'd["lock"]')" "{'held': True, 'pid': $HOLDER, 'by': 'run'}" \
	"json: lock held, pid"
sync_run
tap_is "$SYNC_RC" 4 "a sync meanwhile is refused (the lock is real)"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
rm -f "$SYNC_DB.held"

# A watcher: SQLite's exclusive lock too; --status reads it all the same.
# settled: the watcher's first sync is committed (as --status sees it).
settled() {
	sync_run --status --json && [ "$(json 'd["total"]["pending"]')" = 0 ]
}
watch_start --watch=3600
tap_check "the watcher's first sync settles the interrupted copies" \
	watch_until 60 settled
sync_run --status --json
tap_is "$(json 'd["lock"]')" "{'held': True, 'pid': $WATCH_PID, 'by': 'watcher'}" \
	"json: the watcher's pid, a watcher"
tap_is "$(json '[m["pairs"] for m in d["mailboxes"]]')" "[2, 7]" \
	"json: read while the watcher holds the database"
sync_run --status
tap_check "text: held by a watcher" \
	grep -q "^lock: held by pid $WATCH_PID (a watcher is using" "$SYNC_OUT"
watch_stop TERM
tap_is "$WATCH_RC" 0 "the watcher stops"
sync_dumps_equal "stores equal" --canon

# An older database (schema 5): no last sync, no delimiter, no error.
sync_db 'DROP TABLE synced; DROP TABLE delimiter; DROP TABLE flagset;
	DROP TABLE base_mark; ALTER TABLE mapping DROP COLUMN base;
	ALTER TABLE pending DROP COLUMN base; PRAGMA user_version = 5'
sync_run --status --json
tap_is "$SYNC_RC" 0 "--status on a schema 5 database exits 0"
tap_is "$(json '[m["last_sync"] for m in d["mailboxes"]] + [d["schema"]]')" \
	"[None, None, 5]" "json: last_sync null"
tap_is "$(json '[m["name"] for m in d["mailboxes"]]')" "['Café/Sub', 'INBOX']" \
	"json: '/' where the delimiter is not known"
sync_run --status --force
tap_is "$SYNC_RC" 2 "--status --force is a usage error"
sync_run --json
tap_is "$SYNC_RC" 2 "--json alone is a usage error"
tap_done
