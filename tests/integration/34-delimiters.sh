#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 34-delimiters.sh: the two sides may use different hierarchy delimiters
# ("/" and ".") and list-references, names are mapped between them.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

# Local "/" ↔ remote "." (Courier-like, mailboxes below "INBOX.").
sync_pair_new --remote-sep . --remote-format mdbox
store_create "$LOCAL" a/b
store_append "$LOCAL" a/b -s from-local >/dev/null
store_create "$REMOTE" x.y.z
store_append "$REMOTE" x.y.z -s from-remote >/dev/null
sync_ok "different delimiters: sync exits 0"
sync_dumps_equal "different delimiters: canonical dumps equal" --canon
tap_check "a/b is a.b remotely" sh -c "$IMAPTOOL '$REMOTE' list | grep -qx '\\. a\\.b'"
tap_check "x.y.z is x/y/z locally" sh -c "$IMAPTOOL '$LOCAL' list | grep -qx '/ x/y/z'"
tap_check "the database holds NUL-delimited names" \
	test -n "$(sync_db_idx x/y/z)"
sync_noop "different delimiters: a further run is a no-op"

# A local list-reference: the remote hierarchy lives below perso/ locally.
sync_pair_new --name ref --local-ref perso/ --remote-sep .
store_create "$LOCAL" other perso/work
store_append "$LOCAL" other -s outside >/dev/null
store_append "$LOCAL" perso/work -s inside >/dev/null
store_create "$REMOTE" lists.dev
store_append "$REMOTE" lists.dev -s remote-list >/dev/null
sync_ok "list-reference: sync exits 0"
tap_check "perso/work became work remotely" sh -c \
	"$IMAPTOOL '$REMOTE' list | grep -qx '\\. work'"
tap_check "lists.dev became perso/lists/dev locally" sh -c \
	"$IMAPTOOL '$LOCAL' list | grep -qx '/ perso/lists/dev'"
tap_check "a mailbox outside the reference did not travel" sh -c \
	"! $IMAPTOOL '$REMOTE' list | grep -q other"
# Remote INBOX is perso/INBOX locally.
store_dump "$LOCAL" --canon --ref perso/ >"$SYNC_DIR/dump.local"
store_dump "$REMOTE" --canon >"$SYNC_DIR/dump.remote"
tap_check "list-reference: dumps below the reference equal" \
	diff -u "$SYNC_DIR/dump.local" "$SYNC_DIR/dump.remote"
store_append "$REMOTE" work -s later >/dev/null
sync_ok "list-reference: incremental sync exits 0"
tap_is "$(store_count "$LOCAL" perso/work)" 2 \
	"list-reference: the new message is in perso/work"
sync_noop "list-reference: a further run is a no-op"
tap_done
