/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of mailbox names
 * on the wire before IMAP4rev2 and UTF8=ACCEPT. */
#ifndef PROTO_MUTF7_H
#define PROTO_MUTF7_H

#include <stddef.h>

struct buf;

/* Append the modified UTF-7 form of the UTF-8 name to out. -1 with
 * *error_r when the input is not valid UTF-8 (overlong forms, surrogates,
 * code points past U+10FFFF, NUL) or out's cap is reached. Either form of
 * a name is at most IMAP_MAX_MAILBOX_NAME bytes. On error out is left as
 * it was. */
int mutf7_encode(const char *utf8, size_t len, struct buf *out,
                 const char **error_r) __attribute__((warn_unused_result));
/* Append the UTF-8 form of a modified UTF-7 name to out. -1 with *error_r
 * on invalid input: a non-ASCII or control byte, an unterminated "&"
 * section, bad base64, padding bits that are not zero, an encoded
 * printable ASCII character, "&-" style sequences that are not minimal,
 * broken surrogate pairs, or two encoded sections back to back. */
int mutf7_decode(const char *mutf7, size_t len, struct buf *out,
                 const char **error_r) __attribute__((warn_unused_result));

#endif
