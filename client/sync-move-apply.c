/* SPDX-License-Identifier: GPL-3.0-or-later */
/* APPLY's moves (found in MATCH by sync-move.c): UID MOVE of a pair's
 * message on the side where its twin was not moved yet, batched per
 * source and target mailbox, with the intent recorded first; the
 * [COPYUID]s the server sends, however it orders or splits them, tell
 * the new UIDs; without MOVE, UID COPY then STORE \Deleted and EXPUNGE
 * (sync_expunge_uids()). --dry-run says what it would move. */
#include "sync-private.h"

#include "buf.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch of moves from one mailbox to another on one side. */
struct move_cmd {
	struct mbox_side *from; /* the side and mailbox they leave */
	struct mbox_side *to;   /* the same side, the mailbox they reach */
	struct sync_move **moves;
	size_t count;
	struct uidset uids;
};

static void
move_cmd_free(struct move_cmd *mc)
{
	uidset_free(&mc->uids);
	free(mc->moves);
	free(mc);
}

void
sync_copyuid_free(struct sync_copyuid **list)
{
	while (*list != NULL) {
		struct sync_copyuid *c = *list;

		*list = c->next;
		uidset_free(&c->src);
		uidset_free(&c->dst);
		free(c);
	}
}

/* Whether every UID of set is in uids (normalized). */
static bool
uids_within(const struct uidset *set, const struct uidset *uids)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		uint32_t uid;

		for (uid = set->r[i].lo;; uid++) {
			if (!uidset_contains(uids, uid))
				return false;
			if (uid == set->r[i].hi)
				break;
		}
	}
	return set->n > 0;
}

/* The destination UID of each source UID of mc, from c, into dst_r
 * (parallel to mc->moves; 0 where c does not say). A COPYUID for another
 * mailbox's UIDVALIDITY is not believed, nor a new UID below the UIDNEXT
 * the mailbox had before (a UID it gave already). */
static void
move_take_copyuid(struct move_cmd *mc, const struct sync_copyuid *c,
                  uint32_t *dst_r)
{
	struct uidset_iter si, di;
	uint32_t su, du;
	size_t i;

	if (mc->to->uidvalidity != 0 && c->uidvalidity != mc->to->uidvalidity)
		return;
	uidset_iter_init(&si, &c->src);
	uidset_iter_init(&di, &c->dst);
	while (uidset_iter_next(&si, &su) && uidset_iter_next(&di, &du)) {
		if (du < mc->to->uidnext)
			continue;
		for (i = 0; i < mc->count; i++) {
			if (mc->moves[i]->uid == su && du != 0) {
				dst_r[i] = du;
				break;
			}
		}
	}
}

/* A move that did not end as asked, or whose outcome is not known: both
 * mailboxes are left as they are, their state not committed, and the
 * next run finds the message where the server has it (vanished there,
 * new here: the pair goes, or the two are paired by key). */
static void
move_unsure(struct move_cmd *mc, const char *why)
{
	struct mbox *from = mc->from->mb, *to = mc->to->mb;

	sync_fail(from, mc->from->side, "UID MOVE to %s: %s", to->display, why);
	if (to != from)
		sync_fail(to, mc->to->side,
		          "a move from %s into this mailbox did not complete; "
		          "the next run pairs what arrived",
		          from->display);
}

