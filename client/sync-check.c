/* SPDX-License-Identifier: GPL-3.0-or-later */
/* CHECK, the last step of a round: what changed since the first
 * SELECT's HIGHESTMODSEQ, ours and others'. APPLY's selection, with
 * QRESYNC from that HIGHESTMODSEQ, reports it in band as the round's
 * changes are made, so the replies of both steps are read here: what
 * the sync did itself is recognised (its STOREs' flags, its appended
 * messages, its expunges), anything else is foreign and makes the
 * mailbox go round again. A side whose selection did not see the whole
 * round is selected again (sync_check_start()). */
#include "sync-private.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "uidset.h"

#include <inttypes.h>

uint32_t
sync_uid_limit(const struct mbox_side *ms)
{
	uint32_t limit = ms->uidnext;

	if (ms->round.uidnext_seen > limit)
		limit = ms->round.uidnext_seen;
	if (ms->round.max_uid != UINT32_MAX && ms->round.max_uid + 1 > limit)
		limit = ms->round.max_uid + 1;
	if (ms->row.uidnext > limit)
		limit = ms->row.uidnext;
	/* What the sync appended here, from APPENDUID. */
	if (ms->round.appended.n > 0 &&
	    ms->round.appended.r[ms->round.appended.n - 1].hi != UINT32_MAX &&
	    ms->round.appended.r[ms->round.appended.n - 1].hi + 1 > limit)
		limit = ms->round.appended.r[ms->round.appended.n - 1].hi + 1;
	return limit;
}

/* A VANISHED in APPLY's selection or in CHECK, range by range (a server
 * may send 1:4000000000): what the sync expunged itself is seen gone,
 * the rest is foreign. */
void
sync_live_vanished(struct mbox_side *ms, const struct uidset *uids,
                   bool earlier)
{
	const struct uidset *ex = &ms->round.expunged;
	uint32_t limit = sync_uid_limit(ms);
	size_t i, j, lo_j, hi_j;
	int ret = 0;

	if (!earlier)
		ms->round.gone += uidset_count(uids);
	uidset_normalize(&ms->round.expunged);
	for (i = 0; i < uids->n && ret == 0; i++) {
		uint64_t cur = uids->r[i].lo, hi = uids->r[i].hi;

		if (cur >= limit)
			continue;
		if (hi >= limit)
			hi = limit - 1;
		/* The first range of expunged that may overlap. */
		lo_j = 0;
		hi_j = ex->n;
		while (lo_j < hi_j) {
			size_t mid = lo_j + (hi_j - lo_j) / 2;

			if (ex->r[mid].hi < cur)
				lo_j = mid + 1;
			else
				hi_j = mid;
		}
		for (j = lo_j; j < ex->n && ex->r[j].lo <= hi && ret == 0;
		     j++) {
			uint64_t elo = ex->r[j].lo, ehi = ex->r[j].hi;

			if (elo > cur) {
				ret |= uidset_add_range(&ms->vanished,
				                        (uint32_t)cur,
				                        (uint32_t)(elo - 1));
				ms->mb->foreign = true;
				cur = elo;
			}
			if (ehi > hi)
				ehi = hi;
			ret |= uidset_add_range(&ms->round.expunged_seen,
			                        (uint32_t)cur, (uint32_t)ehi);
			cur = ehi + 1;
		}
		if (cur <= hi) {
			ret |= uidset_add_range(&ms->vanished, (uint32_t)cur,
			                        (uint32_t)hi);
			ms->mb->foreign = true;
		}
	}
	if (ret != 0)
		sync_fail_uids(ms);
	sync_trace(ms->mb, (int)ms->side,
	           "VANISHED %s in %s: the run's own expunges seen so far "
	           "%s; foreign, to mirror: %s",
	           sync_trace_uids(uids), ms->mb->phase->name,
	           sync_trace_uids(&ms->round.expunged_seen),
	           sync_trace_uids(&ms->vanished));
}

void
sync_live_numbers(struct mbox_side *ms, const struct imap_resp_code *code)
{
	if (code->code == IMAP_CODE_UIDNEXT &&
	    code->uidnext > ms->round.uidnext_seen)
		ms->round.uidnext_seen = code->uidnext;
	if (code->code == IMAP_CODE_HIGHESTMODSEQ &&
	    code->modseq > ms->round.hms_seen)
		ms->round.hms_seen = code->modseq;
}

