/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "imap-writer.h"

#include "buf.h"
#include "imap-decode.h"
#include "limits.h"
#include "mutf7.h"
#include "uidset.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum seg_kind {
	SEG_MEM,    /* command text */
	SEG_SECRET, /* a credential (%P), in memory */
	SEG_BODY,   /* a literal's body, in memory */
	SEG_FD,     /* a literal's body, read from fd */
	SEG_LIT,    /* a literal's header "{n}\r\n" or "{n+}\r\n" */
	SEG_WAIT,   /* wait for "+" (synchronizing literal) */
	SEG_NOP,    /* a wait that LITERAL+ made unnecessary */
};

struct seg {
	enum seg_kind kind;
	bool sync;    /* SEG_LIT: synchronizing */
	int fd;       /* SEG_FD */
	size_t off;   /* in-memory kinds: where in w->mem */
	uint64_t len; /* bytes of text or body; SEG_LIT: the literal's n */
};

struct imap_writer {
	struct buf *mem;
	struct seg *segs;
	size_t nsegs, alloc;
	/* The cursor: segment and offset inside it. */
	size_t cur;
	uint64_t cur_off;
	size_t traced; /* segments before this were traced */
	size_t mem_left;
	bool caps_set, started;
	char verb[16];
};

static struct seg *
writer_add_seg(struct imap_writer *w, enum seg_kind kind)
{
	struct seg *s;

	if (w->nsegs == w->alloc) {
		size_t nalloc = w->alloc == 0 ? 8 : w->alloc * 2;
		w->segs = xreallocarray(w->segs, nalloc, sizeof(*w->segs));
		w->alloc = nalloc;
	}
	s = &w->segs[w->nsegs++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->fd = -1;
	return s;
}

/* Append to w->mem, which has no cap of its own (BUF_NO_CAP): only
 * memory could run out before it. */
static void
writer_append(struct imap_writer *w, const void *data, size_t len)
{
	if (buf_append(w->mem, data, len) < 0)
		xmalloc_fatal(len);
}

static void writer_printf(struct imap_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
writer_printf(struct imap_writer *w, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(w->mem, fmt, ap);
	va_end(ap);
	if (ret < 0)
		xmalloc_fatal(strlen(fmt));
}

/* Record that the bytes from off to the end of w->mem are a segment. */
static void
writer_mark(struct imap_writer *w, enum seg_kind kind, size_t off)
{
	size_t len = buf_len(w->mem) - off;
	struct seg *s;

	if (len == 0 && kind == SEG_MEM)
		return;
	w->mem_left += len;
	/* Extend the last segment only while it is still to be written: a
	 * line added after the command went out (IDLE's DONE) is new. */
	if (kind == SEG_MEM && w->nsegs > 0 && w->cur < w->nsegs) {
		s = &w->segs[w->nsegs - 1];
		if (s->kind == SEG_MEM && s->off + s->len == off) {
			s->len += len;
			return;
		}
	}
	s = writer_add_seg(w, kind);
	s->off = off;
	s->len = len;
}

static void
writer_text(struct imap_writer *w, enum seg_kind kind, const void *data,
            size_t len)
{
	size_t off = buf_len(w->mem);

	writer_append(w, data, len);
	writer_mark(w, kind, off);
}

static void
writer_literal_header(struct imap_writer *w, uint64_t len)
{
	writer_add_seg(w, SEG_LIT)->len = len;
	writer_add_seg(w, SEG_WAIT);
}

static bool
writer_is_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static bool
writer_is_quotable(const char *s, size_t len)
{
	size_t i;

	if (len > IMAP_WRITER_QUOTED_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return true;
}

/* An astring (allow_atom) or a string; secret marks the bytes that carry
 * the value so traces can hide them. */
static void
writer_string(struct imap_writer *w, const char *s, size_t len, bool allow_atom,
              bool secret)
{
	enum seg_kind kind = secret ? SEG_SECRET : SEG_MEM;
	size_t off = buf_len(w->mem), i;

	if (allow_atom && writer_is_atom(s, len)) {
		writer_text(w, kind, s, len);
		return;
	}
	if (writer_is_quotable(s, len)) {
		writer_append(w, "\"", 1);
		for (i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				writer_append(w, "\\", 1);
			writer_append(w, &s[i], 1);
		}
		writer_append(w, "\"", 1);
		writer_mark(w, kind, off);
		return;
	}
	writer_literal_header(w, len);
	writer_text(w, secret ? SEG_SECRET : SEG_BODY, s, len);
}

static void __attribute__((noreturn))
writer_bad_fmt(const char *fmt, const char *p)
{
	fprintf(stderr, "imap_writer: bad directive at offset %zu in \"%s\"\n",
	        (size_t)(p - fmt), fmt);
	abort();
}

static void
writer_set_verb(struct imap_writer *w, const char *fmt)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(w->verb) && isalpha((unsigned char)fmt[i]);
	     i++)
		w->verb[i] = toupper((unsigned char)fmt[i]);
	w->verb[i] = '\0';
}

static int
writer_directive(struct imap_writer *w, char d, va_list *ap,
                 const char **error_r)
{
	size_t off = buf_len(w->mem);
	const char *s;

	switch (d) {
	case 'a':
		s = va_arg(*ap, const char *);
		writer_text(w, SEG_MEM, s, strlen(s));
		return 0;
	case 's':
	case 'q':
	case 'P':
		s = va_arg(*ap, const char *);
		writer_string(w, s, strlen(s), d != 'q', d == 'P');
		return 0;
	case 'm': {
		struct buf *enc = buf_create(IMAP_MAX_MAILBOX_NAME);

		s = va_arg(*ap, const char *);
		if (mutf7_encode(s, strlen(s), enc, error_r) < 0) {
			buf_free(&enc);
			return -2;
		}
		writer_string(w, buf_data(enc), buf_len(enc), true, false);
		buf_free(&enc);
		return 0;
	}
	case 'u':
		writer_printf(w, "%u", va_arg(*ap, unsigned));
		writer_mark(w, SEG_MEM, off);
		return 0;
	case 'U':
		writer_printf(w, "%" PRIu64, va_arg(*ap, uint64_t));
		writer_mark(w, SEG_MEM, off);
		return 0;
	case 'd':
		writer_printf(w, "%d", va_arg(*ap, int));
		writer_mark(w, SEG_MEM, off);
		return 0;
	case 'S':
		if (uidset_format(va_arg(*ap, const struct uidset *), w->mem) <
		    0)
			xmalloc_fatal(IMAP_MAX_UIDSET_CMD);
		writer_mark(w, SEG_MEM, off);
		return 0;
	case 'L': {
		const void *data = va_arg(*ap, const void *);
		size_t len = va_arg(*ap, size_t);

		writer_literal_header(w, len);
		writer_text(w, SEG_BODY, data, len);
		return 0;
	}
	case 'F': {
		int fd = va_arg(*ap, int);
		uint64_t len = va_arg(*ap, uint64_t);
		struct seg *seg;

		writer_literal_header(w, len);
		seg = writer_add_seg(w, SEG_FD);
		seg->len = len;
		seg->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (seg->fd < 0) {
			*error_r = "cannot dup() a literal's fd";
			return -2;
		}
		return 0;
	}
	case '%':
		writer_text(w, SEG_MEM, "%", 1);
		return 0;
	default:
		return -3;
	}
}

struct imap_writer *
imap_writer_begin(const char *tag)
{
	struct imap_writer *w = xcalloc(1, sizeof(*w));

	w->mem = buf_create(BUF_NO_CAP);
	writer_text(w, SEG_MEM, tag, strlen(tag));
	writer_text(w, SEG_MEM, " ", 1);
	return w;
}

int
imap_writer_add(struct imap_writer *w, const char *fmt, va_list ap,
                const char **error_r)
{
	const char *p, *lit;
	va_list aq;
	int ret = 0;

	if (w->verb[0] == '\0')
		writer_set_verb(w, fmt);
	va_copy(aq, ap);
	for (p = fmt; *p != '\0' && ret == 0; p++) {
		if (*p != '%') {
			lit = strchr(p, '%');
			if (lit == NULL)
				lit = p + strlen(p);
			writer_text(w, SEG_MEM, p, lit - p);
			p = lit - 1;
			continue;
		}
		p++;
		ret = writer_directive(w, *p, &aq, error_r);
		if (ret == -3)
			writer_bad_fmt(fmt, p - 1);
	}
	va_end(aq);
	return ret < 0 ? -1 : 0;
}

void
imap_writer_end(struct imap_writer *w)
{
	writer_text(w, SEG_MEM, "\r\n", 2);
}

struct imap_writer *
imap_writer_create(const char *tag, const char *fmt, va_list ap,
                   const char **error_r)
{
	struct imap_writer *w = imap_writer_begin(tag);

	if (imap_writer_add(w, fmt, ap, error_r) < 0) {
		imap_writer_free(&w);
		return NULL;
	}
	imap_writer_end(w);
	return w;
}

void
imap_writer_free(struct imap_writer **wp)
{
	struct imap_writer *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	imap_writer_release(w);
	free(w->segs);
	free(w);
}

void
imap_writer_release(struct imap_writer *w)
{
	size_t i;

	for (i = 0; i < w->nsegs; i++) {
		if (w->segs[i].kind == SEG_SECRET && w->mem != NULL)
			buf_set_secret(w->mem);
		if (w->segs[i].fd >= 0) {
			close(w->segs[i].fd);
			w->segs[i].fd = -1;
		}
	}
	buf_free(&w->mem);
}

static void
writer_skip_nops(struct imap_writer *w)
{
	while (w->cur < w->nsegs && w->segs[w->cur].kind == SEG_NOP) {
		w->cur++;
		w->cur_off = 0;
	}
}

void
imap_writer_set_caps(struct imap_writer *w, uint64_t caps)
{
	size_t i;

	if (w->caps_set)
		return;
	w->caps_set = true;
	for (i = 0; i < w->nsegs; i++) {
		struct seg *s = &w->segs[i];

		if (s->kind != SEG_LIT)
			continue;
		s->sync = !((caps & IMAP_CAP_LITERALPLUS) != 0 ||
		            ((caps & IMAP_CAP_LITERALMINUS) != 0 &&
		             s->len <= IMAP_WRITER_LITERAL_MINUS_MAX));
		if (!s->sync)
			w->segs[i + 1].kind = SEG_NOP;
	}
	writer_skip_nops(w);
}

void
imap_writer_add_line(struct imap_writer *w, const void *data, size_t len,
                     bool secret)
{
	writer_text(w, secret ? SEG_SECRET : SEG_MEM, data, len);
	writer_text(w, SEG_MEM, "\r\n", 2);
}

static size_t
writer_lit_header(const struct seg *s, char *out, size_t size)
{
	int n = snprintf(out, size, "{%" PRIu64 "%s}\r\n", s->len,
	                 s->sync ? "" : "+");

	return n < 0 ? 0 : (size_t)n;
}

ssize_t
imap_writer_fill(struct imap_writer *w, void *dest, size_t size,
                 const char **error_r)
{
	char *out = dest, hdr[32];
	size_t done = 0, k;
	ssize_t n;

	if (!w->caps_set)
		abort();
	writer_skip_nops(w);
	while (done < size && w->cur < w->nsegs) {
		struct seg *s = &w->segs[w->cur];
		uint64_t left;

		if (s->kind == SEG_WAIT)
			break;
		if (s->kind == SEG_LIT) {
			left =
			    writer_lit_header(s, hdr, sizeof(hdr)) - w->cur_off;
			k = left < size - done ? left : size - done;
			memcpy(out + done, hdr + w->cur_off, k);
		} else if (s->kind == SEG_FD) {
			left = s->len - w->cur_off;
			k = left < size - done ? left : size - done;
			if (k > 0) {
				do {
					n = pread(s->fd, out + done, k,
					          w->cur_off);
				} while (n < 0 && errno == EINTR);
				if (n <= 0 && done > 0)
					break; /* the error comes next call */
				if (n <= 0) {
					*error_r = n < 0 ? strerror(errno)
					                 : "literal file is "
					                   "shorter than said";
					return -1;
				}
				k = n;
			}
		} else {
			left = s->len - w->cur_off;
			k = left < size - done ? left : size - done;
			memcpy(out + done,
			       buf_data(w->mem) + s->off + w->cur_off, k);
			w->mem_left -= k;
		}
		done += k;
		w->cur_off += k;
		if (k == left) {
			w->cur++;
			w->cur_off = 0;
			writer_skip_nops(w);
		}
	}
	if (done > 0)
		w->started = true;
	return done;
}

bool
imap_writer_stalled(const struct imap_writer *w)
{
	return w->cur < w->nsegs && w->segs[w->cur].kind == SEG_WAIT;
}

void
imap_writer_resume(struct imap_writer *w)
{
	if (imap_writer_stalled(w)) {
		w->cur++;
		w->cur_off = 0;
		writer_skip_nops(w);
	}
}

bool
imap_writer_finished(const struct imap_writer *w)
{
	size_t i;

	for (i = w->cur; i < w->nsegs; i++) {
		if (w->segs[i].kind != SEG_NOP)
			return false;
	}
	return true;
}

bool
imap_writer_at_start(const struct imap_writer *w)
{
	return !w->started;
}

void
imap_writer_abort(struct imap_writer *w)
{
	w->cur = w->nsegs;
	w->cur_off = 0;
	w->mem_left = 0;
	w->traced = w->nsegs;
}

size_t
imap_writer_mem_pending(const struct imap_writer *w)
{
	return w->mem_left;
}

const char *
imap_writer_verb(const struct imap_writer *w)
{
	return w->verb;
}

const char *
imap_writer_text(const struct imap_writer *w, size_t *len_r)
{
	*len_r = buf_len(w->mem);
	return buf_data(w->mem);
}

void
imap_writer_what(const struct imap_writer *w, char *out, size_t size)
{
	const char *p = buf_data(w->mem);
	size_t len = buf_len(w->mem), i = 0, o = 0, start;
	unsigned words;

	if (size == 0)
		return;
	/* Past the tag. */
	while (i < len && p[i] != ' ')
		i++;
	for (words = 0; words < 2 && i < len && p[i] == ' '; words++) {
		start = ++i;
		while (i < len && isalpha((unsigned char)p[i]))
			i++;
		if (i == start)
			break;
		if (o > 0 && o + 1 < size)
			out[o++] = ' ';
		for (; start < i && o + 1 < size; start++)
			out[o++] = toupper((unsigned char)p[start]);
		if (o != 3 || strncmp(out, "UID", 3) != 0)
			break;
	}
	out[o] = '\0';
}

/* Append a literal's body from its fd to out, for a full trace. */
static void
writer_trace_fd(const struct seg *s, struct buf *out)
{
	uint64_t off = 0;
	char tmp[65536];
	ssize_t n;

	while (off < s->len) {
		size_t want =
		    s->len - off < sizeof(tmp) ? s->len - off : sizeof(tmp);

		n = pread(s->fd, tmp, want, off);
		if (n <= 0 || buf_append(out, tmp, n) < 0)
			break;
		off += n;
	}
}

static void
writer_trace_emit(struct buf *text, imap_writer_trace_fn *fn, void *ctx)
{
	const char *p = buf_data(text), *end = p + buf_len(text), *nl;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL) {
			fn(ctx, p, end - p);
			break;
		}
		fn(ctx, p, nl - p - (nl > p && nl[-1] == '\r'));
		p = nl + 1;
	}
}