static void
move_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct move_cmd *mc = ctx;
	struct mbox_side *from = mc->from, *to = mc->to;
	struct mbox *mb = from->mb;
	struct state *st = mb->run->state;
	struct sync_copyuid tagged = {NULL, 0, UIDSET_INIT, UIDSET_INIT};
	struct sync_copyuid **cp;
	struct imap_resp_code code;
	uint32_t *dst = NULL;
	const char *error;
	size_t i, moved = 0;

	(void)conn;
	if (resp == NULL)
		goto out;
	if (resp->status != IMAP_STATUS_OK) {
		/* Refused: nothing moved, nothing for MATCH to pair. */
		if (state_begin(st, &error) < 0)
			goto db_error;
		for (i = 0; i < mc->count; i++) {
			if (state_pending_remove(
			        st, to->mb->idx, side_other(from->side),
			        mc->moves[i]->other_uid, &error) < 0) {
				sync_rollback(st);
				goto db_error;
			}
		}
		if (state_commit(st, &error) < 0)
			goto db_error;
		move_unsure(mc, resp->text);
		goto out;
	}
	dst = xcalloc(mc->count, sizeof(*dst));
	/* UID COPY answers with it; UID MOVE sends it untagged, before
	 * its expunges, and a server may send several. Each is this
	 * command's when its source UIDs are among those it moved. */
	if (imap_decode_code(resp, &code, &tagged.src, &tagged.dst, &error) ==
	        0 &&
	    code.code == IMAP_CODE_COPYUID) {
		tagged.uidvalidity = code.uidvalidity;
		move_take_copyuid(mc, &tagged, dst);
	}
	for (cp = &from->move.copyuids; *cp != NULL;) {
		struct sync_copyuid *c = *cp;

		if (!uids_within(&c->src, &mc->uids)) {
			cp = &c->next;
			continue;
		}
		move_take_copyuid(mc, c, dst);
		*cp = c->next;
		c->next = NULL;
		sync_copyuid_free(&c);
	}
	/* Ours when the selection reports them gone; a set full fails the
	 * mailbox before anything is recorded: the next run pairs the
	 * moved messages by content. */
	for (i = 0; i < mc->count; i++) {
		if (dst[i] != 0 &&
		    sync_uids_add(from, &from->round.expunged,
		                  mc->moves[i]->uid, mc->moves[i]->uid) < 0)
			goto out;
	}
	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < mc->count; i++) {
		struct sync_move *m = mc->moves[i];
		uint32_t du = dst[i];
		char *base = NULL;

		if (du == 0)
			continue;
		/* The pair's last synced flags go with it: a flag changed
		 * here as the twin was moved there is merged from them. */
		if (state_mapping_get_base(st, mb->idx, from->side, m->uid,
		                           &base, &error) < 0 ||
		    state_mapping_remove(st, mb->idx, from->side, m->uid,
		                         &error) < 0 ||
		    state_pending_remove(st, to->mb->idx,
		                         side_other(from->side), m->other_uid,
		                         &error) < 0 ||
		    state_mapping_add_base(
		        st, to->mb->idx,
		        from->side == SIDE_LOCAL ? du : m->other_uid,
		        from->side == SIDE_LOCAL ? m->other_uid : du, m->size,
		        flags_equal(m->flags, m->other_flags) ? m->flags : base,
		        &error) < 0) {
			free(base);
			sync_rollback(st);
			goto db_error;
		}
		free(base);
		moved++;
		flagmap_set(&to->round.expect, du, m->flags, 0);
		if (du > to->round.max_uid)
			to->round.max_uid = du;
		/* The twin's flags win: they are the side that moved it;
		 * unless they changed here too, which APPLY merges as any
		 * conflict, from the base the pair brought. */
		if (!flags_equal(m->flags, m->other_flags)) {
			flagmap_set(&mbox_other(to)->modified, m->other_uid,
			            m->other_flags, 0);
			if (m->changed)
				flagmap_set(&to->modified, du, m->flags, 0);
		}
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	if (log_sync_tracing()) {
		struct uidset su = UIDSET_INIT, du = UIDSET_INIT;

		for (i = 0; i < mc->count; i++) {
			if (dst[i] == 0)
				continue;
			/* A trace only: past the cap, it shows less. */
			if (uidset_add(&su, mc->moves[i]->uid) < 0 ||
			    uidset_add(&du, dst[i]) < 0)
				break;
		}
		sync_trace(mb, (int)from->side,
		           "moved UID(s) %s to %s as %s (COPYUID); the pairs "
		           "follow them%s",
		           sync_trace_uids(&su), sync_trace_name(to->mb),
		           sync_trace_uids(&du),
		           moved < mc->count ? "; the rest unsure" : "");
		uidset_free(&su);
		uidset_free(&du);
	}
	sync_step("moves recorded");
	if (moved > 0)
		log_info(side_name(from->side), mb->display,
		         "Moved %zu %s to %s", moved,
		         log_plural(moved, "message", "messages"),
		         to->mb->display);
	mb->run->tally.moved[from->side] += moved;
	if (moved < mc->count) {
		char why[160];

		snprintf(why, sizeof(why),
		         "no valid COPYUID for %zu %s (the server "
		         "must support UIDPLUS); the next run pairs them by "
		         "content",
		         mc->count - moved,
		         log_plural(mc->count - moved, "message", "messages"));
		move_unsure(mc, why);
	}
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	free(dst);
	uidset_free(&tagged.src);
	uidset_free(&tagged.dst);
	move_cmd_free(mc);
}

