/* The mailbox list: one LIST ... RETURN (SUBSCRIBED STATUS (...)) per
 * side, names brought to the internal form (reference stripped,
 * delimiter as NUL), then reconciled as interimap does: a mailbox found
 * on one side only is created on the other, subscriptions follow the side
 * that changed, and a mailbox whose numbers did not move on either side is
 * not selected at all. */
#include "mailboxes.h"

#include "buf.h"
#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "state.h"
#include "sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mbx_entry {
	char *name; /* internal form */
	size_t len;
	char *wire;
	unsigned flags; /* enum imap_list_flag */
	struct imap_status_data status;
	bool have_status;
};

struct mbx_list {
	struct sync_server *srv;
	struct mbx_entry *e;
	size_t count, alloc;
	bool delim_seen;
	char delim;
	bool failed;
};

static void
mbx_list_free(struct mbx_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		free(l->e[i].name);
		free(l->e[i].wire);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

/* The internal form of a wire name, or NULL when it is not under the
 * reference. INBOX in any case is INBOX. */
static char *
mbx_unname(const struct sync_server *srv, char delim, const char *wire,
           size_t wlen, size_t *len_r)
{
	size_t rlen = strlen(srv->reference), i;
	char *s;

	if (wlen < rlen || memcmp(wire, srv->reference, rlen) != 0)
		return NULL;
	wire += rlen;
	wlen -= rlen;
	s = malloc(wlen + 1);
	if (s == NULL)
		return NULL;
	for (i = 0; i < wlen; i++)
		s[i] = delim != '\0' && wire[i] == delim ? '\0' : wire[i];
	s[wlen] = '\0';
	if (wlen == 5 && strncasecmp(s, "INBOX", 5) == 0)
		memcpy(s, "INBOX", 5);
	*len_r = wlen;
	return s;
}

static struct mbx_entry *
mbx_find_wire(struct mbx_list *l, const char *wire, size_t len)
{
	size_t i;

	/* STATUS follows its LIST line: look from the end. */
	for (i = l->count; i > 0; i--) {
		struct mbx_entry *e = &l->e[i - 1];

		if (strlen(e->wire) == len && memcmp(e->wire, wire, len) == 0)
			return e;
	}
	return NULL;
}

static void
mbx_list_untagged(struct imap_conn *conn, const struct imap_response *resp,
                  void *ctx)
{
	struct mbx_list *l = ctx;
	const char *side = side_name(l->srv->side);
	const char *error;

	(void)conn;
	if (strcmp(resp->name, "LIST") == 0) {
		struct imap_list li;
		struct mbx_entry *e;

		if (imap_decode_list(resp, &li, &error) < 0) {
			log_error(side, NULL, "bad LIST response: %s", error);
			l->failed = true;
			return;
		}
		if (li.name_len == 0) {
			/* LIST ref "": the delimiter. */
			l->delim_seen = true;
			l->delim = li.delimiter;
			return;
		}
		if (l->count == l->alloc) {
			size_t n = l->alloc == 0 ? 32 : l->alloc * 2;
			struct mbx_entry *ne = realloc(l->e, n * sizeof(*ne));

			if (ne == NULL) {
				l->failed = true;
				return;
			}
			l->e = ne;
			l->alloc = n;
		}
		e = &l->e[l->count];
		memset(e, 0, sizeof(*e));
		e->wire = strndup(li.name, li.name_len);
		if (e->wire == NULL) {
			l->failed = true;
			return;
		}
		e->flags = li.flags;
		/* INBOX may live in a namespace of its own: its delimiter
		 * says nothing about the others'. */
		if (!l->delim_seen && strcasecmp(e->wire, "INBOX") != 0) {
			l->delim_seen = true;
			l->delim = li.delimiter;
		}
		l->count++;
	} else if (strcmp(resp->name, "STATUS") == 0) {
		struct imap_status_data st;
		struct mbx_entry *e;

		if (imap_decode_status(resp, &st, &error) < 0) {
			log_error(side, NULL, "bad STATUS response: %s", error);
			l->failed = true;
			return;
		}
		e = mbx_find_wire(l, st.mailbox, st.mailbox_len);
		if (e == NULL)
			return;
		e->status = st;
		e->status.mailbox = NULL;
		e->status.x_guid = NULL;
		e->status.mailboxid = NULL;
		e->have_status = true;
	}
}

static void
mbx_cmd_done(struct imap_conn *conn, const struct imap_response *resp,
             void *ctx)
{
	struct mbx_list *l = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK) {
		log_error(side_name(l->srv->side), NULL, "LIST failed: %s",
		          resp->text);
		l->failed = true;
	}
}

