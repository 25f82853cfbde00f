/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "buf.h"
#include "imap-decode.h"
#include "imap-writer.h"
#include "uidset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LITPLUS IMAP_CAP_LITERALPLUS
#define LITMINUS IMAP_CAP_LITERALMINUS

/* The bytes a command puts on the wire, with "<+>" where it waits for the
 * server's continuation request, filled chunk bytes at a time. */
/* imap_writer_create() with variable arguments. */
static struct imap_writer *
imap_writer_createf(const char *tag, const char **error_r, const char *fmt, ...)
{
	struct imap_writer *w;
	va_list ap;

	va_start(ap, fmt);
	w = imap_writer_create(tag, fmt, ap, error_r);
	va_end(ap);
	return w;
}

static char *
transcript(struct imap_writer *w, uint64_t caps, size_t chunk, size_t *len_r)
{
	struct buf *out = buf_create(64 * 1024 * 1024);
	const char *error;
	char *tmp = malloc(chunk), *ret;
	ssize_t n;

	imap_writer_set_caps(w, caps);
	for (;;) {
		n = imap_writer_fill(w, tmp, chunk, &error);
		if (n > 0) {
			CHECK(buf_append(out, tmp, n) == 0);
		} else if (n < 0) {
			CHECK(buf_append_str(out, "<error>") == 0);
			break;
		} else if (imap_writer_stalled(w)) {
			CHECK(buf_append_str(out, "<+>") == 0);
			imap_writer_resume(w);
		} else {
			break;
		}
	}
	*len_r = buf_len(out);
	ret = malloc(buf_len(out) + 1);
	memcpy(ret, buf_data(out), buf_len(out) + 1);
	buf_free(&out);
	free(tmp);
	return ret;
}

/* Build with caps and check the whole transcript, filled both in one go
 * and a byte at a time. */
static bool
check_cmd(uint64_t caps, const char *expect, size_t expect_len, const char *fmt,
          ...)
{
	struct imap_writer *w1, *w2;
	const char *error = NULL;
	va_list ap, aq;
	size_t len1, len2;
	char *t1, *t2;
	bool ok;

	va_start(ap, fmt);
	va_copy(aq, ap);
	w1 = imap_writer_create("A1", fmt, ap, &error);
	w2 = imap_writer_create("A1", fmt, aq, &error);
	va_end(aq);
	va_end(ap);
	if (w1 == NULL || w2 == NULL) {
		printf("# create failed: %s\n", error);
		imap_writer_free(&w1);
		imap_writer_free(&w2);
		return false;
	}
	t1 = transcript(w1, caps, 65536, &len1);
	t2 = transcript(w2, caps, 1, &len2);
	ok = len1 == expect_len && memcmp(t1, expect, len1) == 0 &&
	     len2 == len1 && memcmp(t1, t2, len1) == 0;
	if (!ok)
		printf("# expected \"%.*s\"\n#      got \"%.*s\"\n",
		       (int)expect_len, expect, (int)len1, t1);
	free(t1);
	free(t2);
	imap_writer_free(&w1);
	imap_writer_free(&w2);
	return ok;
}

#define CMD(caps, expect, ...)                                                 \
	CHECK(check_cmd(caps, expect, sizeof(expect) - 1, __VA_ARGS__))

TEST(atom_directive_as_is)
{
	CMD(0, "A1 UID FETCH 1:* (FLAGS)\r\n", "UID FETCH %a (FLAGS)", "1:*");
	CMD(0, "A1 NOOP\r\n", "NOOP");
	CMD(0, "A1 X 100%\r\n", "X 100%%");
}

TEST(astring_atom_quoted_literal)
{
	CMD(0, "A1 SELECT INBOX\r\n", "SELECT %s", "INBOX");
	CMD(0, "A1 SELECT a[b\r\n", "SELECT %s", "a[b");
	CMD(0, "A1 SELECT \"\"\r\n", "SELECT %s", "");
	CMD(0, "A1 SELECT \"NIL\"\r\n", "SELECT %s", "NIL");
	CMD(0, "A1 SELECT \"nil\"\r\n", "SELECT %s", "nil");
	CMD(0, "A1 SELECT NILS\r\n", "SELECT %s", "NILS");
	CMD(0, "A1 SELECT \"a b\"\r\n", "SELECT %s", "a b");
	CMD(0, "A1 SELECT \"a]\"\r\n", "SELECT %s", "a]");
	CMD(0, "A1 SELECT \"(x)\"\r\n", "SELECT %s", "(x)");
	CMD(0, "A1 SELECT \"{1}\"\r\n", "SELECT %s", "{1}");
	CMD(0, "A1 SELECT \"a%*\"\r\n", "SELECT %s", "a%*");
	CMD(0, "A1 SELECT \"a\\\"b\\\\c\"\r\n", "SELECT %s", "a\"b\\c");
	CMD(0, "A1 SELECT {3}\r\n<+>a\tb\r\n", "SELECT %s", "a\tb");
	CMD(0, "A1 SELECT {2}\r\n<+>\xc3\xa9\r\n", "SELECT %s", "\xc3\xa9");
	CMD(0, "A1 SELECT {4}\r\n<+>a\r\nb\r\n", "SELECT %s", "a\r\nb");
}

