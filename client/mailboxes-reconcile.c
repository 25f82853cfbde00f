/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Both lists reconciled with the database, as interimap does: merged by
 * name into items, a name one side cannot hold skipped, a mailbox found
 * on one side only created on the other, subscriptions following the side
 * that changed, both sides' mailbox ids recorded for the next run. */
#include "mailboxes-private.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int
mbx_item_cmp(const void *a, const void *b)
{
	const struct mbx_item *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* A refused command skips the item and fails the run (exit 1). */
void
mbx_item_fail(struct mbx_item *it)
{
	if (!it->skip)
		it->run->mailbox_failures++;
	it->skip = true;
}

void
mbx_item_done(struct imap_conn *conn, const struct imap_response *resp,
              void *ctx)
{
	struct mbx_item *it = ctx;
	char *display;

	/* A SUBSCRIBE after a refused CREATE fails for want of the
	 * mailbox: that error was given. */
	if (resp == NULL || resp->status == IMAP_STATUS_OK || it->create_failed)
		return;
	display = sync_display_name(it->run, it->name, it->len);
	log_error(imap_conn_name(conn), display, "%s", resp->text);
	free(display);
	mbx_item_fail(it);
}

static void
mbx_create_done(struct imap_conn *conn, const struct imap_response *resp,
                void *ctx)
{
	struct mbx_item *it = ctx;
	enum side s = it->create_on, o = side_other(s);
	char *display;

	(void)conn;
	if (resp == NULL)
		return;
	if (resp->status == IMAP_STATUS_OK) {
		char *wire =
		    sync_wire_name(&it->run->server[s], it->name, it->len);

		if (wire != NULL)
			log_info(side_name(s), NULL, "Created mailbox %s",
			         mbx_u8(wire));
		it->run->tally.created[s]++;
		free(wire);
		return;
	}
	display = sync_display_name(it->run, it->name, it->len);
	log_error(side_name(s), display,
	          "the server refused to create the mailbox (%s); nothing was "
	          "recorded and it is skipped. Rename it on %s to a name %s "
	          "accepts, or leave it out with ignore-mailbox.",
	          resp->text, side_name(o), side_name(s));
	free(display);
	it->create_failed = true;
	mbx_item_fail(it);
}

/* A subscription or a creation on side s of item it. */
static void
mbx_cmd(struct sync_run *run, enum side s, struct mbx_item *it,
        const char *verb, const char *display)
{
	struct sync_server *srv = &run->server[s];
	char *wire = sync_wire_name(srv, it->name, it->len);

	if (wire == NULL) {
		/* Unfit names were left out before. */
		log_error(side_name(s), display, "cannot name the mailbox");
		mbx_item_fail(it);
		return;
	}
	if (run->set.dry_run) {
		/* The lines the real run says, with "would". */
		if (strcmp(verb, "CREATE") == 0)
			it->create_on = s;
		log_info(side_name(s), NULL, "would %s %s",
		         strcmp(verb, "CREATE") == 0      ? "create mailbox"
		         : strcmp(verb, "SUBSCRIBE") == 0 ? "subscribe to"
		                                          : "unsubscribe from",
		         mbx_u8(wire));
		if (strcmp(verb, "CREATE") == 0)
			run->tally.created[s]++;
		free(wire);
		return;
	}
	if (strcmp(verb, "CREATE") == 0) {
		it->create_on = s;
		imap_conn_cmd(srv->conn, mbx_create_done, it, "CREATE %s",
		              wire);
	} else {
		imap_conn_cmd(srv->conn, mbx_item_done, it, "%a %s", verb,
		              wire);
	}
	/* The new mailbox's id, for the next run to know it by. */
	if (strcmp(verb, "CREATE") == 0 && srv->id_item != NULL)
		imap_conn_cmd(srv->conn, NULL, NULL, "STATUS %s (%a)", wire,
		              srv->id_item);
	/* A creation is said when it is done (mbx_create_done). */
	if (strcmp(verb, "SUBSCRIBE") == 0)
		log_info(side_name(s), NULL, "Subscribe to %s", mbx_u8(wire));
	else if (strcmp(verb, "UNSUBSCRIBE") == 0)
		log_info(side_name(s), NULL, "Unsubscribe from %s",
		         mbx_u8(wire));
	free(wire);
}

/* STATUS answers for mailboxes just created: their ids. */
void
mbx_created_untagged(struct imap_conn *conn, const struct imap_response *resp,
                     void *ctx)
{
	struct mbx_created *c = ctx;
	const struct sync_server *srv = &c->run->server[c->side];
	struct imap_status_data st;
	struct mbx_item key, *m;
	const char *error, *id;
	char *name;

	(void)conn;
	if (strcmp(resp->name, "STATUS") != 0 ||
	    imap_decode_status(resp, &st, &error) < 0)
		return;
	id = st.mailboxid != NULL ? st.mailboxid : st.x_guid;
	if (id == NULL)
		return;
	/* The items are sorted: one lookup per answer, not a scan. */
	name =
	    mbx_unname(srv, srv->delim, st.mailbox, st.mailbox_len, &key.len);
	if (name == NULL)
		return;
	key.name = name;
	m = bsearch(&key, c->items, c->n, sizeof(*c->items), mbx_item_cmp);
	free(name);
	if (m == NULL || m->new_id[c->side] != NULL ||
	    (m->e[c->side] != NULL && m->e[c->side]->id != NULL))
		return;
	m->new_id[c->side] = xstrdup(id);
}

/* Ask side s for the id of item m when its LIST line did not carry it. */
void
mbx_ask_id(struct sync_run *run, struct mbx_item *m, enum side s)
{
	struct sync_server *srv = &run->server[s];
	char *wire;

	if (srv->id_item == NULL || m->new_id[s] != NULL ||
	    (m->e[s] != NULL && m->e[s]->id != NULL))
		return;
	wire = sync_wire_name(srv, m->name, m->len);
	if (wire != NULL)
		imap_conn_cmd(srv->conn, NULL, NULL, "STATUS %s (%a)", wire,
		              srv->id_item);
	free(wire);
}

const char *
mbx_id(const struct mbx_item *m, enum side s)
{
	return m->e[s] != NULL && m->e[s]->id != NULL ? m->e[s]->id
	                                              : m->new_id[s];
}

/* Record each side's id of the mailboxes both sides have, for the next
 * run to tell a rename from a deletion. */
int
mbx_record_ids(struct sync_run *run, struct mbx_item *items, size_t n)
{
	const char *error;
	size_t i;
	unsigned s;

	if (state_begin(run->state, &error) < 0)
		goto db_error;
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];

		if (m->idx <= 0 || m->skip)
			continue;
		for (s = 0; s < SIDE_COUNT; s++) {
			const char *id = mbx_id(m, s);

			if (id == NULL)
				continue;
			if (state_mailbox_id_set(run->state, m->idx, s, id,
			                         &error) < 0) {
				sync_rollback(run->state);
				goto db_error;
			}
		}
	}
	if (state_commit(run->state, &error) < 0)
		goto db_error;
	return 0;