static void
mbx_enable_done(struct imap_conn *conn, const struct imap_response *resp,
                void *ctx)
{
	struct mbx_list *l = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK) {
		log_error(side_name(l->srv->side), NULL,
		          "ENABLE QRESYNC failed: %s", resp->text);
		l->failed = true;
	}
}

/* The LIST patterns: the MAILBOX arguments, else list-mailbox, else "*";
 * NUL replaced by the server's delimiter. */
static int
mbx_list_patterns(const struct sync_run *run, struct sync_server *srv,
                  char **args, size_t nargs, struct buf *out)
{
	const struct config *cfg = run->config;
	size_t n = nargs > 0 ? nargs : cfg->list_mailbox_count, i, j;

	if (n == 0)
		return buf_append_str(out, "\"*\"");
	if (n > 1)
		buf_append_byte(out, '(');
	for (i = 0; i < n; i++) {
		const char *name =
		    nargs > 0 ? args[i] : cfg->list_mailbox[i].name;
		size_t len =
		    nargs > 0 ? strlen(args[i]) : cfg->list_mailbox[i].len;

		if (i > 0)
			buf_append_byte(out, ' ');
		buf_append_byte(out, '"');
		for (j = 0; j < len; j++) {
			char c = name[j];

			/* Arguments are written with the local delimiter. */
			if (nargs > 0 && c == run->server[SIDE_LOCAL].delim)
				c = '\0';

			if (c == '\0') {
				if (srv->delim == '\0')
					return -1;
				c = srv->delim;
			}
			if (c == '"' || c == '\\')
				buf_append_byte(out, '\\');
			buf_append_byte(out, (unsigned char)c);
		}
		buf_append_byte(out, '"');
	}
	if (n > 1)
		buf_append_byte(out, ')');
	return 0;
}

static bool
mbx_patterns_need_delim(const struct config *cfg, size_t nargs)
{
	size_t i;

	if (nargs > 0)
		return true;
	for (i = 0; i < cfg->list_mailbox_count; i++) {
		if (memchr(cfg->list_mailbox[i].name, '\0',
		           cfg->list_mailbox[i].len) != NULL)
			return true;
	}
	return false;
}

/* ENABLE QRESYNC, the delimiter and the list, pipelined on both sides. */
static int
mbx_list_both(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
              char **args, size_t nargs)
{
	const struct config *cfg = run->config;
	bool delim_first = mbx_patterns_need_delim(cfg, nargs);
	struct buf *pat = buf_create(1 << 20);
	unsigned s;
	int ret = -1;

	if (pat == NULL)
		return -1;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct imap_conn *c = run->server[s].conn;

		lists[s].srv = &run->server[s];
		imap_conn_set_untagged(c, mbx_list_untagged, &lists[s]);
		imap_conn_cmd(c, mbx_enable_done, &lists[s], "ENABLE QRESYNC");
		imap_conn_cmd(c, mbx_cmd_done, &lists[s], "LIST %q \"\"",
		              run->server[s].reference);
	}
	if (delim_first && sync_run_wait(run) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct sync_server *srv = &run->server[s];

		if (delim_first) {
			srv->delim = lists[s].delim;
			srv->delim_known = true;
		}
		buf_reset(pat);
		if (mbx_list_patterns(run, srv, args, nargs, pat) < 0) {
			log_error(side_name(s), NULL,
			          "a list-mailbox name has a hierarchy "
			          "delimiter but the namespace is flat");
			goto out;
		}
		if (cfg->list_select_opts != NULL)
			imap_conn_cmd(srv->conn, mbx_cmd_done, &lists[s],
			              "LIST (%a) %q %a RETURN (SUBSCRIBED "
			              "STATUS (UIDVALIDITY UIDNEXT "
			              "HIGHESTMODSEQ MESSAGES))",
			              cfg->list_select_opts, srv->reference,
			              buf_data(pat));
		else
			imap_conn_cmd(srv->conn, mbx_cmd_done, &lists[s],
			              "LIST %q %a RETURN (SUBSCRIBED STATUS "
			              "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ "
			              "MESSAGES))",
			              srv->reference, buf_data(pat));
	}
	if (sync_run_wait(run) < 0)
		goto out;
	sync_step("listed");
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		if (lists[s].failed)
			goto out;
		run->server[s].delim = lists[s].delim;
		run->server[s].delim_known = true;
	}
	ret = 0;
