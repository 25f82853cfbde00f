/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Pairing before copying: when both sides have messages the mapping does
 * not know (a first sync of two stores that already hold the same mail,
 * a run killed between an APPEND and the recording of its UIDs, a
 * repair), the same message on both sides is paired instead of copied
 * both ways. A message is known by its size, INTERNALDATE and Message-ID
 * (APPEND keeps all three), fetched without the body; equal keys pair in
 * UID order. */
#include "sync-private.h"

#include "buf.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static void match_fetch(struct mbox_side *ms, const struct uidset *uids,
                        bool sizes);

static void
match_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side, "UID FETCH of headers failed: %s",
		          resp->text);
}

/* The key of a message: BLAKE2b over its size, its INTERNALDATE and its
 * Message-ID field with white space dropped (folding may differ). */
static void
match_key(const struct imap_fetch *f, unsigned char key[SYNC_KEY_LEN])
{
	crypto_generichash_state st;
	char num[64];
	size_t i;

	crypto_generichash_init(&st, NULL, 0, SYNC_KEY_LEN);
	snprintf(num, sizeof(num), "%" PRIu32 " %" PRId64, f->size,
	         f->internaldate_time);
	crypto_generichash_update(&st, (const unsigned char *)num,
	                          strlen(num) + 1);
	if (f->header != NULL && f->header->str != NULL) {
		for (i = 0; i < f->header->len; i++) {
			unsigned char c = (unsigned char)f->header->str[i];

			if (!isspace(c))
				crypto_generichash_update(&st, &c, 1);
		}
	}
	crypto_generichash_final(&st, key, SYNC_KEY_LEN);
}

/* Whether the message has no Message-ID: the server sends the
 * HEADER.FIELDS section empty (a blank line) or not at all. */
static bool
key_weak(const struct imap_fetch *f)
{
	return f->header == NULL || f->header->str == NULL ||
	       memchr(f->header->str, ':', f->header->len) == NULL;
}

int
sync_match_key(const struct imap_fetch *f, struct sync_ident *id)
{
	if ((f->have & (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE)) !=
	    (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE))
		return -1;
	id->uid = f->uid;
	id->size = f->size;
	id->modseq = f->modseq;
	id->flags = NULL;
	id->taken = false;
	match_key(f, id->key);
	id->weak = key_weak(f);
	return 0;
}

void
sync_match_ident_add(struct mbox_side *ms, const struct imap_fetch *f,
                     const char *flags)
{
	struct sync_ident *id;

	if ((f->have & (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE)) !=
	    (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE))
		return;
	if (ms->match.idents_count == ms->match.idents_alloc) {
		size_t n = ms->match.idents_alloc == 0
		               ? 64
		               : ms->match.idents_alloc * 2;

		ms->match.idents = xreallocarray(ms->match.idents, n,
		                                 sizeof(*ms->match.idents));
		ms->match.idents_alloc = n;
	}
	id = &ms->match.idents[ms->match.idents_count];
	id->flags = xstrdup(flags);
	id->uid = f->uid;
	id->size = f->size;
	id->modseq = f->modseq;
	id->taken = false;
	match_key(f, id->key);
	id->weak = key_weak(f);
	ms->match.idents_count++;
}

