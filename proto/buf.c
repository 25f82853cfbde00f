/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "buf.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct buf {
	char *mem;
	size_t off, len, alloc, max;
	bool secret;
};

struct buf *
buf_create(size_t max)
{
	struct buf *b = xcalloc(1, sizeof(*b));

	b->max = max;
	return b;
}

void
buf_free(struct buf **bp)
{
	struct buf *b = *bp;

	if (b == NULL)
		return;
	if (b->secret && b->mem != NULL)
		sodium_memzero(b->mem, b->alloc);
	free(b->mem);
	free(b);
	*bp = NULL;
}

void
buf_set_secret(struct buf *b)
{
	b->secret = true;
}

const char *
buf_data(const struct buf *b)
{
	return b->mem != NULL ? b->mem + b->off : "";
}

size_t
buf_len(const struct buf *b)
{
	return b->len;
}

size_t
buf_max(const struct buf *b)
{
	return b->max;
}

size_t
buf_avail(const struct buf *b)
{
	return b->max - b->len;
}

/* Make room for n more bytes plus the terminating NUL. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t need, nalloc;
	char *nmem;

	if (n > b->max - b->len)
		return -1;
	need = b->len + n + 1;
	if (b->off + need <= b->alloc)
		return 0;
	if (need <= b->alloc && b->off > 0) {
		/* Compact: the data fits if moved to the front. */
		memmove(b->mem, b->mem + b->off, b->len);
		if (b->secret)
			sodium_memzero(b->mem + b->len, b->off);
		b->off = 0;
		return 0;
	}
	nalloc = b->alloc < 256 ? 256 : b->alloc;
	while (nalloc < need)
		nalloc = nalloc > SIZE_MAX / 2 ? need : nalloc * 2;
	if (nalloc > b->max + 1)
		nalloc = b->max + 1;
	if (b->secret) {
		nmem = xmalloc(nalloc);
		if (b->mem != NULL) {
			memcpy(nmem, b->mem + b->off, b->len);
			sodium_memzero(b->mem, b->alloc);
			free(b->mem);
		}
	} else {
		if (b->off > 0) {
			memmove(b->mem, b->mem + b->off, b->len);
			b->off = 0;
		}
		nmem = xreallocarray(b->mem, nalloc, 1);
	}
	b->mem = nmem;
	b->off = 0;
	b->alloc = nalloc;
	return 0;
}

char *
buf_reserve(struct buf *b, size_t n)
{
	if (buf_grow(b, n) < 0)
		return NULL;
	return b->mem + b->off + b->len;
}

char *
buf_space(struct buf *b, size_t min, size_t *size_r)
{
	size_t room;

	if (buf_grow(b, min) < 0) {
		*size_r = 0;
		return NULL;
	}
	room = b->alloc - b->off - b->len - 1;
	if (room > b->max - b->len)
		room = b->max - b->len;
	*size_r = room;
	return b->mem + b->off + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->mem[b->off + b->len] = '\0';
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
	char *p = buf_reserve(b, n);

	if (p == NULL)
		return -1;
	if (n > 0)
		memcpy(p, data, n);
	buf_commit(b, n);
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_append_byte(struct buf *b, unsigned char c)
{
	return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	char *p;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = buf_reserve(b, (size_t)n)) == NULL)
		return -1;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	buf_commit(b, (size_t)n);
	return 0;
}

void
buf_vprintf_fit(struct buf *b, const char *fmt, va_list ap)
{
	if (buf_vprintf(b, fmt, ap) < 0)
		return; /* left out: the caller said that is harmless */
}

void
buf_printf_fit(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf_fit(b, fmt, ap);
	va_end(ap);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (b->secret)
		sodium_memzero(b->mem + b->off, n);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
	if (b->mem != NULL)
		b->mem[b->off + b->len] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	if (b->secret)
		sodium_memzero(b->mem + b->off + len, b->len - len);
	b->len = len;
	b->mem[b->off + b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	if (b->mem == NULL)
		return;
	if (b->secret)
		sodium_memzero(b->mem, b->alloc);
	b->off = b->len = 0;
	b->mem[0] = '\0';
}
