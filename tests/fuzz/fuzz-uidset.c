/* SPDX-License-Identifier: GPL-3.0-or-later */
/* UID sets: what parses must format and parse back to the same ranges,
 * normalize to sorted and apart, and split into chunks that join up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "uidset.h"

static void
check_same(const struct uidset *x, const struct uidset *y)
{
	if (x->n != y->n ||
	    (x->n > 0 && memcmp(x->r, y->r, x->n * sizeof(*x->r)) != 0) ||
	    uidset_count(x) != uidset_count(y))
		abort();
}

static void
copy_set(struct uidset *dst, const struct uidset *src)
{
	size_t i;

	uidset_clear(dst);
	for (i = 0; i < src->n; i++) {
		if (uidset_add_range(dst, src->r[i].lo, src->r[i].hi) < 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct buf *out;
	struct uidset set = UIDSET_INIT, back = UIDSET_INIT;
	struct uidset norm = UIDSET_INIT;
	const char *s = (const char *)data, *error;
	const uint32_t star = 4000000000U;
	size_t i, pos, max, n;
	uint64_t count;
	uint32_t uid;

	if (out == NULL)
		out = buf_create(1024 * 1024);
	buf_reset(out);

	if (uidset_parse(&set, s, size, NULL, &error) == 0) {
		/* Without "*" in it, giving star changes nothing. */
		if (uidset_parse(&back, s, size, &star, &error) < 0)
			abort();
		check_same(&set, &back);
		uidset_clear(&back);
	} else if (set.n != 0) {
		abort();
	}
	uidset_clear(&set);
	if (uidset_parse(&set, s, size, &star, &error) < 0) {
		if (set.n != 0)
			abort();
		goto out;
	}

	if (uidset_format(&set, out) < 0)
		abort();
	if (uidset_parse(&back, buf_data(out), buf_len(out), NULL, &error) < 0)
		abort();
	check_same(&set, &back);

	count = uidset_count(&set);
	if (!uidset_nth(&set, count - 1, &uid) || uidset_nth(&set, count, &uid))
		abort();
	if (!uidset_contains(&set, uid))
		abort();

	/* Chunks written one after another give back the same ranges. */
	max = 1 + (size % 40);
	pos = 0;
	uidset_clear(&back);
	for (;;) {
		buf_reset(out);
		n = uidset_format_chunk(&set, &pos, max, out);
		if (n == 0)
			break;
		if (pos > set.n || (n > 1 && buf_len(out) > max))
			abort();
		if (uidset_parse(&back, buf_data(out), buf_len(out), NULL,
		                 &error) < 0)
			abort();
	}
	if (pos != set.n)
		abort();
	check_same(&set, &back);

	copy_set(&norm, &set);
	uidset_normalize(&norm);
	if (!uidset_is_normalized(&norm))
		abort();
	for (i = 1; i < norm.n; i++) {
		if ((uint64_t)norm.r[i].lo <= (uint64_t)norm.r[i - 1].hi + 1)
			abort();
	}
	for (i = 0; i < norm.n; i++) {
		if (norm.r[i].lo > norm.r[i].hi)
			abort();
	}
	if (uidset_count(&norm) > count)
		abort();
	for (i = 0; i < set.n; i++) {
		if (!uidset_contains(&norm, set.r[i].lo) ||
		    !uidset_contains(&norm, set.r[i].hi) ||
		    !uidset_contains(&set, set.r[i].hi))
			abort();
		if (set.r[i].lo > 1 &&
		    uidset_contains(&norm, set.r[i].lo - 1) !=
		        uidset_contains(&set, set.r[i].lo - 1))
			abort();
	}
	/* Normalizing the parsed set in place gives the same. */
	uidset_normalize(&set);
	check_same(&set, &norm);
out:
	uidset_free(&set);
	uidset_free(&back);
	uidset_free(&norm);
	return 0;
}