db_error:
	log_error("database", NULL, "%s", error);
	return -1;
}

static int
idx_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* For --status: each side's delimiter, and the mailboxes found unchanged
 * on both sides, so in step now. */
static int
mbx_record_status(struct sync_run *run, struct mbx_item *it, size_t n,
                  const char **error_r)
{
	int64_t now = (int64_t)time(NULL), *idx;
	unsigned s;
	size_t i, j, count = 0;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (run->server[s].delim_known &&
		    state_delimiter_set(run->state, s, run->server[s].delim,
		                        error_r) < 0)
			return -1;
	}
	idx = xcalloc(n + 1, sizeof(*idx));
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &it[i];

		if (m->skip || m->idx <= 0 || !mbx_exists(m->e[0]) ||
		    !mbx_exists(m->e[1]) ||
		    !mbx_side_unchanged(run, m, SIDE_LOCAL) ||
		    !mbx_side_unchanged(run, m, SIDE_REMOTE))
			continue;
		idx[count++] = m->idx;
	}
	/* Consecutive indexes (mailboxes made in one run) at once. */
	qsort(idx, count, sizeof(*idx), idx_cmp);
	for (i = 0; i < count; i = j) {
		for (j = i + 1; j < count && idx[j] == idx[j - 1] + 1; j++)
			;
		if (state_synced_set_range(run->state, idx[i], idx[j - 1], now,
		                           error_r) < 0) {
			free(idx);
			return -1;
		}
	}
	free(idx);
	return 0;
}

