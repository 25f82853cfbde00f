/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Mailboxes renamed on one side since the last run, known by their ids
 * (MAILBOXID, X-GUID): renamed on the other side and in the database,
 * their subscriptions moved; a rename a stopped run left unrecorded is
 * recovered; --dry-run renames in the lists only. */
#include "mailboxes-private.h"

#include "imap-conn.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* When a known mailbox is gone from a side, the ids of that side's
 * mailboxes new to the database tell whether it was renamed: ask for
 * those the LIST did not give (one flight, and only then). */
static int
mbx_rename_ids(struct sync_run *run, struct mbx_item *items, size_t n)
{
	struct mbx_created ctx[SIDE_COUNT];
	bool gone[SIDE_COUNT] = {false, false}, both = false, asked = false;
	uint64_t known = 0, listed = 0;
	const char *error;
	size_t i;
	unsigned s;

	for (i = 0; i < n; i++) {
		bool ex0 = mbx_exists(items[i].e[0]);
		bool ex1 = mbx_exists(items[i].e[1]);

		/* Unfit ones too: a split an earlier run made is found as
		 * what it is, not created on the other side. */
		if (items[i].idx > 0 && ex0 != ex1)
			gone[ex0 ? SIDE_REMOTE : SIDE_LOCAL] = true;
		if (items[i].idx > 0)
			listed++;
	}
	/* A known mailbox listed on neither side may have been renamed on
	 * both by a run stopped before it recorded it (mbx_renames_done()):
	 * the ids of the names new on both sides tell. */
	if (state_mailbox_count(run->state, &known, &error) < 0) {
		log_error("database", NULL, "%s", error);
		return -1;
	}
	both = known > listed;
	for (s = 0; s < SIDE_COUNT; s++) {
		ctx[s].run = run;
		ctx[s].items = items;
		ctx[s].n = n;
		ctx[s].side = s;
		if (!gone[s] && !both)
			continue;
		imap_conn_set_untagged(run->server[s].conn,
		                       mbx_created_untagged, &ctx[s]);
		imap_conn_accept_malformed(run->server[s].conn, "STATUS");
		for (i = 0; i < n; i++) {
			bool there = mbx_exists(items[i].e[side_other(s)]);

			if (items[i].idx <= 0 && !items[i].skip &&
			    mbx_exists(items[i].e[s]) &&
			    (there ? both : gone[s])) {
				mbx_ask_id(run, &items[i], s);
				asked = true;
			}
		}
	}
	if (asked && sync_run_wait(run) < 0)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		imap_conn_accept_malformed(run->server[s].conn, NULL);
	}
	return 0;
}

struct mbx_rename {
	struct mbx_item *from, *to;
	enum side where; /* the side that renamed it */
	bool dry;        /* --dry-run: renamed in the lists only */
};

/* Whether name lies under parent (parent, a NUL, more). */
static bool
mbx_under(const char *name, size_t len, const char *parent, size_t plen)
{
	return len > plen && name[plen] == '\0' &&
	       memcmp(name, parent, plen) == 0;
}

/* The listed item named name, NULL if none. */
static const struct mbx_item *
mbx_named(const struct mbx_item *items, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i].len == len &&
		    memcmp(items[i].name, name, len) == 0)
			return &items[i];
	}
	return NULL;
}

/* Subscriptions go by name, and a plain RENAME (Dovecot's, Cyrus's)
 * leaves them under the old name. After RENAME on side s, for the
 * mailbox and its children: the old name is unsubscribed on both sides
 * (where it no longer exists), and the new one subscribed on s as the
 * side that renamed it has it. */
