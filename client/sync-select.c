/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Selections and held commands of the APPLY step: a mailbox is
 * selected with QRESYNC there, so the selection doubles as the CHECK
 * (sync.c), and the commands of a side that receives copies wait for
 * its first APPEND, to share that selection. */
#include "sync-private.h"

#include "buf.h"
#include "imap-conn.h"
#include "limits.h"
#include "log.h"
#include "uidset.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
	ms->live_ro = !write;
	sync_cmd(ms, true, step_select_done, ms, "%a %s (QRESYNC (%u %U))",
	         write ? "SELECT" : "EXAMINE", ms->wire, ms->uidvalidity,
	         ms->hms);
}

void
sync_select_for_step(struct mbox_side *ms, bool write)
{
	if (ms->step_selected && (!write || !ms->live_ro))
		return;
	ms->step_selected = true;
	if (!write && mbox_server(ms)->selected == ms) {
		/* Still selected from the step before (the last mailbox of
		 * its flight: with a single changed mailbox, the usual
		 * case of new mail): reading needs no new selection. */
		ms->live_ro = true;
		ms->live_sel = false;
		return;
	}
	if (ms->mb->phase == &sync_phase_apply && write) {
		ms->live_sel = true;
		sync_select_qresync(ms, write);
		return;
	}
	/* Only FETCH .PEEK runs there (a copy's source): nothing it does
	 * needs checking, and what others change meanwhile is the next
	 * run's, from the first SELECT's numbers: no QRESYNC (~25 bytes). */
	ms->live_ro = true;
	ms->live_sel = false;
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

	if (!ms->hold) {
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
	if (ms->held == NULL)
		ms->held_tail = &ms->held;
	*ms->held_tail = h;
	ms->held_tail = &h->next;
}

bool
sync_release(struct mbox_side *ms)
{
	struct sync_held *h;
	bool any = ms->held != NULL;

	if (ms->mb->run->fatal) {
		sync_held_discard(ms);
		return false;
	}
	ms->hold = false;
	if (any)
		sync_select_live(ms, true);
	while ((h = ms->held) != NULL) {
		ms->held = h->next;
		if (sync_cmd(ms, false, h->cb, h->ctx, "%a", h->text) == NULL &&
		    h->cb != NULL)
			h->cb(NULL, NULL, h->ctx);
		free(h->text);
		free(h);
	}
	ms->held_tail = &ms->held;
	return any;
}

/* Commands kept and never sent (the run stops): their contexts go. */
void
sync_held_discard(struct mbox_side *ms)
{
	struct sync_held *h;

	while ((h = ms->held) != NULL) {
		ms->held = h->next;
		if (h->cb != NULL)
			h->cb(NULL, NULL, h->ctx);
		free(h->text);
		free(h);
	}
	ms->held_tail = &ms->held;
	ms->hold = false;
}

void
sync_select_live(struct mbox_side *ms, bool write)
{
	if (ms->live_sel && mbox_server(ms)->selected == ms &&
	    (!write || !ms->live_ro))
		return;
	ms->step_selected = true;
	ms->live_sel = true;
	sync_select_qresync(ms, write);
}