TEST(quoted_length_limit)
{
	char s[IMAP_WRITER_QUOTED_MAX + 2], expect[IMAP_WRITER_QUOTED_MAX + 64];
	int n;

	memset(s, 'x', sizeof(s) - 1);
	s[0] = ' ';
	s[IMAP_WRITER_QUOTED_MAX] = '\0';
	n = snprintf(expect, sizeof(expect), "A1 X \"%s\"\r\n", s);
	CHECK(check_cmd(0, expect, n, "X %s", s));
	s[IMAP_WRITER_QUOTED_MAX] = 'x';
	s[IMAP_WRITER_QUOTED_MAX + 1] = '\0';
	n = snprintf(expect, sizeof(expect), "A1 X {%d+}\r\n%s\r\n",
	             IMAP_WRITER_QUOTED_MAX + 1, s);
	CHECK(check_cmd(LITPLUS, expect, n, "X %s", s));
}

TEST(string_never_atom)
{
	CMD(0, "A1 LOGIN \"user\" \"pass\"\r\n", "LOGIN %q %q", "user", "pass");
	CMD(LITPLUS, "A1 X {1+}\r\n\x80\r\n", "X %q", "\x80");
}

TEST(numbers)
{
	CMD(0, "A1 X 4294967295 18446744073709551615 -5 0\r\n", "X %u %U %d %u",
	    4294967295u, (uint64_t)UINT64_MAX, -5, 0u);
}

TEST(literal_modes)
{
	char big[IMAP_WRITER_LITERAL_MINUS_MAX + 1];
	char expect[sizeof(big) + 64];
	int n;

	CMD(0, "A1 APPEND box {5}\r\n<+>hello\r\n", "APPEND box %L", "hello",
	    (size_t)5);
	CMD(LITPLUS, "A1 APPEND box {5+}\r\nhello\r\n", "APPEND box %L",
	    "hello", (size_t)5);
	CMD(LITMINUS, "A1 APPEND box {5+}\r\nhello\r\n", "APPEND box %L",
	    "hello", (size_t)5);
	CMD(LITPLUS, "A1 APPEND box {0+}\r\n\r\n", "APPEND box %L", "",
	    (size_t)0);
	CMD(0, "A1 APPEND box {3}\r\n<+>a\0b\r\n", "APPEND box %L", "a\0b",
	    (size_t)3);

	memset(big, 'z', sizeof(big));
	n = snprintf(expect, sizeof(expect), "A1 APPEND b {%d+}\r\n",
	             IMAP_WRITER_LITERAL_MINUS_MAX);
	memcpy(expect + n, big, IMAP_WRITER_LITERAL_MINUS_MAX);
	n += IMAP_WRITER_LITERAL_MINUS_MAX;
	memcpy(expect + n, "\r\n", 2);
	CHECK(check_cmd(LITMINUS, expect, n + 2, "APPEND b %L", big,
	                (size_t)IMAP_WRITER_LITERAL_MINUS_MAX));

	n = snprintf(expect, sizeof(expect), "A1 APPEND b {%d}\r\n<+>",
	             IMAP_WRITER_LITERAL_MINUS_MAX + 1);
	memcpy(expect + n, big, sizeof(big));
	n += sizeof(big);
	memcpy(expect + n, "\r\n", 2);
	CHECK(check_cmd(LITMINUS, expect, n + 2, "APPEND b %L", big,
	                sizeof(big)));
}

TEST(multiappend_transcript)
{
	CMD(0,
	    "A1 APPEND \"Sent Items\" (\\Seen) {3}\r\n<+>one"
	    " \"1-Jan-2020 00:00:00 +0000\" {3}\r\n<+>two\r\n",
	    "APPEND %m (\\Seen) %L %q %L", "Sent Items", "one", (size_t)3,
	    "1-Jan-2020 00:00:00 +0000", "two", (size_t)3);
	CMD(LITPLUS, "A1 APPEND x {3+}\r\none {3+}\r\ntwo\r\n",
	    "APPEND x %L %L", "one", (size_t)3, "two", (size_t)3);
}

