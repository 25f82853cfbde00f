#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# 35-subscribe.sh: subscriptions and unsubscriptions travel both ways, and
# the database records the subscription state.
. "${IMAPSYNC_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/sync.sh"

sync_pair_new
store_create "$LOCAL" foo bar 'sub/deep'
store_subscribe "$LOCAL" foo
store_create "$REMOTE" baz
store_subscribe "$REMOTE" baz
sync_ok "sync exits 0"
sync_dumps_equal "dumps equal (subscription state included)"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "baz foo " \
	"a mailbox created subscribed is subscribed remotely"
tap_is "$(sync_db_boxes | awk '$2 == 1 { print $3 }' | tr '\n' ' ')" "baz foo " \
	"database: foo and baz subscribed"

store_subscribe "$LOCAL" bar sub/deep
store_unsubscribe "$REMOTE" foo
sync_ok "sync after (un)subscribing exits 0"
sync_dumps_equal "dumps equal after (un)subscribing"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "bar baz sub/deep " \
	"subscriptions local → remote, unsubscription remote → local"
tap_is "$(store_lsub "$REMOTE" | tr '\n' ' ')" "bar baz sub/deep " \
	"remote subscriptions"
tap_is "$(sync_db_boxes | awk '$2 == 1 { print $3 }' | tr '\n' ' ')" "bar baz sub/deep " \
	"database subscriptions follow"

store_unsubscribe "$LOCAL" bar
store_unsubscribe "$REMOTE" bar
store_subscribe "$REMOTE" INBOX
sync_ok "sync after the same unsubscription on both sides exits 0"
sync_dumps_equal "dumps equal after the double unsubscription"
tap_is "$(store_lsub "$LOCAL" | tr '\n' ' ')" "INBOX baz sub/deep " \
	"INBOX subscription travels"
sync_noop "a further run is a no-op"
tap_done
