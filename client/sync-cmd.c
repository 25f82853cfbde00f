/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Commands that run in a mailbox, the middle layer of the sync engine
 * (between the driver, sync.c, and the steps, one file each):
 *
 * - sync_cmd() queues a command in a mailbox, with an epoch that names
 *   the mailbox and the step that sent it, and refuses, in a dry run, a
 *   command that writes;
 * - the routing of untagged replies: the server works through commands
 *   in order and a SELECT waits for those before it, so an untagged
 *   response belongs to the mailbox of the oldest command in flight
 *   (APPEND, which names its mailbox, opens an epoch of its own), and
 *   goes, decoded, to the handlers of the step that sent that command
 *   (struct sync_phase); this is the one place where an answer to our
 *   own command is told from a change someone else made, by the step
 *   the answer belongs to;
 * - selections: APPLY selects with QRESYNC, so the selection doubles
 *   as the CHECK (sync-check.c); a step that only reads EXAMINEs, or
 *   uses the selection still there;
 * - held commands: the commands of a side that receives copies wait for
 *   its first APPEND, to share that selection. */
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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- Responses ----------------------------------------------------------- */

/* Whether uid on this side is in the mapping table. */
bool
sync_is_mapped(struct mbox_side *ms, uint32_t uid)
{
	uint32_t other;
	const char *error;
	int ret = state_mapping_lookup(ms->mb->run->state, ms->mb->idx,
	                               ms->side, uid, &other, &error);

	if (ret < 0) {
		sync_db_fail(ms->mb, error);
		return false;
	}
	return ret > 0;
}

/* --- Replies, by the step that asked ---------------------------------------
 */

int
sync_fetch_flags(struct mbox_side *ms, const struct imap_fetch *f,
                 struct buf *flags)
{
	if (flags_canonical(f->flags, f->flags_count, flags) < 0) {
		sync_fail(ms->mb, ms->side, "bad FLAGS for UID %" PRIu32,
		          f->uid);
		return -1;
	}
	/* The sync's own \Deleted, left by a killed run. */
	if (ms->undelete.n > 0 && uidset_contains(&ms->undelete, f->uid))
		flags_drop(flags, "\\Deleted");
	return 0;
}

struct buf *
sync_fetch_key_flags(struct mbox_side *ms, const struct imap_fetch *f)
{
	struct buf *flags;

	if ((f->have & SYNC_KEY_ITEMS) != 0 &&
	    (f->have & (SYNC_KEY_ITEMS | IMAP_FETCH_FLAGS)) !=
	        (SYNC_KEY_ITEMS | IMAP_FETCH_FLAGS)) {
		/* The connection joins a message's items given in several
		 * FETCH responses; these never came whole, and a key made
		 * of a part would pair nothing: every message copied
		 * twice. */
		if (ms->mb->failed)
			return NULL; /* said once */
		sync_fail(ms->mb, ms->side,
		          "the server did not give the FLAGS, RFC822.SIZE, "
		          "INTERNALDATE and Message-ID of UID %" PRIu32
		          " that were asked together, not even in several "
		          "FETCH responses: nothing is paired or copied in "
		          "this mailbox",
		          f->uid);
		return NULL;
	}
	if ((f->have & IMAP_FETCH_BODY) != 0 ||
	    (f->have & IMAP_FETCH_FLAGS) == 0)
		return NULL;
	flags = buf_create(SYNC_MAX_FLAGS_TEXT);
	if (sync_fetch_flags(ms, f, flags) < 0)
		buf_free(&flags);
	return flags;
}

/* A FETCH, decoded, to the step whose command it answers. */
static void
reply_fetch(struct mbox_side *ms, const struct sync_phase *p,
            const struct imap_response *resp, bool in_select)
{
	struct mbox *mb = ms->mb;
	struct imap_fetch f;
	const char *error;

	if (resp->malformed != NULL) {
		/* Items the connection could not put together (a cap). */
		if (!mb->failed)
			sync_fail(mb, ms->side,
			          "%s: the mailbox is left as it is",
			          resp->malformed);
		return;
	}
	if (imap_decode_fetch(resp, &f, &error) < 0) {
		sync_fail(mb, ms->side, "bad FETCH response: %s", error);
		return;
	}
	if ((f.have & IMAP_FETCH_UID) == 0)
		return; /* not about a message we can name */
	if (p->fetch != NULL)
		p->fetch(ms, &f, in_select);
}

