/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz the IMAP response parser. The first byte says how many of the next
 * bytes are chunk sizes; the rest is the server's byte stream, fed in
 * chunks of those sizes in turn. Every returned argument is read in full,
 * spilled literals through pread(), and the same stream fed all at once
 * must give the same responses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-parser.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Limits picked by the top two bits of the first byte. The first set is
 * the main one; the others put max_response, the inline literal size or
 * the count of spilled literals within reach of a 4 KB input; the last is
 * the defaults. */
static const struct imap_parser_settings fuzz_set[4] = {
    {
        .max_line = 4096,
        .max_literal = 65536,
        .max_inline_literal = 64,
        .max_response = 16384,
        .max_depth = 8,
        .max_args = 1000,
    },
    {
        .max_line = 1024,
        .max_literal = 4096,
        .max_inline_literal = 2000,
        .max_response = 2048,
        .max_depth = 4,
        .max_args = 50,
    },
    {
        .max_line = 4096,
        .max_literal = 65536,
        .max_inline_literal = 4,
        .max_response = 16384,
        .max_depth = 8,
        .max_args = 1000,
    },
    {.max_line = 0},
};

/* Lists deeper than the parser's limit must never come out. */
static unsigned fuzz_max_depth;

static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t
hash_str(uint64_t h, const char *s)
{
	if (s == NULL)
		return hash_bytes(h, "\xff", 1);
	return hash_bytes(h, s, strlen(s) + 1);
}

static uint64_t
hash_args(uint64_t h, const struct imap_arg *args, size_t count, unsigned depth)
{
	unsigned char tmp[512];
	const char *s;
	uint64_t off, v;
	uint32_t v32;
	size_t i;
	ssize_t r;

	if (depth > fuzz_max_depth)
		__builtin_trap();
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		h = hash_bytes(h, &a->type, sizeof(a->type));
		h = hash_bytes(h, &a->len, sizeof(a->len));
		h = hash_bytes(h, &a->literal8, sizeof(a->literal8));
		(void)imap_arg_get_uint32(a, &v32);
		(void)imap_arg_get_uint64(a, &v);
		(void)imap_arg_get_nstring(a, &s);
		(void)imap_arg_is_atom(a, "NIL");
		switch (a->type) {
		case IMAP_ARG_NIL:
			if (a->str != NULL || a->fd != -1)
				__builtin_trap();
			break;
		case IMAP_ARG_LIST:
			if (a->fd != -1 || a->list == NULL)
				__builtin_trap();
			h = hash_args(h, a->list, a->len, depth + 1);
			break;
		case IMAP_ARG_ATOM:
		case IMAP_ARG_STRING:
		case IMAP_ARG_LITERAL:
			if (a->fd >= 0) {
				if (a->type != IMAP_ARG_LITERAL ||
				    a->str != NULL || a->len < 5)
					__builtin_trap();
				for (off = 0; off < a->len; off += (size_t)r) {
					r = pread(a->fd, tmp, sizeof(tmp), off);
					if (r <= 0)
						__builtin_trap();
					h = hash_bytes(h, tmp, (size_t)r);
				}
				if (pread(a->fd, tmp, 1, off) != 0)
					__builtin_trap();
				break;
			}
			if (a->str == NULL || a->str[a->len] != '\0')
				__builtin_trap();
			if (a->type == IMAP_ARG_ATOM &&
			    (a->len == 0 || strlen(a->str) != a->len))
				__builtin_trap();
			h = hash_bytes(h, a->str, a->len);
			break;
		}
	}
	return h;
}

static uint64_t
hash_resp(uint64_t h, const struct imap_response *r)
{
	h = hash_bytes(h, &r->kind, sizeof(r->kind));
	h = hash_str(h, r->tag);
	h = hash_bytes(h, &r->has_number, sizeof(r->has_number));
	h = hash_bytes(h, &r->number, sizeof(r->number));
	h = hash_str(h, r->name);
	h = hash_bytes(h, &r->status, sizeof(r->status));
	h = hash_str(h, r->code);
	h = hash_args(h, r->code_args, r->code_count, 0);
	h = hash_str(h, r->text);
	h = hash_str(h, r->malformed);
	return hash_args(h, r->args, r->count, 0);
}

/* Feed the stream in the given chunk sizes (whole when nchunks is 0);
 * returns the hash of every response and how parsing ended. */
static uint64_t
run(const uint8_t *in, size_t len, const uint8_t *chunks, size_t nchunks,
    const struct imap_parser_settings *set, int *end_r)
{
	struct imap_parser *p = imap_parser_create(set);
	const struct imap_response *r;
	const char *error = NULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t off = 0, n, ci = 0, room;
	void *space;
	int ret = 0;

	if (p == NULL)
		abort();
	while (ret >= 0) {
		if (off < len) {
			n = nchunks == 0 ? len - off
			                 : 1 + chunks[ci++ % nchunks];
			if (n > len - off)
				n = len - off;
			if (nchunks > 0 && chunks[ci % nchunks] & 1) {
				space = imap_parser_input_space(p, &room);
				if (n > room)
					n = room;
				if (n > 0)
					memcpy(space, in + off, n);
				imap_parser_input_commit(p, n);
			} else {
				n = imap_parser_feed(p, in + off, n);
			}
			off += n;
		}
		while ((ret = imap_parser_next(p, &r, &error)) == 1)
			h = hash_resp(h, r);
		if (ret < 0 && (error == NULL || *error == '\0'))
			__builtin_trap();
		if (ret == 0 && off == len)
			break;
	}
	if (ret < 0 && imap_parser_next(p, &r, &error) != -1)
		__builtin_trap();
	imap_parser_free(&p);
	*end_r = ret;
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imap_parser_settings *set;
	size_t nchunks;
	uint64_t h1, h2;
	int end1, end2;

	if (size == 0)
		return 0;
	set = &fuzz_set[data[0] >> 6];
	fuzz_max_depth = set->max_depth != 0 ? set->max_depth : IMAP_MAX_DEPTH;
	nchunks = data[0] % 8;
	if (nchunks + 1 > size)
		return 0;
	h1 = run(data + 1 + nchunks, size - 1 - nchunks, data + 1, nchunks, set,
	         &end1);
	h2 = run(data + 1 + nchunks, size - 1 - nchunks, NULL, 0, set, &end2);
	if (h1 != h2 || end1 != end2) {
		fprintf(stderr, "chunked and whole feeds differ\n");
		__builtin_trap();
	}
	return 0;
}