static int
move_intents(struct move_cmd *mc)
{
	struct mbox *to = mc->to->mb;
	struct state *st = to->run->state;
	enum side twin = side_other(mc->from->side);
	const char *error;
	size_t i;

	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < mc->count; i++) {
		struct sync_move *m = mc->moves[i];
		char *base = NULL;

		/* With the base the pair takes along: if the run stops
		 * before move_done(), the old pair goes (gone on both
		 * sides) and MATCH pairs the two again from the intent. */
		if (state_mapping_get_base(st, mc->from->mb->idx,
		                           mc->from->side, m->uid, &base,
		                           &error) < 0 ||
		    state_pending_add_base(
		        st, to->idx, twin, m->other_uid, SYNC_INTENT_MOVE,
		        SYNC_INTENT_MOVE_LEN,
		        flags_equal(m->flags, m->other_flags) ? m->flags : base,
		        &error) < 0 ||
		    /* Without MOVE: COPY, STORE \Deleted, EXPUNGE; the
		     * \Deleted is ours until the EXPUNGE is answered. */
		    ((mbox_server(mc->from)->caps & IMAP_CAP_MOVE) == 0 &&
		     state_expunging_add(st, mc->from->mb->idx, mc->from->side,
		                         m->uid, &error) < 0)) {
			free(base);
			sync_rollback(st);
			goto db_error;
		}
		free(base);
	}
	/* In the APPLY flight's transaction: on disk with the flight's
	 * other records, before any command goes (sync_apply_flight()). */
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("move intents written");
	return 0;
db_error:
	sync_db_fail(to, error);
	return -1;
}

/* --dry-run: the flags move_done() would leave for the next round to
 * store, said now: the twin's on the moved message (its new UID, "?"),
 * or, changed on both sides, their merge from the pair's last synced
 * flags (the union without them) where a side lacks it. */
static void
move_dry_flags(struct mbox_side *from, const struct sync_move *m)
{
	struct mbox *mb = from->mb;
	enum side twin = side_other(from->side);
	const char *error;
	char *base = NULL;
	struct buf *u;
	int ret;

	if (flags_equal(m->flags, m->other_flags))
		return;
	if (!m->changed) {
		log_info(side_name(from->side), m->to->display,
		         "would update flags (%s) for UID ?", m->other_flags);
		mb->run->tally.flagged[from->side]++;
		return;
	}
	ret = state_mapping_get_base(mb->run->state, mb->idx, from->side,
	                             m->uid, &base, &error);
	if (ret < 0) {
		sync_db_fail(mb, error);
		return;
	}
	u = buf_create(SYNC_MAX_FLAGS_MERGED);
	if ((ret > 0
	         ? flags_merge3(base, m->flags, m->other_flags, "", "", u, NULL)
	         : flags_union(m->flags, m->other_flags, u)) < 0) {
		/* Not from lists within SYNC_MAX_FLAGS_TEXT. */
		buf_free(&u);
		free(base);
		return;
	}
	if (!flags_equal(buf_data(u), m->flags)) {
		log_info(side_name(from->side), m->to->display,
		         "would update flags (%s) for UID ?", buf_data(u));
		mb->run->tally.flagged[from->side]++;
	}
	if (!flags_equal(buf_data(u), m->other_flags)) {
		log_info(side_name(twin), m->to->display,
		         "would update flags (%s) for UID %" PRIu32,
		         buf_data(u), m->other_uid);
		mb->run->tally.flagged[twin]++;
	}
	buf_free(&u);
	free(base);
}

