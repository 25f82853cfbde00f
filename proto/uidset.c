/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "uidset.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"
#include "xmalloc.h"

void
uidset_init(struct uidset *set)
{
	set->r = NULL;
	set->n = 0;
	set->alloc = 0;
	set->normalized = true;
}

void
uidset_free(struct uidset *set)
{
	free(set->r);
	uidset_init(set);
}

void
uidset_clear(struct uidset *set)
{
	set->n = 0;
	set->normalized = true;
}

size_t uidset_max_ranges = IMAP_MAX_UIDSET_RANGES;

/* Room for extra more ranges, within uidset_max_ranges. */
static int
uidset_reserve(struct uidset *set, size_t extra)
{
	size_t nalloc;

	if (set->n > uidset_max_ranges || extra > uidset_max_ranges - set->n)
		return -1;
	if (set->n + extra <= set->alloc)
		return 0;
	nalloc = set->alloc < 16 ? 16 : set->alloc * 2;
	if (nalloc < set->n + extra)
		nalloc = set->n + extra;
	if (nalloc > uidset_max_ranges)
		nalloc = uidset_max_ranges;
	set->r = xreallocarray(set->r, nalloc, sizeof(*set->r));
	set->alloc = nalloc;
	return 0;
}

/* Append lo:hi (lo <= hi, room reserved) and keep the normalized flag
 * true only while the new range stays after and apart from the last. */
static void
uidset_push(struct uidset *set, uint32_t lo, uint32_t hi)
{
	if (set->n > 0 && (uint64_t)lo <= (uint64_t)set->r[set->n - 1].hi + 1)
		set->normalized = false;
	else if (set->n == 0)
		set->normalized = true;
	set->r[set->n].lo = lo;
	set->r[set->n].hi = hi;
	set->n++;
}

int
uidset_add(struct uidset *set, uint32_t uid)
{
	return uidset_add_range(set, uid, uid);
}

int
uidset_add_range(struct uidset *set, uint32_t lo, uint32_t hi)
{
	struct uid_range *last;
	uint32_t t;

	if (lo > hi) {
		t = lo;
		lo = hi;
		hi = t;
	}
	if (set->n > 0) {
		last = &set->r[set->n - 1];
		/* Growing the last range keeps set order: what is added
		 * comes right after it or is already in it. */
		if (lo >= last->lo && (uint64_t)lo <= (uint64_t)last->hi + 1) {
			if (hi > last->hi)
				last->hi = hi;
			return 0;
		}
	}
	if (uidset_reserve(set, 1) < 0)
		return -1;
	uidset_push(set, lo, hi);
	return 0;
}

/* A nz-number (RFC 3501: no leading zero, at most 2^32-1) or "*" at
 * s[*i]. */
static int
uidset_parse_uid(const char *s, size_t len, size_t *i, const uint32_t *star,
                 uint32_t *uid_r, const char **error_r)
{
	uint64_t v = 0;
	size_t start = *i;

	if (*i < len && s[*i] == '*') {
		if (star == NULL) {
			*error_r = "\"*\" not allowed in this UID set";
			return -1;
		}
		if (*star == 0) {
			*error_r = "\"*\" in an empty mailbox";
			return -1;
		}
		(*i)++;
		*uid_r = *star;
		return 0;
	}
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (uint64_t)(s[*i] - '0');
		if (v > UINT32_MAX) {
			*error_r = "UID out of range in UID set";
			return -1;
		}
		(*i)++;
	}
	if (*i == start) {
		*error_r = "missing number in UID set";
		return -1;
	}
	if (s[start] == '0') {
		*error_r = v == 0 ? "UID 0 in UID set"
		                  : "number with a leading zero in UID set";
		return -1;
	}
	*uid_r = (uint32_t)v;
	return 0;
}

int
uidset_parse(struct uidset *set, const char *s, size_t len,
             const uint32_t *star, const char **error_r)
{
	size_t i, nranges = 1, old_n = set->n;
	bool old_normalized = set->normalized;
	uint32_t lo, hi, t;

	if (len == 0) {
		*error_r = "empty UID set";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == ',')
			nranges++;
	}
	if (uidset_reserve(set, nranges) < 0) {
		*error_r = "more ranges in one UID set than imapsync takes "
		           "(IMAP_MAX_UIDSET_RANGES)";
		return -2;
	}
	i = 0;
	for (;;) {
		if (uidset_parse_uid(s, len, &i, star, &lo, error_r) < 0)
			goto fail;
		hi = lo;
		if (i < len && s[i] == ':') {
			i++;
			if (uidset_parse_uid(s, len, &i, star, &hi, error_r) <
			    0)
				goto fail;
			if (lo > hi) {
				t = lo;
				lo = hi;
				hi = t;
			}
		}
		uidset_push(set, lo, hi);
		if (i == len)
			return 0;
		if (s[i] != ',') {
			*error_r = "unexpected character in UID set";
			goto fail;
		}
		i++;
	}
fail:
	set->n = old_n;
	set->normalized = old_normalized;
	return -1;
}