void
sync_live_flags(struct mbox_side *ms, const struct imap_fetch *f,
                const char *flags, struct uidset *fresh)
{
	struct mbox *mb = ms->mb;
	struct flagmap_entry *e;
	const char *want;

	if (f->modseq > ms->round.max_modseq)
		ms->round.max_modseq = f->modseq;
	if (f->uid > ms->round.max_uid)
		ms->round.max_uid = f->uid;
	e = flagmap_get(&ms->round.expect, f->uid);
	want = e != NULL ? e->flags : flagruns_get(&ms->round.appended, f->uid);
	if (want != NULL && flags_equal(want, flags))
		return;
	mb->foreign = true;
	sync_trace(mb, (int)ms->side,
	           "foreign change in %s: UID %" PRIu32 " flags (%s)%s%s%s",
	           mb->phase->name, f->uid, flags,
	           want != NULL ? ", the run set (" : ", not set by the run",
	           want != NULL ? want : "", want != NULL ? ")" : "");
	if (f->uid < ms->uidnext || want != NULL || sync_is_mapped(ms, f->uid))
		flagmap_set(&ms->modified, f->uid, flags, f->modseq);
	else if (sync_uids_add(ms, fresh, f->uid, f->uid) < 0)
		return; /* the mailbox failed */
}

/* A FETCH in CHECK's selection: is it ours? */
static void
check_on_fetch(struct mbox_side *ms, const struct imap_fetch *f, bool in_select)
{
	struct buf *flags;

	(void)in_select;
	if ((f->have & IMAP_FETCH_BODY) != 0)
		return;
	if (uidset_contains(&ms->round.expunged, f->uid)) {
		/* The answer to our own STORE \Deleted, or a change to a
		 * message on its way out (see apply_on_fetch()). */
		if (f->modseq > ms->round.max_modseq)
			ms->round.max_modseq = f->modseq;
		return;
	}
	if ((f->have & IMAP_FETCH_FLAGS) == 0)
		return;
	flags = buf_create(SYNC_MAX_FLAGS_TEXT);
	if (sync_fetch_flags(ms, f, flags) == 0)
		sync_live_flags(ms, f, buf_data(flags), &ms->fresh);
	buf_free(&flags);
}

/* The round's part (APPLY's and CHECK's), made and freed here. */
static void
round_side_init(struct mbox_side *ms)
{
	flagmap_init(&ms->round.expect);
	flagruns_init(&ms->round.appended);
	uidset_init(&ms->round.storing);
	uidset_init(&ms->round.expunged);
	uidset_init(&ms->round.expunged_seen);
}

static void
round_side_free(struct mbox_side *ms)
{
	flagmap_free(&ms->round.expect);
	flagruns_free(&ms->round.appended);
	uidset_free(&ms->round.storing);
	uidset_free(&ms->round.expunged);
	uidset_free(&ms->round.expunged_seen);
}

const struct sync_phase sync_phase_check = {
    .name = "CHECK",
    .fetch = check_on_fetch,
    .vanished = sync_live_vanished,
    .numbers = sync_live_numbers,
    .side_init = round_side_init,
    .side_free = round_side_free,
};

/* After APPLY: whether the side's selection saw the whole round, so it
 * needs no CHECK. */
bool
sync_live_checked(const struct mbox_side *ms)
{
	if (!ms->round.sel || ms->round.need_check || !ms->round.exists ||
	    ms->round.unsure)
		return false;
	return (uint64_t)ms->round.base + ms->round.added ==
	       ms->round.gone_last + ms->round.last;
}

/* Select again with QRESYNC from the first SELECT's HIGHESTMODSEQ; the
 * answers come to check_on_fetch() and sync_live_vanished(). Only the
 * sides this round changed: on the others the numbers that SELECT gave
 * still cover all that was done, and what came since is the next
 * run's. */
void
sync_check_start(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		if (!ms->round.touched || sync_live_checked(ms)) {
			sync_trace(mb, (int)s, "check: %s",
			           !ms->round.touched
			               ? "nothing changed here"
			               : "APPLY's selection saw the "
			                 "whole round, no SELECT");
			continue;
		}
		sync_trace(
		    mb, (int)s, "check: SELECT again (%s)",
		    ms->round.need_check ? "moved into from another mailbox"
		    : !ms->round.sel     ? "changed outside a selection"
		    : ms->round.unsure   ? "an APPEND answered without "
		                           "HIGHESTMODSEQ"
		                         : "the count of messages does not "
		                           "add up");
		sync_select_qresync(ms, true); /* \Recent: see copy_flush() */
	}
}