/* --dry-run: the moves out of from, said: one line per mailbox they
 * go to, as move_done() says them. */
static void
move_dry(struct mbox_side *from)
{
	size_t i, j, count;

	for (i = 0; i < from->move.count; i++) {
		struct sync_move *m = &from->move.list[i];

		if (m->queued)
			continue;
		count = 0;
		for (j = i; j < from->move.count; j++) {
			if (from->move.list[j].queued ||
			    from->move.list[j].to != m->to)
				continue;
			from->move.list[j].queued = true;
			move_dry_flags(from, &from->move.list[j]);
			count++;
		}
		log_info(side_name(from->side), from->mb->display,
		         "would move %zu %s to %s", count,
		         log_plural(count, "message", "messages"),
		         m->to->display);
		from->mb->run->tally.moved[from->side] += count;
	}
}

void
sync_move_apply(struct mbox_side *from)
{
	size_t i, j;

	if (from->mb->run->set.dry_run) {
		move_dry(from);
		return;
	}

	for (i = 0; i < from->move.count; i++) {
		struct sync_move *m = &from->move.list[i];
		struct move_cmd *mc;
		struct buf *b;
		struct mbox_side *to;

		if (m->queued)
			continue;
		to = &m->to->s[from->side];
		mc = xcalloc(1, sizeof(*mc));
		b = buf_create(IMAP_MAX_UIDSET_CMD * 2);
		mc->moves = xcalloc(from->move.count, sizeof(*mc->moves));
		mc->from = from;
		mc->to = to;
		from->round.touched = true;
		to->round.touched = true;
		/* Added there while another mailbox is selected. */
		to->round.need_check = true;
		uidset_init(&mc->uids);
		/* Every move to the same mailbox, while the set is short. */
		for (j = i; j < from->move.count; j++) {
			struct sync_move *o = &from->move.list[j];

			if (o->queued || o->to != m->to)
				continue;
			o->queued = true;
			mc->moves[mc->count++] = o;
			if (sync_uids_add(from, &mc->uids, o->uid, o->uid) <
			        0 ||
			    sync_uids_add(from, &from->round.expunged, o->uid,
			                  o->uid) < 0) {
				/* Nothing sent: the mailbox failed. */
				buf_free(&b);
				move_cmd_free(mc);
				return;
			}
			if (mc->uids.n * 22 > IMAP_MAX_UIDSET_CMD)
				break;
		}
		uidset_normalize(&mc->uids);
		/* Until its COPYUID is recorded, the twin of each (new on the
		 * other side) may have a message here: the next run's MATCH
		 * may pair them if this one is killed or the move unsure. */
		if (move_intents(mc) < 0) {
			buf_free(&b);
			move_cmd_free(mc);
			return;
		}
		if (uidset_format(&mc->uids, b) < 0) {
			/* Cut short at 22 bytes a range under the cap. */
			sync_fail(from->mb, from->side,
			          "internal error: a UID "
			          "set passed IMAP_MAX_UIDSET_CMD");
			buf_free(&b);
			move_cmd_free(mc);
			return;
		}
		sync_trace(from->mb, (int)from->side,
		           "move UID(s) %s to %s: %s (intents recorded first)",
		           sync_trace_uids(&mc->uids), sync_trace_name(to->mb),
		           (mbox_server(from)->caps & IMAP_CAP_MOVE) != 0
		               ? "UID MOVE"
		               : "no MOVE: UID COPY, then the source expunged");
		sync_select_for_step(from, true);
		if ((mbox_server(from)->caps & IMAP_CAP_MOVE) != 0) {
			sync_cmd(from, false, move_done, mc, "UID MOVE %a %s",
			         buf_data(b), to->wire);
		} else {
			sync_cmd(from, false, move_done, mc, "UID COPY %a %s",
			         buf_data(b), to->wire);
			sync_expunge_uids(from, buf_data(b), &mc->uids);
		}
		buf_free(&b);
	}
}
