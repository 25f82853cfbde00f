/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The LIST of both sides: one LIST ... RETURN (SUBSCRIBED STATUS (...))
 * per side, pipelined with ENABLE QRESYNC and the delimiter; patterns
 * from the command line or list-mailbox; mailbox ids (MAILBOXID, X-GUID)
 * asked while the database lacks some, a server that refuses or botches
 * them remembered; names brought to the internal form (reference
 * stripped, delimiter as NUL). */
#include "mailboxes-private.h"

#include "buf.h"
#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "log.h"
#include "state.h"
#include "sync.h"
#include "xmalloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
mbx_list_free(struct mbx_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		free(l->e[i].name);
		free(l->e[i].wire);
		free(l->e[i].id);
		free(l->e[i].dry_wire);
		free(l->e[i].dry_old);
	}
	free(l->e);
	free(l->hash);
	memset(l, 0, sizeof(*l));
}

static size_t
mbx_hash_pos(const struct mbx_list *l, const char *wire, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)wire, len, l->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (l->hash_size - 1);
}

static void
mbx_hash_put(struct mbx_list *l, size_t i)
{
	const char *w = l->e[i].wire;
	size_t pos = mbx_hash_pos(l, w, strlen(w));

	while (l->hash[pos] != 0)
		pos = (pos + 1) & (l->hash_size - 1);
	l->hash[pos] = i + 1;
}

/* Index entry i, the last added; the table stays at most half full. */
static void
mbx_hash_add(struct mbx_list *l, size_t i)
{
	size_t j;

	if (l->hash_size == 0)
		randombytes_buf(l->hash_key, sizeof(l->hash_key));
	if ((i + 1) * 2 > l->hash_size) {
		size_t n = l->hash_size == 0 ? 64 : l->hash_size * 2;
		free(l->hash);
		l->hash = xcalloc(n, sizeof(*l->hash));
		l->hash_size = n;
		for (j = 0; j < i; j++)
			mbx_hash_put(l, j);
	}
	mbx_hash_put(l, i);
}

/* Forget what the list gathered, before it is sent again; the delimiter
 * already learnt stays. */
static void
mbx_list_reset(struct mbx_list *l)
{
	struct mbx_list keep = *l;

	keep.e = NULL;
	keep.count = keep.alloc = 0;
	keep.hash = NULL;
	keep.hash_size = 0;
	mbx_list_free(l);
	*l = keep;
}

/* The internal form of a wire name, or NULL when it is not under the
 * reference. INBOX in any case is INBOX. */
char *
mbx_unname(const struct sync_server *srv, char delim, const char *wire,
           size_t wlen, size_t *len_r)
{
	size_t rlen = strlen(srv->reference), i;
	char *s;

	if (wlen < rlen || memcmp(wire, srv->reference, rlen) != 0)
		return NULL;
	wire += rlen;
	wlen -= rlen;
	s = xmalloc(wlen + 1);
	for (i = 0; i < wlen; i++)
		s[i] = delim != '\0' && wire[i] == delim ? '\0' : wire[i];
	s[wlen] = '\0';
	if (wlen == 5 && strncasecmp(s, "INBOX", 5) == 0)
		memcpy(s, "INBOX", 5);
	*len_r = wlen;
	return s;
}

/* The entry listed last under that wire name, or NULL. */
static struct mbx_entry *
mbx_find_wire(struct mbx_list *l, const char *wire, size_t len)
{
	struct mbx_entry *found = NULL;
	size_t pos;

	if (l->hash_size == 0)
		return NULL;
	/* Later duplicates lie further along the probe sequence. */
	for (pos = mbx_hash_pos(l, wire, len); l->hash[pos] != 0;
	     pos = (pos + 1) & (l->hash_size - 1)) {
		struct mbx_entry *e = &l->e[l->hash[pos] - 1];

		if (strlen(e->wire) == len && memcmp(e->wire, wire, len) == 0)
			found = e;
	}
	return found;
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

			l->e = xreallocarray(l->e, n, sizeof(*l->e));
			l->alloc = n;
		}
		e = &l->e[l->count];
		memset(e, 0, sizeof(*e));
		e->wire = xstrndup(li.name, li.name_len);
		e->flags = li.flags;
		/* INBOX may live in a namespace of its own: its delimiter
		 * says nothing about the others'. */
		if (!l->delim_seen && strcasecmp(e->wire, "INBOX") != 0) {
			l->delim_seen = true;
			l->delim = li.delimiter;
		}
		mbx_hash_add(l, l->count);
		l->count++;
	} else if (strcmp(resp->name, "STATUS") == 0) {
		struct imap_status_data st;
		struct mbx_entry *e;

		if (resp->malformed != NULL)
			error = resp->malformed;
		if (resp->malformed != NULL ||
		    imap_decode_status(resp, &st, &error) < 0) {
			if (l->id_item != NULL) {
				/* The optional item is the likely culprit
				 * (Cyrus 3.6 sends garbage for MAILBOXID
				 * asked with other items): list again
				 * without it. */
				if (!l->id_botched)
					snprintf(l->id_why, sizeof(l->id_why),
					         "%s", error);
				l->id_botched = true;
				return;
			}
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
		free(e->id);
		e->id = st.mailboxid != NULL ? xstrdup(st.mailboxid)
		        : st.x_guid != NULL  ? xstrdup(st.x_guid)
		                             : NULL;
	}
}

