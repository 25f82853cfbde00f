/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Modified UTF-7 both ways: whatever decodes must encode back to the same
 * bytes, and whatever encodes must decode back to the same UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"
#include "mutf7.h"

static void
check_printable(const struct buf *b)
{
	const char *p = buf_data(b);
	size_t i;

	for (i = 0; i < buf_len(b); i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf *a, *b;
	const char *in = (const char *)data, *error;

	if (a == NULL) {
		a = buf_create(4 * IMAP_MAX_MAILBOX_NAME);
		b = buf_create(4 * IMAP_MAX_MAILBOX_NAME);
	}
	buf_reset(a);
	buf_reset(b);
	if (mutf7_decode(in, size, a, &error) == 0) {
		if (memchr(buf_data(a), '\0', buf_len(a)) != NULL)
			abort();
		if (mutf7_encode(buf_data(a), buf_len(a), b, &error) < 0)
			abort();
		if (buf_len(b) != size || memcmp(buf_data(b), in, size) != 0)
			abort();
	} else if (buf_len(a) != 0) {
		abort();
	}

	buf_reset(a);
	buf_reset(b);
	if (mutf7_encode(in, size, a, &error) == 0) {
		check_printable(a);
		if (mutf7_decode(buf_data(a), buf_len(a), b, &error) < 0)
			abort();
		if (buf_len(b) != size || memcmp(buf_data(b), in, size) != 0)
			abort();
	} else if (buf_len(a) != 0) {
		abort();
	}
	return 0;
}