out:
	buf_free(&pat);
	return ret;
}

/* Internal names, once the delimiters are known. */
static int
mbx_internal_names(struct mbx_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		struct mbx_entry *e = &l->e[i];

		e->name = mbx_unname(l->srv, l->delim, e->wire, strlen(e->wire),
		                     &e->len);
	}
	return 0;
}

static bool
mbx_exists(const struct mbx_entry *e)
{
	return e != NULL &&
	       (e->flags & (IMAP_LIST_NOSELECT | IMAP_LIST_NONEXISTENT)) == 0;
}

static bool
mbx_subscribed(const struct mbx_entry *e)
{
	return e != NULL && (e->flags & IMAP_LIST_SUBSCRIBED) != 0;
}

static struct mbx_entry *
mbx_find(struct mbx_list *l, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		if (l->e[i].name != NULL && l->e[i].len == len &&
		    memcmp(l->e[i].name, name, len) == 0)
			return &l->e[i];
	}
	return NULL;
}

/* One mailbox of the union. */
struct mbx_item {
	const char *name;
	size_t len;
	struct mbx_entry *e[SIDE_COUNT];
	int64_t idx;
	bool created; /* created on one side in this run */
	bool skip;    /* failed reconciliation */
};

static int
mbx_item_cmp(const void *a, const void *b)
{
	const struct mbx_item *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static void
mbx_done_ignore(struct imap_conn *conn, const struct imap_response *resp,
                void *ctx)
{
	struct mbx_item *it = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK) {
		log_error(NULL, NULL, "%s", resp->text);
		it->skip = true;
	}
}

/* A subscription or a creation on side s of item it. */
static void
mbx_cmd(struct sync_run *run, enum side s, struct mbx_item *it,
        const char *verb, const char *display)
{
	struct sync_server *srv = &run->server[s];
	char *wire = sync_wire_name(srv, it->name, it->len);

	if (wire == NULL) {
		log_error(side_name(s), display,
		          "cannot name the mailbox on a flat namespace");
		it->skip = true;
		return;
	}
	if (run->set.dry_run) {
		log_info(side_name(s), NULL, "would %s %s",
		         strcmp(verb, "CREATE") == 0      ? "create mailbox"
		         : strcmp(verb, "SUBSCRIBE") == 0 ? "subscribe to"
		                                          : "unsubscribe from",
		         wire);
		free(wire);
		return;
	}
	imap_conn_cmd(srv->conn, mbx_done_ignore, it, "%a %s", verb, wire);
	if (strcmp(verb, "CREATE") == 0)
		log_info(side_name(s), NULL, "Created mailbox %s", wire);
	else if (strcmp(verb, "SUBSCRIBE") == 0)
		log_info(side_name(s), NULL, "Subscribe to %s", wire);
	else
		log_info(side_name(s), NULL, "Unsubscribe to %s", wire);
	free(wire);
}

