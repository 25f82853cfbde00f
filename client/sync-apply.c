/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The APPLY step: expunge on one side what vanished on the other (and
 * what a killed run's expunge left), store flag changes (sync-store.c),
 * make the moves (sync-move.c) and start the copies (sync-copy.c); and
 * the replies to all of it, in the selection that doubles as the CHECK
 * (sync-check.c). */
#include "sync-private.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "state.h"
#include "uidset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* An expunge over a set (UID STORE \Deleted, UID EXPUNGE): context for
 * its completion. */
struct set_cmd {
	struct mbox_side *ms; /* the side the commands run on */
	struct uidset uids;
	/* The STORE and the EXPUNGE not answered yet, and how they
	 * went. */
	unsigned pending;
	bool aborted, again;
};

static void
set_cmd_free(struct set_cmd *sc)
{
	uidset_free(&sc->uids);
	free(sc);
}

/* The pairs of gone (on ms) go: only now, a crash before leaves them and
 * the next run expunges again. */
static int
expunge_record(struct mbox_side *ms, const struct uidset *gone)
{
	struct mbox *mb = ms->mb;
	struct buf *s = NULL;
	struct uidset_iter it;
	const char *error;
	uint32_t uid;

	if (gone->n == 0)
		return 0;
	if (state_begin(mb->run->state, &error) < 0)
		goto db_error;
	uidset_iter_init(&it, gone);
	while (uidset_iter_next(&it, &uid)) {
		if (state_mapping_remove(mb->run->state, mb->idx, ms->side, uid,
		                         &error) < 0 ||
		    state_expunging_remove(mb->run->state, mb->idx, ms->side,
		                           uid, &error) < 0) {
			sync_rollback(mb->run->state);
			goto db_error;
		}
	}
	if (state_commit(mb->run->state, &error) < 0)
		goto db_error;
	sync_trace(mb, (int)ms->side,
	           "expunged UID(s) %s, seen vanished: their pairs removed",
	           sync_trace_uids(gone));
	sync_step("expunge recorded");
	s = buf_create(SYNC_MAX_LOGGED_UIDS);
	log_info(side_name(ms->side), mb->display,
	         "Expunged %" PRIu64 " %s on %s (gone from %s): %s %s",
	         uidset_count(gone),
	         log_plural(uidset_count(gone), "message", "messages"),
	         side_name(ms->side), side_name(side_other(ms->side)),
	         log_plural(uidset_count(gone), "UID", "UIDs"),
	         sync_uids_str(gone, s));
	mb->run->tally.expunged[ms->side] += uidset_count(gone);
	buf_free(&s);
	return 0;
db_error:
	sync_db_fail(mb, error);
	return -1;
}

static void expunge_answered(struct imap_conn *conn,
                             const struct imap_response *resp, void *ctx);

/* Both the STORE and the EXPUNGE answered. Dovecot may run the two side
 * by side, its EXPUNGE looking for \Deleted before the STORE has set it
 * (seen on a mailbox of 100 000): what the selection did not report
 * vanished is expunged again, now that the STORE is done. */
static void
expunge_settle(struct set_cmd *sc)
{
	struct mbox_side *ms = sc->ms;
	struct uidset gone = UIDSET_INIT, left = UIDSET_INIT;
	struct uidset_iter it;
	uint32_t uid;

	if (sc->aborted || ms->mb->run->fatal)
		goto out;
	if (sc->again) {
		/* After the STORE: whatever was there went. */
		(void)expunge_record(ms, &sc->uids);
		goto out;
	}
	uidset_normalize(&ms->round.expunged_seen);
	uidset_iter_init(&it, &sc->uids);
	while (uidset_iter_next(&it, &uid)) {
		if (sync_uids_add(ms,
		                  uidset_contains(&ms->round.expunged_seen, uid)
		                      ? &gone
		                      : &left,
		                  uid, uid) < 0)
			goto out;
	}
	if (expunge_record(ms, &gone) < 0 || left.n == 0)
		goto out;
	sync_trace(ms->mb, (int)ms->side,
	           "expunge again UID(s) %s: the EXPUNGE ran before its "
	           "STORE \\Deleted, they are still there",
	           sync_trace_uids(&left));
	/* Rare: selected again if another mailbox is now, so CHECK. */
	if (mbox_server(ms)->selected != ms)
		ms->round.need_check = true;
	sync_select_live(ms, true);
	uidset_free(&sc->uids);
	sc->uids = left;
	uidset_init(&left);
	sc->again = true;
	sc->pending = 1;
	if (sync_cmd(ms, false, expunge_answered, sc, "UID EXPUNGE %S",
	             &sc->uids) == NULL)
		goto out;
	uidset_free(&gone);
	return;
out:
	uidset_free(&gone);
	uidset_free(&left);
	set_cmd_free(sc);
}

static void
expunge_part(struct set_cmd *sc, const struct imap_response *resp,
             const char *what)
{
	if (resp == NULL)
		sc->aborted = true;
	else if (resp->status != IMAP_STATUS_OK) {
		sync_fail(sc->ms->mb, sc->ms->side, "%s failed: %s", what,
		          resp->text);
		sc->aborted = true;
	}
	if (--sc->pending == 0)
		expunge_settle(sc);
}

static void
expunge_stored(struct imap_conn *conn, const struct imap_response *resp,
               void *ctx)
{
	(void)conn;
	expunge_part(ctx, resp, "UID STORE \\Deleted");
}

static void
expunge_answered(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	(void)conn;
	expunge_part(ctx, resp, "UID EXPUNGE");
}

/* A UID EXPUNGE waiting for the STORE of its \Deleted flags. */
struct expunge_chain {
	struct mbox_side *ms;
	struct uidset uids;
};

/* The expunging rows of uids on ms go (the expunge is done, or its
 * \Deleted taken off): one transaction. */
static void
expunging_forget(struct mbox_side *ms, const struct uidset *uids)
{
	struct state *st = ms->mb->run->state;
	struct uidset_iter it;
	const char *error;
	uint32_t uid;

	if (state_begin(st, &error) < 0)
		goto db_error;
	uidset_iter_init(&it, uids);
	while (uidset_iter_next(&it, &uid)) {
		if (state_expunging_remove(st, ms->mb->idx, ms->side, uid,
		                           &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	return;
db_error:
	sync_db_fail(ms->mb, error);
}

static void
chain_expunged(struct imap_conn *conn, const struct imap_response *resp,
               void *ctx)
{
	struct expunge_chain *x = ctx;
	struct mbox_side *ms = x->ms;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side, "UID EXPUNGE failed: %s",
		          resp->text);
	/* Not done: the next run finishes it (expunging table). */
	if (resp != NULL && resp->status == IMAP_STATUS_OK)
		expunging_forget(ms, &x->uids);
	uidset_free(&x->uids);
	free(x);
}

static void
chain_stored(struct imap_conn *conn, const struct imap_response *resp,
             void *ctx)
{
	struct expunge_chain *x = ctx;
	struct mbox_side *ms = x->ms;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side, "UID STORE \\Deleted failed: %s",
		          resp->text);
	if (resp != NULL && resp->status == IMAP_STATUS_OK &&
	    !ms->mb->run->fatal) {
		/* Other mailboxes' commands may have been queued since. */
		sync_select_live(ms, true);
		if (sync_cmd(ms, false, chain_expunged, x, "UID EXPUNGE %S",
		             &x->uids) != NULL)
			return;
	}
	uidset_free(&x->uids);
	free(x);
}

void
sync_expunge_uids(struct mbox_side *ms, const char *set,
                  const struct uidset *uids)
{
	struct expunge_chain *x = xcalloc(1, sizeof(*x));
	size_t i;

	x->ms = ms;
	uidset_init(&x->uids);
	for (i = 0; i < uids->n; i++) {
		if (sync_uids_add(ms, &x->uids, uids->r[i].lo, uids->r[i].hi) <
		    0) {
			chain_stored(NULL, NULL, x);
			return;
		}
	}
	sync_trace(ms->mb, (int)ms->side,
	           "expunge UID(s) %s: move source (copied, no MOVE): STORE "
	           "\\Deleted, then UID EXPUNGE once it is answered",
	           sync_trace_uids(&x->uids));
	if (sync_cmd(ms, false, chain_stored, x,
	             "UID STORE %a +FLAGS.SILENT (\\Deleted)", set) == NULL)
		chain_stored(NULL, NULL, x);
}

/* --- What a killed run's expunge left ------------------------------------ */

static int
undelete_add(void *ctx, uint32_t uid)
{
	return uidset_add(ctx, uid) < 0 ? 1 : 0; /* 1: the set is full */
}

int
sync_expunging_load(struct mbox_side *ms)
{
	struct mbox *mb = ms->mb;
	const char *error;
	int ret;

	ret = state_expunging_foreach(mb->run->state, mb->idx, ms->side,
	                              undelete_add, &ms->undelete, &error);
	if (ret != 0) {
		if (ret > 0)
			sync_fail_uids(ms);
		else
			sync_db_fail(mb, error);
		return -1;
	}
	uidset_normalize(&ms->undelete);
	return 0;
}

/* The rows of uids go: their \Deleted is off, or they are expunged. */
static void
undelete_done(struct imap_conn *conn, const struct imap_response *resp,
              void *ctx)
{
	struct set_cmd *sc = ctx;
	struct mbox_side *ms = sc->ms;
	struct uidset_iter it;
	uint32_t uid;

	(void)conn;
	if (resp == NULL)
		goto out;
	if (resp->status != IMAP_STATUS_OK) {
		sync_fail(ms->mb, ms->side,
		          "cannot take off the \\Deleted an interrupted run "
		          "left on the UIDs it meant to expunge: %s",
		          resp->text);
		goto out;
	}
	if (sc->again) {
		/* Gone by our UID EXPUNGE: not news of the other side's.
		 * What it did not remove keeps its row: tried again. */
		struct uidset gone = UIDSET_INIT;

		uidset_normalize(&ms->vanished);
		uidset_iter_init(&it, &sc->uids);
		while (uidset_iter_next(&it, &uid)) {
			if (uidset_contains(&ms->vanished, uid) &&
			    sync_uids_add(ms, &gone, uid, uid) < 0) {
				uidset_free(&gone);
				goto out;
			}
		}
		if (uidset_subtract(&ms->vanished, &gone) < 0) {
			uidset_free(&gone);
			sync_fail_uids(ms);
			goto out;
		}
		uidset_free(&sc->uids);
		sc->uids = gone;
	} else if (ms->undelete_modseq == ms->hms + 1) {
		/* The STORE's is the only change since what SELECT said
		 * (no other MODSEQ fits between): the numbers stored cover
		 * it, and a STORE UNCHANGEDSINCE there passes. */
		ms->hms = ms->undelete_modseq;
	}
	expunging_forget(ms, &sc->uids);
out:
	set_cmd_free(sc);
}

static void
undelete_flagged(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side,
		          "UID STORE \\Deleted failed: %s", resp->text);
}

void
sync_expunging_resume(struct mbox_side *ms)
{
	struct set_cmd *sc[2] = {NULL, NULL};
	struct uidset_iter it;
	uint32_t uid;
	unsigned i;

	if (ms->mb->run->set.dry_run)
		return; /* EXAMINE: the flag is only left out of what it sees */
	for (i = 0; i < 2; i++) {
		sc[i] = xcalloc(1, sizeof(*sc[i]));
		sc[i]->ms = ms;
		uidset_init(&sc[i]->uids);
		sc[i]->again = i == 1; /* 1: finish the expunge */
	}
	/* Still paired: the run decides again. A pair recorded gone (a
	 * move without MOVE, stopped before its EXPUNGE): finish it. */
	uidset_iter_init(&it, &ms->undelete);
	while (uidset_iter_next(&it, &uid)) {
		if (sync_uids_add(ms, &sc[sync_is_mapped(ms, uid) ? 0 : 1]->uids,
		                  uid, uid) < 0)
			goto failed;
	}
	if (ms->mb->failed)
		goto failed; /* the mapping lookup said why */
	if (sc[0]->uids.n > 0)
		sync_trace(ms->mb, (int)ms->side,
		           "\\Deleted a killed run's expunge left on UID %s: "
		           "taken off (still paired, decided again)",
		           sync_trace_uids(&sc[0]->uids));
	if (sc[1]->uids.n > 0)
		sync_trace(ms->mb, (int)ms->side,
		           "expunge a killed run left half done on UID %s: "
		           "finished (its pair was recorded gone)",
		           sync_trace_uids(&sc[1]->uids));
	if (sc[0]->uids.n == 0 ||
	    sync_cmd(ms, false, undelete_done, sc[0],
	             "UID STORE %S -FLAGS.SILENT (\\Deleted)",
	             &sc[0]->uids) == NULL)
		set_cmd_free(sc[0]);
	/* The STORE again: the run may have died before it. */
	if (sc[1]->uids.n == 0 ||
	    sync_cmd(ms, false, undelete_flagged, ms,
	             "UID STORE %S +FLAGS.SILENT (\\Deleted)",
	             &sc[1]->uids) == NULL ||
	    sync_cmd(ms, false, undelete_done, sc[1], "UID EXPUNGE %S",
	             &sc[1]->uids) == NULL)
		set_cmd_free(sc[1]);
	return;
failed:
	for (i = 0; i < 2; i++)
		set_cmd_free(sc[i]);
}

/* Expunge uids (normalized) on ms: STORE \Deleted and UID EXPUNGE, one
 * pair of commands per chunk of the set, all pipelined. */
static void
apply_expunge(struct mbox_side *ms, const struct uidset *uids)
{
	size_t pos = 0, i;

	sync_trace(ms->mb, (int)ms->side,
	           "expunge UID(s) %s: mirrored expunge (their pairs vanished "
	           "from %s)",
	           sync_trace_uids(uids), side_name(side_other(ms->side)));
	if (ms->mb->run->set.dry_run) {
		struct buf *s = buf_create(SYNC_MAX_LOGGED_UIDS);

		if (uids->n > 0)
			log_info(side_name(ms->side), ms->mb->display,
			         "would expunge %" PRIu64 " %s on %s (gone "
			         "from %s): %s %s",
			         uidset_count(uids),
			         log_plural(uidset_count(uids), "message",
			                    "messages"),
			         side_name(ms->side),
			         side_name(side_other(ms->side)),
			         log_plural(uidset_count(uids), "UID", "UIDs"),
			         sync_uids_str(uids, s));
		ms->mb->run->tally.expunged[ms->side] += uidset_count(uids);
		buf_free(&s);
		return;
	}

	while (pos < uids->n) {
		struct set_cmd *sc = xcalloc(1, sizeof(*sc));
		size_t start = pos;
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);

		if (uidset_format_chunk(uids, &pos, IMAP_MAX_UIDSET_CMD, b) ==
		    0) {
			/* b holds a chunk and one range more. */
			free(sc);
			buf_free(&b);
			sync_fail(ms->mb, ms->side,
			          "internal error: a UID "
			          "range longer than IMAP_MAX_UIDSET_CMD");
			return;
		}
		sc->ms = ms;
		uidset_init(&sc->uids);
		for (i = start; i < pos; i++) {
			/* Ours when the selection reports it gone. */
			if (sync_uids_add(ms, &sc->uids, uids->r[i].lo,
			                  uids->r[i].hi) < 0 ||
			    sync_uids_add(ms, &ms->round.expunged,
			                  uids->r[i].lo, uids->r[i].hi) < 0) {
				set_cmd_free(sc);
				buf_free(&b);
				return;
			}
		}
		ms->round.touched = true;
		/* Pipelined in one selection: expunge_settle() makes up for
		 * an EXPUNGE that ran ahead of its STORE. */
		sc->pending = 2;
		sync_cmd_step(ms, expunge_stored, sc,
		              "UID STORE %a +FLAGS.SILENT (\\Deleted)",
		              buf_data(b));
		sync_cmd_step(ms, expunge_answered, sc, "UID EXPUNGE %a",
		              buf_data(b));
		buf_free(&b);
	}
	uidset_normalize(&ms->round.expunged);
}

