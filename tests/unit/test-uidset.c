/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "limits.h"
#include "uidset.h"

static int
parse(struct uidset *set, const char *s, const uint32_t *star)
{
	const char *error = NULL;
	int ret = uidset_parse(set, s, strlen(s), star, &error);

	if (ret < 0 && error == NULL)
		return -2;
	return ret;
}

static bool
ranges_are(const struct uidset *set, const uint32_t *lohi, size_t n)
{
	size_t i;

	if (set->n != n)
		return false;
	for (i = 0; i < n; i++) {
		if (set->r[i].lo != lohi[2 * i] ||
		    set->r[i].hi != lohi[2 * i + 1])
			return false;
	}
	return true;
}

/* s parses without error and formats back as expect. */
static void
check_format(const char *s, const char *expect)
{
	struct uidset set = UIDSET_INIT;
	struct buf *b = buf_create(1024);

	CHECK_INT_EQ(parse(&set, s, NULL), 0);
	CHECK_INT_EQ(uidset_format(&set, b), 0);
	CHECK_STREQ(buf_data(b), expect);
	buf_free(&b);
	uidset_free(&set);
}

static bool
parse_fails(const char *s, const uint32_t *star)
{
	struct uidset set = UIDSET_INIT;
	static const uint32_t before[] = {10, 12, 20, 20};
	bool failed;

	CHECK_INT_EQ(parse(&set, "10:12,20", NULL), 0);
	failed = parse(&set, s, star) == -1;
	/* The set must be exactly as before the failed call. */
	CHECK(ranges_are(&set, before, 2));
	CHECK_INT_EQ(uidset_count(&set), 4);
	uidset_free(&set);
	return failed;
}

TEST(parse_keeps_order)
{
	struct uidset set = UIDSET_INIT;
	static const uint32_t expect[] = {1, 3, 5, 5, 7, 9};

	CHECK_INT_EQ(parse(&set, "1:3,5,9:7", NULL), 0);
	CHECK(ranges_are(&set, expect, 3));
	CHECK_INT_EQ(uidset_count(&set), 7);
	CHECK(uidset_is_normalized(&set));
	uidset_free(&set);
	CHECK(set.r == NULL && set.n == 0);
}

TEST(parse_appends)
{
	struct uidset set = UIDSET_INIT;
	static const uint32_t expect[] = {20, 20,          1,
	                                  2,  4294967295U, 4294967295U};

	CHECK_INT_EQ(parse(&set, "20", NULL), 0);
	CHECK_INT_EQ(parse(&set, "2:1,4294967295", NULL), 0);
	CHECK(ranges_are(&set, expect, 3));
	CHECK(!uidset_is_normalized(&set));
	uidset_free(&set);
}

TEST(parse_star)
{
	struct uidset set = UIDSET_INIT;
	uint32_t star = 42, zero = 0;
	static const uint32_t expect[] = {40, 42, 42, 42, 42, 50};

	CHECK(parse_fails("*", NULL));
	CHECK(parse_fails("1:*", NULL));
	CHECK(parse_fails("*", &zero));
	CHECK_INT_EQ(parse(&set, "40:*,*,50:*", &star), 0);
	CHECK(ranges_are(&set, expect, 3));
	uidset_free(&set);
}

TEST(parse_rejects_malformed)
{
	CHECK(parse_fails("", NULL));
	CHECK(parse_fails("0", NULL));
	CHECK(parse_fails("0:5", NULL));
	CHECK(parse_fails("5:0", NULL));
	CHECK(parse_fails("1,0", NULL));
	CHECK(parse_fails("007", NULL));
	CHECK(parse_fails(",", NULL));
	CHECK(parse_fails(",1", NULL));
	CHECK(parse_fails("1,", NULL));
	CHECK(parse_fails("1,,2", NULL));
	CHECK(parse_fails("1:", NULL));
	CHECK(parse_fails(":1", NULL));
	CHECK(parse_fails("1::2", NULL));
	CHECK(parse_fails("1:2:3", NULL));
	CHECK(parse_fails("1 ", NULL));
	CHECK(parse_fails(" 1", NULL));
	CHECK(parse_fails("1, 2", NULL));
	CHECK(parse_fails("1a", NULL));
	CHECK(parse_fails("-1", NULL));
	CHECK(parse_fails("+1", NULL));
	CHECK(parse_fails("1;2", NULL));
	CHECK(parse_fails("**", NULL));
	CHECK(parse_fails("4294967296", NULL));
	CHECK(parse_fails("1:4294967296", NULL));
	CHECK(parse_fails("99999999999999999999999", NULL));
	CHECK(parse_fails("1,2,3,x", NULL));
}

