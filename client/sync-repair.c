/* --repair: fetch every message's flags on both sides and hold them
 * against the mapping table, as interimap does: a pair whose message
 * vanished from one side is expunged on the other; one that disappeared
 * without a trace is copied again; flags that differ go the way of the
 * side that changed since the last sync (the union when both did); a
 * message with no pair is copied to the other side. The result feeds the
 * ordinary APPLY and CHECK rounds. */
#include "sync-private.h"

#include "buf.h"
#include "imap-conn.h"
#include "log.h"

#include <inttypes.h>
#include <string.h>

static void
scan_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side, "UID FETCH 1:* failed: %s",
		          resp->text);
}

struct repair_ctx {
	struct mbox *mb;
	struct uidset drop; /* local UIDs whose pair goes */
};

static int
repair_pair(void *context, uint32_t luid, uint32_t ruid)
{
	struct repair_ctx *rc = context;
	struct mbox *mb = rc->mb;
	struct mbox_side *ls = &mb->s[SIDE_LOCAL], *rs = &mb->s[SIDE_REMOTE];
	struct flagmap_entry *l = flagmap_get(&ls->all, luid);
	struct flagmap_entry *r = flagmap_get(&rs->all, ruid);
	bool lvan = uidset_contains(&ls->was_vanished, luid);
	bool rvan = uidset_contains(&rs->was_vanished, ruid);

	if (l != NULL && r != NULL) {
		bool lchg = l->modseq > ls->row.highestmodseq;
		bool rchg = r->modseq > rs->row.highestmodseq;

		if (!flags_equal(l->flags, r->flags)) {
			if (!lchg && !rchg)
				log_warn(NULL, mb->display,
				         "Missed flag update for (lUID,rUID) "
				         "= (%" PRIu32 ",%" PRIu32
				         "). Repairing.",
				         luid, ruid);
			/* The side that changed wins; both: the union. */
			if (lchg || !rchg)
				flagmap_set(&ls->modified, luid, l->flags,
				            l->modseq);
			if (rchg || !lchg)
				flagmap_set(&rs->modified, ruid, r->flags,
				            r->modseq);
		}
	} else if (l == NULL && r == NULL) {
		if (!lvan || !rvan)
			log_warn(NULL, mb->display,
			         "Pair (lUID,rUID) = (%" PRIu32 ",%" PRIu32
			         ") vanished. Repairing.",
			         luid, ruid);
		uidset_add(&rc->drop, luid);
	} else if (l == NULL) {
		if (lvan) {
			/* Keep the pair: APPLY expunges the partner and
			 * drops it then. */
			uidset_add(&ls->vanished, luid);
		} else {
			log_warn("local", mb->display,
			         "UID %" PRIu32 " disappeared. Redownloading "
			         "remote UID %" PRIu32 ".",
			         luid, ruid);
			uidset_add(&rc->drop, luid);
			uidset_add(&rs->fresh, ruid);
		}
	} else {
		if (rvan) {
			uidset_add(&rs->vanished, ruid);
		} else {
			log_warn("remote", mb->display,
			         "UID %" PRIu32 " disappeared. Redownloading "
			         "local UID %" PRIu32 ".",
			         ruid, luid);
			uidset_add(&rc->drop, luid);
			uidset_add(&ls->fresh, luid);
		}
	}
	flagmap_remove(&ls->all, luid);
	flagmap_remove(&rs->all, ruid);
	return 0;
}

void
sync_repair_start(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		/* SELECT's reports are recomputed from the full lists; only
		 * the pairs to expunge go back into vanished. */
		flagmap_clear(&ms->modified);
		uidset_free(&ms->was_vanished);
		ms->was_vanished = ms->vanished;
		uidset_normalize(&ms->was_vanished);
		uidset_init(&ms->vanished);
		sync_select_for_step(ms, false);
		sync_cmd(ms, false, scan_done, ms,
		         "UID FETCH 1:* (UID FLAGS MODSEQ)");
	}
}

int
sync_repair_compare(struct mbox *mb)
{
	struct repair_ctx rc;
	struct state *st = mb->run->state;
	struct uidset_iter it;
	const char *error;
	unsigned s;
	uint32_t uid;
	int ret = -1;

	memset(&rc, 0, sizeof(rc));
	rc.mb = mb;
	if (mb->failed)
		goto out;
	if (state_mapping_foreach(st, mb->idx, SIDE_LOCAL, repair_pair, &rc,
	                          &error) != 0)
		goto db_error;
	if (state_begin(st, &error) < 0)
		goto db_error;
	uidset_iter_init(&it, &rc.drop);
	while (uidset_iter_next(&it, &uid)) {
		if (state_mapping_remove(st, mb->idx, SIDE_LOCAL, uid, &error) <
		    0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	/* Messages with no pair: copy them over. */
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct flagmap_entry *e;
		size_t pos = 0;

		while ((e = flagmap_next(&ms->all, &pos)) != NULL) {
			log_warn(side_name(side_other(s)), mb->display,
			         "No match for %s UID %" PRIu32
			         ". Redownloading.",
			         side_name(s), e->uid);
			uidset_add(&ms->fresh, e->uid);
		}
		flagmap_clear(&ms->all);
	}
	ret = 0;
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	uidset_free(&rc.drop);
	return ret;
}
