/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "buf.h"

TEST(append_and_consume)
{
	struct buf *b = buf_create(16);

	CHECK_INT_EQ(buf_append_str(b, "hello"), 0);
	CHECK_INT_EQ(buf_len(b), 5);
	CHECK_STREQ(buf_data(b), "hello");
	buf_consume(b, 2);
	CHECK_STREQ(buf_data(b), "llo");
	CHECK_INT_EQ(buf_printf(b, "%d", 42), 0);
	CHECK_STREQ(buf_data(b), "llo42");
	buf_truncate(b, 1);
	CHECK_STREQ(buf_data(b), "l");
	buf_free(&b);
	CHECK(b == NULL);
}

TEST(cap_is_enforced)
{
	struct buf *b = buf_create(8);

	CHECK_INT_EQ(buf_append(b, "12345678", 8), 0);
	CHECK_INT_EQ(buf_append_byte(b, '9'), -1);
	CHECK_INT_EQ(buf_len(b), 8);
	CHECK(buf_reserve(b, 1) == NULL);
	CHECK_INT_EQ(buf_printf(b, "x"), -1);
	buf_consume(b, 4);
	CHECK_INT_EQ(buf_avail(b), 4);
	CHECK_INT_EQ(buf_append(b, "abcd", 4), 0);
	CHECK_STREQ(buf_data(b), "5678abcd");
	buf_free(&b);
}

TEST(space_and_commit)
{
	struct buf *b = buf_create(1 << 20);
	size_t size;
	char *p = buf_space(b, 10, &size);

	CHECK(p != NULL && size >= 10);
	memcpy(p, "abc", 3);
	buf_commit(b, 3);
	CHECK_STREQ(buf_data(b), "abc");
	buf_reset(b);
	CHECK_INT_EQ(buf_len(b), 0);
	buf_free(&b);
}

TEST(secret_buffer_grows)
{
	struct buf *b = buf_create(100000);
	int i;

	buf_set_secret(b);
	for (i = 0; i < 1000; i++)
		CHECK_INT_EQ(buf_append_str(b, "password"), 0);
	CHECK_INT_EQ(buf_len(b), 8000);
	buf_consume(b, 7999);
	CHECK_STREQ(buf_data(b), "d");
	buf_free(&b);
}
