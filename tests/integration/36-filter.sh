#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 36-filter.sh: ignore-mailbox keeps matching mailboxes out; list-mailbox
# limits the run to its patterns; MAILBOX arguments override both.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new --ignore-mailbox '^virtual(?:\x00|$)'
store_create "$LOCAL" virtual virtual/all keep virtualness
store_append "$LOCAL" virtual/all -s hidden >/dev/null
store_append "$LOCAL" keep -s kept >/dev/null
store_create "$REMOTE" virtual/remote
sync_ok "ignore-mailbox: sync exits 0"
tap_is "$(store_list "$REMOTE" | awk '{ print $2 }' | tr '\n' ' ')" "INBOX keep virtual virtual/remote virtualness " \
	"ignore-mailbox: remote has keep and virtualness, no virtual/all"
tap_check "ignore-mailbox: virtual/remote not created locally" sh -c \
	"! $IMAPTOOL '$LOCAL' list | grep -q virtual/remote"
tap_is "$(sync_db_boxes | awk '{ print $3 }' | tr '\n' ' ')" "INBOX keep virtualness " \
	"ignore-mailbox: the database knows no virtual mailbox"
store_append "$LOCAL" virtual/all -s hidden2 >/dev/null
sync_noop "ignore-mailbox: changes in an ignored mailbox are no change"

sync_pair_new --name list --list-mailbox 'INBOX work* "with space"'
store_create "$REMOTE" work work2 other 'with space'
for b in work work2 other 'with space'; do
	store_append "$REMOTE" "$b" -s "in $b" >/dev/null
done
sync_ok "list-mailbox: sync exits 0"
tap_is "$(store_list "$LOCAL" | awk '{ $1 = ""; print substr($0, 2) }' | tr '\n' ,)" "INBOX,with space,work,work2," \
	"list-mailbox: only the listed mailboxes arrived"
sync_ok "a MAILBOX argument overrides list-mailbox" other
tap_is "$(store_count "$LOCAL" other)" 1 \
	"the named mailbox arrived with its message"
sync_dumps_equal "list-mailbox: dumps equal after both runs"
tap_done