/* Vanished on one side: expunge the partners on the other. */
static void
apply_vanished(struct mbox *mb)
{
	struct uidset remove[SIDE_COUNT] = {UIDSET_INIT, UIDSET_INIT};
	/* Remote UIDs whose pair went with a local UID gone too. */
	struct uidset both = UIDSET_INIT;
	struct state *st = mb->run->state;
	const char *error;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (sync_vanished_narrow(&mb->s[s]) < 0)
			return;
	}
	if (state_begin(st, &error) < 0)
		goto db_error;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);
		struct uidset_iter it;
		uint64_t unmatched = 0;
		uint32_t uid, partner;

		uidset_normalize(&both);
		uidset_iter_init(&it, &ms->vanished);
		while (uidset_iter_next(&it, &uid)) {
			int ret;

			flagmap_remove(&ms->modified, uid);
			if (s == SIDE_REMOTE && uidset_contains(&both, uid))
				continue;
			ret = state_mapping_lookup(st, mb->idx, ms->side, uid,
			                           &partner, &error);
			if (ret < 0)
				goto db_error_rollback;
			if (ret == 0) {
				if (uid < ms->row.uidnext)
					unmatched++;
				continue;
			}
			flagmap_remove(&os->modified, partner);
			if (uidset_contains(&os->vanished, partner)) {
				sync_trace(
				    mb, -1,
				    "pair %s %" PRIu32 " <-> %s %" PRIu32
				    " vanished from both sides: only the "
				    "pair goes",
				    side_name(ms->side), uid,
				    side_name(os->side), partner);
				/* Gone on both sides: only the pair left. */
				if (state_mapping_remove(st, mb->idx, ms->side,
				                         uid, &error) < 0)
					goto db_error_rollback;
				if (sync_uids_add(ms, &both, partner, partner) <
				    0)
					goto uids_full;
				continue;
			}
			/* Before its STORE \Deleted is sent: that flag is
			 * ours if the run dies before the EXPUNGE. */
			if (!mb->run->set.dry_run &&
			    state_expunging_add(st, mb->idx, os->side, partner,
			                        &error) < 0)
				goto db_error_rollback;
			if (sync_uids_add(os, &remove[os->side], partner,
			                  partner) < 0)
				goto uids_full;
		}
		if (unmatched > 0)
			log_warn(side_name(os->side), mb->display,
			         "No match for %" PRIu64 " vanished %s %s. "
			         "Ignoring.",
			         unmatched, side_name(ms->side),
			         log_plural(unmatched, "UID", "UIDs"));
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	for (s = 0; s < SIDE_COUNT; s++) {
		uidset_normalize(&remove[s]);
		if (remove[s].n > 0)
			apply_expunge(&mb->s[s], &remove[s]);
		uidset_clear(&mb->s[s].vanished);
		uidset_free(&remove[s]);
	}
	uidset_free(&both);
	return;