static void
reply_vanished(struct mbox_side *ms, const struct sync_phase *p,
               const struct imap_response *resp)
{
	struct uidset uids = UIDSET_INIT;
	bool earlier;
	const char *error;

	if (imap_decode_vanished(resp, &earlier, &uids, &error) < 0) {
		sync_fail(ms->mb, ms->side, "bad VANISHED response: %s", error);
		return;
	}
	uidset_normalize(&uids);
	if (p->vanished != NULL)
		p->vanished(ms, &uids, earlier);
	uidset_free(&uids);
}

void
sync_on_code(struct mbox_side *ms, const struct sync_phase *p,
             const struct imap_response *resp)
{
	struct imap_resp_code code;
	struct uidset src = UIDSET_INIT, dst = UIDSET_INIT;
	struct sync_copyuid *c, **tail;
	const char *error;

	if (imap_decode_code(resp, &code, &src, &dst, &error) < 0) {
		uidset_free(&src);
		uidset_free(&dst);
		sync_fail(ms->mb, ms->side, "bad response code: %s", error);
		return;
	}
	if (code.code == IMAP_CODE_COPYUID) {
		/* Kept for the MOVE whose UIDs src names (sync-move.c). */
		c = xcalloc(1, sizeof(*c));
		c->uidvalidity = code.uidvalidity;
		c->src = src;
		c->dst = dst;
		for (tail = &ms->move.copyuids; *tail != NULL;
		     tail = &(*tail)->next)
			;
		*tail = c;
		return;
	}
	uidset_free(&src);
	uidset_free(&dst);
	switch (code.code) {
	case IMAP_CODE_UIDVALIDITY:
		ms->uidvalidity = code.uidvalidity;
		break;
	case IMAP_CODE_UIDNEXT:
		if (p->numbers != NULL)
			p->numbers(ms, &code);
		break;
	case IMAP_CODE_HIGHESTMODSEQ:
		if (p->numbers != NULL)
			p->numbers(ms, &code);
		if (mbox_server(ms)->answering != NULL)
			mbox_server(ms)->answering->saw_modseq = true;
		break;
	case IMAP_CODE_NOMODSEQ:
		ms->nomodseq = true;
		break;
	default:
		break;
	}
}

static void
reply_untagged(const struct imap_response *resp, struct mbox_side *ms,
               const struct sync_phase *p, bool in_select)
{
	if (resp->status == IMAP_STATUS_OK && resp->code != NULL)
		sync_on_code(ms, p, resp);
	else if (resp->status == IMAP_STATUS_NO ||
	         resp->status == IMAP_STATUS_BAD)
		log_warn(side_name(ms->side), ms->mb->display, "%s",
		         resp->text);
	else if (strcmp(resp->name, "FETCH") == 0)
		reply_fetch(ms, p, resp, in_select);
	else if (strcmp(resp->name, "VANISHED") == 0)
		reply_vanished(ms, p, resp);
	else if (strcmp(resp->name, "EXISTS") == 0 && resp->has_number &&
	         p->exists != NULL)
		p->exists(ms, resp->number, in_select);
}

/* --- Commands and their mailboxes ---------------------------------------- */

/* A tagged OK with [HIGHESTMODSEQ] (UID EXPUNGE, FETCH), to the step
 * that sent the command. */
static void
epoch_modseq(struct sync_epoch *e, const struct imap_response *resp)
{
	struct imap_resp_code code;
	const char *error;

	if (e->phase->tagged_modseq == NULL || resp->status != IMAP_STATUS_OK ||
	    resp->code == NULL ||
	    imap_decode_code(resp, &code, NULL, NULL, &error) < 0)
		return;
	if (code.code == IMAP_CODE_HIGHESTMODSEQ)
		e->phase->tagged_modseq(e->ms, code.modseq);
}

static void
epoch_done(struct imap_conn *conn, const struct imap_response *resp, void *ctx)
{
	struct sync_epoch *e = ctx;

	if (resp != NULL)
		epoch_modseq(e, resp);
	else if (e->srv->lost_in == NULL)
		e->srv->lost_in = e->ms->mb->display;
	if (e->cb != NULL)
		e->cb(conn, resp, e->ctx);
	sync_epoch_close(e);
}

void
sync_epoch_close(struct sync_epoch *e)
{
	struct sync_server *srv = e->srv;

	e->done = true;
	while (srv->epoch_head != NULL && srv->epoch_head->done) {
		struct sync_epoch *head = srv->epoch_head;

		srv->epoch_head = head->next;
		if (srv->epoch_head == NULL)
			srv->epoch_tail = NULL;
		free(head);
	}
}