static int
ident_cmp(const void *a, const void *b)
{
	const struct sync_ident *x = a, *y = b;
	int c = memcmp(x->key, y->key, SYNC_KEY_LEN);

	if (c != 0)
		return c;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void
sync_match_fetch_keys(struct mbox_side *ms, const struct uidset *uids)
{
	size_t i;

	if (ms->mb->phase != &sync_phase_sizes) {
		match_fetch(ms, uids, false);
		return;
	}
	/* Gathered, so a mailbox is selected once for them all; not
	 * those whose size the first SELECT's flight gave. */
	uidset_normalize(&ms->match.sized);
	for (i = 0; i < uids->n; i++) {
		uint32_t uid;

		if (ms->match.sized.n == 0) {
			if (sync_uids_add(ms, &ms->match.size_want,
			                  uids->r[i].lo, uids->r[i].hi) < 0)
				return;
			continue;
		}
		for (uid = uids->r[i].lo;; uid++) {
			if (!uidset_contains(&ms->match.sized, uid) &&
			    sync_uids_add(ms, &ms->match.size_want, uid, uid) <
			        0)
				return;
			if (uid == uids->r[i].hi)
				break;
		}
	}
}

bool
sync_match_sizes_flush(struct mbox *mbs, size_t n)
{
	bool queued = false;
	size_t i;
	unsigned s;

	for (i = 0; i < n; i++) {
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mbs[i].s[s];

			if (ms->match.size_want.n == 0)
				continue;
			if (!mbs[i].failed && mbs[i].active) {
				uidset_normalize(&ms->match.size_want);
				match_fetch(ms, &ms->match.size_want, true);
				queued = true;
			}
			uidset_free(&ms->match.size_want);
		}
	}
	return queued;
}

void
sync_match_add_size(struct mbox_side *ms, uint32_t uid, uint32_t size)
{
	if (ms->match.sizes_count == ms->match.sizes_alloc) {
		size_t n =
		    ms->match.sizes_alloc == 0 ? 64 : ms->match.sizes_alloc * 2;

		ms->match.sizes =
		    xreallocarray(ms->match.sizes, n, sizeof(*ms->match.sizes));
		ms->match.sizes_alloc = n;
	}
	ms->match.sizes[ms->match.sizes_count].uid = uid;
	ms->match.sizes[ms->match.sizes_count].size = size;
	ms->match.sizes_count++;
}

/* A FETCH of SIZES: the size of a new message, or of a vanished one's
 * pair (sync-move.c). */
static void
sizes_on_fetch(struct mbox_side *ms, const struct imap_fetch *f, bool in_select)
{
	(void)in_select;
	if ((f->have & IMAP_FETCH_BODY) != 0 ||
	    (f->have & IMAP_FETCH_RFC822_SIZE) == 0 ||
	    (!uidset_contains(&ms->fresh, f->uid) &&
	     !uidset_contains(&ms->move.want, f->uid)))
		return;
	sync_match_add_size(ms, f->uid, f->size);
}

static int
size_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The sizes of ms's messages in set (fresh or move.want), appended to
 * *v; sorted by the caller. */
static void
sizes_collect(const struct mbox_side *ms, const struct uidset *set,
              uint32_t **v, size_t *count, size_t *alloc)
{
	size_t i;

	for (i = 0; i < ms->match.sizes_count; i++) {
		if (!uidset_contains(set, ms->match.sizes[i].uid))
			continue;
		if (*count == *alloc) {
			size_t n = *alloc == 0 ? 64 : *alloc * 2;

			*v = xreallocarray(*v, n, sizeof(**v));
			*alloc = n;
		}
		(*v)[(*count)++] = ms->match.sizes[i].size;
	}
}

struct size_list {
	uint32_t *v;
	size_t count, alloc;
};

/* qsort() must not be given NULL, even for nothing to sort. */
static void
size_list_sort(struct size_list *l)
{
	if (l->count > 0)
		qsort(l->v, l->count, sizeof(*l->v), size_cmp);
}

static bool
size_list_has(const struct size_list *l, uint32_t size)
{
	return l->count > 0 &&
	       bsearch(&size, l->v, l->count, sizeof(*l->v), size_cmp) != NULL;
}

/* The messages of ms in set whose size is in l, added to cand; -1 when
 * cand is full (the mailbox failed). */
static int
sizes_pick(struct mbox_side *ms, const struct uidset *set,
           const struct size_list *l, struct uidset *cand)
{
	size_t i;

	for (i = 0; i < ms->match.sizes_count; i++) {
		if (uidset_contains(set, ms->match.sizes[i].uid) &&
		    size_list_has(l, ms->match.sizes[i].size) &&
		    sync_uids_add(ms, cand, ms->match.sizes[i].uid,
		                  ms->match.sizes[i].uid) < 0)
			return -1;
	}
	return 0;
}