static void
mbx_cmd_done(struct imap_conn *conn, const struct imap_response *resp,
             void *ctx)
{
	struct mbx_list *l = ctx;

	(void)conn;
	if (resp == NULL || resp->status == IMAP_STATUS_OK)
		return;
	if (resp->status == IMAP_STATUS_BAD && l->id_item != NULL) {
		/* Not every server has X-GUID: list again without it. */
		l->id_refused = true;
		snprintf(l->id_why, sizeof(l->id_why), "BAD %s", resp->text);
		return;
	}
	if (l->id_botched)
		return; /* listed again without the id */
	log_error(side_name(l->srv->side), NULL, "LIST failed: %s", resp->text);
	l->failed = true;
}

/* The LIST of the mailboxes to sync, with their numbers and ids. */
static void
mbx_send_list(const struct config *cfg, struct mbx_list *l, const char *pat)
{
	struct sync_server *srv = l->srv;
	const char *id = l->id_item != NULL ? l->id_item : "";
	const char *sp = l->id_item != NULL ? " " : "";
	/* Only the first run's brake (sync-merge.c) needs the counts. */
	const char *msgs = l->messages ? " MESSAGES" : "";

	if (cfg->list_select_opts != NULL)
		imap_conn_cmd(srv->conn, mbx_cmd_done, l,
		              "LIST (%a) %q %a RETURN (SUBSCRIBED STATUS "
		              "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ%a%a%a))",
		              cfg->list_select_opts, srv->reference, pat, msgs,
		              sp, id);
	else
		imap_conn_cmd(
		    srv->conn, mbx_cmd_done, l,
		    "LIST %q %a RETURN (SUBSCRIBED STATUS (UIDVALIDITY "
		    "UIDNEXT HIGHESTMODSEQ%a%a%a))",
		    srv->reference, pat, msgs, sp, id);
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
 * NUL replaced by the server's delimiter. -1 when a name has a delimiter
 * but the server has none; -2 when they pass out's cap
 * (SYNC_MAX_LIST_PATTERNS). */
static int
mbx_list_patterns(const struct sync_run *run, struct sync_server *srv,
                  char **args, size_t nargs, struct buf *out)
{
	const struct config *cfg = run->config;
	size_t n = nargs > 0 ? nargs : cfg->list_mailbox_count, i, j;
	int full = 0;

	if (n == 0)
		return buf_append_str(out, "\"*\"") < 0 ? -2 : 0;
	if (n > 1)
		full |= buf_append_byte(out, '(');
	for (i = 0; i < n; i++) {
		const char *name =
		    nargs > 0 ? args[i] : cfg->list_mailbox[i].name;
		size_t len =
		    nargs > 0 ? strlen(args[i]) : cfg->list_mailbox[i].len;

		if (i > 0)
			full |= buf_append_byte(out, ' ');
		full |= buf_append_byte(out, '"');
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
				full |= buf_append_byte(out, '\\');
			full |= buf_append_byte(out, (unsigned char)c);
		}
		full |= buf_append_byte(out, '"');
	}
	if (n > 1)
		full |= buf_append_byte(out, ')');
	return full != 0 ? -2 : 0;
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

/* The refusal naming srv's id item asked with other STATUS items. */
static const char *
mbx_in_list(const struct sync_server *srv)
{
	return strcmp(srv->id_item, "MAILBOXID") == 0 ? "LIST-STATUS MAILBOXID"
	                                              : "LIST-STATUS X-GUID";
}

/* Whether side s's server refused or botched feature in an earlier run. */
static bool
mbx_refused(struct sync_run *run, enum side s, const char *feature)
{
	const char *error;
	bool refused = false;

	if (state_refusal_get(run->state, s, feature, &refused, &error) < 0)
		log_error("database", NULL, "%s", error);
	return refused;
}

/* The server refused (BAD) or botched the id item of l's LIST: say so
 * once, do without it from now on and remember that. A refused item is
 * not asked at all (no ids: a rename there is not recognised); a botched
 * one is asked alone, where the server gets it right. */
static void
mbx_id_refused(struct sync_run *run, struct mbx_list *l)
{
	struct sync_server *srv = l->srv;
	const char *side = side_name(srv->side), *feature, *error;

	if (l->id_refused) {
		feature = srv->id_item;
		log_info(side, NULL,
		         "the server has no STATUS %s (%s): no mailbox ids, "
		         "so a mailbox renamed there is not recognised (see "
		         "--rename); not asked again",
		         srv->id_item, l->id_why);
	} else {
		feature = mbx_in_list(srv);
		log_warn(side, NULL,
		         "the server botches STATUS %s asked with other items "
		         "(%s): it is asked alone from now on",
		         srv->id_item, l->id_why);
	}
	if (!run->set.dry_run &&
	    state_refusal_set(run->state, srv->side, feature, l->id_why,
	                      &error) < 0)
		log_error("database", NULL, "%s", error);
	if (l->id_refused)
		srv->id_item = NULL; /* the server has none */
}

static bool
mbx_ids_wanted(struct sync_run *run, enum side s)
{
	uint64_t missing = 0, known = 0;
	const char *error;

	if (state_mailbox_ids_missing(run->state, s, &missing, &error) < 0 ||
	    state_mailbox_count(run->state, &known, &error) < 0)
		return true;
	return missing > 0 || known == 0;
}

/* ENABLE QRESYNC, the delimiter and the list, pipelined on both sides. */
int
mbx_list_both(struct sync_run *run, struct mbx_list lists[SIDE_COUNT],
              char **args, size_t nargs)
{
	const struct config *cfg = run->config;
	bool delim_first = mbx_patterns_need_delim(cfg, nargs);
	struct buf *pat = buf_create(SYNC_MAX_LIST_PATTERNS);
	char *pats[SIDE_COUNT] = {NULL, NULL};
	unsigned s;
	int ret = -1;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct imap_conn *c = run->server[s].conn;

		lists[s].srv = &run->server[s];
		imap_conn_set_untagged(c, mbx_list_untagged, &lists[s]);
		imap_conn_accept_malformed(c, "STATUS");
		if ((imap_conn_enabled(c) & IMAP_CAP_QRESYNC) == 0)
			imap_conn_cmd(c, mbx_enable_done, &lists[s],
			              "ENABLE QRESYNC");
		/* Else the delimiter comes with the mailboxes listed: all
		 * but INBOX have the same (RFC 3501, 7.2.2). */
		if (delim_first)
			imap_conn_cmd(c, mbx_cmd_done, &lists[s],
			              "LIST %q \"\"", run->server[s].reference);
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
		switch (mbx_list_patterns(run, srv, args, nargs, pat)) {
		case 0:
			break;
		case -1:
			log_error(side_name(s), NULL,
			          "a list-mailbox name has a hierarchy "
			          "delimiter but the namespace is flat");
			goto out;
		default:
			log_error(side_name(s), NULL,
			          "the mailbox names to list (list-mailbox or "
			          "the command line) pass %d bytes "
			          "(SYNC_MAX_LIST_PATTERNS): name fewer",
			          SYNC_MAX_LIST_PATTERNS);
			goto out;
		}
		/* RFC 8474's MAILBOXID where offered, else Dovecot's X-GUID
		 * (refused by other servers: then listed again without, and
		 * never asked again), asked in the LIST unless the server
		 * botched that before (then alone, in mbx_ask_id()). */
		srv->id_item = (srv->caps & IMAP_CAP_OBJECTID) != 0
		                   ? "MAILBOXID"
		                   : "X-GUID";
		if (mbx_refused(run, s, srv->id_item))
			srv->id_item = NULL;
		/* Ids cost bytes on every run: ask for them only while the
		 * database lacks some, or knows no mailbox yet. */
		lists[s].id_item = NULL;
		if (srv->id_item != NULL &&
		    !mbx_refused(run, s, mbx_in_list(srv)) &&
		    mbx_ids_wanted(run, s))
			lists[s].id_item = srv->id_item;
		lists[s].messages = run->merge_check;
		pats[s] = xstrdup(buf_data(pat));
		mbx_send_list(cfg, &lists[s], pats[s]);
	}
	if (sync_run_wait(run) < 0)
		goto out;
	for (s = 0; s < SIDE_COUNT; s++) {
		if (!lists[s].id_refused && !lists[s].id_botched)
			continue;
		mbx_id_refused(run, &lists[s]);
		mbx_list_reset(&lists[s]);
		lists[s].id_item = NULL;
		mbx_send_list(cfg, &lists[s], pats[s]);
		if (sync_run_wait(run) < 0)
			goto out;
	}
	/* Only INBOX listed: ask the delimiter (one more round trip). */
	for (s = 0; s < SIDE_COUNT; s++) {
		if (!lists[s].delim_seen)
			imap_conn_cmd(run->server[s].conn, mbx_cmd_done,
			              &lists[s], "LIST %q \"\"",
			              run->server[s].reference);
	}
	if ((!lists[0].delim_seen || !lists[1].delim_seen) &&
	    sync_run_wait(run) < 0)
		goto out;
	sync_step("listed");
	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_set_untagged(run->server[s].conn, NULL, NULL);
		imap_conn_accept_malformed(run->server[s].conn, NULL);
		if (lists[s].failed)
			goto out;
		run->server[s].delim = lists[s].delim;
		run->server[s].delim_known = true;
	}
	ret = 0;
out:
	free(pats[0]);
	free(pats[1]);
	buf_free(&pat);
	return ret;
}

/* Internal names, once the delimiters are known. */
int
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

bool
mbx_exists(const struct mbx_entry *e)
{
	return e != NULL &&
	       (e->flags & (IMAP_LIST_NOSELECT | IMAP_LIST_NONEXISTENT)) == 0;
}

bool
mbx_subscribed(const struct mbx_entry *e)
{
	return e != NULL && (e->flags & IMAP_LIST_SUBSCRIBED) != 0;
}

struct mbx_entry *
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