static void
mbx_rename_subscriptions(struct sync_run *run, enum side s,
                         const struct mbx_item *from, const struct mbx_item *to,
                         const struct mbx_item *items, size_t n, bool *failed)
{
	enum side w = side_other(s);
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mbx_item *k = &items[i], *nk;
		char *name, *ow[SIDE_COUNT], *nw[SIDE_COUNT];
		const char *error;
		bool dbsub = false;
		int64_t idx;
		size_t len;
		unsigned t;

		if (k != from &&
		    !mbx_under(k->name, k->len, from->name, from->len))
			continue;
		if (state_mailbox_find(run->state, k->name, k->len, &idx,
		                       &dbsub, &error) <= 0 ||
		    (!dbsub && !mbx_subscribed(k->e[s])))
			continue;
		len = to->len + (k->len - from->len);
		name = xmalloc(len + 1);
		memcpy(name, to->name, to->len);
		memcpy(name + to->len, k->name + from->len, k->len - from->len);
		nk = mbx_named(items, n, name, len);
		for (t = 0; t < SIDE_COUNT; t++) {
			ow[t] =
			    sync_wire_name(&run->server[t], k->name, k->len);
			nw[t] = sync_wire_name(&run->server[t], name, len);
		}
		/* Here: the old name goes; the new one is subscribed as
		 * the renaming side has it (the user's word, moved there
		 * by a client or not). */
		if (ow[s] != NULL && nw[s] != NULL) {
			if (mbx_subscribed(k->e[s]))
				imap_conn_cmd(run->server[s].conn,
				              mbx_admin_done, failed,
				              "UNSUBSCRIBE %s", ow[s]);
			if (nk != NULL && mbx_subscribed(nk->e[w]))
				imap_conn_cmd(run->server[s].conn,
				              mbx_admin_done, failed,
				              "SUBSCRIBE %s", nw[s]);
		}
		/* There: the old name is gone (unless a new mailbox took
		 * it), so is any subscription a plain RENAME left on it. */
		if (dbsub && ow[w] != NULL && !mbx_exists(k->e[w]))
			imap_conn_cmd(run->server[w].conn, NULL, NULL,
			              "UNSUBSCRIBE %s", ow[w]);
		for (t = 0; t < SIDE_COUNT; t++) {
			free(ow[t]);
			free(nw[t]);
		}
		free(name);
	}
}

static int
mbx_idx_cmp(const void *a, const void *b)
{
	const struct mbx_item *const *x = a, *const *y = b;

	return ((*x)->idx > (*y)->idx) - ((*x)->idx < (*y)->idx);
}

/* The known item of database index idx, through byidx (sorted). */
static struct mbx_item *
mbx_by_idx(struct mbx_item **byidx, size_t n, int64_t idx)
{
	struct mbx_item key, *kp = &key, **found;

	key.idx = idx;
	found = bsearch(&kp, byidx, n, sizeof(*byidx), mbx_idx_cmp);
	return found != NULL ? *found : NULL;
}

/* A mailbox new on side where that an earlier run made by splitting the
 * unfit name of from there: skipped, never created on the other side. */
static void
mbx_split_found(struct sync_run *run, struct mbx_item *to,
                const struct mbx_item *from, enum side where)
{
	enum side other = side_other(where);
	char *display = sync_display_name(run, to->name, to->len);
	char *q = log_shell_quote(mbx_u8(from->e[other]->wire));

	log_error(side_name(where), display,
	          "this mailbox is %s's %s, split at %s's hierarchy "
	          "delimiter by an earlier run: it is skipped, and not "
	          "created on %s (see the error about %s).",
	          side_name(other), q, side_name(where), side_name(other), q);
	free(q);
	free(display);
	mbx_item_fail(to);
}

/* The database's name of mailbox idx, for state_mailbox_foreach(). */
struct mbx_db_name {
	int64_t idx;
	char *name;
	size_t len;
};

static int
mbx_db_name(void *context, const struct state_mailbox *mb)
{
	struct mbx_db_name *d = context;

	if (mb->idx != d->idx)
		return 0;
	d->name = xmalloc(mb->name_len + 1);
	memcpy(d->name, mb->name, mb->name_len);
	d->name[mb->name_len] = '\0';
	d->len = mb->name_len;
	return 1;
}

/* Whether to lies under a name that is new to the database on both
 * sides too (its parent, renamed with it). */
static bool
mbx_renamed_parent(struct mbx_item *items, size_t n, const struct mbx_item *to)
{
	size_t k;

	for (k = 0; k < n; k++) {
		const struct mbx_item *p = &items[k];

		if (p != to && p->idx <= 0 && mbx_exists(p->e[0]) &&
		    mbx_exists(p->e[1]) &&
		    mbx_under(to->name, to->len, p->name, p->len) &&
		    mbx_id(p, SIDE_LOCAL) != NULL &&
		    mbx_id(p, SIDE_REMOTE) != NULL)
			return true;
	}
	return false;
}

/* A rename a killed run carried to the other server but never recorded:
 * a name new to the database on both sides, with both sides' ids of a
 * known mailbox that is gone from both. Renamed in the database alone,
 * so the mailbox keeps its state (what vanished or changed since the last
 * sync) instead of being met as a new one on both sides. */
static int
mbx_renames_done(struct sync_run *run, struct mbx_item *items, size_t n,
                 struct mbx_item **byidx, size_t nidx, size_t *done)
{
	struct state *st = run->state;
	const char *error;
	size_t i, found = 0;
	unsigned s;

