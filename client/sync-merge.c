/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The first-run brake: a database that knows no mailbox yet, and mail on
 * both sides, is a merge of two stores, which no later run can undo (one
 * wrong `command =` mixes two accounts both ways). Before anything is
 * written the run says what the merge would do, per side, and stops with
 * the brake's exit status unless it was asked for (--force, safety-merge
 * = NO). What would be paired is counted as sync-match.c pairs: by the
 * messages' keys, read with EXAMINE and FETCH, which change nothing. */
#include "sync-private.h"

#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct merge_keys {
	unsigned char (*key)[SYNC_KEY_LEN];
	size_t count, alloc;
};

struct merge_scan {
	struct sync_run *run;
	enum side side;
	const struct sync_merge_box *boxes;
	struct merge_keys *keys; /* per box */
	/* The box whose EXAMINE was answered last: FETCH answers that come
	 * after it are its own (a server answers in order). */
	size_t cur;
	bool have_cur;
	bool failed;
};

struct merge_cmd {
	struct merge_scan *scan;
	size_t box;
};

static void
merge_untagged(struct imap_conn *conn, const struct imap_response *resp,
               void *ctx)
{
	struct merge_scan *sc = ctx;
	struct merge_keys *k;
	struct imap_fetch f;
	struct sync_ident id;
	const char *error;

	(void)conn;
	if (!sc->have_cur || resp->name == NULL ||
	    strcmp(resp->name, "FETCH") != 0 ||
	    imap_decode_fetch(resp, &f, &error) < 0 ||
	    sync_match_key(&f, &id) < 0)
		return;
	k = &sc->keys[sc->cur];
	if (k->count == k->alloc) {
		k->alloc = k->alloc == 0 ? 64 : k->alloc * 2;
		k->key = xreallocarray(k->key, k->alloc, sizeof(*k->key));
	}
	memcpy(k->key[k->count++], id.key, SYNC_KEY_LEN);
}

static void
merge_examine_done(struct imap_conn *conn, const struct imap_response *resp,
                   void *ctx)
{
	struct merge_cmd *mc = ctx;
	struct merge_scan *sc = mc->scan;

	(void)conn;
	if (resp != NULL && resp->status == IMAP_STATUS_OK) {
		sc->cur = mc->box;
		sc->have_cur = true;
	} else {
		sc->have_cur = false;
		if (resp != NULL)
			sc->failed = true;
	}
	free(mc);
}

static void
merge_fetch_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct merge_scan *sc = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sc->failed = true;
	sc->have_cur = false;
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SYNC_KEY_LEN);
}

/* Messages with the same key on both sides, as many as MATCH would
 * pair: the size of the intersection of the two multisets. */