static int
uidset_range_cmp(const void *a, const void *b)
{
	const struct uid_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void
uidset_normalize(struct uidset *set)
{
	size_t i, j = 0;

	if (set->normalized || set->n == 0) {
		set->normalized = true;
		return;
	}
	qsort(set->r, set->n, sizeof(*set->r), uidset_range_cmp);
	for (i = 1; i < set->n; i++) {
		if ((uint64_t)set->r[i].lo <= (uint64_t)set->r[j].hi + 1) {
			if (set->r[i].hi > set->r[j].hi)
				set->r[j].hi = set->r[i].hi;
		} else {
			set->r[++j] = set->r[i];
		}
	}
	set->n = j + 1;
	set->normalized = true;
}

int
uidset_subtract(struct uidset *set, struct uidset *minus)
{
	struct uidset keep = UIDSET_INIT;
	size_t i, j = 0;

	uidset_normalize(set);
	uidset_normalize(minus);
	for (i = 0; i < set->n; i++) {
		uint64_t lo = set->r[i].lo, hi = set->r[i].hi;

		while (j < minus->n && minus->r[j].hi < lo)
			j++;
		/* Cut [lo, hi] by every range of minus that meets it. */
		for (; j < minus->n && minus->r[j].lo <= hi; j++) {
			if (minus->r[j].lo > lo &&
			    uidset_add_range(&keep, (uint32_t)lo,
			                     minus->r[j].lo - 1) < 0)
				goto fail;
			if ((uint64_t)minus->r[j].hi + 1 > lo)
				lo = (uint64_t)minus->r[j].hi + 1;
			if (minus->r[j].hi >= hi)
				break;
		}
		if (lo <= hi &&
		    uidset_add_range(&keep, (uint32_t)lo, (uint32_t)hi) < 0)
			goto fail;
	}
	uidset_free(set);
	*set = keep;
	set->normalized = true;
	return 0;
fail:
	uidset_free(&keep);
	return -1;
}

uint64_t
uidset_count(const struct uidset *set)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < set->n; i++)
		n += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return n;
}

bool
uidset_nth(const struct uidset *set, uint64_t n, uint32_t *uid_r)
{
	uint64_t size;
	size_t i;

	for (i = 0; i < set->n; i++) {
		size = (uint64_t)set->r[i].hi - set->r[i].lo + 1;
		if (n < size) {
			*uid_r = (uint32_t)(set->r[i].lo + n);
			return true;
		}
		n -= size;
	}
	return false;
}

bool
uidset_contains(const struct uidset *set, uint32_t uid)
{
	size_t lo = 0, hi = set->n, mid, i;

	if (!set->normalized) {
		for (i = 0; i < set->n; i++) {
			if (uid >= set->r[i].lo && uid <= set->r[i].hi)
				return true;
		}
		return false;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (uid < set->r[mid].lo)
			hi = mid;
		else if (uid > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool
uidset_is_normalized(const struct uidset *set)
{
	size_t i;

	if (set->normalized)
		return true;
	for (i = 1; i < set->n; i++) {
		if ((uint64_t)set->r[i].lo <= (uint64_t)set->r[i - 1].hi + 1)
			return false;
	}
	return true;
}

/* One range as text, with a leading comma unless it comes first. */
static size_t
uidset_range_text(const struct uid_range *r, bool comma, char *text,
                  size_t size)
{
	int n;

	if (r->lo == r->hi)
		n = snprintf(text, size, "%s%" PRIu32, comma ? "," : "", r->lo);
	else
		n = snprintf(text, size, "%s%" PRIu32 ":%" PRIu32,
		             comma ? "," : "", r->lo, r->hi);
	return (size_t)n;
}

int
uidset_format(const struct uidset *set, struct buf *out)
{
	size_t i, n, start = buf_len(out);
	char text[32];

	for (i = 0; i < set->n; i++) {
		n = uidset_range_text(&set->r[i], i > 0, text, sizeof(text));
		if (buf_append(out, text, n) < 0) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

size_t
uidset_format_chunk(const struct uidset *set, size_t *pos, size_t max,
                    struct buf *out)
{
	size_t k = 0, written = 0, n;
	char text[32];

	while (*pos < set->n) {
		n = uidset_range_text(&set->r[*pos], k > 0, text, sizeof(text));
		if (k > 0 && written + n > max)
			break;
		if (buf_append(out, text, n) < 0)
			break;
		written += n;
		k++;
		(*pos)++;
	}
	return k;
}

void
uidset_iter_init(struct uidset_iter *it, const struct uidset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->n > 0 ? set->r[0].lo : 0;
}

bool
uidset_iter_next(struct uidset_iter *it, uint32_t *uid_r)
{
	const struct uidset *set = it->set;

	while (it->range < set->n) {
		if (it->next <= set->r[it->range].hi) {
			*uid_r = (uint32_t)it->next++;
			return true;
		}
		if (++it->range < set->n)
			it->next = set->r[it->range].lo;
	}
	return false;
}
