/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --repair: fetch every message's flags and key on both sides and hold
 * them against the mapping table, as interimap does: a pair whose message
 * vanished from one side is expunged on the other; one that disappeared
 * without a trace is copied again; a pair whose two messages differ (a
 * wrong pair) is undone and both are paired again by key; flags that
 * differ are merged per flag from the pair's last synced flags (without
 * them: the side that changed since the last sync wins, the union when
 * both did); a message with no pair is copied to the other
 * side, or paired with the same message there. The result feeds the
 * ordinary MATCH, APPLY and CHECK rounds, so a message found moved is
 * moved, not copied.
 *
 * --verify: the same comparison, only counted and said; a divergence is
 * what a sync would never mend (what changed since the last sync is a
 * sync's work, not one). */
#include "sync-private.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
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

/* A FETCH of SCAN: every message's flags and key. */
static void
scan_on_fetch(struct mbox_side *ms, const struct imap_fetch *f, bool in_select)
{
	struct mbox *mb = ms->mb;
	struct buf *flags;

	(void)in_select;
	if ((flags = sync_fetch_key_flags(ms, f)) == NULL)
		return;
	/* A side that went back may also say less than it holds: the run
	 * goes on from what its messages show. */
	if (mb->went_back[ms->side] && f->modseq > ms->hms)
		ms->hms = f->modseq;
	if (mb->went_back[ms->side] && f->uid >= ms->uidnext &&
	    f->uid != UINT32_MAX)
		ms->uidnext = f->uid + 1;
	flagmap_set(&ms->scan.all, f->uid, buf_data(flags), f->modseq);
	sync_match_ident_add(ms, f, buf_data(flags));
	buf_free(&flags);
}

static void
scan_side_init(struct mbox_side *ms)
{
	flagmap_init(&ms->scan.all);
	uidset_init(&ms->scan.was_vanished);
}

static void
scan_side_free(struct mbox_side *ms)
{
	flagmap_free(&ms->scan.all);
	uidset_free(&ms->scan.was_vanished);
}

const struct sync_phase sync_phase_scan = {
    .name = "SCAN",
    .fetch = scan_on_fetch,
    .side_init = scan_side_init,
    .side_free = scan_side_free,
};

struct repair_ctx {
	struct mbox *mb;
	bool verify;
	/* --restore-from: the missing are said once per mailbox, not one
	 * line each. */
	bool restore;
	struct uidset drop; /* local UIDs whose pair goes */
	/* --verify's findings: pairs whose message is gone from a side
	 * without a sync seeing it expunged, gone from both, joining two
	 * different messages, with flags apart that neither side changed;
	 * messages in no pair below the UIDNEXT of the last sync. */
	uint64_t missing[SIDE_COUNT], stale, wrong, flags;
	uint64_t unpaired[SIDE_COUNT];
	const char *error; /* a database failure stopped the walk */
};

static int
ident_uid_cmp(const void *a, const void *b)
{
	const struct sync_ident *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The key the scan fetched for uid on ms, NULL if none. */
static const struct sync_ident *
scan_ident(const struct mbox_side *ms, uint32_t uid)
{
	struct sync_ident key;

	if (ms->match.idents_count == 0)
		return NULL;
	key.uid = uid;
	return bsearch(&key, ms->match.idents, ms->match.idents_count,
	               sizeof(key), ident_uid_cmp);
}

/* -1 on a database failure (rc->error); 1 when a set is full (the
 * mailbox failed). */
static int
repair_pair(void *context, uint32_t luid, uint32_t ruid)
{
	struct repair_ctx *rc = context;
	struct mbox *mb = rc->mb;
	struct mbox_side *ls = &mb->s[SIDE_LOCAL], *rs = &mb->s[SIDE_REMOTE];
	struct flagmap_entry *l = flagmap_get(&ls->scan.all, luid);
	struct flagmap_entry *r = flagmap_get(&rs->scan.all, ruid);
	bool lvan = uidset_contains(&ls->scan.was_vanished, luid);
	bool rvan = uidset_contains(&rs->scan.was_vanished, ruid);

	if (l != NULL && r != NULL) {
		const struct sync_ident *lk = scan_ident(ls, luid);
		const struct sync_ident *rk = scan_ident(rs, ruid);
		bool lchg = l->modseq > ls->row.highestmodseq;
		bool rchg = r->modseq > rs->row.highestmodseq;

		/* A side that went back cannot tell what changed: both
		 * lists are kept, merged (nothing a server forgot is
		 * wiped on the other side). */
		if (mb->went_back[SIDE_LOCAL] || mb->went_back[SIDE_REMOTE])
			lchg = rchg = true;

		if (lk != NULL && rk != NULL &&
		    memcmp(lk->key, rk->key, SYNC_KEY_LEN) != 0) {
			/* Two different messages: both are paired again
			 * by key, or copied. */
			rc->wrong++;
			if (!rc->verify) {
				log_warn(NULL, mb->display,
				         "Pair (lUID,rUID) = (%" PRIu32
				         ",%" PRIu32 ") joins two different "
				         "messages. Pairing them again.",
				         luid, ruid);
				if (sync_uids_add(ls, &rc->drop, luid, luid) <
				        0 ||
				    sync_uids_add(ls, &ls->fresh, luid, luid) <
				        0 ||
				    sync_uids_add(rs, &rs->fresh, ruid, ruid) <
				        0)
					return 1;
			}
		} else if (!flags_equal(l->flags, r->flags)) {
			if (!lchg && !rchg) {
				rc->flags++;
				if (!rc->verify)
					log_warn(NULL, mb->display,
					         "Missed flag update for "
					         "(lUID,rUID) = (%" PRIu32
					         ",%" PRIu32 "). Repairing.",
					         luid, ruid);
			}
			/* With the pair's last synced flags, both lists go
			 * to APPLY, which keeps each side's changes from
			 * them and says which (unless a side went back).
			 * Without: the side that changed wins; both: the
			 * union. */
			if (!rc->verify && !mb->went_back[SIDE_LOCAL] &&
			    !mb->went_back[SIDE_REMOTE]) {
				const char *error;
				char *base = NULL;
				int ret = state_mapping_get_base(
				    mb->run->state, mb->idx, SIDE_LOCAL, luid,
				    &base, &error);

				free(base);
				if (ret < 0) {
					rc->error = error;
					return -1;
				}
				if (ret > 0)
					lchg = rchg = true;
			}
			sync_trace(mb, -1,
			           "compared: local %" PRIu32 " (%s), remote "
			           "%" PRIu32 " (%s) differ: %s",
			           luid, l->flags, ruid, r->flags,
			           lchg && rchg ? "a conflict for APPLY"
			           : rchg       ? "remote changed, it wins"
			                        : "local changed, it wins");
			if (lchg || !rchg)
				flagmap_set(&ls->modified, luid, l->flags,
				            l->modseq);
			if (rchg || !lchg)
				flagmap_set(&rs->modified, ruid, r->flags,
				            r->modseq);
		}
	} else if (l == NULL && r == NULL) {
		if (!lvan || !rvan) {
			rc->stale++;
			if (!rc->verify)
				log_warn(NULL, mb->display,
				         "Pair (lUID,rUID) = (%" PRIu32
				         ",%" PRIu32 ") vanished. Repairing.",
				         luid, ruid);
		}
		if (sync_uids_add(ls, &rc->drop, luid, luid) < 0)
			return 1;
	} else {
		/* On one side only: gone from the other (gone). */
		enum side gone = l == NULL ? SIDE_LOCAL : SIDE_REMOTE;
		enum side have = side_other(gone);
		uint32_t uid[SIDE_COUNT] = {luid, ruid};

		if (gone == SIDE_LOCAL ? lvan : rvan) {
			/* Keep the pair: APPLY expunges the partner and
			 * drops it then. */
			if (sync_uids_add(&mb->s[gone], &mb->s[gone].vanished,
			                  uid[gone], uid[gone]) < 0)
				return 1;
		} else {
			rc->missing[gone]++;
			if (!rc->verify && !rc->restore)
				log_warn(side_name(gone), mb->display,
				         "UID %" PRIu32 " disappeared. "
				         "Redownloading %s UID %" PRIu32 ".",
				         uid[gone], side_name(have), uid[have]);
			if (sync_uids_add(ls, &rc->drop, luid, luid) < 0 ||
			    sync_uids_add(&mb->s[have], &mb->s[have].fresh,
			                  uid[have], uid[have]) < 0)
				return 1;
		}
	}
	flagmap_remove(&ls->scan.all, luid);
	flagmap_remove(&rs->scan.all, ruid);
	return 0;
}

/* --verify: say what was found in mb, plainly, with what --repair would
 * do; count it in the run. */
static void
verify_report(struct mbox *mb, const struct repair_ctx *rc)
{
	struct sync_run *run = mb->run;
	uint64_t total = rc->stale + rc->wrong + rc->flags;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		const char *here = side_name(s),
		           *there = side_name(side_other(s));

		total += rc->missing[s] + rc->unpaired[s];
		if (rc->missing[s] > 0)
			log_warn(here, mb->display,
			         "%" PRIu64 " paired %s missing here, and no "
			         "sync saw %s expunged; --repair would copy %s "
			         "again from %s",
			         rc->missing[s],
			         log_plural(rc->missing[s], "message is",
			                    "messages are"),
			         log_plural(rc->missing[s], "it", "them"),
			         log_plural(rc->missing[s], "it", "them"),
			         there);
		if (rc->unpaired[s] > 0)
			log_warn(
			    here, mb->display,
			    "%" PRIu64 " %s here in no pair and older "
			    "than the last sync; --repair would pair each "
			    "with the same message on %s, or copy it there",
			    rc->unpaired[s],
			    log_plural(rc->unpaired[s], "message is",
			               "messages are"),
			    there);
	}
	if (rc->wrong > 0)
		log_warn("database", mb->display,
		         "%" PRIu64 " %s two different messages; "
		         "--repair would pair them again by content",
		         rc->wrong,
		         log_plural(rc->wrong, "pair joins", "pairs join"));
	if (rc->flags > 0)
		log_warn("database", mb->display,
		         "%" PRIu64 " %s flags that differ though "
		         "neither side changed them since the last sync; "
		         "--repair would merge them",
		         rc->flags,
		         log_plural(rc->flags, "pair has", "pairs have"));
	if (rc->stale > 0)
		log_warn("database", mb->display,
		         "%" PRIu64 " %s gone from both "
		         "sides; --repair would forget %s",
		         rc->stale,
		         log_plural(rc->stale, "pair names messages",
		                    "pairs name messages"),
		         log_plural(rc->stale, "it", "them"));
	run->verify_diffs += total;
	run->verify_mailboxes++;
	if (total > 0)
		run->verify_bad++;
}

bool
sync_verify_report(struct sync_run *run)
{
	if (run->verify_diffs == 0) {
		log_info(
		    NULL, NULL,
		    "Verified %u %s: both stores agree with the database",
		    run->verify_mailboxes,
		    log_plural(run->verify_mailboxes, "mailbox", "mailboxes"));
		return true;
	}
	log_warn(NULL, NULL,
	         "Verified %u %s: %" PRIu64 " %s in %u of them; `imapsync "
	         "--repair` mends %s",
	         run->verify_mailboxes,
	         log_plural(run->verify_mailboxes, "mailbox", "mailboxes"),
	         run->verify_diffs,
	         log_plural(run->verify_diffs, "divergence", "divergences"),
	         run->verify_bad, log_plural(run->verify_diffs, "it", "them"));
	return false;
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
		uidset_free(&ms->scan.was_vanished);
		ms->scan.was_vanished = ms->vanished;
		uidset_normalize(&ms->scan.was_vanished);
		uidset_init(&ms->vanished);
		/* --restore-from: what vanished from the other side was
		 * lost there, not expunged: copied back, not carried. */
		if (mb->run->set.restore && s != mb->run->set.restore_from)
			uidset_clear(&ms->scan.was_vanished);
		sync_select_for_step(ms, false);
		/* The keys too: a pair must join the same message. */
		sync_cmd(ms, false, scan_done, ms,
		         "UID FETCH 1:* (UID FLAGS MODSEQ RFC822.SIZE "
		         "INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
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
	rc.verify = mb->run->set.verify;
	rc.restore = mb->run->set.restore;
	if (mb->failed)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		if (ms->match.idents_count > 0)
			qsort(ms->match.idents, ms->match.idents_count,
			      sizeof(*ms->match.idents), ident_uid_cmp);
	}
	switch (state_mapping_foreach(st, mb->idx, SIDE_LOCAL, repair_pair, &rc,
	                              &error)) {
	case 0:
		break;
	case 1:
		goto out; /* a set full: the mailbox failed */
	default:
		if (rc.error != NULL)
			error = rc.error;
		goto db_error;
	}
	if (rc.verify)
		goto unpaired;
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
	for (s = 0; s < SIDE_COUNT && rc.restore; s++) {
		if (rc.missing[s] > 0)
			log_info(
			    side_name(s), mb->display,
			    "Restoring %" PRIu64 " %s lost here: copying "
			    "%s back from %s",
			    rc.missing[s],
			    log_plural(rc.missing[s], "message", "messages"),
			    log_plural(rc.missing[s], "it", "them"),
			    side_name(side_other(s)));
	}
unpaired:
	/* Messages with no pair: copy them over (MATCH pairs those found
	 * on both sides first). */
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct flagmap_entry *e;
		size_t pos = 0;

		while ((e = flagmap_next(&ms->scan.all, &pos)) != NULL) {
			/* New since the last sync: a sync's work. */
			bool old = e->uid < ms->row.uidnext;

			if (rc.verify) {
				rc.unpaired[s] += old;
				continue;
			}
			/* A stopped first copy goes on: no news; nor is
			 * new mail in a restore. */
			if (!mb->resumed && (!rc.restore || old))
				log_warn(side_name(side_other(s)), mb->display,
				         "No match for %s UID %" PRIu32
				         ". Redownloading.",
				         side_name(s), e->uid);
			if (sync_uids_add(ms, &ms->fresh, e->uid, e->uid) < 0)
				goto out;
		}
		flagmap_clear(&ms->scan.all);
		/* The scan's keys are no MATCH's. */
		sync_match_free(ms);
	}
	sync_trace(
	    mb, -1,
	    "compared in full: %" PRIu64 " %s two "
	    "messages, %" PRIu64 " gone from both sides, %" PRIu64
	    " missing on local, %" PRIu64 " on remote (copied again), "
	    "%" PRIu64 " with flags apart that neither side changed; "
	    "new: local %llu, remote %llu",
	    rc.wrong, log_plural(rc.wrong, "pair joining", "pairs joining"),
	    rc.stale, rc.missing[SIDE_LOCAL], rc.missing[SIDE_REMOTE], rc.flags,
	    (unsigned long long)uidset_count(&mb->s[SIDE_LOCAL].fresh),
	    (unsigned long long)uidset_count(&mb->s[SIDE_REMOTE].fresh));
	if (rc.verify) {
		verify_report(mb, &rc);
		mb->active = false;
	}
	ret = 0;
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	uidset_free(&rc.drop);
	return ret;
}