static uint64_t
merge_common(struct merge_keys *a, struct merge_keys *b)
{
	size_t i = 0, j = 0;
	uint64_t n = 0;

	if (a->count > 0)
		qsort(a->key, a->count, SYNC_KEY_LEN, key_cmp);
	if (b->count > 0)
		qsort(b->key, b->count, SYNC_KEY_LEN, key_cmp);
	while (i < a->count && j < b->count) {
		int c = memcmp(a->key[i], b->key[j], SYNC_KEY_LEN);

		if (c == 0) {
			n++;
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

int
sync_merge_check(struct sync_run *run, const struct sync_merge_box *boxes,
                 size_t n)
{
	struct merge_scan scan[SIDE_COUNT];
	uint64_t msgs[SIDE_COUNT] = {0, 0}, copies[SIDE_COUNT] = {0, 0};
	uint64_t paired = 0;
	unsigned mboxes[SIDE_COUNT] = {0, 0}, creates[SIDE_COUNT] = {0, 0};
	bool scanning = false, same;
	unsigned s;
	size_t i;
	int ret = -1;

	for (i = 0; i < n; i++) {
		for (s = 0; s < SIDE_COUNT; s++) {
			if (!boxes[i].exists[s])
				continue;
			mboxes[s]++;
			msgs[s] += boxes[i].messages[s];
		}
	}
	if (msgs[SIDE_LOCAL] == 0 || msgs[SIDE_REMOTE] == 0)
		return 0;

	memset(scan, 0, sizeof(scan));
	for (s = 0; s < SIDE_COUNT; s++) {
		struct sync_server *srv = &run->server[s];

		scan[s].run = run;
		scan[s].side = s;
		scan[s].boxes = boxes;
		scan[s].keys = xcalloc(n + 1, sizeof(*scan[s].keys));
		imap_conn_set_untagged(srv->conn, merge_untagged, &scan[s]);
		for (i = 0; i < n; i++) {
			const struct sync_merge_box *b = &boxes[i];
			struct merge_cmd *mc;
			char *wire;

			if (!b->exists[SIDE_LOCAL] || !b->exists[SIDE_REMOTE] ||
			    b->messages[SIDE_LOCAL] == 0 ||
			    b->messages[SIDE_REMOTE] == 0)
				continue;
			wire = sync_wire_name(srv, b->name, b->len);
			if (wire == NULL)
				abort(); /* the items fit (mbx_check_fits()) */
			mc = xmalloc(sizeof(*mc));
			mc->scan = &scan[s];
			mc->box = i;
			if (imap_conn_cmd(srv->conn, merge_examine_done, mc,
			                  "EXAMINE %s", wire) == NULL)
				free(mc);
			imap_conn_cmd(srv->conn, merge_fetch_done, &scan[s],
			              "UID FETCH 1:* (UID RFC822.SIZE "
			              "INTERNALDATE "
			              "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
			free(wire);
			scanning = true;
		}
	}
	if (scanning && sync_run_wait(run) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (scan[s].failed)
			log_warn(side_name(s), NULL,
			         "a mailbox could not be read to count the "
			         "messages both sides hold: they are counted "
			         "as copies");
	}
	for (i = 0; i < n; i++) {
		const struct sync_merge_box *b = &boxes[i];
		uint64_t common = 0;

		for (s = 0; s < SIDE_COUNT; s++) {
			if (b->exists[s] && !b->exists[side_other(s)]) {
				creates[side_other(s)]++;
				copies[side_other(s)] += b->messages[s];
			}
		}
		if (!b->exists[SIDE_LOCAL] || !b->exists[SIDE_REMOTE])
			continue;
		common = merge_common(&scan[SIDE_LOCAL].keys[i],
		                      &scan[SIDE_REMOTE].keys[i]);
		paired += common;
		for (s = 0; s < SIDE_COUNT; s++) {
			uint32_t from = b->messages[side_other(s)];

			copies[s] += from > common ? from - common : 0;
		}
	}
	/* The same mail on both sides (a store restored, a new database):
	 * every message pairs, nothing mixes. */
	same = copies[SIDE_LOCAL] == 0 && copies[SIDE_REMOTE] == 0 &&
	       creates[SIDE_LOCAL] == 0 && creates[SIDE_REMOTE] == 0 &&
	       !scan[SIDE_LOCAL].failed && !scan[SIDE_REMOTE].failed;
	sync_trace(NULL, -1,
	           "brake safety-merge: first run, local %u %s %" PRIu64
	           " %s, remote %u %s %" PRIu64 " %s: %" PRIu64
	           " on both sides, %" PRIu64 " to copy to remote, %" PRIu64
	           " to local, %u %s to create on remote, %u on local: %s",
	           mboxes[SIDE_LOCAL],
	           log_plural(mboxes[SIDE_LOCAL], "mailbox", "mailboxes"),
	           msgs[SIDE_LOCAL],
	           log_plural(msgs[SIDE_LOCAL], "message", "messages"),
	           mboxes[SIDE_REMOTE],
	           log_plural(mboxes[SIDE_REMOTE], "mailbox", "mailboxes"),
	           msgs[SIDE_REMOTE],
	           log_plural(msgs[SIDE_REMOTE], "message", "messages"), paired,
	           copies[SIDE_REMOTE], copies[SIDE_LOCAL],
	           creates[SIDE_REMOTE],
	           log_plural(creates[SIDE_REMOTE], "mailbox", "mailboxes"),
	           creates[SIDE_LOCAL],
	           same ? "the same mail, pairing"
	                : "a merge, the run stops (exit 5)");
	if (same) {
		log_info(NULL, NULL,
		         "first run: both sides hold the same %" PRIu64
		         " %s; pairing them",
		         paired, log_plural(paired, "message", "messages"));
		ret = 0;
		goto out;
	}
	log_error(NULL, NULL,
	          "first run: the database knows no mailbox and both sides "
	          "hold mail, so this run would merge them for good. local: %u "
	          "%s, %" PRIu64 " %s; remote: %u %s, %" PRIu64 " %s. %" PRIu64
	          " %s on both sides and would be paired; %" PRIu64
	          " would be copied to remote and %" PRIu64
	          " to local, and %u %s created on remote, %u on "
	          "local. Nothing was written on either server. If both "
	          "sides are the accounts you mean to merge, run again with "
	          "--force (or set safety-merge = NO); if not, check "
	          "[local] and [remote] in the configuration.",
	          mboxes[SIDE_LOCAL],
	          log_plural(mboxes[SIDE_LOCAL], "mailbox", "mailboxes"),
	          msgs[SIDE_LOCAL],
	          log_plural(msgs[SIDE_LOCAL], "message", "messages"),
	          mboxes[SIDE_REMOTE],
	          log_plural(mboxes[SIDE_REMOTE], "mailbox", "mailboxes"),
	          msgs[SIDE_REMOTE],
	          log_plural(msgs[SIDE_REMOTE], "message", "messages"), paired,
	          log_plural(paired, "message is", "messages are"),
	          copies[SIDE_REMOTE], copies[SIDE_LOCAL], creates[SIDE_REMOTE],
	          log_plural(creates[SIDE_REMOTE], "mailbox", "mailboxes"),
	          creates[SIDE_LOCAL]);
	run->braked = true;
	run->braked_merge = true;
	run->fatal = true;
	ret = 1;
out:
	for (s = 0; s < SIDE_COUNT; s++) {
		if (run->server[s].conn != NULL)
			imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		for (i = 0; scan[s].keys != NULL && i < n; i++)
			free(scan[s].keys[i].key);
		free(scan[s].keys);
	}
	return ret;
}
