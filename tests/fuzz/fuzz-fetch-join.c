/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz the joining of a message's FETCH items given in several responses
 * (proto/imap-fetch-join.c) on what the parser makes of a server's byte
 * stream: each FETCH goes to the join as the answer of one of two
 * commands (its sequence number picks which), whose wants the first byte
 * picks; EXPUNGE and VANISHED make what they remove ready; at the end
 * both commands are answered. Everything handed on is decoded and read
 * in full, so that an item held past its response, a pointer into a
 * freed copy or a closed body file shows under AddressSanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-decode.h"
#include "imap-fetch-join.h"
#include "imap-parser.h"
#include "uidset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_settings fuzz_set = {
    .max_line = 4096,
    .max_literal = 65536,
    .max_inline_literal = 8,
    .max_response = 16384,
    .max_depth = 8,
    .max_args = 1000,
};

static const unsigned wants[4] = {
    IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
        IMAP_FETCH_BODY,
    IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ |
        IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_HEADER,
    IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ,
    IMAP_FETCH_FLAGS,
};

static const int cmd[2];
static volatile uint64_t sink;

static void
touch_args(const struct imap_arg *args, size_t count)
{
	unsigned char c;
	size_t i, k;

	if (count > 0 && args == NULL)
		__builtin_trap();
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (a->str != NULL) {
			for (k = 0; k <= a->len; k++)
				sink += (unsigned char)a->str[k];
		} else if (a->fd >= 0 && a->len > 0 &&
		           pread(a->fd, &c, 1, (off_t)a->len - 1) != 1) {
			__builtin_trap();
		}
		if (a->list != NULL)
			touch_args(a->list, a->len);
	}
}

static void
handed(const struct imap_response *r)
{
	struct imap_fetch f;
	const char *error;

	if (r == NULL)
		__builtin_trap();
	touch_args(r->args, r->count);
	if (imap_decode_fetch(r, &f, &error) == 0)
		sink += f.uid + f.have;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imap_response *r, *out;
	struct imap_fetch_join *j;
	struct imap_parser *p;
	const char *error;
	size_t off = 1;
	unsigned want[2];
	int ret, i;

	if (size < 1)
		return 0;
	want[0] = wants[data[0] & 3];
	want[1] = wants[(data[0] >> 2) & 3];
	p = imap_parser_create(&fuzz_set);
	j = imap_fetch_join_create();
	if (p == NULL || j == NULL)
		abort();
	while (off < size) {
		size_t n = imap_parser_feed(p, data + off, size - off);

		off += n;
		while ((ret = imap_parser_next(p, &r, &error)) == 1) {
			const char *name = r->name != NULL ? r->name : "";

			if (strcmp(name, "FETCH") == 0) {
				i = r->number & 1;
				int jr = imap_fetch_join_add(
				    j, r, &cmd[i], want[i], &out, &error);
				if (jr > 0)
					handed(out);
				else if (jr < 0 && error == NULL)
					__builtin_trap();
			} else if (strcmp(name, "EXPUNGE") == 0 &&
			           r->has_number) {
				imap_fetch_join_expunge(j, r->number);
			} else if (strcmp(name, "VANISHED") == 0) {
				struct uidset set = UIDSET_INIT;
				bool earlier;

				if (imap_decode_vanished(r, &earlier, &set,
				                         &error) == 0 &&
				    !earlier) {
					uidset_normalize(&set);
					imap_fetch_join_vanished(j, &set);
				}
				uidset_free(&set);
			} else {
				continue;
			}
			while (imap_fetch_join_next(j, NULL, &out) > 0)
				handed(out);
		}
		if (ret < 0 || (n == 0 && ret == 0))
			break;
	}
	for (i = 0; i < 2; i++) {
		while (imap_fetch_join_next(j, &cmd[i], &out) > 0)
			handed(out);
	}
	if (imap_fetch_join_bytes(j) != 0)
		__builtin_trap();
	imap_fetch_join_free(&j);
	imap_parser_free(&p);
	return 0;
}