/* Keys differ where sizes do (the key hashes the size): only messages
 * with a size on the other side of their pairing or move get keys. For
 * MATCH, the other side's fresh messages of the same mailbox; for a
 * move, the other side's vanished pairs (of any mailbox) for what is
 * new, and what is new on the other side for a vanished pair. */
bool
sync_match_narrow(struct mbox *mbs, size_t n)
{
	struct size_list fresh[SIDE_COUNT], want[SIDE_COUNT];
	struct uidset cand = UIDSET_INIT;
	bool queued = false;
	size_t i;
	unsigned s;

	memset(fresh, 0, sizeof(fresh));
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mbs[i].s[s];

			sizes_collect(ms, &ms->fresh, &fresh[s].v,
			              &fresh[s].count, &fresh[s].alloc);
			sizes_collect(ms, &ms->move.want, &want[s].v,
			              &want[s].count, &want[s].alloc);
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		size_list_sort(&fresh[s]);
		size_list_sort(&want[s]);
	}
	for (i = 0; i < n; i++) {
		struct mbox *mb = &mbs[i];
		struct size_list here[SIDE_COUNT];

		memset(here, 0, sizeof(here));
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mb->s[s];

			sizes_collect(ms, &ms->fresh, &here[s].v,
			              &here[s].count, &here[s].alloc);
			size_list_sort(&here[s]);
		}
		for (s = 0; s < SIDE_COUNT; s++) {
			struct mbox_side *ms = &mb->s[s];
			enum side o = side_other(s);

			uidset_clear(&cand);
			if (mb->failed || !mb->active)
				continue;
			if (sizes_pick(ms, &ms->fresh, &here[o], &cand) < 0 ||
			    sizes_pick(ms, &ms->fresh, &want[o], &cand) < 0 ||
			    sizes_pick(ms, &ms->move.want, &fresh[o], &cand) <
			        0)
				continue; /* the mailbox failed */
			ms->match.sizes_count = 0;
			if (cand.n == 0)
				continue;
			uidset_normalize(&cand);
			sync_match_fetch_keys(ms, &cand);
			queued = true;
		}
		for (s = 0; s < SIDE_COUNT; s++)
			free(here[s].v);
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		free(fresh[s].v);
		free(want[s].v);
	}
	uidset_free(&cand);
	return queued;
}

void
sync_match_free(struct mbox_side *ms)
{
	size_t i;

	free(ms->match.sizes);
	ms->match.sizes = NULL;
	ms->match.sizes_count = ms->match.sizes_alloc = 0;
	uidset_free(&ms->match.size_want);

	for (i = 0; i < ms->match.idents_count; i++)
		free(ms->match.idents[i].flags);
	free(ms->match.idents);
	ms->match.idents = NULL;
	ms->match.idents_count = ms->match.idents_alloc = 0;
}

/* Queue the FETCH of the keys of uids, or with sizes of their sizes. */
static void
match_fetch(struct mbox_side *ms, const struct uidset *uids, bool sizes)
{
	size_t pos = 0;

	while (pos < uids->n) {
		struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD * 2);

		if (uidset_format_chunk(uids, &pos, IMAP_MAX_UIDSET_CMD, b) ==
		    0) {
			/* b holds a chunk and one range more. */
			buf_free(&b);
			sync_fail(ms->mb, ms->side,
			          "internal error: a UID "
			          "range longer than IMAP_MAX_UIDSET_CMD");
			return;
		}
		sync_select_for_step(ms, false);
		if (sizes)
			sync_cmd(ms, false, match_done, ms,
			         "UID FETCH %a (RFC822.SIZE)", buf_data(b));
		else
			sync_cmd(ms, false, match_done, ms,
			         "UID FETCH %a (UID FLAGS MODSEQ RFC822.SIZE "
			         "INTERNALDATE "
			         "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
			         buf_data(b));
		buf_free(&b);
	}
}

