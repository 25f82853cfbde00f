/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
xmalloc_fatal(size_t size)
{
	char msg[96];
	int len;

	/* snprintf into the stack: no allocation on the way out. */
	if (size > 0)
		len = snprintf(msg, sizeof(msg),
		               "imapsync: out of memory (allocating %zu "
		               "bytes)\n",
		               size);
	else
		len = snprintf(msg, sizeof(msg), "imapsync: out of memory\n");
	if (len > 0)
		(void)!write(STDERR_FILENO, msg,
		             (size_t)len < sizeof(msg) ? (size_t)len
		                                       : sizeof(msg) - 1);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		xmalloc_fatal(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xmalloc_fatal(size > SIZE_MAX / n ? SIZE_MAX : n * size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *np;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((np = reallocarray(p, n, size)) == NULL)
		xmalloc_fatal(size > SIZE_MAX / n ? SIZE_MAX : n * size);
	return np;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *
xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);

	if (n > 0)
		memcpy(q, p, n);
	return q;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		xmalloc_fatal(strlen(fmt));
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