uids_full:
	/* Nothing of the mailbox recorded: the pairs stay, the next run
	 * sees the same VANISHED again. */
	sync_rollback(st);
	goto out;
db_error_rollback:
	sync_rollback(st);
db_error:
	sync_db_fail(mb, error);
out:
	for (s = 0; s < SIDE_COUNT; s++)
		uidset_free(&remove[s]);
	uidset_free(&both);
}

void
sync_apply_start(struct mbox *mb)
{
	unsigned s;

	sync_move_apply(&mb->s[SIDE_LOCAL]);
	sync_move_apply(&mb->s[SIDE_REMOTE]);
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];

		/* A side that receives copies: its commands wait for the
		 * first APPEND, to share its selection. Not the FETCH of what
		 * it sends, unless on the local side only: the remote's FETCH
		 * goes at once, so one side's always feeds the other's. */
		ms->hold.on = !ms->step_selected &&
		              mbox_other(ms)->fresh.n > 0 &&
		              (ms->fresh.n == 0 || ms->side == SIDE_LOCAL) &&
		              !mb->run->set.dry_run;
	}
	apply_vanished(mb);
	if (!mb->failed)
		sync_store_start(mb);
	for (s = 0; s < SIDE_COUNT && !mb->failed; s++)
		sync_copy_start(&mb->s[s]);
}