static int
tmpfile_with(const void *data, size_t len)
{
	char path[] = "/tmp/test-writer-XXXXXX";
	int fd = mkstemp(path);

	unlink(path);
	if (write(fd, data, len) != (ssize_t)len)
		abort();
	return fd;
}

TEST(literal_from_fd)
{
	int fd = tmpfile_with("From: a\r\n\r\nbody\r\n", 17);

	CMD(LITPLUS, "A1 APPEND INBOX {17+}\r\nFrom: a\r\n\r\nbody\r\n\r\n",
	    "APPEND INBOX %F", fd, (uint64_t)17);
	CMD(0, "A1 APPEND INBOX {4}\r\n<+>From\r\n", "APPEND INBOX %F", fd,
	    (uint64_t)4);
	/* The writer has its own dup: the caller's fd may go at once. */
	close(fd);
}

TEST(literal_fd_short)
{
	int fd = tmpfile_with("abc", 3);

	CMD(LITPLUS, "A1 X {5+}\r\nabc<error>", "X %F", fd, (uint64_t)5);
	close(fd);
}

TEST(mailbox_names)
{
	CMD(0, "A1 CREATE INBOX/Entw&APw-rfe\r\n", "CREATE %m",
	    "INBOX/Entw\xc3\xbc"
	    "rfe");
	CMD(0, "A1 CREATE A&-B\r\n", "CREATE %m", "A&B");
	CMD(0, "A1 CREATE \"a b\"\r\n", "CREATE %m", "a b");
	CMD(0, "A1 CREATE \"Nil\"\r\n", "CREATE %m", "Nil");
}

TEST(mailbox_name_invalid_utf8)
{
	const char *error = NULL;
	struct imap_writer *w =
	    imap_writer_createf("A1", &error, "CREATE %m", "bad\xff");

	CHECK(w == NULL);
	CHECK(error != NULL && *error != '\0');
}

TEST(uid_set)
{
	struct uidset set = UIDSET_INIT;

	CHECK(uidset_add_range(&set, 1, 3) == 0 && uidset_add(&set, 5) == 0 &&
	      uidset_add_range(&set, 9, 20) == 0);
	CMD(0, "A1 UID FETCH 1:3,5,9:20 (FLAGS)\r\n", "UID FETCH %S (FLAGS)",
	    &set);
	uidset_free(&set);
}

struct trace_ctx {
	struct buf *out;
};

static void
trace_cb(void *ctx, const char *line, size_t len)
{
	struct trace_ctx *t = ctx;

	CHECK(buf_append(t->out, line, len) == 0);
	CHECK(buf_append_str(t->out, "|") == 0);
}

/* The trace of the whole command, resuming at each wait point. */
static void
trace_all(struct imap_writer *w, uint64_t caps, int debug, struct buf *out)
{
	struct trace_ctx t = {out};
	const char *error;
	char tmp[256];

	imap_writer_set_caps(w, caps);
	for (;;) {
		imap_writer_trace(w, debug, trace_cb, &t);
		if (imap_writer_fill(w, tmp, sizeof(tmp), &error) > 0)
			continue;
		if (!imap_writer_stalled(w))
			break;
		CHECK(buf_append_str(out, "<+>") == 0);
		imap_writer_resume(w);
	}
}

TEST(trace_redacts)
{
	struct buf *out = buf_create(4096);
	const char *error;
	struct imap_writer *w;
	int fd = tmpfile_with("0123456789", 10);

	w = imap_writer_createf("A1", &error, "LOGIN %s %P", "joe", "s3cr et");
	trace_all(w, 0, 1, out);
	CHECK_STREQ(buf_data(out), "A1 LOGIN joe <redacted>|");
	imap_writer_free(&w);

	buf_reset(out);
	w = imap_writer_createf("A1", &error, "LOGIN %s %P", "joe", "s3cr et");
	trace_all(w, 0, 2, out);
	CHECK_STREQ(buf_data(out), "A1 LOGIN joe \"s3cr et\"|");
	imap_writer_free(&w);

	buf_reset(out);
	w = imap_writer_createf("A1", &error, "LOGIN %s %P", "joe", "\xc3\xa9");
	trace_all(w, 0, 1, out);
	CHECK_STREQ(buf_data(out), "A1 LOGIN joe {2}|<+><redacted>|");
	imap_writer_free(&w);

	buf_reset(out);
	w = imap_writer_createf("A1", &error, "APPEND x %L %F", "a\r\nb",
	                        (size_t)4, fd, (uint64_t)10);
	trace_all(w, 0, 1, out);
	CHECK_STREQ(buf_data(out),
	            "A1 APPEND x {4}|<+>{4 bytes} {10}|<+>{10 bytes}|");
	imap_writer_free(&w);

	buf_reset(out);
	w = imap_writer_createf("A1", &error, "APPEND x %L %F", "a\r\nb",
	                        (size_t)4, fd, (uint64_t)10);
	trace_all(w, LITPLUS, 2, out);
	CHECK_STREQ(buf_data(out), "A1 APPEND x {4+}|a|b {10+}|0123456789|");
	imap_writer_free(&w);
	close(fd);
	buf_free(&out);
}

