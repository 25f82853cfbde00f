/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The decision trace (--debug=sync): a line for every phase a mailbox
 * enters, with its counts, and for every decision the engine takes, with
 * its reason (paired, moved, expunged, stored, conflict, copied, braked,
 * committed), so that a maintainer reads why a run did what it did
 * without reading the code. Every line goes through sync_trace_line();
 * callers use the sync_trace() macro (sync-private.h), which evaluates
 * nothing unless the trace is on. The lines are only logged: nothing here
 * sends a byte.
 *
 *   sync: local INBOX: paired 12<->40 by size, date and Message-ID ...
 *   ^^^^^ ^^^^^ ^^^^^  ^^^^^^
 *   grep  side  mailbox the decision, then its numbers and reason */
#include "sync-private.h"

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "mutf7.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Texts made for one line: a few per line at most, each used before the
 * ring comes round again. */
#define TRACE_RING 8

static struct buf *trace_ring[TRACE_RING];
static unsigned trace_next;

/* The next buffer of the ring, emptied. */
static struct buf *
trace_buf(void)
{
	struct buf **b = &trace_ring[trace_next];

	trace_next = (trace_next + 1) % TRACE_RING;
	if (*b == NULL)
		*b = buf_create(SYNC_TRACE_MAX_ITEM);
	buf_reset(*b);
	return *b;
}

const char *
sync_trace_name(const struct mbox *mb)
{
	struct buf *b = trace_buf();
	const char *error;

	if (mutf7_decode(mb->display, strlen(mb->display), b, &error) < 0)
		return mb->display;
	return buf_data(b);
}

void
sync_trace_line(const struct mbox *mb, int side, const char *fmt, ...)
{
	struct buf *line;
	va_list ap;

	if (!log_sync_tracing())
		return;
	line = buf_create(LOG_MAX_LINE);
	if (side >= 0)
		buf_printf_fit(line, "%s ", side_name((enum side)side));
	if (mb != NULL)
		buf_printf_fit(line, "%s: ", sync_trace_name(mb));
	va_start(ap, fmt);
	buf_vprintf_fit(line, fmt, ap);
	va_end(ap);
	sync_trace_text("%s", buf_data(line));
	buf_free(&line);
}

void
sync_trace_text(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_sync_trace(fmt, ap);
	va_end(ap);
}

const char *
sync_trace_uids(const struct uidset *set)
{
	struct buf *b = trace_buf();
	size_t pos = 0;

	if (set->n == 0)
		return "none";
	/* A long set is cut, with how many UIDs it holds. */
	(void)uidset_format_chunk(set, &pos, SYNC_TRACE_MAX_ITEM / 2, b);
	if (pos < set->n)
		buf_printf_fit(b, ",... (%llu UIDs)",
		               (unsigned long long)uidset_count(set));
	return buf_data(b);
}

const char *
sync_trace_key(const unsigned char *key)
{
	struct buf *b = trace_buf();
	size_t i;

	/* Enough of it to tell two keys apart in one run. */
	for (i = 0; i < 6 && i < SYNC_KEY_LEN; i++)
		buf_printf_fit(b, "%02x", key[i]);
	return buf_data(b);
}

/* Whether the flag of length len at f is in the canonical list. */
static bool
flag_in(const char *list, const char *f, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == len && strncasecmp(p, f, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

/* Append to b each flag of a missing from b_list, with mark. */
static void
flags_missing(struct buf *b, const char *a, const char *b_list, char mark)
{
	const char *p = a;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n > 0 && !flag_in(b_list, p, n))
			buf_printf_fit(b, "%s%c%.*s", buf_len(b) > 0 ? " " : "",
			               mark, (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
}

const char *
sync_trace_flag_diff(const char *from, const char *to)
{
	struct buf *b = trace_buf();

	if (from == NULL || to == NULL)
		return "unknown";
	flags_missing(b, to, from, '+');
	flags_missing(b, from, to, '-');
	return buf_len(b) > 0 ? buf_data(b) : "no change";
}

/* The moves out of ms not sent yet. */
static size_t
moves_left(const struct mbox_side *ms)
{
	size_t i, n = 0;

	for (i = 0; i < ms->move.count; i++)
		n += !ms->move.list[i].queued;
	return n;
}

void
sync_trace_phase(const struct mbox *mb, const struct sync_phase *from,
                 const struct sync_phase *to)
{
	const struct mbox_side *l = &mb->s[SIDE_LOCAL];
	const struct mbox_side *r = &mb->s[SIDE_REMOTE];

	if (from == to) {
		sync_trace_line(mb, -1, "phase %s", to->name);
		return;
	}
	sync_trace_line(
	    mb, -1,
	    "phase %s -> %s: local %llu vanished, %zu changed, "
	    "%llu new, %zu to move; remote %llu vanished, %zu "
	    "changed, %llu new, %zu to move",
	    from->name, to->name,
	    (unsigned long long)uidset_count(&l->vanished),
	    l->modified.count + l->carry.count,
	    (unsigned long long)uidset_count(&l->fresh), moves_left(l),
	    (unsigned long long)uidset_count(&r->vanished),
	    r->modified.count + r->carry.count,
	    (unsigned long long)uidset_count(&r->fresh), moves_left(r));
}