/* --- Replies in APPLY's selection ------------------------------------------
 */

/* A FETCH while APPLY's commands run: a body to copy, the answer to
 * our own STORE, or a change someone else made (sync-check.c). */
static void
apply_on_fetch(struct mbox_side *ms, const struct imap_fetch *f, bool in_select)
{
	struct buf *flags;

	if (ms->mb->run->set.dry_run) {
		/* What of fresh is there to copy (sync_copy_start()). */
		if (uidset_contains(&ms->fresh, f->uid) &&
		    sync_uids_add(ms, &ms->found, f->uid, f->uid) < 0)
			return; /* the mailbox failed */
		return;
	}
	if ((f->have & IMAP_FETCH_BODY) != 0) {
		if (uidset_contains(&ms->fresh, f->uid))
			sync_copy_message(ms, f);
		return;
	}
	/* What the SELECT reports of a message this flight STOREs is the
	 * state before (UNCHANGEDSINCE catches a change by others). */
	if (in_select && uidset_contains(&ms->round.storing, f->uid))
		return;
	if (uidset_contains(&ms->round.expunged, f->uid)) {
		/* The answer to our own STORE \Deleted (a CONDSTORE server
		 * may answer even a .SILENT one, RFC 7162 3.2: Cyrus does),
		 * whatever command is oldest in flight; or a change to a
		 * message on its way out: nothing to sync either way. */
		if (f->modseq > ms->round.max_modseq)
			ms->round.max_modseq = f->modseq;
		return;
	}
	if ((f->have & IMAP_FETCH_FLAGS) == 0) {
		/* Our own STORE's answer, in band: its MODSEQ is counted in
		 * what the selection covers. */
		if (f->modseq > ms->round.max_modseq)
			ms->round.max_modseq = f->modseq;
		return;
	}
	flags = buf_create(SYNC_MAX_FLAGS_TEXT);
	/* A new message others added: into found, fresh is being copied. */
	if (sync_fetch_flags(ms, f, flags) == 0)
		sync_live_flags(ms, f, buf_data(flags), &ms->found);
	buf_free(&flags);
}