void
imap_writer_trace(struct imap_writer *w, int debug, imap_writer_trace_fn *fn,
                  void *ctx)
{
	struct buf *text;
	char hdr[32];
	int full = 0;

	if (w->traced >= w->nsegs)
		return;
	text = buf_create(BUF_NO_CAP);
	if (debug >= 2)
		buf_set_secret(text);
	while (w->traced < w->nsegs) {
		const struct seg *s = &w->segs[w->traced];

		if (s->kind == SEG_WAIT && w->cur <= w->traced)
			break;
		switch (s->kind) {
		case SEG_MEM:
			full |=
			    buf_append(text, buf_data(w->mem) + s->off, s->len);
			break;
		case SEG_SECRET:
			if (debug >= 2)
				full |= buf_append(
				    text, buf_data(w->mem) + s->off, s->len);
			else
				full |= buf_append_str(text, "<redacted>");
			break;
		case SEG_BODY:
			if (debug >= 2)
				full |= buf_append(
				    text, buf_data(w->mem) + s->off, s->len);
			else
				full |= buf_printf(text, "{%" PRIu64 " bytes}",
				                   s->len);
			break;
		case SEG_FD:
			if (debug >= 2)
				writer_trace_fd(s, text);
			else
				full |= buf_printf(text, "{%" PRIu64 " bytes}",
				                   s->len);
			break;
		case SEG_LIT:
			full |= buf_append(
			    text, hdr, writer_lit_header(s, hdr, sizeof(hdr)));
			break;
		case SEG_WAIT:
		case SEG_NOP:
			break;
		}
		w->traced++;
	}
	/* BUF_NO_CAP: only memory could have run out. */
	if (full != 0)
		xmalloc_fatal(buf_len(text));
	writer_trace_emit(text, fn, ctx);
	buf_free(&text);
}