	for (i = 0; i < n; i++) {
		struct mbx_item *to = &items[i], *from;
		int64_t old[SIDE_COUNT] = {0, 0};
		char *fd = NULL, *td = NULL;
		struct mbx_db_name dbn;

		if (to->idx > 0 || to->skip || !mbx_exists(to->e[0]) ||
		    !mbx_exists(to->e[1]))
			continue;
		for (s = 0; s < SIDE_COUNT; s++) {
			if (mbx_id(to, s) == NULL ||
			    state_mailbox_id_find(st, s, mbx_id(to, s), &old[s],
			                          &error) <= 0)
				break;
		}
		if (s < SIDE_COUNT || old[0] != old[1])
			continue;
		from = mbx_by_idx(byidx, nidx, old[0]);
		if (from != NULL &&
		    (mbx_exists(from->e[0]) || mbx_exists(from->e[1])))
			continue;
		memset(&dbn, 0, sizeof(dbn));
		dbn.idx = old[0];
		if (state_mailbox_foreach(st, mbx_db_name, &dbn, &error) < 0) {
			log_error("database", NULL, "%s", error);
			return -1;
		}
		if (dbn.name == NULL)
			continue;
		/* A child goes with its parent's row: recover the parent
		 * (the child's new name lies under a name new on both). */
		if (mbx_renamed_parent(items, n, to)) {
			free(dbn.name);
			continue;
		}
		fd = sync_display_name(run, dbn.name, dbn.len);
		td = sync_display_name(run, to->name, to->len);
		if (state_begin(st, &error) < 0 ||
		    state_mailbox_rename(st, dbn.name, dbn.len, to->name,
		                         to->len, NULL, &error) < 0 ||
		    state_commit(st, &error) < 0) {
			sync_rollback(st);
			log_error("database", NULL, "%s", error);
			free(dbn.name);
			free(fd);
			free(td);
			return -1;
		}
		free(dbn.name);
		log_info("database", NULL,
		         "%s mailbox %s to %s (both servers have it "
		         "renamed: an earlier run was stopped)",
		         sync_verb(run, "Renamed", "would rename"),
		         fd != NULL ? fd : "?", td != NULL ? td : "?");
		free(fd);
		free(td);
		found++;
	}
	*done += found;
	return 0;
}

/* --dry-run: the list of side s as it would be read again after x's
 * RENAME there (mbx_renames()) and its subscriptions moved
 * (mbx_rename_subscriptions()): the mailbox and its children under the
 * new name, still at their old one on the server (dry_wire). After the
 * database's rename. */
static void
mbx_dry_rename(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
               enum side s, const struct mbx_rename *x,
               const struct mbx_item *items, size_t n)
{
	struct mbx_list *l = &lists[s];
	enum side w = side_other(s);
	const char *error;
	size_t i, flen = x->from->len;
	char *from = xmalloc(flen + 1);

	memcpy(from, x->from->name, flen);
	for (i = 0; i < l->count; i++) {
		struct mbx_entry *e = &l->e[i];
		const struct mbx_item *nk, *k;
		bool dbsub = false;
		int64_t idx;
		size_t len;
		char *name;

		if (e->name == NULL ||
		    ((e->len != flen || memcmp(e->name, from, flen) != 0) &&
		     !mbx_under(e->name, e->len, from, flen)))
			continue;
		len = x->to->len + (e->len - flen);
		name = xmalloc(len + 1);
		memcpy(name, x->to->name, x->to->len);
		memcpy(name + x->to->len, e->name + flen, e->len - flen);
		name[len] = '\0';
		nk = mbx_named(items, n, name, len);
		k = mbx_named(items, n, e->name, e->len);
		/* The database has renamed it already. */
		if (state_mailbox_find(run->state, name, len, &idx, &dbsub,
		                       &error) <= 0)
			dbsub = false;
		/* Subscribed under the new name as the renaming side has
		 * it; the old name unsubscribed there too. */
		if (dbsub || mbx_subscribed(e)) {
			e->flags &= ~(unsigned)IMAP_LIST_SUBSCRIBED;
			if (nk != NULL && mbx_subscribed(nk->e[w]))
				e->flags |= IMAP_LIST_SUBSCRIBED;
			if (dbsub && k != NULL && k->e[w] != NULL &&
			    !mbx_exists(k->e[w]))
				k->e[w]->flags &=
				    ~(unsigned)IMAP_LIST_SUBSCRIBED;
		} else {
			e->flags &= ~(unsigned)IMAP_LIST_SUBSCRIBED;
		}
		if (e->dry_wire == NULL)
			e->dry_wire = e->wire != NULL ? xstrdup(e->wire) : NULL;
		/* This pass's items name it by its old name still. */
		free(e->dry_old);
		e->dry_old = e->name;
		e->name = name;
		e->len = len;
	}
	free(from);
}