struct sync_epoch *
sync_epoch_open(struct mbox_side *ms)
{
	struct sync_server *srv = mbox_server(ms);
	struct sync_epoch *e = xcalloc(1, sizeof(*e));

	e->srv = srv;
	e->ms = ms;
	e->phase = ms->mb->phase;
	if (srv->epoch_tail != NULL)
		srv->epoch_tail->next = e;
	else
		srv->epoch_head = e;
	srv->epoch_tail = e;
	return e;
}

/* Whether a command changes a mailbox (its format; the text of a
 * leading %a, first): never sent in a dry run. */
static bool
sync_cmd_writes(const char *fmt, va_list ap)
{
	static const char *const verbs[] = {
	    "SELECT",   "UID STORE", "UID EXPUNGE", "UID MOVE",
	    "UID COPY", "APPEND",    "STORE",       "EXPUNGE",
	    "COPY",     "MOVE",      NULL,
	};
	const char *text = fmt;
	va_list aq;
	size_t i;

	if (strncmp(fmt, "%a", 2) == 0) {
		va_copy(aq, ap);
		text = va_arg(aq, const char *);
		va_end(aq);
	}
	for (i = 0; verbs[i] != NULL; i++) {
		if (strncasecmp(text, verbs[i], strlen(verbs[i])) == 0)
			return true;
	}
	return false;
}

struct imap_cmd *
sync_cmd(struct mbox_side *ms, bool select, imap_cmd_fn *cb, void *ctx,
         const char *fmt, ...)
{
	struct sync_server *srv = mbox_server(ms);
	struct sync_epoch *e = xcalloc(1, sizeof(*e));
	struct imap_cmd *cmd;
	va_list ap;

	e->srv = srv;
	e->ms = ms;
	e->phase = ms->mb->phase;
	e->cb = cb;
	e->ctx = ctx;
	e->select = select;
	va_start(ap, fmt);
	if (ms->mb->run->set.dry_run && sync_cmd_writes(fmt, ap)) {
		/* A mistake of ours, never a server's: stop, unsent. */
		va_end(ap);
		free(e);
		sync_fail(ms->mb, ms->side,
		          "internal error: a dry run was about to send %s",
		          fmt);
		ms->mb->run->fatal = true;
		return NULL;
	}
	cmd = imap_conn_cmdv(srv->conn, epoch_done, e, fmt, ap);
	va_end(ap);
	if (cmd == NULL) {
		free(e); /* the connection failed; sync_run_wait says why */
		return NULL;
	}
	if (srv->epoch_tail != NULL)
		srv->epoch_tail->next = e;
	else
		srv->epoch_head = e;
	srv->epoch_tail = e;
	if (select)
		srv->selected = ms;
	return cmd;
}

/* Untagged responses go to the mailbox of the oldest command in flight,
 * to the step that sent it; with none in flight (a server may speak
 * unasked), to the mailbox selected last, in the step it is in. */
void
sync_untagged(struct imap_conn *conn, const struct imap_response *resp,
              void *ctx)
{
	struct sync_server *srv = ctx;
	struct sync_epoch *e;
	struct mbox_side *ms = srv->selected;
	const struct sync_phase *p = ms != NULL ? ms->mb->phase : NULL;
	bool in_select = false;

	(void)conn;
	for (e = srv->epoch_head; e != NULL; e = e->next) {
		if (!e->done) {
			ms = e->ms;
			p = e->phase;
			in_select = e->select;
			break;
		}
	}
	if (ms == NULL)
		return;
	srv->answering = e;
	reply_untagged(resp, ms, p, in_select);
	srv->answering = NULL;
}

/* --- Selections and held commands -------------------------------------------
 */

static void
step_select_done(struct imap_conn *conn, const struct imap_response *resp,
                 void *ctx)
{
	struct mbox_side *ms = ctx;

	(void)conn;
	if (resp != NULL && resp->status != IMAP_STATUS_OK)
		sync_fail(ms->mb, ms->side, "cannot select mailbox: %s",
		          resp->text);
}

/* Select with QRESYNC from the first SELECT's HIGHESTMODSEQ: what
 * changed since is reported, our own changes and others'. Where only
 * FETCH .PEEK runs, EXAMINE: its answer is a little shorter (no
 * PERMANENTFLAGS list). */
void
sync_select_qresync(struct mbox_side *ms, bool write)
{
	ms->round.ro = !write;
	sync_cmd(ms, true, step_select_done, ms, "%a %s (QRESYNC (%u %U))",
	         write ? "SELECT" : "EXAMINE", ms->wire, ms->uidvalidity,
	         ms->hms);
}

