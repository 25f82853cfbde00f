/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Moves: a message that vanished from mailbox A on one side and turned
 * up, new, in mailbox B on the same side was moved (MOVE, or COPY and
 * EXPUNGE). Its pair on the other side is moved too, with UID MOVE (COPY,
 * STORE \Deleted and EXPUNGE without MOVE), instead of being expunged
 * there and its body copied again. The message is known by its key
 * (size, INTERNALDATE, Message-ID: sync-match.c), which its pair on the
 * other side shares: the keys of the new messages come from one side,
 * those of the vanished messages' pairs from the other, in the MATCH
 * flight. */
#include "sync-private.h"

#include "buf.h"
#include "imap-conn.h"
#include "limits.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pairs on the other side of what vanished on ms, with their sizes
 * where the database has them; those it lacks go to unknown, for the
 * server to give. */
static int
move_partners(struct mbox_side *ms, struct uidset *unknown)
{
	struct mbox *mb = ms->mb;
	struct mbox_side *os = mbox_other(ms);
	struct uidset_iter it;
	const char *error;
	uint32_t uid, partner, size;

	uidset_normalize(&ms->vanished);
	uidset_iter_init(&it, &ms->vanished);
	while (uidset_iter_next(&it, &uid)) {
		int ret = state_mapping_lookup_size(mb->run->state, mb->idx,
		                                    ms->side, uid, &partner,
		                                    &size, &error);

		if (ret < 0) {
			sync_db_fail(mb, error);
			return -1;
		}
		if (ret == 0)
			continue;
		if (sync_uids_add(os, &os->move.want, partner, partner) < 0)
			return -1;
		if (size > 0)
			sync_match_add_size(os, partner, size);
		else if (sync_uids_add(os, unknown, partner, partner) < 0)
			return -1;
	}
	uidset_normalize(&os->move.want);
	uidset_normalize(unknown);
	return 0;
}

bool
sync_move_start(struct mbox *mbs, size_t n)
{
	bool vanished[SIDE_COUNT] = {false, false};
	bool fresh[SIDE_COUNT] = {false, false}, queued = false;
	struct uidset unknown = UIDSET_INIT;
	size_t i;
	unsigned s;

	for (i = 0; i < n; i++) {
		if (mbs[i].failed || !mbs[i].active)
			continue;
		for (s = 0; s < SIDE_COUNT; s++) {
			vanished[s] |= mbs[i].s[s].vanished.n > 0;
			fresh[s] |= mbs[i].s[s].fresh.n > 0;
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (!vanished[s] || !fresh[s])
			continue;
		for (i = 0; i < n; i++) {
			struct mbox *mb = &mbs[i];
			struct mbox_side *ms = &mb->s[s], *os = mbox_other(ms);

			if (mb->failed || !mb->active)
				continue;
			/* Keys of what is new here, unless MATCH asked. */
			if (ms->fresh.n > 0 && os->fresh.n == 0) {
				uidset_normalize(&ms->fresh);
				sync_match_fetch_keys(ms, &ms->fresh);
				queued = true;
			}
			if (ms->vanished.n > 0 &&
			    move_partners(ms, &unknown) == 0 &&
			    unknown.n > 0) {
				sync_match_fetch_keys(os, &unknown);
				queued = true;
			}
			uidset_clear(&unknown);
		}
	}
	uidset_free(&unknown);
	return queued;
}

void
sync_move_on_fetch(struct mbox_side *ms, const struct imap_fetch *f,
                   const char *flags)
{
	struct sync_ident *id;

	if (!uidset_contains(&ms->move.want, f->uid))
		return;
	if (ms->move.idents_count == ms->move.idents_alloc) {
		size_t n =
		    ms->move.idents_alloc == 0 ? 64 : ms->move.idents_alloc * 2;

		ms->move.idents =
		    xreallocarray(ms->move.idents, n, sizeof(*ms->move.idents));
		ms->move.idents_alloc = n;
	}
	id = &ms->move.idents[ms->move.idents_count];
	if (sync_match_key(f, id) < 0)
		return;
	id->flags = xstrdup(flags);
	ms->move.idents_count++;
}

/* A vanished message's pair, by key. */
struct move_cand {
	struct sync_ident *id; /* in the pair's side's move.idents */
	struct mbox *mb;       /* the mailbox it is in */
	bool used;
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct move_cand *x = a, *y = b;

	return memcmp(x->id->key, y->id->key, SYNC_KEY_LEN);
}

static void
move_add(struct mbox_side *from, struct mbox *to, uint32_t uid,
         const struct sync_ident *twin, const char *flags)
{
	struct sync_move *m;

	if (from->move.count == from->move.alloc) {
		size_t n = from->move.alloc == 0 ? 16 : from->move.alloc * 2;

		from->move.list =
		    xreallocarray(from->move.list, n, sizeof(*from->move.list));
		from->move.alloc = n;
	}
	m = &from->move.list[from->move.count];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->to = to;
	m->other_uid = twin->uid;
	m->size = twin->size;
	m->other_flags = xstrdup(twin->flags);
	m->flags = xstrdup(flags);
	/* What the flag change here was about goes with the move. */
	m->changed = flagmap_remove(&from->modified, uid);
	from->move.count++;
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SYNC_KEY_LEN);
}

