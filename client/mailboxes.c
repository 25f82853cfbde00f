/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mailbox list of a run: each pass lists both sides
 * (mailboxes-list.c), carries renames (mailboxes-rename.c) and deletions
 * (mailboxes-deletions.c), reconciles the rest as interimap does
 * (mailboxes-reconcile.c), and hands the sync engine the mailboxes whose
 * numbers moved: one whose numbers did not move on either side is not
 * selected at all. */
#include "mailboxes.h"

#include "mailboxes-private.h"
#include "config.h"
#include "imap-decode.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* A server's (or the command line's) modified UTF-7 name of a mailbox
 * in UTF-8, for a message: valid until the second call after. */
const char *
mbx_u8(const char *wire)
{
	static char *slot[2];
	static unsigned next;
	char *u = sync_utf8_name(wire);

	free(slot[next]);
	slot[next] = u;
	next = (next + 1) % 2;
	return u;
}

/* The pairs the safety brake (safety-expunge, sync.c) weighs what would
 * be expunged against: those of every mailbox both sides list. */
static int
mbx_count_paired(struct sync_run *run, struct mbx_item *items, size_t n)
{
	const char *error;
	size_t i;

	run->paired = 0;
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];
		uint64_t count;

		/* m->idx: looked up once, when the list was read. */
		if (!mbx_exists(m->e[0]) || !mbx_exists(m->e[1]) ||
		    m->idx <= 0)
			continue;
		if (state_mapping_count(run->state, m->idx, &count, &error) <
		    0) {
			log_error("database", NULL, "%s", error);
			return -1;
		}
		run->paired += count;
	}
	return 0;
}

/* One listing and what follows it; 1 when mailboxes were renamed and the
 * list must be read again. A dry run reads it once: its renames change
 * the lists as a new LIST would show them (mbx_dry_rename()). */
static int
mbx_sync_pass(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
              char **args, size_t nargs, bool repair, bool renames)
{
	struct mbx_item *items = NULL;
	struct sync_target *targets = NULL;
	size_t ntargets = 0, unchanged = 0;
	size_t n = 0, i;
	unsigned s;
	int ret = -1;

	if (!run->set.dry_run || lists[SIDE_LOCAL].srv == NULL) {
		for (s = 0; s < SIDE_COUNT; s++)
			mbx_list_free(&lists[s]);
		if (mbx_list_both(run, lists, args, nargs) < 0)
			goto out;
		for (s = 0; s < SIDE_COUNT; s++)
			mbx_internal_names(&lists[s]);
	}

	items = mbx_match(run, lists, nargs, &n);
	for (i = 0; i < n; i++)
		mbx_check_fits(run, &items[i]);
	for (i = 0; i < n; i++) {
		const char *error;

		if (state_mailbox_find(run->state, items[i].name, items[i].len,
		                       &items[i].idx, NULL, &error) < 0) {
			log_error("database", NULL, "%s", error);
			goto out;
		}
	}
	if (run->merge_check && mbx_merge_check(run, items, n) != 0)
		goto out;
	if (renames) {
		int r = mbx_renames(run, lists, items, n);

		if (r != 0) {
			ret = r > 0 ? 1 : -1;
			goto out;
		}
	}
	if (run->set.restore && mbx_restore_boxes(run, items, n) < 0)
		goto out;
	if (mbx_deletions(run, items, n) < 0 ||
	    mbx_reconcile(run, items, n) < 0 ||
	    mbx_record_ids(run, items, n) < 0)
		goto out;
	targets = xcalloc(n + 1, sizeof(*targets));
	for (i = 0; i < n && !run->fatal; i++) {
		struct mbx_item *m = &items[i];

		if (m->skip || m->idx <= 0)
			continue;
		if (!repair && mbx_side_unchanged(run, m, SIDE_LOCAL) &&
		    mbx_side_unchanged(run, m, SIDE_REMOTE)) {
			unchanged++;
			continue;
		}
		/* A dry run syncs a mailbox it would create as an empty
		 * one there, and one it would rename by its old name. */
		if (run->set.dry_run && m->created)
			targets[ntargets].absent[m->create_on] = true;
		for (s = 0; s < SIDE_COUNT; s++) {
			if (m->e[s] != NULL)
				targets[ntargets].wire[s] = m->e[s]->dry_wire;
		}
		targets[ntargets].name = m->name;
		targets[ntargets].len = m->len;
		targets[ntargets].idx = m->idx;
		for (s = 0; s < SIDE_COUNT; s++) {
			const struct mbx_entry *e = m->e[s];

			if (e != NULL && e->have_status &&
			    (e->status.have &
			     (IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_UIDNEXT |
			      IMAP_STATUS_HIGHESTMODSEQ)) ==
			        (IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_UIDNEXT |
			         IMAP_STATUS_HIGHESTMODSEQ)) {
				targets[ntargets].listed[s].uidvalidity =
				    e->status.uidvalidity;
				targets[ntargets].listed[s].uidnext =
				    e->status.uidnext;
				targets[ntargets].listed[s].highestmodseq =
				    e->status.highestmodseq;
			}
		}
		ntargets++;
	}
	if (log_sync_tracing())
		sync_trace_text("mailboxes: %zu to sync, %zu unchanged on both "
		                "sides since the last run (LIST-STATUS), not "
		                "selected",
		                ntargets, unchanged);
	/* The brake's total, counted only when messages may move. */
	if (ntargets > 0 && (mbx_count_paired(run, items, n) < 0 ||
	                     sync_messages(run, targets, ntargets, repair) < 0))
		goto out;
	ret = run->fatal ? -1 : 0;
out:
	for (i = 0; items != NULL && i < n; i++) {
		free(items[i].new_id[0]);
		free(items[i].new_id[1]);
	}
	free(targets);
	free(items);
	return ret;
}

/* Listings a run may make for renames: each finds those a rename of
 * their parent hid from the one before. */
#define MBX_RENAME_PASSES 4

int
mailboxes_sync(struct sync_run *run, char **args, size_t nargs, bool repair)
{
	struct mbx_list lists[SIDE_COUNT];
	uint64_t known = 0;
	const char *error;
	unsigned pass = 1, s;
	int ret;

	if (!run->set.merge_ok && !run->set.force &&
	    run->config->safety_merge) {
		if (state_mailbox_count(run->state, &known, &error) < 0) {
			log_error("database", NULL, "%s", error);
			return -1;
		}
		run->merge_check = known == 0;
	}
	memset(lists, 0, sizeof(lists));
	ret = mbx_sync_pass(run, lists, args, nargs, repair, true);
	run->merge_check = false;

	/* After renames, the names both sides have changed: list again,
	 * and look for renames again (a child renamed under a parent that
	 * was renamed too shows only then), a few times at most. */
	while (ret == 1)
		ret = mbx_sync_pass(run, lists, args, nargs, repair,
		                    ++pass < MBX_RENAME_PASSES);
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}