void
sync_select_for_step(struct mbox_side *ms, bool write)
{
	if (ms->step_selected && (!write || !ms->round.ro))
		return;
	ms->step_selected = true;
	if (!write && mbox_server(ms)->selected == ms) {
		/* Still selected from the step before (the last mailbox of
		 * its flight: with a single changed mailbox, the usual
		 * case of new mail): reading needs no new selection. */
		ms->round.ro = true;
		ms->round.sel = false;
		return;
	}
	if (ms->mb->phase == &sync_phase_apply && write) {
		ms->round.sel = true;
		sync_select_qresync(ms, write);
		return;
	}
	/* Only FETCH .PEEK runs there (a copy's source): nothing it does
	 * needs checking, and what others change meanwhile is the next
	 * run's, from the first SELECT's numbers: no QRESYNC (~25 bytes). */
	ms->round.ro = true;
	ms->round.sel = false;
	sync_cmd(ms, true, step_select_done, ms, "EXAMINE %s", ms->wire);
}

/* A command kept by sync_cmd_step(), formatted. */
struct sync_held {
	struct sync_held *next;
	imap_cmd_fn *cb;
	void *ctx;
	char *text;
};

/* fmt with %a and %U only, as text for "%a". No cap of its own: the
 * pieces are bounded by the callers (a UID set by IMAP_MAX_UIDSET_CMD,
 * a flag list by SYNC_MAX_FLAGS_MERGED). */
static char *
held_format(const char *fmt, va_list ap)
{
	struct buf *b = buf_create(BUF_NO_CAP);
	char *text;
	int ret = 0;

	for (; *fmt != '\0'; fmt++) {
		char c[2] = {*fmt, '\0'};

		if (*fmt != '%') {
			ret |= buf_append_str(b, c);
			continue;
		}
		fmt++;
		if (*fmt == 'a')
			ret |= buf_append_str(b, va_arg(ap, const char *));
		else if (*fmt == 'U')
			ret |= buf_printf(b, "%" PRIu64, va_arg(ap, uint64_t));
		else
			abort(); /* a caller's mistake */
	}
	if (ret != 0)
		xmalloc_fatal(buf_len(b));
	text = xstrdup(buf_data(b));
	buf_free(&b);
	return text;
}

void
sync_cmd_step(struct mbox_side *ms, imap_cmd_fn *cb, void *ctx, const char *fmt,
              ...)
{
	struct sync_held *h;
	va_list ap;

	if (!ms->hold.on) {
		sync_select_for_step(ms, true);
		va_start(ap, fmt);
		h = xcalloc(1, sizeof(*h));
		h->text = held_format(fmt, ap);
		va_end(ap);
		sync_cmd(ms, false, cb, ctx, "%a", h->text);
		free(h->text);
		free(h);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	va_start(ap, fmt);
	h->text = held_format(fmt, ap);
	va_end(ap);
	h->cb = cb;
	h->ctx = ctx;
	if (ms->hold.head == NULL)
		ms->hold.tail = &ms->hold.head;
	*ms->hold.tail = h;
	ms->hold.tail = &h->next;
}

bool
sync_release(struct mbox_side *ms)
{
	struct sync_held *h;
	bool any = ms->hold.head != NULL;

	if (ms->mb->run->fatal) {
		sync_held_discard(ms);
		return false;
	}
	ms->hold.on = false;
	if (any)
		sync_select_live(ms, true);
	while ((h = ms->hold.head) != NULL) {
		ms->hold.head = h->next;
		if (sync_cmd(ms, false, h->cb, h->ctx, "%a", h->text) == NULL &&
		    h->cb != NULL)
			h->cb(NULL, NULL, h->ctx);
		free(h->text);
		free(h);
	}
	ms->hold.tail = &ms->hold.head;
	return any;
}

/* Commands kept and never sent (the run stops): their contexts go. */
void
sync_held_discard(struct mbox_side *ms)
{
	struct sync_held *h;

	while ((h = ms->hold.head) != NULL) {
		ms->hold.head = h->next;
		if (h->cb != NULL)
			h->cb(NULL, NULL, h->ctx);
		free(h->text);
		free(h);
	}
	ms->hold.tail = &ms->hold.head;
	ms->hold.on = false;
}

void
sync_select_live(struct mbox_side *ms, bool write)
{
	if (ms->round.sel && mbox_server(ms)->selected == ms &&
	    (!write || !ms->round.ro))
		return;
	ms->step_selected = true;
	ms->round.sel = true;
	sync_select_qresync(ms, write);
}