TEST(parse_respects_length)
{
	struct uidset set = UIDSET_INIT;
	const char *error;

	/* Only len bytes are read: the rest of a response line follows. */
	CHECK_INT_EQ(uidset_parse(&set, "1:3 OK", 3, NULL, &error), 0);
	CHECK_INT_EQ(uidset_count(&set), 3);
	CHECK_INT_EQ(uidset_parse(&set, "12", 1, NULL, &error), 0);
	CHECK_INT_EQ(uidset_count(&set), 4);
	CHECK(uidset_contains(&set, 1) && !uidset_contains(&set, 12));
	uidset_free(&set);
}

TEST(too_many_ranges)
{
	struct uidset set = UIDSET_INIT;
	struct buf *b = buf_create(16 * IMAP_MAX_UIDSET_RANGES);
	const char *error;
	uint32_t i;

	for (i = 0; i < IMAP_MAX_UIDSET_RANGES; i++)
		CHECK_INT_EQ(buf_printf(b, "%s%u", i > 0 ? "," : "", 2 * i + 1), 0);
	CHECK_INT_EQ(uidset_parse(&set, buf_data(b), buf_len(b), NULL, &error), 0);
	CHECK_INT_EQ(set.n, IMAP_MAX_UIDSET_RANGES);
	CHECK(uidset_is_normalized(&set));
	CHECK(uidset_contains(&set, 2 * 4321 + 1));
	CHECK(!uidset_contains(&set, 2 * 4321));
	/* Full: one more range fails, a UID that extends the last works. */
	CHECK_INT_EQ(uidset_parse(&set, "3", 1, NULL, &error), -2);
	CHECK_INT_EQ(uidset_add(&set, 1), -1);
	CHECK_INT_EQ(uidset_add(&set, 2 * (IMAP_MAX_UIDSET_RANGES - 1) + 2), 0);
	CHECK_INT_EQ(set.n, IMAP_MAX_UIDSET_RANGES);
	uidset_clear(&set);
	CHECK(set.n == 0 && uidset_count(&set) == 0);
	/* One range too many is refused before anything is kept. */
	CHECK_INT_EQ(buf_append_str(b, ",9"), 0);
	CHECK_INT_EQ(uidset_parse(&set, buf_data(b), buf_len(b), NULL, &error),
	             -2);
	CHECK_INT_EQ(set.n, 0);
	buf_free(&b);
	uidset_free(&set);
}

TEST(format_shortest)
{
	check_format("1:3,5", "1:3,5");
	check_format("5:5", "5");
	check_format("9:7,1", "7:9,1");
	check_format("4294967295:1", "1:4294967295");
	check_format("3,2,1", "3,2,1");
}

TEST(format_empty_and_cap)
{
	struct uidset set = UIDSET_INIT;
	struct buf *b = buf_create(9);

	CHECK_INT_EQ(uidset_format(&set, b), 0);
	CHECK_INT_EQ(buf_len(b), 0);
	CHECK_INT_EQ(parse(&set, "1:3,5,100", NULL), 0);
	CHECK_INT_EQ(buf_append_str(b, "x"), 0);
	CHECK_INT_EQ(uidset_format(&set, b), -1);
	CHECK_STREQ(buf_data(b), "x");
	buf_consume(b, 1);
	CHECK_INT_EQ(uidset_format(&set, b), 0);
	CHECK_STREQ(buf_data(b), "1:3,5,100");
	buf_free(&b);
	uidset_free(&set);
}

TEST(round_trip)
{
	static const char *const sets[] = {
	    "1",
	    "1:3,5,9:7",
	    "4294967295",
	    "1:4294967295",
	    "10,2,30:31,2,7",
	    "100:200,150:250,1",
	};
	struct uidset a = UIDSET_INIT, b = UIDSET_INIT;
	struct buf *out = buf_create(1024);
	size_t i, k;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		buf_reset(out);
		uidset_clear(&a);
		uidset_clear(&b);
		CHECK_INT_EQ(parse(&a, sets[i], NULL), 0);
		CHECK_INT_EQ(uidset_format(&a, out), 0);
		CHECK_INT_EQ(parse(&b, buf_data(out), NULL), 0);
		CHECK_INT_EQ(a.n, b.n);
		for (k = 0; k < a.n && k < b.n; k++) {
			CHECK_INT_EQ(a.r[k].lo, b.r[k].lo);
			CHECK_INT_EQ(a.r[k].hi, b.r[k].hi);
		}
	}
	buf_free(&out);
	uidset_free(&a);
	uidset_free(&b);
}

