/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <stdlib.h>

#include "buf.h"
#include "log.h"

/* log_escape of len bytes of s, as a C string (static). */
static const char *
esc(const char *s, size_t len)
{
	static char out[1024];
	struct buf *b = buf_create(sizeof(out) - 1);

	out[0] = '\0';
	if (b != NULL && log_escape(b, s, len) == 0)
		snprintf(out, sizeof(out), "%s", buf_data(b));
	buf_free(&b);
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

TEST(escape_plain_text_unchanged)
{
	CHECK_STREQ(ESC("INBOX/Mr. Smith 'x' \\ \"y\""),
	            "INBOX/Mr. Smith 'x' \\ \"y\"");
	/* Valid UTF-8 is kept: é, €, 😀. */
	CHECK_STREQ(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(escape_controls)
{
	CHECK_STREQ(ESC("a\nb\rc\td"), "a\\nb\\rc\\td");
	CHECK_STREQ(ESC("\x1b]0;title\x07\x1b[2J"),
	            "\\x1b]0;title\\x07\\x1b[2J");
	CHECK_STREQ(ESC("del\x7f"), "del\\x7f");
	CHECK_STREQ(esc("a\0b", 3), "a\\x00b");
	/* C1 CSI, line separator, right-to-left override. */
	CHECK_STREQ(ESC("\xc2\x9b" "2J"), "\\u009b2J");
	CHECK_STREQ(ESC("\xe2\x80\xa8"), "\\u2028");
	CHECK_STREQ(ESC("\xe2\x80\xae"), "\\u202e");
}

TEST(escape_invalid_utf8)
{
	CHECK_STREQ(ESC("\xff\xfe"), "\\xff\\xfe");
	/* Overlong "/", a surrogate, a truncated sequence. */
	CHECK_STREQ(ESC("\xc0\xaf"), "\\xc0\\xaf");
	CHECK_STREQ(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80");
	CHECK_STREQ(ESC("ab\xe2\x82"), "ab\\xe2\\x82");
	/* A lead byte followed by a control: both escaped, in order. */
	CHECK_STREQ(ESC("\xc3\n"), "\\xc3\\n");
}

TEST(shell_quote)
{
	char *q;

	q = log_shell_quote("Mr. Smith");
	CHECK_STREQ(q, "'Mr. Smith'");
	free(q);
	q = log_shell_quote("it's $(rm -rf ~); `x`");
	CHECK_STREQ(q, "'it'\\''s $(rm -rf ~); `x`'");
	free(q);
	q = log_shell_quote("");
	CHECK_STREQ(q, "''");
	free(q);
	q = log_shell_quote("''");
	CHECK_STREQ(q, "''\\'''\\'''");
	free(q);
}
