/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Allocation that cannot fail: out of memory, the program says so on
 * stderr and aborts (xmalloc_fatal()), as OpenSSH's xmalloc.c does, so
 * the code after an allocation is about its job. Nothing is left half
 * done by that: the state database is crash-safe and the next run
 * resumes. Limits on what a peer may make us hold are another matter:
 * they are named in limits.h and fail the connection or the mailbox. */
#ifndef PROTO_XMALLOC_H
#define PROTO_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Say "out of memory" on stderr (without allocating) and abort; size:
 * what was asked, 0 if not known (a library's allocation). */
void xmalloc_fatal(size_t size) __attribute__((noreturn));

/* malloc, calloc, reallocarray, strdup, strndup, memdup; never NULL
 * (xmalloc(0) and xcalloc(0, n) return a unique pointer to free). */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xreallocarray(void *p, size_t n, size_t size)
    __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n)
    __attribute__((malloc, returns_nonnull));
void *xmemdup(const void *p, size_t n) __attribute__((malloc, returns_nonnull));
/* A formatted string the caller frees. */
char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), malloc, returns_nonnull));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0), malloc, returns_nonnull));

#endif
