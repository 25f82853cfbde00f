/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The first step of a sync, SELECT: each side of each mailbox that
 * changed is selected with QRESYNC from the stored HIGHESTMODSEQ (with
 * the sizes of a few new messages in the same flight), or left out when
 * LIST-STATUS already said all a SELECT would; then what it said is
 * checked and the new UIDs are listed (sync.c has the rest). */
#include "sync-private.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "state.h"
#include "uidset.h"

#include <inttypes.h>
#include <stdio.h>

static void
mbox_select_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	ms->first.done = true;
	if (resp == NULL)
		return;
	if (resp->status != IMAP_STATUS_OK) {
		snprintf(ms->first.error, sizeof(ms->first.error), "%s",
		         resp->text);
		return;
	}
	if (resp->code != NULL)
		sync_on_code(ms, &sync_phase_select, resp);
	ms->first.ok = true;
}

static void
early_sizes_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	/* Not fatal: MATCH asks again for what is missing. */
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		uidset_clear(&ms->match.sized);
}

void
sync_first_select(struct mbox_side *ms, const struct sync_target *t,
                  bool early_sizes)
{
	uint32_t listed_uidnext = t->listed[ms->side].uidnext;
	/* --dry-run looks without touching, not even \Recent. */
	const char *verb = ms->mb->run->set.dry_run ? "EXAMINE" : "SELECT";

	sync_trace(ms->mb, (int)ms->side,
	           "select: %s (stored UIDVALIDITY %" PRIu32 " UIDNEXT %" PRIu32
	           " HIGHESTMODSEQ %" PRIu64 "; listed UIDNEXT %" PRIu32
	           " HIGHESTMODSEQ %" PRIu64 ")%s",
	           !ms->have_row ? "never synced, every message is new"
	           : ms->row.highestmodseq > 0 && ms->row.uidvalidity > 0
	               ? "QRESYNC from the stored numbers"
	               : "no stored HIGHESTMODSEQ, plain",
	           ms->row.uidvalidity, ms->row.uidnext, ms->row.highestmodseq,
	           listed_uidnext, t->listed[ms->side].highestmodseq,
	           early_sizes && ms->have_row && ms->row.uidnext > 0 &&
	                   listed_uidnext > ms->row.uidnext &&
	                   listed_uidnext - ms->row.uidnext <= SYNC_EARLY_SIZES
	               ? ", with the new messages' sizes"
	               : "");
	if (ms->have_row && ms->row.highestmodseq > 0 &&
	    ms->row.uidvalidity > 0)
		sync_cmd(ms, true, mbox_select_done, ms,
		         "%a %s (QRESYNC (%u %U))", verb, ms->wire,
		         ms->row.uidvalidity, ms->row.highestmodseq);
	else
		sync_cmd(ms, true, mbox_select_done, ms, "%a %s", verb,
		         ms->wire);
	/* A few new messages: their sizes now, in the same selection, for
	 * MATCH and moves to look at without selecting again. (Many: only
	 * if needed, later.) */
	if (early_sizes && ms->have_row && ms->row.uidnext > 0 &&
	    listed_uidnext > ms->row.uidnext &&
	    listed_uidnext - ms->row.uidnext <= SYNC_EARLY_SIZES)
		sync_cmd(ms, false, early_sizes_done, ms,
		         "UID FETCH %u:* (RFC822.SIZE)", ms->row.uidnext);
}

/* Whether more happened on this side of the mailbox than new mail, by
 * LIST-STATUS: each message added moves UIDNEXT by one and HIGHESTMODSEQ
 * by at most one (a MULTIAPPEND by one for all), so a HIGHESTMODSEQ that
 * moved further saw flags set or messages expunged. Only then may a
 * message have moved from a mailbox on this side, and the new messages'
 * sizes are worth asking in the first flight; if it guesses wrong,
 * MATCH asks them later, at the cost of a selection. */
bool
sync_first_churn(const struct mbox_side *ms, const struct sync_target *t)
{
	uint32_t uidnext = t->listed[ms->side].uidnext;
	uint64_t hms = t->listed[ms->side].highestmodseq;

	if (!ms->have_row || hms <= ms->row.highestmodseq ||
	    uidnext < ms->row.uidnext)
		return false;
	return hms - ms->row.highestmodseq > uidnext - ms->row.uidnext;
}

