/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz the typed reply decoders (proto/imap-decode.c) on what the parser
 * makes of a server's byte stream: each response goes to the decoder its
 * keyword calls for (FETCH, LIST/LSUB, STATUS, VANISHED, CAPABILITY,
 * ENABLED) and every response to the response-code decoder.
 * What a decoder returns is read in full, so that a pointer outside the
 * response or a length past its string shows under AddressSanitizer; a
 * failure must say why. The first byte picks the parser's limits (inline
 * or spilled literals). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-decode.h"
#include "imap-parser.h"
#include "uidset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_settings fuzz_set[2] = {
    {
        .max_line = 4096,
        .max_literal = 65536,
        .max_inline_literal = 4096,
        .max_response = 16384,
        .max_depth = 8,
        .max_args = 1000,
    },
    {
        .max_line = 4096,
        .max_literal = 65536,
        .max_inline_literal = 8,
        .max_response = 16384,
        .max_depth = 8,
        .max_args = 1000,
    },
};

static volatile uint64_t sink;

static void
touch(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < len; i++)
		sink += s[i];
}

static void
touch_str(const char *s)
{
	if (s != NULL)
		touch(s, strlen(s) + 1);
}

static void
touch_args(const struct imap_arg *args, size_t count)
{
	unsigned char c;
	size_t i;

	if (count > 0 && args == NULL)
		__builtin_trap();
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (a->str != NULL)
			touch(a->str, a->len + 1);
		else if (a->fd >= 0 && a->len > 0 &&
		         pread(a->fd, &c, 1, (off_t)a->len - 1) != 1)
			__builtin_trap();
		if (a->list != NULL)
			touch_args(a->list, a->len);
	}
}

static void
failed(int ret, const char *error)
{
	if (ret != 0 && ret != -1)
		__builtin_trap();
	if (ret == -1 && (error == NULL || *error == '\0'))
		__builtin_trap();
}

static void
touch_set(struct uidset *set)
{
	struct uidset_iter it;
	uint32_t uid;
	unsigned n = 0;

	sink += uidset_count(set);
	uidset_iter_init(&it, set);
	while (n++ < 64 && uidset_iter_next(&it, &uid))
		sink += uid;
	uidset_free(set);
}

static void
decode_one(const struct imap_response *r)
{
	struct uidset set = UIDSET_INIT, set2 = UIDSET_INIT;
	struct imap_resp_code code;
	const char *error = NULL;
	const char *name = r->name != NULL ? r->name : "";
	uint64_t caps;
	int ret;

	ret = imap_decode_code(r, &code, &set, &set2, &error);
	failed(ret, error);
	if (ret == 0) {
		touch_args(code.flags, code.flags_count);
		touch_str(code.mailboxid);
	}
	touch_set(&set);
	touch_set(&set2);
	if (r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_STATUS_NONE)
		return;
	error = NULL;
	if (strcmp(name, "FETCH") == 0) {
		struct imap_fetch f;

		ret = imap_decode_fetch(r, &f, &error);
		failed(ret, error);
		if (ret == 0) {
			touch_args(f.flags, f.flags_count);
			touch_str(f.internaldate);
			touch_str(f.x_guid);
			touch_str(f.emailid);
			if (f.body != NULL)
				touch_args(f.body, 1);
			if (f.header != NULL)
				touch_args(f.header, 1);
		}
	} else if (strcmp(name, "LIST") == 0 || strcmp(name, "LSUB") == 0) {
		struct imap_list l;

		ret = imap_decode_list(r, &l, &error);
		failed(ret, error);
		if (ret == 0) {
			touch(l.name, l.name_len);
			touch_str(l.oldname);
		}
	} else if (strcmp(name, "STATUS") == 0) {
		struct imap_status_data st;

		ret = imap_decode_status(r, &st, &error);
		failed(ret, error);
		if (ret == 0) {
			touch(st.mailbox, st.mailbox_len);
			touch_str(st.x_guid);
			touch_str(st.mailboxid);
		}
	} else if (strcmp(name, "VANISHED") == 0) {
		bool earlier;

		ret = imap_decode_vanished(r, &earlier, &set, &error);
		failed(ret, error);
		touch_set(&set);
	} else if (strcmp(name, "CAPABILITY") == 0) {
		ret = imap_decode_capability(r->args, r->count, &caps, &error);
		failed(ret, error);
	} else if (strcmp(name, "ENABLED") == 0) {
		ret = imap_decode_enabled(r, &caps, &error);
		failed(ret, error);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct imap_response *r;
	struct imap_parser *p;
	const char *error;
	size_t off = 1;
	int ret;

	if (size < 1)
		return 0;
	p = imap_parser_create(&fuzz_set[data[0] & 1]);
	if (p == NULL)
		abort();
	while (off < size) {
		size_t n = imap_parser_feed(p, data + off, size - off);

		off += n;
		while ((ret = imap_parser_next(p, &r, &error)) == 1)
			decode_one(r);
		if (ret < 0 || (n == 0 && ret == 0))
			break;
	}
	imap_parser_free(&p);
	return 0;
}