TEST(add_extends_last_range)
{
	struct uidset set = UIDSET_INIT;
	static const uint32_t expect[] = {5, 8, 3, 3, 10, 12};

	CHECK_INT_EQ(uidset_add(&set, 5), 0);
	CHECK_INT_EQ(uidset_add(&set, 6), 0);
	CHECK_INT_EQ(uidset_add(&set, 7), 0);
	CHECK_INT_EQ(uidset_add(&set, 6), 0); /* inside */
	CHECK_INT_EQ(uidset_add(&set, 8), 0);
	CHECK_INT_EQ(uidset_add(&set, 3), 0); /* before: a new range */
	CHECK_INT_EQ(uidset_add_range(&set, 12, 10), 0);
	CHECK_INT_EQ(uidset_add_range(&set, 11, 11), 0);
	CHECK(ranges_are(&set, expect, 3));
	CHECK(!uidset_is_normalized(&set));
	uidset_clear(&set);
	/* Ends of the UID space do not wrap around. */
	CHECK_INT_EQ(uidset_add(&set, 4294967295U), 0);
	CHECK_INT_EQ(uidset_add(&set, 0), 0);
	CHECK(set.n == 2 && set.r[1].lo == 0);
	uidset_free(&set);
}

TEST(normalize)
{
	struct uidset set = UIDSET_INIT;
	static const uint32_t expect[] = {1, 12, 20, 20, 22, 4294967295U};
	struct buf *b = buf_create(100);

	CHECK(parse(&set, "20,5:9,1:3,4,10:12,22:4294967295,7,4294967295",
	            NULL) == 0);
	CHECK(!uidset_is_normalized(&set));
	uidset_normalize(&set);
	CHECK(ranges_are(&set, expect, 3));
	CHECK(uidset_is_normalized(&set));
	CHECK_INT_EQ(uidset_format(&set, b), 0);
	CHECK_STREQ(buf_data(b), "1:12,20,22:4294967295");
	uidset_normalize(&set);
	CHECK(ranges_are(&set, expect, 3));
	uidset_clear(&set);
	uidset_normalize(&set);
	CHECK(set.n == 0 && uidset_is_normalized(&set));
	buf_free(&b);
	uidset_free(&set);
}

TEST(count_and_nth)
{
	struct uidset set = UIDSET_INIT;
	uint32_t uid = 0;

	CHECK(!uidset_nth(&set, 0, &uid));
	CHECK_INT_EQ(parse(&set, "10:12,3,100:101,1:4294967295", NULL), 0);
	CHECK_INT_EQ(uidset_count(&set), 6 + 4294967295ULL);
	CHECK(uidset_nth(&set, 0, &uid) && uid == 10);
	CHECK(uidset_nth(&set, 2, &uid) && uid == 12);
	CHECK(uidset_nth(&set, 3, &uid) && uid == 3);
	CHECK(uidset_nth(&set, 4, &uid) && uid == 100);
	CHECK(uidset_nth(&set, 5, &uid) && uid == 101);
	CHECK(uidset_nth(&set, 6, &uid) && uid == 1);
	CHECK(uidset_nth(&set, 5 + 4294967295ULL, &uid) && uid == 4294967295U);
	CHECK(!uidset_nth(&set, 6 + 4294967295ULL, &uid));
	uidset_free(&set);
}

TEST(copyuid_pairs_by_position)
{
	/* COPYUID 38505 304,319:320 3956:3958: source 319 became 3957. */
	struct uidset src = UIDSET_INIT, dst = UIDSET_INIT;
	uint32_t s, d;
	uint64_t i;
	static const uint32_t pairs[][2] = {
	    {304, 3956}, {319, 3957}, {320, 3958}};

	CHECK_INT_EQ(parse(&src, "304,319:320", NULL), 0);
	CHECK_INT_EQ(parse(&dst, "3956:3958", NULL), 0);
	CHECK_INT_EQ(uidset_count(&src), uidset_count(&dst));
	for (i = 0; i < 3; i++) {
		CHECK(uidset_nth(&src, i, &s) && s == pairs[i][0]);
		CHECK(uidset_nth(&dst, i, &d) && d == pairs[i][1]);
	}
	uidset_clear(&src);
	uidset_clear(&dst);
	/* Order that is not ascending survives too. */
	CHECK_INT_EQ(parse(&src, "9,3,5:6", NULL), 0);
	CHECK_INT_EQ(parse(&dst, "100:103", NULL), 0);
	CHECK(uidset_nth(&src, 1, &s) && s == 3);
	CHECK(uidset_nth(&src, 3, &s) && s == 6);
	CHECK(uidset_nth(&dst, 3, &d) && d == 103);
	uidset_free(&src);
	uidset_free(&dst);
}