/* Whether LIST-STATUS said all that the first SELECT would: the side
 * is unchanged since the last run, or the sync has never seen it (there
 * is nothing yet to ask what changed since; everything is new). Then the
 * first SELECT is left out, its numbers taken from LIST, and APPLY's
 * selection, with QRESYNC from the same HIGHESTMODSEQ, reports what
 * changed in between. */
bool
sync_first_listed(struct mbox_side *ms, const struct sync_target *t)
{
	uint32_t uidvalidity = t->listed[ms->side].uidvalidity;
	uint32_t uidnext = t->listed[ms->side].uidnext;
	uint64_t hms = t->listed[ms->side].highestmodseq;

	if (uidvalidity == 0 || uidnext == 0 || hms == 0)
		return false;
	if (ms->have_row &&
	    (ms->row.uidvalidity != uidvalidity || ms->row.uidnext != uidnext ||
	     ms->row.highestmodseq != hms))
		return false;
	ms->first.done = ms->first.ok = true;
	ms->uidvalidity = uidvalidity;
	ms->uidnext = uidnext;
	ms->hms = hms;
	sync_trace(ms->mb, (int)ms->side,
	           "select: none, LIST-STATUS said it all (%s; UIDVALIDITY "
	           "%" PRIu32 " UIDNEXT %" PRIu32 " HIGHESTMODSEQ %" PRIu64 ")",
	           ms->have_row ? "unchanged since the last run"
	                        : "never synced",
	           uidvalidity, uidnext, hms);
	return true;
}

bool
sync_first_went_back(struct mbox_side *ms, uint32_t uidvalidity,
                     uint32_t uidnext, uint64_t hms)
{
	struct mbox *mb = ms->mb;

	if (!ms->have_row || ms->row.uidvalidity == 0 ||
	    uidvalidity != ms->row.uidvalidity ||
	    ((uidnext == 0 || uidnext >= ms->row.uidnext) &&
	     (hms == 0 || hms >= ms->row.highestmodseq)))
		return false;
	if (!mb->went_back[ms->side])
		log_warn(side_name(ms->side), mb->display,
		         "the server went back (UIDNEXT %" PRIu32
		         ", was %" PRIu32 "; HIGHESTMODSEQ %" PRIu64
		         ", was %" PRIu64 ") under the same UIDVALIDITY, as "
		         "after a lost index: comparing every message, as "
		         "--repair does; flags that differ are merged",
		         uidnext, ms->row.uidnext, hms, ms->row.highestmodseq);
	mb->went_back[ms->side] = true;
	return true;
}

/* After SELECT: may the mailbox be synced? */
int
sync_first_check(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;

	if (!ms->first.ok) {
		sync_fail(mb, ms->side, "cannot select mailbox: %s",
		          ms->first.error[0] != '\0' ? ms->first.error
		                                     : "connection lost");
		return -1;
	}
	if (ms->nomodseq || ms->hms == 0) {
		sync_fail(mb, ms->side,
		          "the mailbox does not keep MODSEQs (NOMODSEQ): it "
		          "cannot be synchronized statefully");
		return -1;
	}
	if (ms->uidvalidity == 0 || ms->uidnext == 0) {
		sync_fail(mb, ms->side,
		          "SELECT gave no UIDVALIDITY or UIDNEXT");
		return -1;
	}
	if (ms->have_row && ms->row.uidvalidity != 0 &&
	    ms->row.uidvalidity != ms->uidvalidity) {
		/* A server restored from a backup: its messages may all be
		 * found again on the other side, by content (MATCH). */
		if (mb->recover) {
			sync_fail(mb, ms->side,
			          "UIDVALIDITY changed on both sides");
			return -1;
		}
		log_warn(side_name(ms->side), mb->display,
		         "UIDVALIDITY changed (was %" PRIu32 ", now %" PRIu32
		         "): pairing the messages again by content",
		         ms->row.uidvalidity, ms->uidvalidity);
		mb->recover = true;
		mb->recover_side = ms->side;
		return 0;
	}
	(void)sync_first_went_back(ms, ms->uidvalidity, ms->uidnext, ms->hms);
	sync_trace(mb, (int)ms->side,
	           "selected: UIDVALIDITY %" PRIu32 " UIDNEXT %" PRIu32
	           " HIGHESTMODSEQ %" PRIu64 "%s",
	           ms->uidvalidity, ms->uidnext, ms->hms,
	           mb->went_back[ms->side] ? " (went back: compared in full)"
	                                   : "");
	return 0;
}