/* The keys of what is new on side s, in every mailbox, sorted: a key
 * found twice there names no one message. */
static void
fresh_keys(struct mbox *mbs, size_t n, unsigned s, unsigned char **keys_r,
           size_t *count_r)
{
	unsigned char *keys = NULL;
	size_t i, j, count = 0, total = 0;

	for (i = 0; i < n; i++)
		total += mbs[i].s[s].match.idents_count;
	if (total > 0)
		keys = xreallocarray(NULL, total, SYNC_KEY_LEN);
	for (i = 0; i < n; i++) {
		struct mbox_side *ms = &mbs[i].s[s];

		for (j = 0; j < ms->match.idents_count; j++) {
			if (!uidset_contains(&ms->fresh,
			                     ms->match.idents[j].uid))
				continue;
			memcpy(keys + count * SYNC_KEY_LEN,
			       ms->match.idents[j].key, SYNC_KEY_LEN);
			count++;
		}
	}
	if (count > 0)
		qsort(keys, count, SYNC_KEY_LEN, key_cmp);
	*keys_r = keys;
	*count_r = count;
}

static bool
key_twice(const unsigned char *keys, size_t count, const unsigned char *key)
{
	const unsigned char *k = bsearch(key, keys, count, SYNC_KEY_LEN,
	                                 key_cmp);

	if (k == NULL)
		return false;
	return (k > keys && key_cmp(k - SYNC_KEY_LEN, key) == 0) ||
	       (k + SYNC_KEY_LEN < keys + count * SYNC_KEY_LEN &&
	        key_cmp(k + SYNC_KEY_LEN, key) == 0);
}

/* A message that left its mailbox on side s and came back (moved out and
 * in again, or away and back): the same message, a new UID. Its pair is
 * kept, with that UID; no server is asked anything. */
static int
move_repair(struct mbox *mb, enum side s, uint32_t old_uid,
            const struct sync_ident *v, const struct sync_ident *twin)
{
	struct mbox_side *ms = &mb->s[s];
	struct state *st = mb->run->state;
	const char *error;
	char *base = NULL;

	if (state_begin(st, &error) < 0)
		goto db_error;
	/* With its last synced flags, unless both sides agree now. */
	if (state_mapping_get_base(st, mb->idx, s, old_uid, &base, &error) <
	        0 ||
	    state_mapping_remove(st, mb->idx, s, old_uid, &error) < 0 ||
	    state_mapping_add_base(
	        st, mb->idx, s == SIDE_LOCAL ? v->uid : twin->uid,
	        s == SIDE_LOCAL ? twin->uid : v->uid, v->size,
	        flags_equal(v->flags, twin->flags) ? v->flags : base,
	        &error) < 0) {
		free(base);
		sync_rollback(st);
		goto db_error;
	}
	free(base);
	if (state_commit(st, &error) < 0)
		goto db_error;
	/* Its flags here are what the user left: the other side follows. */
	if (!flags_equal(v->flags, twin->flags))
		flagmap_set(&ms->modified, v->uid, v->flags, v->modseq);
	return 0;
db_error:
	sync_db_fail(mb, error);
	return -1;
}