/* m's name for messages, made the first time one needs it (most
 * mailboxes of a run need none). */
static const char *
mbx_display(struct sync_run *run, const struct mbx_item *m, char **display)
{
	if (*display == NULL)
		*display = sync_display_name(run, m->name, m->len);
	return *display;
}

/* interimap's rules, item by item; commands for both sides pipelined. */
int
mbx_reconcile(struct sync_run *run, struct mbx_item *it, size_t n)
{
	struct mbx_created created[SIDE_COUNT];
	struct state *st = run->state;
	unsigned ncreate[SIDE_COUNT] = {0, 0}, over[SIDE_COUNT] = {0, 0};
	const char *error, *ignored;
	size_t i;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		created[s].run = run;
		created[s].items = it;
		created[s].n = n;
		created[s].side = s;
		imap_conn_set_untagged(run->server[s].conn,
		                       mbx_created_untagged, &created[s]);
		imap_conn_accept_malformed(run->server[s].conn, "STATUS");
	}
	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &it[i];
		bool ex[SIDE_COUNT], sub[SIDE_COUNT], dbsub = false;
		char *display;
		int ret;

		if (m->skip)
			continue;
		display = NULL;
		for (s = 0; s < SIDE_COUNT; s++) {
			ex[s] = mbx_exists(m->e[s]);
			sub[s] = mbx_subscribed(m->e[s]);
		}
		ret = state_mailbox_find(st, m->name, m->len, &m->idx, &dbsub,
		                         &error);
		if (ret < 0) {
			free(display);
			goto db_error_rollback;
		}
		if (ex[SIDE_LOCAL] && ex[SIDE_REMOTE]) {
			if (ret == 0) {
				bool want = sub[0] || sub[1];

				mbx_ask_id(run, m, SIDE_LOCAL);
				mbx_ask_id(run, m, SIDE_REMOTE);

				if (state_mailbox_create(st, m->name, m->len,
				                         want, &m->idx,
				                         &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
				log_info(
				    "database", NULL, "%s mailbox %s",
				    sync_verb(run, "Created", "would create"),
				    mbx_display(run, m, &display));
				for (s = 0; s < SIDE_COUNT && want; s++) {
					if (!sub[s])
						mbx_cmd(run, s, m, "SUBSCRIBE",
						        mbx_display(run, m,
						                    &display));
				}
			} else if (sub[0] != sub[1]) {
				/* The side that differs from the database
				 * changed: follow it. */
				enum side changed =
				    sub[0] != dbsub ? SIDE_LOCAL : SIDE_REMOTE;
				enum side other = side_other(changed);

				mbx_cmd(run, other, m,
				        sub[changed] ? "SUBSCRIBE"
				                     : "UNSUBSCRIBE",
				        mbx_display(run, m, &display));
				if (state_mailbox_set_subscribed(
				        st, m->idx, sub[changed], &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
			} else if (sub[0] != dbsub) {
				if (state_mailbox_set_subscribed(
				        st, m->idx, sub[0], &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
			}
		} else if (ex[SIDE_LOCAL] || ex[SIDE_REMOTE]) {
			enum side have =
			    ex[SIDE_LOCAL] ? SIDE_LOCAL : SIDE_REMOTE;
			enum side lack = side_other(have);

			if (ret > 0 && m->delete) {
				mbx_delete(run, m,
				           mbx_display(run, m, &display));
			} else if (ret > 0) {
				mbx_gone(run, m, mbx_display(run, m, &display),
				         lack);
			} else if (ncreate[lack] >= run->config->max_create) {
				/* The rest waits for the next run. */
				over[lack]++;
				m->skip = true;
			} else {
				/* CREATE first: a name it cannot send is
				 * not recorded. */
				ncreate[lack]++;
				mbx_cmd(run, lack, m, "CREATE",
				        mbx_display(run, m, &display));
				if (m->skip) {
					free(display);
					continue;
				}
				/* Said once the CREATE is done. */
				if (state_mailbox_create(st, m->name, m->len,
				                         sub[have], &m->idx,
				                         &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
				mbx_ask_id(run, m, have);
				if (sub[have])
					mbx_cmd(run, lack, m, "SUBSCRIBE",
					        mbx_display(run, m, &display));
				m->created = true;
			}
		} else {
			m->skip = true; /* \NoSelect or \NonExistent */
		}
		free(display);
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (over[s] == 0)
			continue;
		log_error(side_name(s), NULL,
		          "%u more mailboxes of %s are missing here, past "
		          "max-create (%u), the most one run creates: they "
		          "are skipped, and the next run goes on with them. "
		          "If %s really has that many, raise max-create.",
		          over[s], side_name(side_other(s)),
		          run->config->max_create, side_name(side_other(s)));
		run->mailbox_failures++;
	}
	if (sync_run_wait(run) < 0) {
		sync_rollback(st);
		return -1;
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		imap_conn_accept_malformed(run->server[s].conn, NULL);
	}
	/* A refused CREATE leaves no trace: the next run tries again
	 * instead of calling the mailbox gone. */
	for (i = 0; i < n; i++) {
		char *display;

		if (!it[i].created)
			continue;
		if (it[i].create_failed) {
			if (state_mailbox_delete(st, it[i].idx, &error) < 0)
				goto db_error_rollback;
			it[i].idx = 0;
			continue;
		}
		display = sync_display_name(run, it[i].name, it[i].len);
		log_info("database", NULL, "%s mailbox %s",
		         sync_verb(run, "Created", "would create"), display);
		free(display);
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("mailboxes reconciled");
	/* Apart, without a sync to disk: nothing depends on it, and a
	 * no-op run must not wait for the disk. */
	if (state_set_lazy(st, true, &error) < 0)
		goto db_error;
	if (state_begin(st, &error) < 0 ||
	    mbx_record_status(run, it, n, &error) < 0 ||
	    state_commit(st, &error) < 0) {
		if (state_in_transaction(st))
			sync_rollback(st);
		(void)state_set_lazy(st, false, &ignored);
		goto db_error;
	}
	if (state_set_lazy(st, false, &error) < 0)
		goto db_error;
	return 0;
db_error_rollback:
	sync_rollback(st);
db_error:
	log_error("database", NULL, "%s", error);
	return -1;
}

/* Whether side s of m stands where the database left it (LIST-STATUS).
 * Asked twice a mailbox (its --status record, then whether to select
 * it), with nothing written between that changes it: read once. */
bool
mbx_side_unchanged(struct sync_run *run, struct mbx_item *m, enum side s)
{
	struct state_side_status row;
	const struct mbx_entry *e = m->e[s];
	const char *error;

	if (m->created || e == NULL || !e->have_status ||
	    (e->status.have & IMAP_STATUS_HIGHESTMODSEQ) == 0)
		return false;
	if (m->unchanged[s] != 0)
		return m->unchanged[s] > 0;
	if (state_status_get(run->state, m->idx, s, &row, &error) <= 0)
		return false;
	m->unchanged[s] = row.uidvalidity == e->status.uidvalidity &&
	                          row.uidnext == e->status.uidnext &&
	                          row.highestmodseq == e->status.highestmodseq
	                      ? 1
	                      : -1;
	return m->unchanged[s] > 0;
}

/* One listed name of one side, for the match. */
struct mbx_ref {
	struct mbx_entry *e;
	enum side side;
};

static int
mbx_ref_cmp(const void *a, const void *b)
{
	const struct mbx_ref *x = a, *y = b;
	size_t n = x->e->len < y->e->len ? x->e->len : y->e->len;
	int c = memcmp(x->e->name, y->e->name, n);

	if (c != 0)
		return c;
	if (x->e->len != y->e->len)
		return (x->e->len > y->e->len) - (x->e->len < y->e->len);
	if (x->side != y->side)
		return (int)x->side - (int)y->side;
	/* The same name twice on a side: the last listed wins. */
	return (x->e > y->e) - (x->e < y->e);
}

/* The union of both lists by internal name, sorted (mbx_item_cmp): every
 * name of both sides sorted once and runs of equal names merged, so a
 * list of any length costs n log n. Caller frees. */
struct mbx_item *
mbx_match(struct sync_run *run, struct mbx_list lists[SIDE_COUNT], size_t nargs,
          size_t *n_r)
{
	size_t total = lists[0].count + lists[1].count, nrefs = 0, n = 0, i;
	struct mbx_ref *refs = xcalloc(total + 1, sizeof(*refs));
	struct mbx_item *items = xcalloc(total + 1, sizeof(*items));
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		for (i = 0; i < lists[s].count; i++) {
			struct mbx_entry *e = &lists[s].e[i];

			if (e->name == NULL)
				continue; /* not under the reference */
			if (nargs == 0 &&
			    config_ignore_mailbox(run->config, e->name, e->len))
				continue;
			refs[nrefs].e = e;
			refs[nrefs].side = s;
			nrefs++;
		}
	}
	qsort(refs, nrefs, sizeof(*refs), mbx_ref_cmp);
	for (i = 0; i < nrefs; i++) {
		struct mbx_entry *e = refs[i].e;
		struct mbx_item *m = n > 0 ? &items[n - 1] : NULL;

		if (m == NULL || m->len != e->len ||
		    memcmp(m->name, e->name, e->len) != 0) {
			m = &items[n++];
			m->run = run;
			m->name = e->name;
			m->len = e->len;
		}
		m->e[refs[i].side] = e;
	}
	free(refs);
	*n_r = n;
	return items;
}

/* A name one side lists that the other cannot hold (sync_name_fits): it
 * would be split into a hierarchy there, and the next run would take
 * the split for a rename. Skipped with what to change, every run. */
void
mbx_check_fits(struct sync_run *run, struct mbx_item *m)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		const struct sync_server *srv = &run->server[s];
		enum side o = side_other(s);
		const struct sync_server *osrv = &run->server[o];
		char *q;

		if (sync_name_fits(srv, m->name, m->len) || m->e[o] == NULL)
			continue;
		q = log_shell_quote(mbx_u8(m->e[o]->wire));
		if (srv->delim == '\0')
			log_error(side_name(s), NULL,
			          "%s's mailbox %s has a hierarchy, but %s's "
			          "namespace is flat: it cannot exist here "
			          "and is skipped. Give %s a namespace with "
			          "a hierarchy separator, or leave the "
			          "mailbox out with ignore-mailbox.",
			          side_name(o), q, side_name(s), side_name(s));
		else if (osrv->delim != '\0')
			log_error(side_name(s), NULL,
			          "%s's mailbox %s cannot exist here: its "
			          "name holds '%c', %s's hierarchy delimiter, "
			          "so it would be split. It is skipped; "
			          "nothing is created or renamed. Set %s's "
			          "namespace separator to '%c' as on %s "
			          "(Dovecot: separator = %c), or rename the "
			          "mailbox on %s, or leave it out with "
			          "ignore-mailbox.",
			          side_name(o), q, srv->delim, side_name(s),
			          side_name(s), osrv->delim, side_name(o),
			          osrv->delim, side_name(o));
		else
			log_error(side_name(s), NULL,
			          "%s's mailbox %s cannot exist here: its "
			          "name holds '%c', %s's hierarchy delimiter, "
			          "so it would be split. It is skipped; "
			          "nothing is created or renamed. Rename it "
			          "on %s, or leave it out with "
			          "ignore-mailbox.",
			          side_name(o), q, srv->delim, side_name(s),
			          side_name(o));
		free(q);
		m->unfit = true;
		mbx_item_fail(m);
		return;
	}
}

/* A first run: stop before merging two sides that both hold mail
 * (sync-merge.c). 0 to go on; else the run stops. */
int
mbx_merge_check(struct sync_run *run, struct mbx_item *items, size_t n)
{
	struct sync_merge_box *boxes = xcalloc(n + 1, sizeof(*boxes));
	size_t i;
	unsigned s;
	int ret;

	for (i = 0; i < n; i++) {
		const struct mbx_item *m = &items[i];

		boxes[i].name = m->name;
		boxes[i].len = m->len;
		for (s = 0; s < SIDE_COUNT && !m->skip && !m->unfit; s++) {
			const struct mbx_entry *e = m->e[s];

			boxes[i].exists[s] = mbx_exists(e);
			if (boxes[i].exists[s] && e->have_status &&
			    (e->status.have & IMAP_STATUS_MESSAGES) != 0)
				boxes[i].messages[s] = e->status.messages;
		}
	}
	ret = sync_merge_check(run, boxes, n);
	free(boxes);
	return ret;
}