bool
sync_match_start(struct mbox *mb)
{
	struct mbox_side *ls = &mb->s[SIDE_LOCAL], *rs = &mb->s[SIDE_REMOTE];

	if (ls->fresh.n == 0 || rs->fresh.n == 0)
		return false;
	uidset_normalize(&ls->fresh);
	uidset_normalize(&rs->fresh);
	sync_match_fetch_keys(ls, &ls->fresh);
	sync_match_fetch_keys(rs, &rs->fresh);
	return true;
}

/* Record x (local) and y (remote) as one message; the same flags are
 * the pair's base; flags that differ are a conflict, merged from the
 * base an intent for either recorded (what a stopped run copied or
 * moved), else with none (the union on both). -1 with *error_r on a
 * database failure; -2 when lp or rp is full (the mailbox failed). */
static int
match_pair(struct mbox *mb, const struct sync_ident *x,
           const struct sync_ident *y, struct uidset *lp, struct uidset *rp,
           const char **error_r)
{
	struct mbox_side *ls = &mb->s[SIDE_LOCAL], *rs = &mb->s[SIDE_REMOTE];
	struct state *st = mb->run->state;
	char *base = NULL;
	int ret = 0;

	if (!flags_equal(x->flags, y->flags)) {
		ret = state_pending_get_base(st, mb->idx, SIDE_LOCAL, x->uid,
		                             &base, error_r);
		if (ret == 0)
			ret = state_pending_get_base(st, mb->idx, SIDE_REMOTE,
			                             y->uid, &base, error_r);
		if (ret < 0)
			return -1;
	}
	ret = state_mapping_add_base(
	    st, mb->idx, x->uid, y->uid, x->size,
	    flags_equal(x->flags, y->flags) ? x->flags : base, error_r);
	free(base);
	if (ret < 0)
		return -1;
	if (sync_uids_add(ls, lp, x->uid, x->uid) < 0 ||
	    sync_uids_add(rs, rp, y->uid, y->uid) < 0)
		return -2;
	if (!flags_equal(x->flags, y->flags)) {
		flagmap_set(&ls->modified, x->uid, x->flags, x->modseq);
		flagmap_set(&rs->modified, y->uid, y->flags, y->modseq);
	}
	return 0;
}

struct pending_ctx {
	enum side side;
	bool copies;
	struct uidset *uids;
	uint32_t floor; /* the lowest floor of the side's copy intents */
};

static int
pending_add(void *context, const struct state_pending *p)
{
	struct pending_ctx *pc = context;

	size_t fl = strlen(SYNC_INTENT_FLOOR);

	if (p->from != pc->side ||
	    (pc->copies && p->fingerprint_len == SYNC_INTENT_MOVE_LEN &&
	     memcmp(p->fingerprint, SYNC_INTENT_MOVE, SYNC_INTENT_MOVE_LEN) ==
	         0))
		return 0;
	if (p->fingerprint_len > fl && p->fingerprint_len < fl + 11 &&
	    memcmp(p->fingerprint, SYNC_INTENT_FLOOR, fl) == 0) {
		char num[12];
		unsigned long v;

		memcpy(num, (const char *)p->fingerprint + fl,
		       p->fingerprint_len - fl);
		num[p->fingerprint_len - fl] = '\0';
		v = strtoul(num, NULL, 10);
		if (v <= UINT32_MAX && (uint32_t)v < pc->floor)
			pc->floor = (uint32_t)v;
	} else {
		pc->floor = 0; /* an intent without one: no floor */
	}
	/* 1: the set is full, which is not the database's failure. */
	return uidset_add(pc->uids, p->uid) < 0 ? 1 : 0;
}