struct mapped_from {
	enum side side;
	uint32_t lo;
	struct uidset *uids;
};

static int
mapped_from_add(void *ctx, uint32_t luid, uint32_t ruid)
{
	struct mapped_from *m = ctx;
	uint32_t uid = m->side == SIDE_LOCAL ? luid : ruid;

	/* 1: the set is full, which is not the database's failure. */
	if (uid >= m->lo && uidset_add(m->uids, uid) < 0)
		return 1;
	return 0;
}

/* New UIDs on ms at the first round: from the stored UIDNEXT to the one
 * SELECT gave, less those already paired (an interrupted run's). */
int
sync_first_fresh(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;
	struct uidset mapped = UIDSET_INIT;
	uint32_t lo = ms->row.uidnext > 0 ? ms->row.uidnext : 1, uid;
	const char *error;
	size_t i = 0;
	int ret = 0;

	struct mapped_from mf = {ms->side, lo, &mapped};

	if (ms->uidnext <= lo)
		return 0;
	ret = state_mapping_foreach_range(mb->run->state, mb->idx, ms->side, lo,
	                                  UINT32_MAX, mapped_from_add, &mf,
	                                  &error);
	if (ret != 0) {
		uidset_free(&mapped);
		if (ret > 0)
			sync_fail_uids(ms);
		else
			sync_db_fail(mb, error);
		return -1;
	}
	uidset_normalize(&mapped);
	/* [lo, uidnext-1] minus the mapped ranges. */
	uid = lo;
	for (i = 0; i < mapped.n && uid < ms->uidnext; i++) {
		if (mapped.r[i].hi < uid)
			continue;
		if (mapped.r[i].lo > uid &&
		    (ret = sync_uids_add(ms, &ms->fresh, uid,
		                         mapped.r[i].lo - 1 < ms->uidnext - 1
		                             ? mapped.r[i].lo - 1
		                             : ms->uidnext - 1)) < 0)
			break;
		if (mapped.r[i].hi == UINT32_MAX) {
			uid = UINT32_MAX;
			break;
		}
		uid = mapped.r[i].hi + 1;
	}
	if (ret == 0 && uid < ms->uidnext)
		ret = sync_uids_add(ms, &ms->fresh, uid, ms->uidnext - 1);
	uidset_free(&mapped);
	return ret;
}

/* --- What vanished: only pairs count ----------------------------------------
 */

struct narrow {
	struct mbox_side *ms;
	struct uidset kept;
	uint64_t below; /* kept UIDs under the stored UIDNEXT */
};

static int
narrow_add(void *ctx, uint32_t luid, uint32_t ruid)
{
	struct narrow *n = ctx;
	uint32_t uid = n->ms->side == SIDE_LOCAL ? luid : ruid;

	if (!uidset_contains(&n->ms->vanished, uid))
		return 0;
	if (uid < n->ms->row.uidnext)
		n->below++;
	/* 1: the set is full, which is not the database's failure. */
	return uidset_add(&n->kept, uid) < 0 ? 1 : 0;
}

/* Up to this many ranges of vanished UIDs are looked up one range at a
 * time; past it, the mailbox's pairs are read through. */
#define SYNC_NARROW_RANGES 64