/* Mailboxes renamed on one side since the last run: a name new to the
 * database on one side whose id is that of a known mailbox now gone from
 * that side. RENAME on the other side (children follow) and in the
 * database. Returns how many were renamed (the list must then be read
 * again), or -1. */
int
mbx_renames(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
            struct mbx_item *items, size_t n)
{
	struct mbx_rename *r = xcalloc(n + 1, sizeof(*r));
	struct mbx_item **byidx = xcalloc(n + 1, sizeof(*byidx));
	struct state *st = run->state;
	size_t i, j, nr = 0, nidx = 0, done = 0;
	const char *error;
	bool failed = false;

	if (mbx_rename_ids(run, items, n) < 0) {
		free(r);
		free(byidx);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (items[i].idx > 0)
			byidx[nidx++] = &items[i];
	}
	qsort(byidx, nidx, sizeof(*byidx), mbx_idx_cmp);
	if (mbx_renames_done(run, items, n, byidx, nidx, &done) < 0) {
		free(r);
		free(byidx);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct mbx_item *to = &items[i], *from;
		bool ex0 = mbx_exists(to->e[0]), ex1 = mbx_exists(to->e[1]);
		enum side where;
		int64_t old;

		if (to->idx > 0 || to->skip || ex0 == ex1)
			continue;
		where = ex0 ? SIDE_LOCAL : SIDE_REMOTE;
		if (mbx_id(to, where) == NULL ||
		    state_mailbox_id_find(st, where, mbx_id(to, where), &old,
		                          &error) <= 0)
			continue;
		from = mbx_by_idx(byidx, nidx, old);
		if (from == NULL || from->e[where] != NULL ||
		    !mbx_exists(from->e[side_other(where)]))
			continue;
		if (from->unfit) {
			mbx_split_found(run, to, from, where);
			continue;
		}
		r[nr].from = from;
		r[nr].to = to;
		r[nr].where = where;
		nr++;
	}
	free(byidx);
	if (nr == 0)
		goto out;
	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < nr; i++) {
		struct mbx_rename *x = &r[i];
		enum side other = side_other(x->where);
		char *fw, *tw, *display;
		bool nested = false;

		/* Children move with their parent's RENAME. */
		for (j = 0; j < nr; j++) {
			if (j != i &&
			    mbx_under(x->from->name, x->from->len,
			              r[j].from->name, r[j].from->len))
				nested = true;
		}
		if (nested)
			continue;
		fw = sync_wire_name(&run->server[other], x->from->name,
		                    x->from->len);
		tw = sync_wire_name(&run->server[other], x->to->name,
		                    x->to->len);
		display = sync_display_name(run, x->to->name, x->to->len);
		if (fw != NULL && tw != NULL && display != NULL) {
			if (run->set.dry_run) {
				log_info(side_name(other), NULL,
				         "would rename mailbox %s to %s "
				         "(renamed on %s)",
				         mbx_u8(fw), mbx_u8(tw),
				         side_name(x->where));
				x->dry = true;
			} else {
				imap_conn_cmd(run->server[other].conn,
				              mbx_admin_done, &failed,
				              "RENAME %s %s", fw, tw);
				mbx_rename_subscriptions(run, other, x->from,
				                         x->to, items, n,
				                         &failed);
				log_info(side_name(other), NULL,
				         "Renamed mailbox %s to %s (renamed "
				         "on %s)",
				         mbx_u8(fw), mbx_u8(tw),
				         side_name(x->where));
			}
			if (state_mailbox_rename(
			        st, x->from->name, x->from->len, x->to->name,
			        x->to->len, NULL, &error) < 0) {
				free(fw);
				free(tw);
				free(display);
				sync_rollback(st);
				goto db_error;
			}
			run->tally.renamed[other]++;
			done++;
		}
		free(fw);
		free(tw);
		free(display);
	}
	if (sync_run_wait(run) < 0 || failed) {
		sync_rollback(st);
		free(r);
		return -1;
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("mailboxes renamed");
	/* The items' names are the lists' own: patched last, each from
	 * a copy. */
	for (i = 0; i < nr; i++) {
		if (r[i].dry)
			mbx_dry_rename(run, lists, side_other(r[i].where),
			               &r[i], items, n);
	}
out:
	free(r);
	return (int)done;
db_error:
	log_error("database", NULL, "%s", error);
	free(r);
	return -1;
}