static int
pending_uids(struct mbox *mb, enum side s, bool copies, struct uidset *uids,
             uint32_t *floor_r)
{
	struct pending_ctx pc = {s, copies, uids, UINT32_MAX};
	const char *error;
	int ret;

	ret = state_pending_foreach(mb->run->state, mb->idx, pending_add, &pc,
	                            &error);
	if (ret != 0) {
		if (ret > 0)
			sync_fail_uids(&mb->s[s]);
		else
			sync_db_fail(mb, error);
		return -1;
	}
	uidset_normalize(uids);
	if (floor_r != NULL)
		*floor_r = pc.floor == UINT32_MAX ? 0 : pc.floor;
	return 0;
}

int
sync_pending_uids(struct mbox *mb, enum side s, bool copies,
                  struct uidset *uids)
{
	return pending_uids(mb, s, copies, uids, NULL);
}

/* The first message of idents [from, to) of ms not paired yet, still
 * new, named by an intent (in pend) or not, as named says, and at or
 * above floor; to if none. */
static size_t
ident_find(const struct mbox_side *ms, size_t from, size_t to,
           const struct uidset *pend, bool named, uint32_t floor)
{
	size_t k;

	for (k = from; k < to; k++) {
		const struct sync_ident *id = &ms->match.idents[k];

		if (!id->taken && uidset_contains(&ms->fresh, id->uid) &&
		    uidset_contains(pend, id->uid) == named &&
		    id->uid >= floor)
			return k;
	}
	return to;
}