TEST(contains)
{
	struct uidset set = UIDSET_INIT;
	uint32_t uid;
	int bad = 0;

	CHECK(!uidset_contains(&set, 1));
	CHECK_INT_EQ(parse(&set, "50:60,1,30:20,4294967295,70", NULL), 0);
	CHECK(!uidset_is_normalized(&set));
	for (int pass = 0; pass < 2; pass++) {
		for (uid = 0; uid < 100; uid++) {
			bool in = uid == 1 || (uid >= 20 && uid <= 30) ||
			          (uid >= 50 && uid <= 60) || uid == 70;

			if (uidset_contains(&set, uid) != in)
				bad++;
		}
		CHECK(uidset_contains(&set, 4294967295U));
		CHECK(!uidset_contains(&set, 4294967294U));
		uidset_normalize(&set);
		CHECK(uidset_is_normalized(&set));
	}
	CHECK_INT_EQ(bad, 0);
	uidset_free(&set);
}

TEST(is_normalized_without_flag)
{
	/* A set written by hand, never passed through the API. */
	struct uid_range r[] = {{1, 3}, {5, 5}, {7, 9}};
	struct uidset set = {r, 3, 3, false};

	CHECK(uidset_is_normalized(&set));
	CHECK(uidset_contains(&set, 8));
	r[1].lo = r[1].hi = 4;
	CHECK(!uidset_is_normalized(&set));
	r[1].lo = r[1].hi = 2;
	CHECK(!uidset_is_normalized(&set));
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x9e3779b97f4a7c15ULL) >> 32);
}

TEST(chunks_of_scattered_uids)
{
	struct uidset set = UIDSET_INIT, back = UIDSET_INIT;
	struct buf *b = buf_create(IMAP_MAX_UIDSET_CMD);
	const char *error;
	size_t pos = 0, n, total = 0, chunks = 0, i;
	int bad = 0;

	for (i = 0; i < 100000; i++) {
		uint32_t uid = 1 + rng() % 4000000000U;

		if (uidset_add(&set, uid) < 0)
			bad++;
		/* Some runs, so that both forms appear. */
		if (i % 7 == 0 &&
		    uidset_add_range(&set, uid, uid + rng() % 5) < 0)
			bad++;
	}
	uidset_normalize(&set);
	CHECK(set.n > 90000);
	for (;;) {
		buf_reset(b);
		n = uidset_format_chunk(&set, &pos, IMAP_MAX_UIDSET_CMD, b);
		if (n == 0)
			break;
		chunks++;
		total += n;
		if (buf_len(b) > IMAP_MAX_UIDSET_CMD)
			bad++;
		if (uidset_parse(&back, buf_data(b), buf_len(b), NULL, &error) <
		    0)
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK(pos == set.n && total == set.n);
	CHECK(chunks > 100);
	uidset_normalize(&back);
	CHECK_INT_EQ(back.n, set.n);
	CHECK(back.n == set.n &&
	      memcmp(back.r, set.r, set.n * sizeof(*set.r)) == 0);
	buf_free(&b);
	uidset_free(&set);
	uidset_free(&back);
}

TEST(chunk_limits)
{
	struct uidset set = UIDSET_INIT;
	struct buf *b = buf_create(100);
	size_t pos = 0;

	CHECK_INT_EQ(parse(&set, "1:3,5,100000:200000,7", NULL), 0);
	/* Each call writes at least one range, even past max. */
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 4, b), 1);
	CHECK_STREQ(buf_data(b), "1:3");
	CHECK_INT_EQ(pos, 1);
	buf_reset(b);
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 4, b), 1);
	CHECK_STREQ(buf_data(b), "5");
	buf_reset(b);
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 4, b), 1);
	CHECK_STREQ(buf_data(b), "100000:200000");
	buf_reset(b);
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 4, b), 1);
	CHECK_STREQ(buf_data(b), "7");
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 4, b), 0);
	CHECK_INT_EQ(pos, set.n);
	/* Exactly max fits. */
	pos = 0;
	buf_reset(b);
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 5, b), 2);
	CHECK_STREQ(buf_data(b), "1:3,5");
	buf_free(&b);
	/* The buffer's cap stops it short of the end. */
	b = buf_create(6);
	pos = 0;
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 1000, b), 2);
	CHECK_INT_EQ(pos, 2);
	CHECK_INT_EQ(uidset_format_chunk(&set, &pos, 1000, b), 0);
	CHECK_INT_EQ(pos, 2);
	buf_free(&b);
	uidset_free(&set);
}