/* interimap's rules, item by item; commands for both sides pipelined. */
static int
mbx_reconcile(struct sync_run *run, struct mbx_item *it, size_t n)
{
	struct state *st = run->state;
	const char *error;
	size_t i;

	if (state_begin(st, &error) < 0)
		goto db_error;
	for (i = 0; i < n; i++) {
		struct mbx_item *m = &it[i];
		bool ex[SIDE_COUNT], sub[SIDE_COUNT], dbsub = false;
		char *display = sync_display_name(run, m->name, m->len);
		int ret;
		unsigned s;

		if (display == NULL)
			goto nomem;
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

				if (state_mailbox_create(st, m->name, m->len,
				                         want, &m->idx,
				                         &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
				if (!run->set.dry_run)
					log_info("database", NULL,
					         "Created mailbox %s", display);
				for (s = 0; s < SIDE_COUNT && want; s++) {
					if (!sub[s])
						mbx_cmd(run, s, m, "SUBSCRIBE",
						        display);
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
				        display);
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

			if (ret > 0) {
				log_error(side_name(lack), display,
				          "the mailbox is gone from %s but "
				          "known to the database: if it was "
				          "deleted there, run `imapsync "
				          "--delete %s` to delete it "
				          "everywhere; if it was renamed, "
				          "`imapsync --target=%s --rename` it "
				          "back first. Skipping it.",
				          side_name(lack), display,
				          side_name(lack));
				m->skip = true;
				run->mailbox_failures++;
			} else {
				if (state_mailbox_create(st, m->name, m->len,
				                         sub[have], &m->idx,
				                         &error) < 0) {
					free(display);
					goto db_error_rollback;
				}
				if (!run->set.dry_run)
					log_info("database", NULL,
					         "Created mailbox %s", display);
				mbx_cmd(run, lack, m, "CREATE", display);
				if (sub[have])
					mbx_cmd(run, lack, m, "SUBSCRIBE",
					        display);
				m->created = true;
			}
		} else {
			m->skip = true; /* \NoSelect or \NonExistent */
		}
		free(display);
	}
	if (sync_run_wait(run) < 0) {
		sync_rollback(st);
		return -1;
	}
	if (run->set.dry_run) {
		/* New rows would have been created: nothing to sync yet. */
		sync_rollback(st);
		return 0;
	}
	if (state_commit(st, &error) < 0)
		goto db_error;
	sync_step("mailboxes reconciled");
	return 0;
nomem:
	error = "out of memory";
db_error_rollback:
	sync_rollback(st);
db_error:
	log_error("database", NULL, "%s", error);
	return -1;
}

/* The safety brake: a side holding far fewer messages than the pairs the
 * database knows (a server restored empty, a wrong mail_location) would
 * have the sync expunge them all on the other side. Counted from the
 * LIST-STATUS answers, before anything is touched. */
static int
mbx_brake(struct sync_run *run, struct mbx_item *items, size_t n)
{
	uint64_t paired = 0, gone[SIDE_COUNT] = {0, 0};
	unsigned share = run->config->safety_expunge, s;
	const char *error;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mbx_item *m = &items[i];
		uint64_t count;
		int64_t idx;

		if (!mbx_exists(m->e[0]) || !mbx_exists(m->e[1]))
			continue;
		if (state_mailbox_find(run->state, m->name, m->len, &idx, NULL,
		                       &error) <= 0 ||
		    state_mapping_count(run->state, idx, &count, &error) < 0)
			continue;
		paired += count;
		for (s = 0; s < SIDE_COUNT; s++) {
			const struct mbx_entry *e = m->e[s];

			if (e->have_status &&
			    (e->status.have & IMAP_STATUS_MESSAGES) != 0 &&
			    e->status.messages < count)
				gone[s] += count - e->status.messages;
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (gone[s] < SYNC_BRAKE_MIN || gone[s] * 100 <= paired * share)
			continue;
		if (run->set.force) {
			log_warn(side_name(side_other(s)), NULL,
			         "expunging up to %" PRIu64 " of %" PRIu64
			         " paired messages, past safety-expunge "
			         "(%u%%): --force",
			         gone[s], paired, share);
			continue;
		}
		log_error(
		    side_name(side_other(s)), NULL,
		    "%s holds %" PRIu64 " fewer messages than the %" PRIu64
		    " pairs the database knows, so this run would expunge "
		    "them here: more than safety-expunge (%u%%) allows. "
		    "Nothing was changed. If they were deleted on "
		    "purpose, run again with --force.",
		    side_name(s), gone[s], paired, share);
		run->braked = true;
		return -1;
	}
	return 0;
}

/* Whether the numbers of both sides are those stored: nothing to do. */
static bool
mbx_unchanged(struct sync_run *run, struct mbx_item *m)
{
	unsigned s;

	if (m->created)
		return false;
	for (s = 0; s < SIDE_COUNT; s++) {
		struct state_side_status row;
		const struct mbx_entry *e = m->e[s];
		const char *error;

		if (e == NULL || !e->have_status ||
		    (e->status.have & IMAP_STATUS_HIGHESTMODSEQ) == 0)
			return false;
		if (state_status_get(run->state, m->idx, s, &row, &error) <= 0)
			return false;
		if (row.uidvalidity != e->status.uidvalidity ||
		    row.uidnext != e->status.uidnext ||
		    row.highestmodseq != e->status.highestmodseq)
			return false;
	}
	return true;
}

int
mailboxes_sync(struct sync_run *run, char **args, size_t nargs, bool repair)
{
	struct mbx_list lists[SIDE_COUNT];
	struct mbx_item *items = NULL;
	size_t n = 0, i, j;
	unsigned s;
	int ret = -1;

	memset(lists, 0, sizeof(lists));
	if (mbx_list_both(run, lists, args, nargs) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_internal_names(&lists[s]);

	items = calloc(lists[0].count + lists[1].count + 1, sizeof(*items));
	if (items == NULL)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		for (i = 0; i < lists[s].count; i++) {
			struct mbx_entry *e = &lists[s].e[i];
			struct mbx_item *m = NULL;

			if (e->name == NULL)
				continue; /* not under the reference */
			if (nargs == 0 &&
			    config_ignore_mailbox(run->config, e->name, e->len))
				continue;
			if (s == SIDE_REMOTE && memchr(e->name, '\0', e->len) &&
			    run->server[SIDE_LOCAL].delim == '\0') {
				log_error("local", NULL,
				          "the remote mailbox %s has a "
				          "hierarchy but the local namespace "
				          "is flat",
				          e->wire);
				goto out;
			}
			for (j = 0; j < n; j++) {
				if (items[j].len == e->len &&
				    memcmp(items[j].name, e->name, e->len) ==
				        0) {
					m = &items[j];
					break;
				}
			}
			if (m == NULL) {
				m = &items[n++];
				m->name = e->name;
				m->len = e->len;
			}
			m->e[s] = e;
		}
	}
	for (i = 0; i < n; i++) {
		for (s = 0; s < SIDE_COUNT; s++) {
			if (items[i].e[s] == NULL)
				items[i].e[s] = mbx_find(
				    &lists[s], items[i].name, items[i].len);
		}
	}
	qsort(items, n, sizeof(*items), mbx_item_cmp);
	if (mbx_brake(run, items, n) < 0 || mbx_reconcile(run, items, n) < 0)
		goto out;
	for (i = 0; i < n && !run->fatal; i++) {
		struct mbx_item *m = &items[i];

		if (m->skip || m->idx <= 0)
			continue;
		if (!repair && mbx_unchanged(run, m))
			continue;
		if (run->set.dry_run && m->created) {
			const struct mbx_entry *e =
			    mbx_exists(m->e[0]) ? m->e[0] : m->e[1];
			char *display = sync_display_name(run, m->name, m->len);

			if (display != NULL && e->have_status &&
			    (e->status.have & IMAP_STATUS_MESSAGES) != 0 &&
			    e->status.messages > 0)
				log_info(side_name(e == m->e[0] ? SIDE_REMOTE
				                                : SIDE_LOCAL),
				         display,
				         "would add %" PRIu32 " message(s)",
				         e->status.messages);
			free(display);
			continue;
		}
		if (sync_mailbox(run, m->name, m->len, m->idx, repair) == -1)
			run->mailbox_failures++;
	}
	ret = run->fatal ? -1 : 0;
out:
	free(items);
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}

/* A command-line name (local delimiter) in the internal form. */
static char *
mbx_arg_name(const struct sync_run *run, const char *arg, size_t *len_r)
{
	char d = run->server[SIDE_LOCAL].delim;
	size_t i, len = strlen(arg);
	char *s = strdup(arg);

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (d != '\0' && s[i] == d)
			s[i] = '\0';
	}
	*len_r = len;
	return s;
}

