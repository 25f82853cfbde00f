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

/* What both lists below are sorted by: key, then mailbox, then UID, so a
 * key's run is in order. */
struct move_ref {
	const unsigned char *key;
	struct mbox *mb; /* the mailbox it is in, in the flight's array */
	uint32_t uid;
};

/* A vanished message's pair, by key (r: the pair's, on the other side). */
struct move_cand {
	struct move_ref r;
	struct sync_ident *id; /* in the pair's side's move.idents */
	bool used;
	bool warned; /* move_lost() said its flag change is lost */
};

/* A message new on the side where messages vanished. */
struct move_new {
	struct move_ref r;
	const char *flags;
};

/* For qsort() of either list: each begins with its move_ref. */
static int
ref_cmp(const void *a, const void *b)
{
	const struct move_ref *x = a, *y = b;
	int r = memcmp(x->key, y->key, SYNC_KEY_LEN);

	if (r != 0)
		return r;
	if (x->mb != y->mb)
		return x->mb < y->mb ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The key of element i of a list of elements of size bytes, each
 * beginning with its move_ref. */
static const unsigned char *
ref_key(const void *base, size_t size, size_t i)
{
	return ((const struct move_ref *)((const char *)base + i * size))->key;
}

/* The run [lo, hi) of such a sorted list's count elements whose key is
 * key. */
static void
key_run(const void *base, size_t count, size_t size, const unsigned char *key,
        size_t *lo_r, size_t *hi_r)
{
	size_t lo = 0, hi = count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(ref_key(base, size, mid), key, SYNC_KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*lo_r = lo;
	for (hi = lo; hi < count &&
	              memcmp(ref_key(base, size, hi), key, SYNC_KEY_LEN) == 0;
	     hi++)
		;
	*hi_r = hi;
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

/* What is new on side s, in every mailbox, sorted by key. */
static void
fresh_list(struct mbox *mbs, size_t n, unsigned s, struct move_new **news_r,
           size_t *count_r)
{
	struct move_new *news = NULL;
	size_t i, j, count = 0, total = 0;

	for (i = 0; i < n; i++)
		total += mbs[i].s[s].match.idents_count;
	if (total > 0)
		news = xreallocarray(NULL, total, sizeof(*news));
	for (i = 0; i < n; i++) {
		struct mbox_side *ms = &mbs[i].s[s];

		for (j = 0; j < ms->match.idents_count; j++) {
			const struct sync_ident *v = &ms->match.idents[j];

			if (!uidset_contains(&ms->fresh, v->uid))
				continue;
			news[count].r.key = v->key;
			news[count].r.mb = &mbs[i];
			news[count].r.uid = v->uid;
			news[count].flags = v->flags;
			count++;
		}
	}
	if (count > 0)
		qsort(news, count, sizeof(*news), ref_cmp);
	*news_r = news;
	*count_r = count;
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

/* What sync_move_finish() chooses from, on one side. */
struct move_pick {
	enum side s;
	struct move_cand *cands; /* sorted by ref_cmp() */
	size_t nc;
	struct move_new *news; /* sorted by ref_cmp() */
	size_t nnew;
	/* Of the mailbox at hand: what stopped runs' intents name. */
	struct uidset pending, mine, named;
};

/* Whether the count new messages have the same flags. */
static bool
news_alike(const struct move_new *news, size_t count)
{
	size_t i;

	for (i = 1; i < count; i++)
		if (!flags_equal(news[0].flags, news[i].flags))
			return false;
	return true;
}

/* Why the new messages [nlo, nhi) and the vanished pairs [clo, chi),
 * all of one key, name no move for sure, or NULL: only copies side by
 * side with the same flags, and vanished from one mailbox, are all the
 * same to anyone. */
static const char *
move_unsure(const struct move_pick *x, size_t clo, size_t chi, size_t nlo,
            size_t nhi)
{
	if (x->news[nlo].r.mb != x->news[nhi - 1].r.mb)
		return "new messages in more than one mailbox share its key: "
		       "which of them was moved is on neither server";
	if (x->cands[clo].r.mb != x->cands[chi - 1].r.mb)
		return "pairs that vanished from more than one mailbox share "
		       "its key: which of them was moved is on neither server";
	if (!news_alike(x->news + nlo, nhi - nlo))
		return "new messages there share its key but not their flags: "
		       "which of them was moved is on neither server";
	return NULL;
}

/* A key refused because which copy moved is on neither server: a flag
 * change the other side made to one of the vanished pairs is lost with
 * it (expunged there, the new ones copied). Said once a pair, with the
 * mailboxes the copies are in, as no trace is needed to know it. */
static void
move_lost(struct move_pick *x, size_t clo, size_t chi, size_t nlo, size_t nhi)
{
	enum side other = side_other(x->s);
	struct buf *where = buf_create(LOG_MAX_LINE);
	size_t i, places = 0;

	for (i = nlo; i < nhi; i++) {
		if (i > nlo && x->news[i].r.mb == x->news[i - 1].r.mb)
			continue;
		if (places++ < 3)
			buf_printf_fit(where, "%s%s", places > 1 ? ", " : "",
			               x->news[i].r.mb->display);
	}
	if (places > 3)
		buf_printf_fit(where, " and %zu more", places - 3);
	for (i = clo; i < chi; i++) {
		struct move_cand *c = &x->cands[i];

		if (c->warned || c->r.mb->failed ||
		    flagmap_get(&c->r.mb->s[other].modified, c->id->uid) ==
		        NULL)
			continue;
		c->warned = true;
		log_warn(side_name(other), c->r.mb->display,
		         "the flags changed here on UID %" PRIu32
		         " are not carried: it was moved on %s, and it and "
		         "copies of it are new there in %s; no server says "
		         "which one was this, so it is expunged here and "
		         "those are copied",
		         c->id->uid, side_name(x->s), buf_data(where));
	}
	buf_free(&where);
}

/* The vanished message's pair that v, new on side s of to, is (its twin
 * moved), or NULL; --debug=sync says why not, where v has the key of a
 * vanished message's pair. A key without a Message-ID names no move (a
 * different message may share its size and date). A key that several
 * new messages or several vanished pairs share names a move only where
 * the new ones are all in one mailbox and the vanished all in one:
 * copies of one message side by side, with the same flags, which no one
 * can tell apart (one copied and then moved there, or twins moved
 * together). The newest of the new ones take the vanished in order, as
 * a MOVE gives the new UIDs.
 * Across mailboxes, which copy went where is on neither server: those
 * are expunged and copied, as any message without a twin. */
static struct move_cand *
move_pick(struct move_pick *x, struct mbox *to, const struct sync_ident *v)
{
	enum side s = x->s;
	size_t clo, chi, nlo, nhi, k, p;
	struct move_cand *c;
	const char *why;

	if (!uidset_contains(&to->s[s].fresh, v->uid))
		return NULL;
	key_run(x->cands, x->nc, sizeof(*x->cands), v->key, &clo, &chi);
	if (clo == chi)
		return NULL;
	key_run(x->news, x->nnew, sizeof(*x->news), v->key, &nlo, &nhi);
	for (p = nlo;
	     p < nhi && (x->news[p].r.mb != to || x->news[p].r.uid != v->uid);
	     p++)
		;
	k = nhi - nlo < chi - clo ? nhi - nlo : chi - clo;
	c = &x->cands[clo];
	if (v->weak)
		why = "no Message-ID, another message may share its size and "
		      "date";
	else if (uidset_contains(&x->pending, v->uid))
		why = "an intent names it (a stopped run's copy)";
	else if (!uidset_contains(&x->mine, v->uid) &&
	         intent_twin(to, s, v, &x->named))
		why = "the other side's copy of it, an intent says, is new "
		      "there: MATCH pairs the two";
	else if (uidset_contains(&x->mine, v->uid) &&
	         copy_arrived(to, s, v, &x->named))
		why = "a stopped run's UID COPY of it arrived on the other side "
		      "(no MOVE there): MATCH pairs the two";
	else if ((why = move_unsure(x, clo, chi, nlo, nhi)) != NULL)
		move_lost(x, clo, chi, nlo, nhi);
	else if (p == nhi || p < nhi - k)
		why = "a newer message there with its key takes the move";
	else {
		c = &x->cands[clo + (p - (nhi - k))];
		if (c->used || c->r.mb->failed)
			return NULL;
		return c;
	}
	sync_trace(to, (int)s,
	           "not a move: new UID %" PRIu32 " has the key %s of a pair "
	           "that vanished from %s, but %s; expunged and copied "
	           "instead",
	           v->uid, sync_trace_key(v->key), sync_trace_name(c->r.mb),
	           why);
	return NULL;
}

void
sync_move_finish(struct mbox *mbs, size_t n)
{
	unsigned s;
	size_t i, j;

	for (s = 0; s < SIDE_COUNT; s++) {
		enum side other = side_other(s);
		struct move_pick x = {.pending = UIDSET_INIT,
		                      .mine = UIDSET_INIT,
		                      .named = UIDSET_INIT};
		struct move_cand *cands = NULL;
		size_t nc = 0, alloc = 0;
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
				cands[nc].r.key = os->move.idents[j].key;
				cands[nc].r.mb = &mbs[i];
				cands[nc].r.uid = os->move.idents[j].uid;
				cands[nc].id = &os->move.idents[j];
				cands[nc].used = false;
				cands[nc].warned = false;
				nc++;
			}
		}
		if (nc > 0) {
			qsort(cands, nc, sizeof(*cands), ref_cmp);
			fresh_list(mbs, n, s, &x.news, &x.nnew);
		}
		x.s = s;
		x.cands = cands;
		x.nc = nc;
		/* What is new on s, by key: a pair's twin was moved. */
		for (i = 0; i < n && nc > 0; i++) {
			struct mbox *to = &mbs[i];
			struct mbox_side *ms = &to->s[s];

			/* A mailbox being paired afresh (UIDVALIDITY
			 * changed) takes no move. */
			if (to->failed || !to->active || to->recover)
				continue;
			if (sync_pending_uids(to, s, true, &x.pending) < 0 ||
			    sync_pending_uids(to, s, false, &x.mine) < 0 ||
			    sync_pending_uids(to, other, false, &x.named) < 0) {
				uidset_free(&x.pending);
				uidset_free(&x.mine);
				uidset_free(&x.named);
				continue;
			}
			for (j = 0; j < ms->match.idents_count; j++) {
				struct sync_ident *v = &ms->match.idents[j];
				struct move_cand *c = move_pick(&x, to, v);
				uint32_t uid;
				int ret;
				const char *error;

				if (c == NULL)
					continue;
				ret = state_mapping_lookup(
				    c->r.mb->run->state, c->r.mb->idx, other,
				    c->id->uid, &uid, &error);
				if (ret <= 0)
					continue;
				c->used = true;
				if (c->r.mb == to) {
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
					move_add(&c->r.mb->s[other], to,
					         c->id->uid, v, c->id->flags);
					sync_trace(
					    c->r.mb, (int)other,
					    "move UID %" PRIu32 " to %s: its "
					    "pair %s %" PRIu32 " left %s and "
					    "came to %s as %" PRIu32
					    " (key %s)%s",
					    c->id->uid, sync_trace_name(to),
					    side_name(s), uid,
					    sync_trace_name(c->r.mb),
					    sync_trace_name(to), v->uid,
					    sync_trace_key(v->key),
					    c->r.mb->s[other]
					            .move
					            .list[c->r.mb->s[other]
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
				if (sync_uids_add(&c->r.mb->s[s],
				                  &gone[c->r.mb - mbs], uid,
				                  uid) < 0 ||
				    sync_uids_add(ms, &came[i], v->uid,
				                  v->uid) < 0) {
					sync_fail_uids(&c->r.mb->s[s]);
					sync_fail_uids(ms);
				}
			}
			uidset_free(&x.pending);
			uidset_free(&x.mine);
			uidset_free(&x.named);
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
		free(x.news);
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