int
sync_match_finish(struct mbox *mb)
{
	struct mbox_side *ls = &mb->s[SIDE_LOCAL], *rs = &mb->s[SIDE_REMOTE];
	struct uidset lp = UIDSET_INIT, rp = UIDSET_INIT;
	struct uidset pend[SIDE_COUNT] = {UIDSET_INIT, UIDSET_INIT};
	/* Per side, the UID below which a message was there before the
	 * other side's intents: the user's, not what they copied. */
	uint32_t floor[SIDE_COUNT] = {0, 0};
	struct state *st = mb->run->state;
	const char *error;
	size_t i = 0, j = 0, pairs = 0;
	bool any;
	int ret = -1;

	if (mb->failed)
		goto out;
	if (mb->recover) {
		/* The old pairs name UIDs that mean nothing now. */
		if (state_begin(st, &error) < 0)
			goto db_error;
		if (state_mapping_clear(st, mb->idx, &error) < 0) {
			sync_rollback(st);
			goto db_error;
		}
	}
	if (ls->match.idents_count == 0 || rs->match.idents_count == 0)
		goto done; /* nothing fetched, or vanished meanwhile */
	qsort(ls->match.idents, ls->match.idents_count,
	      sizeof(*ls->match.idents), ident_cmp);
	qsort(rs->match.idents, rs->match.idents_count,
	      sizeof(*rs->match.idents), ident_cmp);
	if (!mb->recover && state_begin(st, &error) < 0)
		goto db_error;
	/* Between two runs, a new message on each side with the same key
	 * are two messages (a copy made on each side), unless a run that
	 * was killed may have copied one to the other: an intent says so.
	 * A first sync, a repair and a restore pair whatever is equal. */
	any = mb->recover || mb->repair || !ls->have_row || !rs->have_row;
	if (!any && (pending_uids(mb, SIDE_LOCAL, false, &pend[SIDE_LOCAL],
	                          &floor[SIDE_REMOTE]) < 0 ||
	             pending_uids(mb, SIDE_REMOTE, false, &pend[SIDE_REMOTE],
	                          &floor[SIDE_LOCAL]) < 0)) {
		sync_rollback(st);
		goto out;
	}
	while (i < ls->match.idents_count && j < rs->match.idents_count) {
		struct sync_ident *l = &ls->match.idents[i],
		                  *r = &rs->match.idents[j];
		size_t ie, je, a, b;
		int c;

		/* Taken by a move meanwhile. */
		if (!uidset_contains(&ls->fresh, l->uid)) {
			i++;
			continue;
		}
		if (!uidset_contains(&rs->fresh, r->uid)) {
			j++;
			continue;
		}
		c = memcmp(l->key, r->key, SYNC_KEY_LEN);
		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {
			j++;
			continue;
		}
		/* The messages of this key on each side, UID order. */
		for (ie = i; ie < ls->match.idents_count &&
		             memcmp(ls->match.idents[ie].key, l->key,
		                    SYNC_KEY_LEN) == 0;
		     ie++)
			;
		for (je = j; je < rs->match.idents_count &&
		             memcmp(rs->match.idents[je].key, l->key,
		                    SYNC_KEY_LEN) == 0;
		     je++)
			;
		a = i;
		b = j;
		for (;;) {
			struct sync_ident *x = NULL, *y = NULL;

			while (a < ie &&
			       (ls->match.idents[a].taken ||
			        !uidset_contains(&ls->fresh,
			                         ls->match.idents[a].uid)))
				a++;
			while (b < je &&
			       (rs->match.idents[b].taken ||
			        !uidset_contains(&rs->fresh,
			                         rs->match.idents[b].uid)))
				b++;
			if (a == ie || b == je)
				break;
			x = &ls->match.idents[a];
			y = &rs->match.idents[b];
			if (!any) {
				/* Pair only a message an intent names with
				 * one no intent names: the copy or the move a
				 * stopped run made of it. Two that intents
				 * both name are two messages the user put
				 * there, neither copied yet. */
				size_t k = ident_find(ls, a, ie,
				                      &pend[SIDE_LOCAL], true, 0);
				size_t m = ident_find(rs, b, je,
				                      &pend[SIDE_REMOTE], false,
				                      floor[SIDE_REMOTE]);

				if (k == ie || m == je) {
					k = ident_find(ls, a, ie,
					               &pend[SIDE_LOCAL], false,
					               floor[SIDE_LOCAL]);
					m = ident_find(rs, b, je,
					               &pend[SIDE_REMOTE], true, 0);
				}
				if (k == ie || m == je) {
					sync_trace(
					    mb, -1,
					    "not paired: local %" PRIu32
					    " and remote %" PRIu32
					    " share key %s, but no intent "
					    "names one of them alone: two "
					    "messages, each copied",
					    x->uid, y->uid,
					    sync_trace_key(x->key));
					break;
				}
				x = &ls->match.idents[k];
				y = &rs->match.idents[m];
			}
			c = match_pair(mb, x, y, &lp, &rp, &error);
			if (c < 0) {
				sync_rollback(st);
				if (c == -2)
					goto out; /* the mailbox failed */
				goto db_error;
			}
			sync_trace(
			    mb, -1,
			    "paired local %" PRIu32 " <-> remote %" PRIu32
			    " by key %s (size, date%s): %s%s%s%s%s%s",
			    x->uid, y->uid, sync_trace_key(x->key),
			    x->weak ? ", no Message-ID" : " and Message-ID",
			    mb->recover   ? "UIDVALIDITY changed, paired again"
			    : mb->resumed ? "a stopped first sync, compared "
			                    "in full"
			    : mb->repair  ? "compared in full"
			    : any         ? "first sync"
			    : uidset_contains(&pend[SIDE_LOCAL], x->uid)
			        ? "re-pair after a stopped run (a local "
			          "intent names it)"
			        : "re-pair after a stopped run (a remote "
			          "intent names it)",
			    flags_equal(x->flags, y->flags)
			        ? ""
			        : "; flags differ, a conflict for APPLY: "
			          "local (",
			    flags_equal(x->flags, y->flags) ? "" : x->flags,
			    flags_equal(x->flags, y->flags) ? ""
			                                    : "), remote (",
			    flags_equal(x->flags, y->flags) ? "" : y->flags,
			    flags_equal(x->flags, y->flags) ? "" : ")");
			x->taken = y->taken = true;
			pairs++;
		}
		i = ie;
		j = je;
	}
	if (mb->recover &&
	    pairs < uidset_count(&mb->s[mb->recover_side].fresh)) {
		/* Messages the other side never had: not a restore. */
		char *q = sync_arg_quoted(mb->run, mb->name, mb->len);

		sync_rollback(st);
		sync_fail(
		    mb, mb->recover_side,
		    "UIDVALIDITY changed and %" PRIu64 " %s here "
		    "not on the other side: not a restore from a "
		    "backup. Skipping it; to sync it afresh, copying its "
		    "messages again, run `imapsync --target=database "
		    "--delete %s`",
		    uidset_count(&mb->s[mb->recover_side].fresh) - pairs,
		    log_plural(uidset_count(&mb->s[mb->recover_side].fresh) -
		                   pairs,
		               "message is", "messages are"),
		    q);
		free(q);
		goto out;
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("paired");
	if (pairs > 0) {
		log_info("database", mb->display,
		         "%s %zu %s found on both sides",
		         sync_verb(mb->run, "Paired", "would pair"), pairs,
		         log_plural(pairs, "message", "messages"));
		/* Recorded: a paired UID left in fresh would be copied
		 * again, so a full set fails the mailbox. */
		if (uidset_subtract(&ls->fresh, &lp) < 0) {
			sync_fail_uids(ls);
			goto out;
		}
		if (uidset_subtract(&rs->fresh, &rp) < 0) {
			sync_fail_uids(rs);
			goto out;
		}
	}
	ret = 0;
	goto out;
done:
	if (mb->recover) {
		/* Nothing paired: only an empty side may be restored. */
		if (uidset_count(&mb->s[mb->recover_side].fresh) > 0) {
			char *q = sync_arg_quoted(mb->run, mb->name, mb->len);

			sync_rollback(st);
			sync_fail(
			    mb, mb->recover_side,
			    "UIDVALIDITY changed and no message here is on "
			    "the other side. Skipping it; to sync it "
			    "afresh, run `imapsync --target=database "
			    "--delete %s`",
			    q);
			free(q);
			goto out;
		}
		if (state_commit(st, &error) < 0)
			goto db_error;
	}
	ret = 0;
	goto out;
db_error:
	sync_db_fail(mb, error);
out:
	uidset_free(&lp);
	uidset_free(&rp);
	uidset_free(&pend[SIDE_LOCAL]);
	uidset_free(&pend[SIDE_REMOTE]);
	return ret;
}

const struct sync_phase sync_phase_sizes = {
    .name = "SIZES",
    .fetch = sizes_on_fetch,
};

/* A FETCH of MATCH: the key of a new message, or of a vanished one's
 * pair (sync_move_on_fetch()). */
static void
match_on_fetch(struct mbox_side *ms, const struct imap_fetch *f, bool in_select)
{
	struct buf *flags;

	(void)in_select;
	if ((flags = sync_fetch_key_flags(ms, f)) == NULL)
		return;
	if (uidset_contains(&ms->fresh, f->uid))
		sync_match_ident_add(ms, f, buf_data(flags));
	sync_move_on_fetch(ms, f, buf_data(flags));
	buf_free(&flags);
}

/* MATCH's part, and the moves it finds (sync-move.c, made in APPLY). */
static void
match_side_init(struct mbox_side *ms)
{
	uidset_init(&ms->match.size_want);
	uidset_init(&ms->match.sized);
	sync_move_side_init(ms);
}

static void
match_side_free(struct mbox_side *ms)
{
	sync_match_free(ms);
	uidset_free(&ms->match.sized);
	sync_move_side_free(ms);
}

const struct sync_phase sync_phase_match = {
    .name = "MATCH",
    .fetch = match_on_fetch,
    .side_init = match_side_init,
    .side_free = match_side_free,
};