static void
mbx_admin_done(struct imap_conn *conn, const struct imap_response *resp,
               void *ctx)
{
	bool *failed = ctx;

	if (resp == NULL)
		return;
	if (resp->status != IMAP_STATUS_OK) {
		log_error(imap_conn_name(conn), NULL, "%s", resp->text);
		*failed = true;
	}
}

int
mailboxes_delete(struct sync_run *run, char **args, size_t nargs,
                 unsigned targets)
{
	struct mbx_list lists[SIDE_COUNT];
	const char *error;
	bool failed = false;
	size_t i;
	unsigned s;
	int ret = -1;

	memset(lists, 0, sizeof(lists));
	if (mbx_list_both(run, lists, args, nargs) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_internal_names(&lists[s]);
	for (i = 0; i < nargs; i++) {
		size_t len;
		char *name = mbx_arg_name(run, args[i], &len);
		int64_t idx;
		int found;

		if (name == NULL)
			goto out;
		if (len == 5 && strncasecmp(name, "INBOX", 5) == 0) {
			log_error(NULL, NULL, "INBOX can't be deleted");
			free(name);
			goto out;
		}
		for (s = 0; s < SIDE_COUNT; s++) {
			unsigned bit = s == SIDE_LOCAL
			                   ? MAILBOXES_TARGET_LOCAL
			                   : MAILBOXES_TARGET_REMOTE;
			struct mbx_entry *e = mbx_find(&lists[s], name, len);
			char *wire;

			if ((targets & bit) == 0 || !mbx_exists(e))
				continue;
			wire = sync_wire_name(&run->server[s], name, len);
			if (wire == NULL)
				continue;
			imap_conn_cmd(run->server[s].conn, mbx_admin_done,
			              &failed, "DELETE %s", wire);
			log_info(side_name(s), NULL, "Deleted mailbox %s",
			         wire);
			free(wire);
		}
		if (sync_run_wait(run) < 0 || failed) {
			free(name);
			goto out;
		}
		if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
			found = state_mailbox_find(run->state, name, len, &idx,
			                           NULL, &error);
			if (found < 0 ||
			    (found > 0 &&
			     (state_begin(run->state, &error) < 0 ||
			      state_mailbox_delete(run->state, idx, &error) <
			          0 ||
			      state_commit(run->state, &error) < 0))) {
				sync_rollback(run->state);
				log_error("database", NULL, "%s", error);
				free(name);
				goto out;
			}
			if (found > 0)
				log_info("database", NULL, "Removed mailbox %s",
				         args[i]);
		}
		free(name);
	}
	ret = 0;
out:
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}