TEST(continuation_lines)
{
	struct buf *out = buf_create(4096);
	struct trace_ctx t = {out};
	const char *error;
	struct imap_writer *w;
	char tmp[256];
	ssize_t n;

	w = imap_writer_createf("A7", &error, "AUTHENTICATE PLAIN");
	CHECK_STREQ(imap_writer_verb(w), "AUTHENTICATE");
	imap_writer_set_caps(w, 0);
	imap_writer_trace(w, 1, trace_cb, &t);
	CHECK(imap_writer_at_start(w));
	n = imap_writer_fill(w, tmp, sizeof(tmp), &error);
	CHECK_MEMEQ(tmp, (size_t)n, "A7 AUTHENTICATE PLAIN\r\n", (size_t)23);
	CHECK(imap_writer_finished(w));
	CHECK(!imap_writer_at_start(w));
	imap_writer_add_line(w, "AGpvZQBwdw==", 12, true);
	CHECK(!imap_writer_finished(w));
	CHECK_INT_EQ(imap_writer_mem_pending(w), 14);
	imap_writer_trace(w, 1, trace_cb, &t);
	n = imap_writer_fill(w, tmp, sizeof(tmp), &error);
	CHECK_MEMEQ(tmp, (size_t)n, "AGpvZQBwdw==\r\n", (size_t)14);
	CHECK_INT_EQ(imap_writer_mem_pending(w), 0);
	CHECK_STREQ(buf_data(out), "A7 AUTHENTICATE PLAIN|<redacted>|");
	imap_writer_free(&w);
	buf_free(&out);
}

/* IDLE's DONE: a plain line added once the command is all written is
 * sent, not lost in the segment already consumed. */
TEST(line_after_written_command)
{
	const char *error;
	struct imap_writer *w;
	char tmp[256];
	ssize_t n;

	w = imap_writer_createf("A3", &error, "IDLE");
	imap_writer_set_caps(w, 0);
	n = imap_writer_fill(w, tmp, sizeof(tmp), &error);
	CHECK_MEMEQ(tmp, (size_t)n, "A3 IDLE\r\n", (size_t)9);
	CHECK(imap_writer_finished(w));
	imap_writer_add_line(w, "DONE", 4, false);
	CHECK(!imap_writer_finished(w));
	n = imap_writer_fill(w, tmp, sizeof(tmp), &error);
	CHECK_MEMEQ(tmp, (size_t)n, "DONE\r\n", (size_t)6);
	CHECK(imap_writer_finished(w));
	imap_writer_free(&w);
}

TEST(abort_drops_rest)
{
	const char *error;
	struct imap_writer *w;
	char tmp[256];
	ssize_t n;

	w = imap_writer_createf("A2", &error, "APPEND x %L", "abc", (size_t)3);
	CHECK_STREQ(imap_writer_verb(w), "APPEND");
	imap_writer_set_caps(w, 0);
	n = imap_writer_fill(w, tmp, sizeof(tmp), &error);
	CHECK_MEMEQ(tmp, (size_t)n, "A2 APPEND x {3}\r\n", (size_t)17);
	CHECK(imap_writer_stalled(w));
	CHECK(!imap_writer_finished(w));
	imap_writer_abort(w);
	CHECK(imap_writer_finished(w));
	CHECK_INT_EQ(imap_writer_fill(w, tmp, sizeof(tmp), &error), 0);
	imap_writer_free(&w);
}

static struct imap_writer *
add(struct imap_writer *w, const char *fmt, ...)
{
	const char *error;
	va_list ap;

	va_start(ap, fmt);
	CHECK_INT_EQ(imap_writer_add(w, fmt, ap, &error), 0);
	va_end(ap);
	return w;
}

TEST(piecewise)
{
	struct imap_writer *w = imap_writer_begin("A3");
	size_t len;
	char *t;

	add(w, "APPEND %m", "Sent");
	add(w, " (\\Seen) %L", "one", (size_t)3);
	add(w, " %L", "two", (size_t)3);
	imap_writer_end(w);
	CHECK_STREQ(imap_writer_verb(w), "APPEND");
	t = transcript(w, 0, 7, &len);
	CHECK_STREQ(t,
	            "A3 APPEND Sent (\\Seen) {3}\r\n<+>one {3}\r\n<+>two\r\n");
	free(t);
	imap_writer_free(&w);
}
