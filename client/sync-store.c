/* SPDX-License-Identifier: GPL-3.0-or-later */
/* APPLY's flag changes: each side's changes since the last sync stored
 * on the other with UNCHANGEDSINCE, one STORE per distinct flag list;
 * a message changed on both sides is a conflict, merged per flag from
 * the pair's last synced flags (sync-merge.c). */
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
#include <stdlib.h>
#include <string.h>

/* A UID STORE over a set: context for its completion. */
struct set_cmd {
	struct mbox_side *ms; /* the side the command runs on */
	struct uidset uids;
	char *flags;       /* the flags set */
	uint32_t *partner; /* the other side's UID, by position */
};

static void
set_cmd_free(struct set_cmd *sc)
{
	uidset_free(&sc->uids);
	free(sc->flags);
	free(sc->partner);
	free(sc);
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
		         sync_verb(mb->run, "Setting", "Would set"),
		         buf_data(u));
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
void
sync_store_start(struct mbox *mb)
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