/* Whether side s's other side of mb has a new message with v's key that
 * an intent names (named true) or that none names (false). */
static bool
twin_new(struct mbox *mb, enum side s, const struct sync_ident *v,
         const struct uidset *named_set, bool named)
{
	const struct mbox_side *os = &mb->s[side_other(s)];
	size_t j;

	for (j = 0; j < os->match.idents_count; j++) {
		const struct sync_ident *w = &os->match.idents[j];

		if (uidset_contains(named_set, w->uid) == named &&
		    uidset_contains(&os->fresh, w->uid) &&
		    memcmp(w->key, v->key, SYNC_KEY_LEN) == 0)
			return true;
	}
	return false;
}

/* Whether v, new on side s of mb, has the key of a message new on the
 * other side there that an intent names: what a stopped run copied or
 * moved into mb, there twice now. MATCH pairs the two; v is no move.
 * (Unless an intent names v too: a move the stopped run meant to make
 * of v, crossing one of the other side's, neither sent; the caller
 * looks.) */
static bool
intent_twin(struct mbox *mb, enum side s, const struct sync_ident *v,
            const struct uidset *named)
{
	return twin_new(mb, s, v, named, true);
}

/* Whether v, new on side s of mb and named by a stopped run's move
 * intent, has the key of a message new on the other side there that no
 * intent names, and that side's server has no MOVE: what the stopped
 * run's UID COPY left there, its answer never read (the source is still
 * there, so the move is seen again). MATCH pairs the two and the source
 * goes as an expunge: moving it again would leave the copy twice. */
static bool
copy_arrived(struct mbox *mb, enum side s, const struct sync_ident *v,
             const struct uidset *named)
{
	return (mbox_server(&mb->s[side_other(s)])->caps & IMAP_CAP_MOVE) ==
	           0 &&
	       twin_new(mb, s, v, named, false);
}

/* --debug=sync: why v, new on side s of `to`, whose key is that of a
 * vanished message's pair, is not taken for a move (the tests of
 * sync_move_finish(), in its order). */
static void
move_trace_refused(struct mbox *to, enum side s, const struct sync_ident *v,
                   const struct uidset *pending, const struct uidset *mine,
                   const struct uidset *named, const unsigned char *keys,
                   size_t nkeys, struct move_cand *cands, size_t nc)
{
	struct move_cand key = {(struct sync_ident *)v, NULL, false}, *c;
	const char *why;
	size_t k;

	if (!uidset_contains(&to->s[s].fresh, v->uid))
		return;
	c = bsearch(&key, cands, nc, sizeof(*cands), cand_cmp);
	if (c == NULL)
		return;
	k = (size_t)(c - cands);
	if (v->weak)
		why = "no Message-ID, another message may share its size and "
		      "date";
	else if (uidset_contains(pending, v->uid))
		why = "an intent names it (a stopped run's copy)";
	else if (key_twice(keys, nkeys, v->key))
		why = "two new messages share its key";
	else if (!uidset_contains(mine, v->uid) && intent_twin(to, s, v, named))
		why = "the other side's copy of it, an intent says, is new "
		      "there: MATCH pairs the two";
	else if (uidset_contains(mine, v->uid) && copy_arrived(to, s, v, named))
		why = "a stopped run's UID COPY of it arrived on the other side "
		      "(no MOVE there): MATCH pairs the two";
	else if ((k > 0 && cand_cmp(&cands[k - 1], c) == 0) ||
	         (k + 1 < nc && cand_cmp(&cands[k + 1], c) == 0))
		why = "two vanished messages' pairs share its key";
	else
		return;
	sync_trace(to, (int)s,
	           "not a move: new UID %" PRIu32 " has the key %s of a pair "
	           "that vanished from %s, but %s; expunged and copied "
	           "instead",
	           v->uid, sync_trace_key(v->key), sync_trace_name(c->mb), why);
}