TEST(iter_walks_every_uid_in_order)
{
	struct uidset set = UIDSET_INIT;
	struct uidset_iter it;
	const char *error;
	uint32_t uid, want[] = {9, 10, 11, 3, 4294967294u, 4294967295u};
	size_t n = 0;

	CHECK(uidset_parse(&set, "9:11,3,4294967294:4294967295", 28, NULL,
			   &error) == 0);
	uidset_iter_init(&it, &set);
	while (uidset_iter_next(&it, &uid)) {
		CHECK(n < 6 && uid == want[n]);
		n++;
	}
	CHECK_INT_EQ(n, 6);
	uidset_free(&set);
	uidset_iter_init(&it, &set);
	CHECK(!uidset_iter_next(&it, &uid));
}

/* a minus b, formatted. */
static void
check_subtract(const char *a, const char *b, const char *expect)
{
	struct uidset x = UIDSET_INIT, y = UIDSET_INIT;
	struct buf *out = buf_create(1024);

	CHECK_INT_EQ(parse(&x, a, NULL), 0);
	CHECK_INT_EQ(parse(&y, b, NULL), 0);
	CHECK_INT_EQ(uidset_subtract(&x, &y), 0);
	CHECK(uidset_is_normalized(&x));
	CHECK_INT_EQ(uidset_format(&x, out), 0);
	CHECK_STREQ(buf_data(out), expect);
	buf_free(&out);
	uidset_free(&x);
	uidset_free(&y);
}

TEST(subtract)
{
	check_subtract("1:10", "3", "1:2,4:10");
	check_subtract("1:10", "1,10", "2:9");
	{
		struct uidset x = UIDSET_INIT, y = UIDSET_INIT;

		CHECK(parse(&x, "1:10", NULL) == 0 && parse(&y, "1:10", NULL) == 0);
		CHECK(uidset_subtract(&x, &y) == 0 && x.n == 0);
		uidset_free(&x);
		uidset_free(&y);
	}
	check_subtract("1:10", "5:20", "1:4");
	check_subtract("5,1:3,9:7", "2,8", "1,3,5,7,9");
	check_subtract("1:4294967295", "4294967295", "1:4294967294");
	check_subtract("4:6", "1:3,7:9", "4:6");
	check_subtract("1:100", "10:20,30,40:50,99:200", "1:9,21:29,31:39,51:98");
}

/* Every adder says when the set is full (-1, set as it was): a caller
 * fails its mailbox rather than drop a UID. uidset_max_ranges lowered,
 * as the tests' build does. */
TEST(limit_returns)
{
	struct uidset x = UIDSET_INIT, y = UIDSET_INIT;
	struct buf *out = buf_create(1024);
	size_t saved = uidset_max_ranges;
	const char *error;

	uidset_max_ranges = 3;
	CHECK(uidset_add(&x, 1) == 0 && uidset_add(&x, 3) == 0 &&
	      uidset_add_range(&x, 5, 9) == 0);
	/* Extending the last range takes no room. */
	CHECK_INT_EQ(uidset_add(&x, 10), 0);
	CHECK_INT_EQ(uidset_add(&x, 20), -1);
	CHECK_INT_EQ(uidset_add_range(&x, 30, 40), -1);
	CHECK_INT_EQ(uidset_parse(&x, "50", 2, NULL, &error), -2);
	CHECK_INT_EQ(x.n, 3);
	CHECK_INT_EQ(uidset_format(&x, out), 0);
	CHECK_STREQ(buf_data(out), "1,3,5:10");
	/* A subtraction that splits a range past the cap fails, the set
	 * unchanged; one that does not, works. */
	CHECK_INT_EQ(parse(&y, "6,8", NULL), 0);
	CHECK_INT_EQ(uidset_subtract(&x, &y), -1);
	buf_reset(out);
	CHECK_INT_EQ(uidset_format(&x, out), 0);
	CHECK_STREQ(buf_data(out), "1,3,5:10");
	uidset_clear(&y);
	CHECK_INT_EQ(parse(&y, "1,3", NULL), 0);
	CHECK_INT_EQ(uidset_subtract(&x, &y), 0);
	CHECK_INT_EQ(parse(&y, "7", NULL), 0);
	CHECK_INT_EQ(uidset_subtract(&x, &y), 0);
	buf_reset(out);
	CHECK_INT_EQ(uidset_format(&x, out), 0);
	CHECK_STREQ(buf_data(out), "5:6,8:10");
	uidset_max_ranges = saved;
	buf_free(&out);
	uidset_free(&x);
	uidset_free(&y);
}