/* The message count, for the check in band: the one a SELECT gives is
 * the base, later ones follow the changes. */
static void
apply_on_exists(struct mbox_side *ms, uint32_t count, bool in_select)
{
	if (in_select) {
		/* QRESYNC reports all since, the appended messages too. */
		ms->round.unsure = false;
		ms->round.exists = true;
		ms->round.base = count;
		ms->round.gone = 0;
		ms->round.added = 0;
	}
	ms->round.last = count;
	ms->round.gone_last = ms->round.gone;
}

/* A tagged OK with [HIGHESTMODSEQ] (UID EXPUNGE, FETCH): the highest
 * MODSEQ the selection covers so far. */
static void
apply_on_tagged_modseq(struct mbox_side *ms, uint64_t modseq)
{
	if (modseq > ms->round.hms_seen)
		ms->round.hms_seen = modseq;
}

/* A round begins: its selection has seen nothing yet. */
static void
apply_enter(struct mbox *mb)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct sync_round_side *r = &mb->s[s].round;

		r->sel = false;
		r->exists = false;
		r->unsure = false;
		r->gone = r->added = r->gone_last = 0;
		uidset_clear(&r->storing);
		/* Looked up for every VANISHED UID: binary search. */
		uidset_normalize(&r->expunged);
	}
	mb->foreign = false;
}

const struct sync_phase sync_phase_apply = {
    .name = "APPLY",
    .start = apply_enter,
    .fetch = apply_on_fetch,
    .vanished = sync_live_vanished,
    .numbers = sync_live_numbers,
    .exists = apply_on_exists,
    .tagged_modseq = apply_on_tagged_modseq,
    .side_free = sync_copy_abort, /* a MULTIAPPEND never sent */
};
