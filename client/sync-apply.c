/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The APPLY step: expunge on one side what vanished on the other, store
 * flag changes with UNCHANGEDSINCE (one STORE per distinct flag list,
 * conflicts merged per flag from the pair's last synced flags), and
 * start the copies. */
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

/* A UID STORE or EXPUNGE over a set: context for its completion. */
struct set_cmd {
	struct mbox_side *ms; /* the side the command runs on */
	struct uidset uids;
	char *flags;       /* STORE: the flags set */
	uint32_t *partner; /* STORE: the other side's UID, by position */
	/* EXPUNGE: the STORE and the EXPUNGE not answered yet, and how
	 * they went. */
	unsigned pending;
	bool aborted, again;
};

static void
set_cmd_free(struct set_cmd *sc)
{
	uidset_free(&sc->uids);
	free(sc->flags);
	free(sc->partner);
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

static void
store_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct set_cmd *sc = ctx;
	struct mbox_side *ms = sc->ms, *os = mbox_other(ms);
	struct mbox *mb = ms->mb;
	struct uidset modified = UIDSET_INIT, done = UIDSET_INIT;
	struct imap_resp_code code;
	struct buf *s = NULL;
	struct uidset_iter it;
	const char *error;
	size_t n = 0;
	uint32_t uid;

	(void)conn;
	if (resp == NULL)
		goto out;
	if (resp->status != IMAP_STATUS_OK) {
		sync_fail(mb, ms->side, "UID STORE failed: %s", resp->text);
		goto out;
	}
	if (imap_decode_code(resp, &code, &modified, NULL, &error) < 0) {
		sync_fail(mb, ms->side, "bad STORE response: %s", error);
		goto out;
	}
	if (code.code != IMAP_CODE_MODIFIED)
		uidset_clear(&modified);
	uidset_iter_init(&it, &sc->uids);
	for (n = 0; uidset_iter_next(&it, &uid); n++) {
		uint32_t luid = ms->side == SIDE_LOCAL ? uid : sc->partner[n];
		struct flagmap_entry *se = flagmap_get(&mb->settling, luid);

		if (se != NULL && se->modseq != SYNC_SETTLE_FAILED) {
			if (uidset_contains(&modified, uid))
				se->modseq = SYNC_SETTLE_FAILED;
			else if (--se->modseq == 0) {
				/* Both sides hold them now. */
				flagmap_set(&mb->synced, luid, se->flags, 0);
				flagmap_remove(&mb->settling, luid);
			}
		}
		if (uidset_contains(&modified, uid)) {
			/* Changed meanwhile: keep what the other side asked
			 * for, so the next round sees a conflict. */
			flagmap_set(&os->carry, sc->partner[n], sc->flags, 0);
			flagmap_remove(&ms->round.expect, uid);
			flagruns_remove(&ms->round.appended, uid);
			continue;
		}
		if (sync_uids_add(ms, &done, uid, uid) < 0)
			goto out;
	}
	sync_trace(mb, (int)ms->side,
	           "stored (%s) on UID(s) %s; refused by [MODIFIED]: %s%s",
	           sc->flags, sync_trace_uids(&done),
	           sync_trace_uids(&modified),
	           modified.n > 0 ? " (changed meanwhile: the other side's "
	                            "wish is carried to the next round, "
	                            "where it meets the change)"
	                          : "");
	sync_step("flags stored");
	s = buf_create(SYNC_MAX_LOGGED_UIDS);
	if (done.n > 0)
		log_info(side_name(ms->side), mb->display,
		         "Updated flags (%s) for UID %s", sc->flags,
		         sync_uids_str(&done, s));
	mb->run->tally.flagged[ms->side] += uidset_count(&done);
	if (modified.n > 0)
		log_info(side_name(ms->side), mb->display,
		         "Couldn't update flags (%s) for UID %s, will try "
		         "again later",
		         sc->flags, sync_uids_str(&modified, s));
out:
	buf_free(&s);
	uidset_free(&modified);
	uidset_free(&done);
	set_cmd_free(sc);
}

/* One group of messages on one side to be set to one flag list. */
struct flag_group {
	char *flags;
	uint32_t *uids, *partners;
	size_t count, alloc;
};

struct flag_groups {
	struct flag_group *g;
	size_t count, alloc;
};

static void
flag_groups_add(struct flag_groups *gs, const char *flags, uint32_t uid,
                uint32_t partner)
{
	struct flag_group *g = NULL;
	size_t i;

	for (i = 0; i < gs->count; i++) {
		if (strcmp(gs->g[i].flags, flags) == 0) {
			g = &gs->g[i];
			break;
		}
	}
	if (g == NULL) {
		if (gs->count == gs->alloc) {
			size_t n = gs->alloc == 0 ? 8 : gs->alloc * 2;

			gs->g = xreallocarray(gs->g, n, sizeof(*gs->g));
			gs->alloc = n;
		}
		g = &gs->g[gs->count];
		memset(g, 0, sizeof(*g));
		g->flags = xstrdup(flags);
		gs->count++;
	}
	if (g->count == g->alloc) {
		size_t n = g->alloc == 0 ? 16 : g->alloc * 2;

		g->uids = xreallocarray(g->uids, n, sizeof(*g->uids));
		g->partners =
		    xreallocarray(g->partners, n, sizeof(*g->partners));
		g->alloc = n;
	}
	g->uids[g->count] = uid;
	g->partners[g->count] = partner;
	g->count++;
}

static void
flag_groups_free(struct flag_groups *gs)
{
	size_t i;

	for (i = 0; i < gs->count; i++) {
		free(gs->g[i].flags);
		free(gs->g[i].uids);
		free(gs->g[i].partners);
	}
	free(gs->g);
	memset(gs, 0, sizeof(*gs));
}

struct uid_pair {
	uint32_t uid, partner;
};

static int
uid_pair_cmp(const void *a, const void *b)
{
	const struct uid_pair *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Send one group: UID STORE (UNCHANGEDSINCE m) FLAGS.SILENT, split so no
 * set passes IMAP_MAX_UIDSET_CMD. -1 when the mailbox failed (said). */
static int
apply_store_group(struct mbox_side *ms, struct flag_group *g)
{
	struct uid_pair *pairs = xcalloc(g->count, sizeof(*pairs));
	size_t i = 0;

	if (ms->mb->run->set.dry_run) {
		struct uidset uids = UIDSET_INIT;
		struct buf *s = buf_create(SYNC_MAX_LOGGED_UIDS);
		int ret = 0;

		for (i = 0; i < g->count && ret == 0; i++)
			ret = sync_uids_add(ms, &uids, g->uids[i], g->uids[i]);
		uidset_normalize(&uids);
		if (ret == 0)
			log_info(side_name(ms->side), ms->mb->display,
			         "would update flags (%s) for UID %s", g->flags,
			         sync_uids_str(&uids, s));
		ms->mb->run->tally.flagged[ms->side] += g->count;
		uidset_free(&uids);
		buf_free(&s);
		free(pairs);
		return ret;
	}
	for (i = 0; i < g->count; i++) {
		pairs[i].uid = g->uids[i];
		pairs[i].partner = g->partners[i];
		flagmap_set(&ms->round.expect, g->uids[i], g->flags, 0);
		if (sync_uids_add(ms, &ms->round.storing, g->uids[i],
		                  g->uids[i]) < 0) {
			free(pairs);
			return -1;
		}
	}
	uidset_normalize(&ms->round.storing);
	qsort(pairs, g->count, sizeof(*pairs), uid_pair_cmp);
	i = 0;
	while (i < g->count) {
		struct set_cmd *sc = xcalloc(1, sizeof(*sc));
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);
		size_t n = 0;
		uint64_t since = ms->hms;

		sc->ms = ms;
		uidset_init(&sc->uids);
		sc->flags = xstrdup(g->flags);
		sc->partner = xcalloc(g->count, sizeof(uint32_t));
		/* Take UIDs while the formatted set stays short. */
		for (; i < g->count; i++) {
			if (sync_uids_add(ms, &sc->uids, pairs[i].uid,
			                  pairs[i].uid) < 0)
				goto fail;
			sc->partner[n++] = pairs[i].partner;
			if (sc->uids.n * 22 > IMAP_MAX_UIDSET_CMD) {
				i++;
				break;
			}
		}
		if (uidset_format(&sc->uids, b) < 0) {
			/* Cut short at 22 bytes a range under the cap. */
			sync_fail(ms->mb, ms->side,
			          "internal error: a UID set "
			          "passed IMAP_MAX_UIDSET_CMD");
			goto fail;
		}
		/* After a CHECK, every change up to the highest MODSEQ it
		 * saw is accounted for, our own STOREs included. */
		if (ms->round.max_modseq > since)
			since = ms->round.max_modseq;
		if (ms->round.hms_seen > since)
			since = ms->round.hms_seen;
		ms->round.touched = true;
		sync_trace(
		    ms->mb, (int)ms->side,
		    "store FLAGS.SILENT (%s) on UID(s) %s, UNCHANGEDSINCE "
		    "%" PRIu64 " (%s)",
		    g->flags, sync_trace_uids(&sc->uids), since,
		    since == ms->hms ? "the first SELECT's HIGHESTMODSEQ"
		                     : "the highest MODSEQ seen since");
		sync_cmd_step(
		    ms, store_done, sc,
		    "UID STORE %a (UNCHANGEDSINCE %U) FLAGS.SILENT (%a)",
		    buf_data(b), since, g->flags);
		buf_free(&b);
		continue;
	fail:
		set_cmd_free(sc);
		buf_free(&b);
		free(pairs);
		return -1;
	}
	free(pairs);
	return 0;
}

/* A pair's flags are being set to flags by stores STOREs: the base of
 * the pair of local UID luid once they are all answered. */
static void
settle_expect(struct mbox *mb, uint32_t luid, const char *flags,
              unsigned stores)
{
	if (stores == 0)
		flagmap_set(&mb->synced, luid, flags, 0);
	else
		flagmap_set(&mb->settling, luid, flags, stores);
}

/* Both sides changed the flags of the pair (luid, ruid): their merge into
 * u, said in the log. Each flag as the side that changed it since the
 * pair's last synced flags left it; without those (a pair from an
 * interimap database or from before they were kept, or paired by
 * content with flags apart), or after a side went back (what it lost
 * would look removed), the union of both lists. u's cap is
 * SYNC_MAX_FLAGS_MERGED, which holds the union of any two lists a server
 * can send. -1 with *error_r on a database failure; -2 when the mailbox
 * failed (said). */
static int
merge_conflict(struct mbox *mb, uint32_t luid, const char *lflags,
               uint32_t ruid, const char *rflags, struct buf *u,
               const char **error_r)
{
	struct buf *changes = NULL;
	char *base = NULL;
	int ret = 0;

	if (!mb->went_back[SIDE_LOCAL] && !mb->went_back[SIDE_REMOTE]) {
		/* An earlier round's, not written yet, is the newer. */
		struct flagmap_entry *se = flagmap_get(&mb->synced, luid);

		if (se != NULL) {
			base = xstrdup(se->flags);
			ret = 1;
		} else {
			ret = state_mapping_get_base(mb->run->state, mb->idx,
			                             SIDE_LOCAL, luid, &base,
			                             error_r);
			if (ret < 0)
				return -1;
		}
	}
	if (ret == 0) {
		if (flags_union(lflags, rflags, u) < 0)
			goto too_long;
		sync_trace(mb, -1,
		           "conflict: local %" PRIu32 " (%s), remote %" PRIu32
		           " (%s): %s, so the union (%s) on both",
		           luid, lflags, ruid, rflags,
		           mb->went_back[SIDE_LOCAL] ||
		                   mb->went_back[SIDE_REMOTE]
		               ? "a side went back (its losses would look "
		                 "removed)"
		               : "no synced flags known for the pair",
		           buf_data(u));
		log_warn(NULL, NULL,
		         "Conflicting flag update in %s for local UID "
		         "%" PRIu32 " (%s) and remote UID %" PRIu32
		         " (%s). %s both to the union (%s).",
		         mb->display, luid, lflags, ruid, rflags,
		         sync_verb(mb->run, "Setting", "Would set"), buf_data(u));
		return 0;
	}
	changes = buf_create(SYNC_MAX_FLAG_CHANGES);
	if (flags_merge3(base, lflags, rflags, "local", "remote", u, changes) <
	    0)
		goto too_long;
	sync_trace(mb, -1,
	           "conflict: local %" PRIu32 " (%s), remote %" PRIu32
	           " (%s), last synced (%s): merged per flag to (%s): %s",
	           luid, lflags, ruid, rflags, base, buf_data(u),
	           buf_data(changes));
	/* Nothing lost: said, not warned. */
	log_info("local", mb->display, "%s flags for UID %" PRIu32 " (%s)",
	         sync_verb(mb->run, "merged", "would merge"), luid,
	         buf_data(changes));
	buf_free(&changes);
	free(base);
	return 0;
too_long:
	/* Not from lists within SYNC_MAX_FLAGS_TEXT. */
	sync_fail(mb, SIDE_LOCAL,
	          "the flags of local UID %" PRIu32 " and "
	          "remote UID %" PRIu32 " together pass %d bytes "
	          "(SYNC_MAX_FLAGS_MERGED): this mailbox is skipped; remove "
	          "keywords from the message on one side",
	          luid, ruid, SYNC_MAX_FLAGS_MERGED);
	buf_free(&changes);
	free(base);
	return -2;
}

/* --debug=sync: a flag change on one side, to store on the other: what
 * it adds and removes from the pair's last synced flags. */
static void
apply_trace_change(struct mbox *mb, enum side side, uint32_t uid,
                   uint32_t partner, const char *flags)
{
	const char *error;
	char *base = NULL;
	int ret;

	ret = state_mapping_get_base(mb->run->state, mb->idx, side, uid, &base,
	                             &error);
	if (ret > 0)
		sync_trace(mb, (int)side,
		           "flags of UID %" PRIu32 " changed to (%s): %s since "
		           "the last sync (%s); store on %s UID %" PRIu32,
		           uid, flags, sync_trace_flag_diff(base, flags), base,
		           side_name(side_other(side)), partner);
	else
		sync_trace(mb, (int)side,
		           "flags of UID %" PRIu32 " changed to (%s), the last "
		           "synced flags unknown; store on %s UID %" PRIu32,
		           uid, flags, side_name(side_other(side)), partner);
	free(base);
}

/* Flag changes: each side's to the other, conflicts merged
 * (merge_conflict()) and stored where a side lacks the result, one
 * STORE per distinct list. */
static void
apply_modified(struct mbox *mb)
{
	struct flag_groups groups[SIDE_COUNT] = {{NULL, 0, 0}, {NULL, 0, 0}};
	struct state *st = mb->run->state;
	struct buf *u = buf_create(SYNC_MAX_FLAGS_MERGED);
	const char *error;
	unsigned s;

	flagmap_clear(&mb->settling);
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s];
		struct flagmap_entry *e;
		size_t pos = 0;

		/* Flags MODIFIED refused last round, unless newer news. */
		while ((e = flagmap_next(&ms->carry, &pos)) != NULL) {
			if (flagmap_get(&ms->modified, e->uid) == NULL)
				flagmap_set(&ms->modified, e->uid, e->flags,
				            e->modseq);
		}
		flagmap_clear(&ms->carry);
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);
		struct flagmap_entry *e, *oe;
		size_t pos = 0;
		uint32_t partner;
		unsigned stores;
		int ret;

		while ((e = flagmap_next(&ms->modified, &pos)) != NULL) {
			ret = state_mapping_lookup(st, mb->idx, ms->side,
			                           e->uid, &partner, &error);
			if (ret < 0)
				goto db_error;
			if (ret == 0) {
				log_warn(side_name(os->side), mb->display,
				         "No match for modified %s UID %" PRIu32
				         ". Try '--repair'.",
				         side_name(ms->side), e->uid);
				continue;
			}
			oe = flagmap_get(&os->modified, partner);
			if (oe == NULL && log_sync_tracing())
				apply_trace_change(mb, ms->side, e->uid,
				                   partner, e->flags);
			if (oe == NULL) {
				flag_groups_add(&groups[os->side], e->flags,
				                partner, e->uid);
				settle_expect(mb,
				              ms->side == SIDE_LOCAL ? e->uid
				                                     : partner,
				              e->flags, 1);
				continue;
			}
			/* Both changed: handled once, from local. */
			if (ms->side != SIDE_LOCAL)
				continue;
			if (flags_equal(e->flags, oe->flags)) {
				sync_trace(mb, -1,
				           "local %" PRIu32
				           " and remote %" PRIu32
				           " changed alike to (%s): no STORE",
				           e->uid, partner, e->flags);
				settle_expect(mb, e->uid, e->flags, 0);
				continue;
			}
			buf_reset(u);
			ret = merge_conflict(mb, e->uid, e->flags, partner,
			                     oe->flags, u, &error);
			if (ret == -1)
				goto db_error;
			if (ret < 0)
				goto out;
			stores = 0;
			if (!flags_equal(buf_data(u), e->flags)) {
				flag_groups_add(&groups[ms->side], buf_data(u),
				                e->uid, partner);
				stores++;
			}
			if (!flags_equal(buf_data(u), oe->flags)) {
				flag_groups_add(&groups[os->side], buf_data(u),
				                partner, e->uid);
				stores++;
			}
			settle_expect(mb, e->uid, buf_data(u), stores);
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		size_t i;

		for (i = 0; i < groups[s].count; i++) {
			if (apply_store_group(&mb->s[s], &groups[s].g[i]) < 0)
				goto out; /* the mailbox failed */
		}
		flagmap_clear(&mb->s[s].modified);
	}
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	buf_free(&u);
	for (s = 0; s < SIDE_COUNT; s++)
		flag_groups_free(&groups[s]);
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
		apply_modified(mb);
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

const struct sync_phase sync_phase_apply = {
    .name = "APPLY",
    .fetch = apply_on_fetch,
    .vanished = sync_live_vanished,
    .numbers = sync_live_numbers,
    .exists = apply_on_exists,
    .tagged_modseq = apply_on_tagged_modseq,
    .side_free = sync_copy_abort, /* a MULTIAPPEND never sent */
};