int
sync_vanished_narrow(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;
	struct narrow n = {ms, UIDSET_INIT, 0};
	uint64_t under = 0, past = 0;
	uint32_t limit = sync_uid_limit(ms);
	const char *error = NULL;
	size_t i;
	int ret;

	if (ms->vanished.n == 0)
		return 0;
	uidset_normalize(&ms->vanished);
	for (i = 0; i < ms->vanished.n; i++) {
		const struct uid_range *r = &ms->vanished.r[i];

		if (r->hi >= limit)
			past += (uint64_t)r->hi -
			        (r->lo > limit ? r->lo : limit) + 1;
		if (r->lo >= ms->row.uidnext)
			continue;
		under +=
		    (uint64_t)(r->hi < ms->row.uidnext ? r->hi
		                                       : ms->row.uidnext - 1) -
		    r->lo + 1;
	}
	/* A few ranges (VANISHED's usual answer): each looked up by the
	 * index; many: every pair read once. */
	if (ms->vanished.n <= SYNC_NARROW_RANGES) {
		for (i = 0, ret = 0; i < ms->vanished.n && ret == 0; i++)
			ret = state_mapping_foreach_range(
			    mb->run->state, mb->idx, ms->side,
			    ms->vanished.r[i].lo, ms->vanished.r[i].hi,
			    narrow_add, &n, &error);
	} else
		ret = state_mapping_foreach(mb->run->state, mb->idx, ms->side,
		                            narrow_add, &n, &error);
	if (ret != 0) {
		uidset_free(&n.kept);
		if (ret > 0)
			sync_fail_uids(ms);
		else
			sync_db_fail(mb, error);
		return -1;
	}
	if (under > n.below)
		log_warn(side_name(side_other(ms->side)), mb->display,
		         "No match for %" PRIu64 " vanished %s %s. Ignoring.",
		         under - n.below, side_name(ms->side),
		         log_plural(under - n.below, "UID", "UIDs"));
	if (past > 0)
		log_warn(side_name(ms->side), mb->display,
		         "the server said %" PRIu64 " %s vanished at or "
		         "past UIDNEXT %" PRIu32 ", which no message had: "
		         "ignored",
		         past, log_plural(past, "UID", "UIDs"), limit);
	uidset_free(&ms->vanished);
	ms->vanished = n.kept;
	uidset_normalize(&ms->vanished);
	return 0;
}

/* --- Replies to the first SELECT -------------------------------------------
 */

/* What changed since the stored HIGHESTMODSEQ (QRESYNC), and the early
 * sizes. */
static void
select_on_fetch(struct mbox_side *ms, const struct imap_fetch *f,
                bool in_select)
{
	struct buf *flags;

	(void)in_select;
	if (ms->undelete.n > 0 && f->modseq > ms->undelete_modseq &&
	    uidset_contains(&ms->undelete, f->uid))
		ms->undelete_modseq = f->modseq;
	if ((f->have & IMAP_FETCH_BODY) != 0)
		return;
	if ((f->have & IMAP_FETCH_RFC822_SIZE) != 0) {
		/* sync_first_select()'s early sizes ("n:*" may name an
		 * older one); FLAGS may come along, if they changed
		 * meanwhile. */
		if (f->uid >= ms->row.uidnext) {
			sync_match_add_size(ms, f->uid, f->size);
			if (sync_uids_add(ms, &ms->match.sized, f->uid,
			                  f->uid) < 0)
				return;
		}
	}
	if ((f->have & IMAP_FETCH_FLAGS) == 0)
		return;
	flags = buf_create(SYNC_MAX_FLAGS_TEXT);
	/* A message new since the stored UIDNEXT is copied, not
	 * updated. */
	if (sync_fetch_flags(ms, f, flags) == 0 &&
	    (f->uid < ms->row.uidnext || sync_is_mapped(ms, f->uid)))
		flagmap_set(&ms->modified, f->uid, buf_data(flags), f->modseq);
	buf_free(&flags);
}

static void
select_on_vanished(struct mbox_side *ms, const struct uidset *uids,
                   bool earlier)
{
	size_t i;

	sync_trace(ms->mb, (int)ms->side,
	           "VANISHED%s %s at SELECT: expunged since the last run "
	           "(kept: those with a pair)",
	           earlier ? " (EARLIER)" : "", sync_trace_uids(uids));
	/* Only ranges: sync_vanished_narrow() keeps what the mapping
	 * holds. */
	for (i = 0; i < uids->n; i++) {
		if (sync_uids_add(ms, &ms->vanished, uids->r[i].lo,
		                  uids->r[i].hi) < 0)
			break;
	}
}

static void
select_on_numbers(struct mbox_side *ms, const struct imap_resp_code *code)
{
	if (code->code == IMAP_CODE_UIDNEXT)
		ms->uidnext = code->uidnext;
	else if (code->code == IMAP_CODE_HIGHESTMODSEQ)
		ms->hms = code->modseq;
}

const struct sync_phase sync_phase_select = {
    .name = "SELECT",
    .fetch = select_on_fetch,
    .vanished = select_on_vanished,
    .numbers = select_on_numbers,
};