int
mailboxes_rename(struct sync_run *run, const char *from, const char *to,
                 unsigned targets)
{
	struct mbx_list lists[SIDE_COUNT];
	char *args[2] = {(char *)from, (char *)to};
	char *fname = NULL, *tname = NULL;
	size_t flen = 0, tlen = 0;
	const char *error;
	bool failed = false;
	unsigned s, count = 0;
	int64_t idx;
	int ret = -1, found;

	memset(lists, 0, sizeof(lists));
	if (mbx_list_both(run, lists, args, 2) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_internal_names(&lists[s]);
	fname = mbx_arg_name(run, from, &flen);
	tname = mbx_arg_name(run, to, &tlen);
	if (fname == NULL || tname == NULL)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		unsigned bit = s == SIDE_LOCAL ? MAILBOXES_TARGET_LOCAL
		                               : MAILBOXES_TARGET_REMOTE;

		if ((targets & bit) != 0 &&
		    mbx_exists(mbx_find(&lists[s], tname, tlen))) {
			log_error(side_name(s), NULL,
			          "Mailbox %s exists. Run `imapsync "
			          "--target=%s --delete %s` to delete.",
			          to, side_name(s), to);
			goto out;
		}
	}
	if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
		found = state_mailbox_find(run->state, tname, tlen, &idx, NULL,
		                           &error);
		if (found < 0) {
			log_error("database", NULL, "%s", error);
			goto out;
		}
		if (found > 0) {
			log_error("database", NULL,
			          "Mailbox %s exists. Run `imapsync "
			          "--target=database --delete %s` to delete.",
			          to, to);
			goto out;
		}
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		unsigned bit = s == SIDE_LOCAL ? MAILBOXES_TARGET_LOCAL
		                               : MAILBOXES_TARGET_REMOTE;
		char *fw, *tw;

		/* \NonExistent names can be renamed too (they may have
		 * children): any listed name will do. */
		if ((targets & bit) == 0 ||
		    mbx_find(&lists[s], fname, flen) == NULL)
			continue;
		fw = sync_wire_name(&run->server[s], fname, flen);
		tw = sync_wire_name(&run->server[s], tname, tlen);
		if (fw != NULL && tw != NULL) {
			imap_conn_cmd(run->server[s].conn, mbx_admin_done,
			              &failed, "RENAME %s %s", fw, tw);
			log_info(side_name(s), NULL, "Renamed mailbox %s to %s",
			         fw, tw);
		}
		free(fw);
		free(tw);
	}
	if (sync_run_wait(run) < 0 || failed)
		goto out;
	if ((targets & MAILBOXES_TARGET_DATABASE) != 0) {
		if (state_begin(run->state, &error) < 0 ||
		    state_mailbox_rename(run->state, fname, flen, tname, tlen,
		                         &count, &error) < 0 ||
		    state_commit(run->state, &error) < 0) {
			sync_rollback(run->state);
			log_error("database", NULL, "%s", error);
			goto out;
		}
		if (count > 0)
			log_info("database", NULL, "Renamed mailbox %s to %s",
			         from, to);
	}
	ret = 0;
out:
	free(fname);
	free(tname);
	for (s = 0; s < SIDE_COUNT; s++)
		mbx_list_free(&lists[s]);
	return ret;
}