void
sync_move_finish(struct mbox *mbs, size_t n)
{
	unsigned s;
	size_t i, j, k;

	for (s = 0; s < SIDE_COUNT; s++) {
		enum side other = side_other(s);
		struct move_cand *cands = NULL;
		unsigned char *keys = NULL;
		size_t nc = 0, alloc = 0, nkeys = 0;
		size_t *repaired = xcalloc(n + 1, sizeof(*repaired));
		/* Per mailbox, what stops being an expunge or a copy on s. */
		struct uidset *gone = xcalloc(n + 1, sizeof(*gone));
		struct uidset *came = xcalloc(n + 1, sizeof(*came));

		/* The pairs of what vanished on s, on the other side. */
		for (i = 0; i < n; i++) {
			struct mbox_side *os = &mbs[i].s[other];

			for (j = 0; j < os->move.idents_count; j++) {
				if (nc == alloc) {
					size_t a = alloc == 0 ? 64 : alloc * 2;

					cands = xreallocarray(cands, a,
					                      sizeof(*cands));
					alloc = a;
				}
				cands[nc].id = &os->move.idents[j];
				cands[nc].mb = &mbs[i];
				cands[nc].used = false;
				nc++;
			}
		}
		if (nc > 0) {
			qsort(cands, nc, sizeof(*cands), cand_cmp);
			fresh_keys(mbs, n, s, &keys, &nkeys);
		}
		/* What is new on s, by key: a pair's twin was moved. A key
		 * that two vanished pairs or two new messages share names
		 * neither for sure, nor one without a Message-ID (a
		 * different message may have its size and date): those are
		 * expunged and copied. */
		for (i = 0; i < n && nc > 0; i++) {
			struct mbox *to = &mbs[i];
			struct mbox_side *ms = &to->s[s];
			struct uidset pending = UIDSET_INIT;
			struct uidset named = UIDSET_INIT;
			struct uidset mine = UIDSET_INIT;

			/* A mailbox being paired afresh (UIDVALIDITY
			 * changed) takes no move. */
			if (to->failed || !to->active || to->recover)
				continue;
			if (sync_pending_uids(to, s, true, &pending) < 0 ||
			    sync_pending_uids(to, s, false, &mine) < 0 ||
			    sync_pending_uids(to, other, false, &named) < 0) {
				uidset_free(&pending);
				uidset_free(&mine);
				uidset_free(&named);
				continue;
			}
			for (j = 0; j < ms->match.idents_count; j++) {
				struct sync_ident *v = &ms->match.idents[j];
				struct move_cand key = {v, NULL, false}, *c;
				uint32_t uid;
				int ret;
				const char *error;

				if (log_sync_tracing())
					move_trace_refused(to, s, v, &pending,
					                   &mine, &named, keys,
					                   nkeys, cands, nc);
				if (!uidset_contains(&ms->fresh, v->uid) ||
				    v->weak ||
				    uidset_contains(&pending, v->uid) ||
				    key_twice(keys, nkeys, v->key) ||
				    (!uidset_contains(&mine, v->uid) &&
				     intent_twin(to, s, v, &named)) ||
				    (uidset_contains(&mine, v->uid) &&
				     copy_arrived(to, s, v, &named)))
					continue;
				c = bsearch(&key, cands, nc, sizeof(*cands),
				            cand_cmp);
				if (c == NULL)
					continue;
				k = (size_t)(c - cands);
				if ((k > 0 && cand_cmp(&cands[k - 1], c) == 0) ||
				    (k + 1 < nc && cand_cmp(&cands[k + 1], c) == 0))
					continue;
				if (c->used || c->mb->failed)
					continue;
				ret = state_mapping_lookup(
				    c->mb->run->state, c->mb->idx, other,
				    c->id->uid, &uid, &error);
				if (ret <= 0)
					continue;
				c->used = true;
				if (c->mb == to) {
					/* Gone and back: the pair follows. */
					if (move_repair(to, s, uid, v, c->id) < 0)
						continue;
					repaired[i]++;
					sync_trace(
					    to, (int)s,
					    "paired again: UID %" PRIu32
					    " left and came back as %" PRIu32
					    " (key %s); the pair with %s "
					    "%" PRIu32 " is kept, no command",
					    uid, v->uid, sync_trace_key(v->key),
					    side_name(other), c->id->uid);
				} else {
					to->move_in = true;
					move_add(&c->mb->s[other], to,
					         c->id->uid, v, c->id->flags);
					sync_trace(
					    c->mb, (int)other,
					    "move UID %" PRIu32 " to %s: its "
					    "pair %s %" PRIu32 " left %s and "
					    "came to %s as %" PRIu32
					    " (key %s)%s",
					    c->id->uid, sync_trace_name(to),
					    side_name(s), uid,
					    sync_trace_name(c->mb),
					    sync_trace_name(to), v->uid,
					    sync_trace_key(v->key),
					    c->mb->s[other]
					            .move
					            .list[c->mb->s[other]
					                      .move.count -
					                  1]
					            .changed
					        ? "; its flags changed here "
					          "too, merged as a conflict"
					        : "; the flags there win");
				}
				/* Not an expunge, not a copy any more: a set
				 * full fails both mailboxes, as the move (or
				 * the repaired pair) ties them. */
				if (sync_uids_add(&c->mb->s[s],
				                  &gone[c->mb - mbs], uid,
				                  uid) < 0 ||
				    sync_uids_add(ms, &came[i], v->uid,
				                  v->uid) < 0) {
					sync_fail_uids(&c->mb->s[s]);
					sync_fail_uids(ms);
				}
			}
			uidset_free(&pending);
			uidset_free(&mine);
			uidset_free(&named);
		}
		for (i = 0; i < n; i++) {
			if (uidset_subtract(&mbs[i].s[s].vanished, &gone[i]) < 0 ||
			    uidset_subtract(&mbs[i].s[s].fresh, &came[i]) < 0)
				sync_fail_uids(&mbs[i].s[s]);
			uidset_free(&gone[i]);
			uidset_free(&came[i]);
			if (repaired[i] > 0)
				log_info("database", mbs[i].display,
				         "%s %zu %s that left %s and came "
				         "back",
				         sync_verb(mbs[i].run, "Paired again",
				                   "would pair again"),
				         repaired[i],
				         log_plural(repaired[i], "message",
				                    "messages"),
				         side_name(s));
		}
		free(repaired);
		free(gone);
		free(came);
		free(keys);
		free(cands);
	}
	for (i = 0; i < n; i++) {
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mbs[i].s[s];

			for (j = 0; j < ms->move.idents_count; j++)
				free(ms->move.idents[j].flags);
			free(ms->move.idents);
			ms->move.idents = NULL;
			ms->move.idents_count = ms->move.idents_alloc = 0;
			uidset_clear(&ms->move.want);
		}
	}
}

void
sync_move_free(struct mbox_side *ms)
{
	size_t i;

	for (i = 0; i < ms->move.count; i++) {
		free(ms->move.list[i].flags);
		free(ms->move.list[i].other_flags);
	}
	free(ms->move.list);
	ms->move.list = NULL;
	ms->move.count = ms->move.alloc = 0;
	for (i = 0; i < ms->move.idents_count; i++)
		free(ms->move.idents[i].flags);
	free(ms->move.idents);
	ms->move.idents = NULL;
	ms->move.idents_count = ms->move.idents_alloc = 0;
	uidset_free(&ms->move.want);
}

void
sync_move_side_init(struct mbox_side *ms)
{
	uidset_init(&ms->move.want);
}

void
sync_move_side_free(struct mbox_side *ms)
{
	sync_move_free(ms);
	sync_copyuid_free(&ms->move.copyuids);
}
