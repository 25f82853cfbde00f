/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A growable byte buffer with a hard size cap, used wherever peer bytes
 * land (after OpenSSH's sshbuf). Data lives in [off, off+len) of the
 * allocation; consuming from the front is O(1) and compaction happens
 * lazily when room is needed at the end. */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf;

/* A new empty buffer that never holds more than max bytes (a cap from
 * limits.h). The caller owns it and frees it with buf_free(). Memory
 * itself runs out through xmalloc_fatal(): only the cap fails. */
struct buf *buf_create(size_t max);
/* Free the buffer, wiping its memory first if it was marked secret. */
void buf_free(struct buf **b);
/* Wipe the contents on every reallocation, reset and free (credentials). */
void buf_set_secret(struct buf *b);

/* The data, valid until the next call that changes the buffer. The byte
 * after the data is always NUL, so text can be used as a C string. */
const char *buf_data(const struct buf *b);
size_t buf_len(const struct buf *b);
size_t buf_max(const struct buf *b);
/* Bytes that may still be added before the cap. */
size_t buf_avail(const struct buf *b);

/* Room for n more bytes at the end; returns where to write them or NULL if
 * that would pass the cap. Call buf_commit() after. */
char *buf_reserve(struct buf *b, size_t n);
/* Mark n bytes written into the space from buf_reserve() as data. */
void buf_commit(struct buf *b, size_t n);
/* Room to write at the end: at least min and as much as is already
 * allocated (up to the cap), to read(2) into; *size_r says how much. */
char *buf_space(struct buf *b, size_t min, size_t *size_r);

/* Append; -1 if the cap would be passed (then nothing is appended): the
 * caller says what that means (a peer past a limit, a log line cut). */
int buf_append(struct buf *b, const void *data, size_t n)
    __attribute__((warn_unused_result));
int buf_append_str(struct buf *b, const char *s)
    __attribute__((warn_unused_result));
int buf_append_byte(struct buf *b, unsigned char c)
    __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0), warn_unused_result));
/* The same for text whose loss is harmless (a trace or summary line far
 * below its cap): appended if it fits, else nothing, and nothing to
 * check. */
void buf_printf_fit(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf_fit(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Drop n bytes from the front (n <= buf_len). */
void buf_consume(struct buf *b, size_t n);
/* Drop n bytes from the end (n <= buf_len). */
void buf_truncate(struct buf *b, size_t len);
/* Empty the buffer (wiping it if secret); keeps the allocation. */
void buf_reset(struct buf *b);

#endif
