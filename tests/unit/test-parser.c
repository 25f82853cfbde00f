/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "imap-parser.h"
#include "limits.h"

/* Every response is written out as one line of text so a whole transcript
 * can be compared with one string: kind and tag, #number, name, /status,
 * [CODE args], "text", then the arguments. Literals print as {n}"bytes"
 * with unprintable bytes as \xNN, spilled ones as {n spill}"bytes". */
static void
dump_bytes(struct buf *out, const unsigned char *s, size_t len)
{
	size_t i;

	CHECK(buf_append_byte(out, '"') == 0);
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] >= 0x7f || s[i] == '\\')
			CHECK(buf_printf(out, "\\x%02x", s[i]) == 0);
		else
			CHECK(buf_append_byte(out, s[i]) == 0);
	}
	CHECK(buf_append_byte(out, '"') == 0);
}

static void dump_args(struct buf *out, const struct imap_arg *args,
                      size_t count);

static void
dump_arg(struct buf *out, const struct imap_arg *arg)
{
	unsigned char *tmp;

	switch (arg->type) {
	case IMAP_ARG_NIL:
		CHECK(buf_append_str(out, "NIL") == 0);
		break;
	case IMAP_ARG_ATOM:
		CHECK(buf_append_str(out, arg->str) == 0);
		break;
	case IMAP_ARG_STRING:
		dump_bytes(out, (const unsigned char *)arg->str, arg->len);
		break;
	case IMAP_ARG_LITERAL:
		CHECK(buf_printf(out, "%s{%zu%s}", arg->literal8 ? "~" : "",
		                 arg->len, arg->fd >= 0 ? " spill" : "") == 0);
		if (arg->fd < 0) {
			dump_bytes(out, (const unsigned char *)arg->str,
			           arg->len);
			break;
		}
		tmp = malloc(arg->len + 1);
		if (pread(arg->fd, tmp, arg->len + 1, 0) == (ssize_t)arg->len)
			dump_bytes(out, tmp, arg->len);
		else
			CHECK(buf_append_str(out, "<short spill file>") == 0);
		free(tmp);
		break;
	case IMAP_ARG_LIST:
		CHECK(buf_append_byte(out, '(') == 0);
		dump_args(out, arg->list, arg->len);
		CHECK(buf_append_byte(out, ')') == 0);
		break;
	}
}

static void
dump_args(struct buf *out, const struct imap_arg *args, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (i > 0)
			CHECK(buf_append_byte(out, ' ') == 0);
		dump_arg(out, &args[i]);
	}
}

static void
dump_resp(struct buf *out, const struct imap_response *r)
{
	static const char *const status[] = {"",     "/OK",  "/NO",
	                                     "/BAD", "/BYE", "/PREAUTH"};

	if (r->kind == IMAP_RESP_CONTINUATION)
		CHECK(buf_append_str(out, "+") == 0);
	else if (r->kind == IMAP_RESP_UNTAGGED)
		CHECK(buf_append_str(out, "*") == 0);
	else
		CHECK(buf_printf(out, "tag=%s", r->tag) == 0);
	if (r->has_number)
		CHECK(buf_printf(out, " #%u", r->number) == 0);
	if (r->name != NULL)
		CHECK(buf_printf(out, " %s%s", r->name, status[r->status]) ==
		      0);
	if (r->code != NULL) {
		CHECK(buf_printf(out, " [%s", r->code) == 0);
		if (r->code_count > 0)
			CHECK(buf_append_byte(out, ' ') == 0);
		dump_args(out, r->code_args, r->code_count);
		CHECK(buf_append_byte(out, ']') == 0);
	}
	if (r->text != NULL) {
		CHECK(buf_append_byte(out, ' ') == 0);
		dump_bytes(out, (const unsigned char *)r->text,
		           strlen(r->text));
	}
	if (r->count > 0) {
		CHECK(buf_append_str(out, " : ") == 0);
		dump_args(out, r->args, r->count);
	}
	if (r->malformed != NULL)
		CHECK(buf_printf(out, " MALFORMED(%s)", r->malformed) == 0);
	CHECK(buf_append_byte(out, '\n') == 0);
}

/* Parse input fed in chunks of the given size (via feed, or via
 * input_space/commit when space is set); returns the transcript, ending
 * with "ERR: message" on a parser error. */
static char *
parse_chunked(const char *input, size_t len, size_t chunk, bool space,
              const struct imap_parser_settings *set)
{
	struct imap_parser *p = imap_parser_create(set);
	struct buf *out = buf_create(64 * 1024 * 1024);
	const struct imap_response *r;
	const char *error = NULL, *error2 = NULL;
	size_t off = 0, n, room;
	char *res, *dst;
	int ret = 0;

	while (ret >= 0) {
		if (off < len) {
			n = len - off < chunk ? len - off : chunk;
			if (space) {
				dst = imap_parser_input_space(p, &room);
				n = n < room ? n : room;
				memcpy(dst, input + off, n);
				imap_parser_input_commit(p, n);
			} else {
				n = imap_parser_feed(p, input + off, n);
			}
			off += n;
		}
		while ((ret = imap_parser_next(p, &r, &error)) == 1)
			dump_resp(out, r);
		if (ret == 0 && off == len)
			break;
	}
	if (ret < 0) {
		CHECK(buf_printf(out, "ERR: %s", error) == 0);
		/* Sticky: the same failure again. */
		if (imap_parser_next(p, &r, &error2) != -1 || error2 == NULL ||
		    strcmp(error, error2) != 0)
			CHECK(buf_append_str(out, " (not sticky)") == 0);
	} else if (imap_parser_pending(p) > 0) {
		CHECK(buf_printf(out, "PENDING %zu", imap_parser_pending(p)) ==
		      0);
	}
	imap_parser_free(&p);
	res = strdup(buf_data(out));
	buf_free(&out);
	return res;
}

/* Feed whole, then in chunks of 1, 2, 3 and 7 bytes (and through
 * input_space), check every way gives the same transcript, return it. */
static char *
parse_set(const char *input, size_t len, const struct imap_parser_settings *set)
{
	static const size_t chunks[] = {1, 2, 3, 7, 4096};
	char *whole = parse_chunked(input, len, len + 1, false, set), *other;
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		other = parse_chunked(input, len, chunks[i], false, set);
		if (!CHECK_STREQ(whole, other))
			printf("# chunk %zu:\n# whole: %s\n# other: %s\n",
			       chunks[i], whole, other);
		free(other);
	}
	other = parse_chunked(input, len, 5, true, set);
	if (!CHECK_STREQ(whole, other))
		printf("# input_space:\n# whole: %s\n# other: %s\n", whole,
		       other);
	free(other);
	return whole;
}

static bool
expect_set(const char *input, size_t len,
           const struct imap_parser_settings *set, const char *expected)
{
	char *got = parse_set(input, len, set);
	bool ok = got != NULL && strcmp(got, expected) == 0;

	if (!ok)
		printf("# input: %.200s\n# want: %s\n# got:  %s\n", input,
		       expected, got);
	free(got);
	return ok;
}

#define EXPECT(input, expected)                                                \
	CHECK(expect_set(input, sizeof(input) - 1, NULL, expected))
#define EXPECT_SET(set, input, expected)                                       \
	CHECK(expect_set(input, sizeof(input) - 1, set, expected))

static int
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

TEST(greetings)
{
	EXPECT("* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] "
	       "Dovecot ready.\r\n",
	       "* OK/OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ AUTH=PLAIN] "
	       "\"Dovecot ready.\"\n");
	EXPECT("* PREAUTH [CAPABILITY IMAP4rev1 QRESYNC] Logged in as x\r\n",
	       "* PREAUTH/PREAUTH [CAPABILITY IMAP4rev1 QRESYNC] "
	       "\"Logged in as x\"\n");
	EXPECT("* BYE Server shutting down\r\n",
	       "* BYE/BYE \"Server shutting down\"\n");
	EXPECT("* OK\r\n", "* OK/OK \"\"\n");
	EXPECT("* ok hello\r\n", "* OK/OK \"hello\"\n");
}

TEST(tagged_status)
{
	EXPECT("A1 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n",
	       "tag=A1 OK/OK [READ-WRITE] \"Select completed (0.001 + "
	       "0.000 secs).\"\n");
	EXPECT("A2 NO [TRYCREATE] Mailbox doesn't exist: x\r\n",
	       "tag=A2 NO/NO [TRYCREATE] \"Mailbox doesn't exist: x\"\n");
	EXPECT("A3 BAD Error in IMAP command: \"unbalanced (\r\n",
	       "tag=A3 BAD/BAD \"Error in IMAP command: \"unbalanced (\"\n");
	EXPECT("a4 ok done\r\n", "tag=a4 OK/OK \"done\"\n");
	EXPECT("A5 OK\r\n", "tag=A5 OK/OK \"\"\n");
	EXPECT("A6 NO [ALERT]\r\n", "tag=A6 NO/NO [ALERT] \"\"\n");
	EXPECT("A7 PREAUTH x\r\n", "tag=A7 PREAUTH/PREAUTH \"x\"\n");
	EXPECT("A8 OK [ALERT]  two spaces\r\n",
	       "tag=A8 OK/OK [ALERT] \" two spaces\"\n");
	/* Text after the code is free-form: brackets and quotes included. */
	EXPECT("A9 OK [a] b] \"c ( {5}\r\n",
	       "tag=A9 OK/OK [A] \"b] \"c ( {5}\"\n");
	/* Bare LF is accepted as a line end. */
	EXPECT("A10 OK done\n", "tag=A10 OK/OK \"done\"\n");
}

TEST(response_codes)
{
	EXPECT("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\*)] Limited\r\n",
	       "* OK/OK [PERMANENTFLAGS (\\Answered \\Flagged \\*)] "
	       "\"Limited\"\n");
	EXPECT("A1 OK [APPENDUID 38505 3955] APPEND completed\r\n",
	       "tag=A1 OK/OK [APPENDUID 38505 3955] \"APPEND completed\"\n");
	EXPECT("A1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	       "tag=A1 OK/OK [COPYUID 38505 304,319:320 3956:3958] "
	       "\"Done\"\n");
	EXPECT("A1 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
	       "tag=A1 OK/OK [MODIFIED 7,9] \"Conditional STORE failed\"\n");
	EXPECT("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
	       "* OK/OK [HIGHESTMODSEQ 715194045007] \"Highest\"\n");
	EXPECT("* OK [CLOSED] Previous mailbox closed.\r\n",
	       "* OK/OK [CLOSED] \"Previous mailbox closed.\"\n");
	EXPECT("* OK [NOMODSEQ] Sorry\r\n", "* OK/OK [NOMODSEQ] \"Sorry\"\n");
	EXPECT("A1 NO [UNAVAILABLE] Try later\r\n",
	       "tag=A1 NO/NO [UNAVAILABLE] \"Try later\"\n");
	EXPECT("* OK [uidvalidity 3857529045] UIDs valid\r\n",
	       "* OK/OK [UIDVALIDITY 3857529045] \"UIDs valid\"\n");
	EXPECT("* OK [BADCHARSET (UTF-8 \"x y\")] no\r\n",
	       "* OK/OK [BADCHARSET (UTF-8 \"x y\")] \"no\"\n");
	EXPECT("* NO [CAPABILITY IMAP4rev1 NIL] x\r\n",
	       "* NO/NO [CAPABILITY IMAP4rev1 NIL] \"x\"\n");
}

TEST(response_code_fields)
{
	const char *in = "A1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_response *r;
	const char *error, *s;
	uint32_t n;

	CHECK_INT_EQ(imap_parser_feed(p, in, strlen(in)), strlen(in));
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK_INT_EQ(r->kind, IMAP_RESP_TAGGED);
	CHECK_STREQ(r->tag, "A1");
	CHECK_STREQ(r->name, "OK");
	CHECK_INT_EQ(r->status, IMAP_STATUS_OK);
	CHECK_STREQ(r->code, "COPYUID");
	CHECK_INT_EQ(r->code_count, 3);
	CHECK(imap_arg_get_uint32(&r->code_args[0], &n) && n == 38505);
	CHECK(imap_arg_get_astring(&r->code_args[1], &s) &&
	      strcmp(s, "304,319:320") == 0);
	CHECK(r->args == NULL && r->count == 0);
	CHECK_STREQ(r->text, "Done");
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 0);
	CHECK_INT_EQ(imap_parser_pending(p), 0);
	imap_parser_free(&p);
	CHECK(p == NULL);
}

TEST(continuations)
{
	EXPECT("+ idling\r\n", "+ \"idling\"\n");
	EXPECT("+\r\n", "+ \"\"\n");
	EXPECT("+ \r\n", "+ \"\"\n");
	EXPECT("+ dGVzdA==\r\n", "+ \"dGVzdA==\"\n");
	EXPECT("+  x\r\n", "+ \" x\"\n");
}

TEST(capability_enabled)
{
	EXPECT("* CAPABILITY IMAP4rev1 LITERAL+ QRESYNC AUTH=PLAIN\r\n",
	       "* CAPABILITY : IMAP4rev1 LITERAL+ QRESYNC AUTH=PLAIN\n");
	EXPECT("* ENABLED QRESYNC CONDSTORE\r\n",
	       "* ENABLED : QRESYNC CONDSTORE\n");
	EXPECT("* ENABLED\r\n", "* ENABLED\n");
	/* A trailing space before CRLF is tolerated. */
	EXPECT("* ENABLED QRESYNC \r\n", "* ENABLED : QRESYNC\n");
}

TEST(list)
{
	EXPECT("* LIST (\\HasNoChildren) \"/\" INBOX\r\n",
	       "* LIST : (\\HasNoChildren) \"/\" INBOX\n");
	EXPECT("* LIST (\\Noselect) NIL \"\"\r\n",
	       "* LIST : (\\Noselect) NIL \"\"\n");
	EXPECT("* LIST () \".\" \"a \\\"b\\\\c\"\r\n",
	       "* LIST : () \".\" \"a \"b\\x5cc\"\n");
	EXPECT("* LIST () \"/\" {7}\r\nfoo bar\r\n",
	       "* LIST : () \"/\" {7}\"foo bar\"\n");
	EXPECT("* LIST (\\Subscribed) \"/\" foo[bar\r\n",
	       "* LIST : (\\Subscribed) \"/\" foo[bar\n");
	EXPECT("* LIST (\\HasChildren) \"/\" Foo (\"CHILDINFO\" "
	       "(\"SUBSCRIBED\"))\r\n",
	       "* LIST : (\\HasChildren) \"/\" Foo (\"CHILDINFO\" "
	       "(\"SUBSCRIBED\"))\n");
	EXPECT("* LIST () \"/\" x (OLDNAME (\"y\"))\r\n",
	       "* LIST : () \"/\" x (OLDNAME (\"y\"))\n");
	EXPECT("* LSUB () \"/\" %*\r\n", "* LSUB : () \"/\" %*\n");
}

TEST(status_modseq)
{
	const char *in = "* STATUS INBOX (MESSAGES 231 UIDNEXT 44292 "
	                 "HIGHESTMODSEQ 18446744073709551615)\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_response *r;
	const struct imap_arg *list;
	const char *error;
	size_t n;
	uint64_t v;
	uint32_t v32;

	EXPECT("* STATUS \"a b\" (HIGHESTMODSEQ 715194045007)\r\n",
	       "* STATUS : \"a b\" (HIGHESTMODSEQ 715194045007)\n");
	CHECK_INT_EQ(imap_parser_feed(p, in, strlen(in)), strlen(in));
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK_INT_EQ(r->count, 2);
	CHECK(imap_arg_get_list(&r->args[1], &list, &n) && n == 6);
	CHECK(imap_arg_is_atom(&list[4], "highestmodseq"));
	CHECK(imap_arg_get_uint64(&list[5], &v) && v == UINT64_MAX);
	CHECK(!imap_arg_get_uint32(&list[5], &v32));
	CHECK(imap_arg_get_uint32(&list[3], &v32) && v32 == 44292);
	imap_parser_free(&p);
}

TEST(fetch)
{
	static const char in[] =
	    "* 12 FETCH (UID 4827313 FLAGS (\\Seen $Forwarded) "
	    "MODSEQ (715194045007) INTERNALDATE \"17-Jul-1996 02:44:25 "
	    "-0700\" RFC822.SIZE 12 X-GUID 8b4f1e2a EMAILID (M6d99ac32) "
	    "BODY[] {10}\r\na\0b\r\n\xff\xfe\r\nz)\r\n";

	EXPECT(in, "* #12 FETCH : (UID 4827313 FLAGS (\\Seen $Forwarded) "
	           "MODSEQ (715194045007) INTERNALDATE \"17-Jul-1996 "
	           "02:44:25 -0700\" RFC822.SIZE 12 X-GUID 8b4f1e2a EMAILID "
	           "(M6d99ac32) BODY[] {10}\"a\\x00b\\x0d\\x0a\\xff\\xfe"
	           "\\x0d\\x0az\")\n");
	EXPECT("* 1 FETCH (BODY[] NIL)\r\n", "* #1 FETCH : (BODY[] NIL)\n");
	EXPECT("* 1 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {0}\r\n)\r\n",
	       "* #1 FETCH : (BODY[HEADER.FIELDS (DATE FROM)] {0}\"\")\n");
	EXPECT("* 1 FETCH (BINARY[1]<0> ~{3}\r\n\0\1\2 BODY[1.MIME] \"\")\r\n",
	       "* #1 FETCH : (BINARY[1]<0> ~{3}\"\\x00\\x01\\x02\" "
	       "BODY[1.MIME] \"\")\n");
	EXPECT("* 1 FETCH (FLAGS ())\r\n", "* #1 FETCH : (FLAGS ())\n");
	/* NIL only as a whole atom. */
	EXPECT("* 1 FETCH (X NILS \"NIL\" nil)\r\n",
	       "* #1 FETCH : (X NILS \"NIL\" NIL)\n");
}

TEST(fetch_fields)
{
	static const char in[] = "* 3 FETCH (UID 7 BODY[] {3}\r\nx\0y)\r\n";
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_response *r;
	const struct imap_arg *list;
	const char *error, *s;
	size_t n;

	CHECK_INT_EQ(imap_parser_feed(p, in, sizeof(in) - 1), sizeof(in) - 1);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK(r->kind == IMAP_RESP_UNTAGGED && r->tag == NULL);
	CHECK(r->has_number && r->number == 3);
	CHECK(r->status == IMAP_STATUS_NONE && r->code == NULL);
	CHECK(r->text == NULL);
	CHECK(imap_arg_get_list(&r->args[0], &list, &n) && n == 4);
	CHECK(list[3].type == IMAP_ARG_LITERAL && list[3].fd == -1);
	CHECK_MEMEQ(list[3].str, list[3].len, "x\0y", (size_t)3);
	CHECK_INT_EQ(list[3].str[3], '\0');
	CHECK(imap_arg_get_astring(&list[3], &s));
	CHECK(imap_arg_is_atom(&list[2], "BODY[]"));
	CHECK(!imap_arg_get_nstring(&list[0], &s) || strcmp(s, "UID") == 0);
	imap_parser_free(&p);
}

TEST(data_responses)
{
	EXPECT("* VANISHED (EARLIER) 41,43:116\r\n",
	       "* VANISHED : (EARLIER) 41,43:116\n");
	EXPECT("* ESEARCH (TAG \"A1\") UID MIN 1 MAX 9 ALL 1:3,5\r\n",
	       "* ESEARCH : (TAG \"A1\") UID MIN 1 MAX 9 ALL 1:3,5\n");
	EXPECT("* SEARCH 2 3 6\r\n", "* SEARCH : 2 3 6\n");
	EXPECT("* SEARCH\r\n", "* SEARCH\n");
	EXPECT("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
	       "* FLAGS : (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\n");
	EXPECT("* 0 EXISTS\r\n", "* #0 EXISTS\n");
	EXPECT("* 4294967295 EXISTS\r\n", "* #4294967295 EXISTS\n");
	EXPECT("* 4294967295 EXPUNGE\r\n", "* #4294967295 EXPUNGE\n");
	EXPECT("* 4294967296 EXISTS\r\n", "ERR: message number too large");
	EXPECT("* 99999999999999999999999 EXPUNGE\r\n",
	       "ERR: message number too large");
	EXPECT("* 5 RECENT\r\n", "* #5 RECENT\n");
	EXPECT("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n",
	       "* NAMESPACE : ((\"\" \"/\")) NIL NIL\n");
	EXPECT("* ID (\"name\" \"Dovecot\")\r\n",
	       "* ID : (\"name\" \"Dovecot\")\n");
	EXPECT("* ID NIL\r\n", "* ID : NIL\n");
	EXPECT("* 3 expunge\r\n", "* #3 EXPUNGE\n");
	EXPECT("* X (a)(b)\"c\"\r\n", "* X : (a) (b) \"c\"\n");
}

TEST(several_responses)
{
	EXPECT("* OK [CAPABILITY IMAP4rev1] ready\r\n"
	       "* 2 EXISTS\r\n"
	       "* 1 FETCH (BODY[] {5}\r\nhello UID 1)\r\n"
	       "+ go\r\n"
	       "A1 OK done\r\n",
	       "* OK/OK [CAPABILITY IMAP4rev1] \"ready\"\n"
	       "* #2 EXISTS\n"
	       "* #1 FETCH : (BODY[] {5}\"hello\" UID 1)\n"
	       "+ \"go\"\n"
	       "tag=A1 OK/OK \"done\"\n");
	/* An incomplete tail stays pending. */
	EXPECT("* 2 EXISTS\r\n* 3 EXI", "* #2 EXISTS\nPENDING 7");
	EXPECT("* 1 FETCH (BODY[] {5}\r\nhel", "PENDING 26");
}

TEST(spilled_literal)
{
	static const char in[] = "* 1 FETCH (BODY[] {40}\r\n"
	                         "0123456789\0\r\n\xff"
	                         "45678901234567890123456789 "
	                         "BODY[1] {16}\r\n0123456789abcdef)\r\n"
	                         "A1 OK done\r\n";
	struct imap_parser_settings set = {.max_inline_literal = 16};
	struct imap_parser *p;
	const struct imap_response *r;
	const struct imap_arg *list;
	const char *error;
	char tmp[64];
	int fds = count_fds();
	size_t n, i;

	EXPECT_SET(&set, in,
	           "* #1 FETCH : (BODY[] {40 spill}\"0123456789\\x00\\x0d"
	           "\\x0a\\xff45678901234567890123456789\" BODY[1] "
	           "{16}\"0123456789abcdef\")\n"
	           "tag=A1 OK/OK \"done\"\n");
	CHECK_INT_EQ(count_fds(), fds);

	/* Byte by byte: the buffer never holds the spilled bytes. */
	p = imap_parser_create(&set);
	for (i = 0; i < sizeof(in) - 1; i++) {
		CHECK_INT_EQ(imap_parser_feed(p, in + i, 1), 1);
		CHECK(imap_parser_pending(p) <= i + 1);
		if (imap_parser_next(p, &r, &error) == 1)
			break;
	}
	CHECK(i < sizeof(in) - 1);
	CHECK(imap_arg_get_list(&r->args[0], &list, &n) && n == 4);
	CHECK(list[1].type == IMAP_ARG_LITERAL && list[1].str == NULL);
	CHECK(list[1].fd >= 0 && list[1].len == 40);
	CHECK_INT_EQ(pread(list[1].fd, tmp, sizeof(tmp), 0), 40);
	CHECK_MEMEQ(tmp, (size_t)40, in + 24, (size_t)40);
	CHECK(!imap_arg_get_astring(&list[1], &error));
	CHECK(list[3].fd == -1 && list[3].len == 16);
	CHECK_INT_EQ(count_fds(), fds + 1);
	imap_parser_free(&p);
	CHECK_INT_EQ(count_fds(), fds);

	/* The file is closed by the following next() call. */
	p = imap_parser_create(&set);
	CHECK_INT_EQ(imap_parser_feed(p, in, sizeof(in) - 1), sizeof(in) - 1);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK_INT_EQ(count_fds(), fds + 1);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK_INT_EQ(count_fds(), fds);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 0);
	imap_parser_free(&p);

	/* An error mid-literal leaves no descriptor behind either. */
	EXPECT_SET(&set, "* 1 FETCH (BODY[] {20}\r\n01234567890123456789\r\n",
	           "ERR: missing ')' at end of line");
	CHECK_INT_EQ(count_fds(), fds);
}

TEST(spill_count_limit)
{
	struct imap_parser_settings set = {.max_inline_literal = 1};
	struct buf *in = buf_create(4096);
	int i, fds = count_fds();
	char *got;

	CHECK(buf_append_str(in, "* 1 FETCH (") == 0);
	for (i = 0; i < IMAP_MAX_SPILLED_LITERALS + 1; i++)
		CHECK(buf_append_str(in, "X {2}\r\nab ") == 0);
	CHECK(buf_append_str(in, ")\r\n") == 0);
	CHECK(expect_set(buf_data(in), buf_len(in), &set,
	                 "ERR: more than 64 large literals in one response"));
	buf_truncate(in, 11 + IMAP_MAX_SPILLED_LITERALS * 10);
	CHECK(buf_append_str(in, ")\r\n") == 0);
	got = parse_set(buf_data(in), buf_len(in), &set);
	CHECK(strncmp(got, "* #1 FETCH : (X {2 spill}\"ab\" X {2 spill}", 38) ==
	      0);
	CHECK(strstr(got, "ERR") == NULL);
	free(got);
	CHECK_INT_EQ(count_fds(), fds);
	buf_free(&in);
}

TEST(spill_dir_fallback)
{
	struct imap_parser_settings set = {.max_inline_literal = 4,
	                                   .spill_dir = "/nonexistent/dir"};

	EXPECT_SET(&set, "* 1 FETCH (BODY[] {5}\r\nhello)\r\n",
	           "ERR: cannot create a temporary file for a literal in "
	           "/nonexistent/dir: No such file or directory");
}

TEST(malformed)
{
	EXPECT("* LIST () \"/\" \"unterminated\r\n",
	       "* LIST MALFORMED(line ends inside a quoted string)\n");
	EXPECT("* LIST () \"/\" \"bad\\e\"\r\n",
	       "* LIST MALFORMED(invalid escape in quoted string)\n");
	EXPECT("* LIST () \"/\" \"nul\0\"\r\n",
	       "* LIST MALFORMED(NUL byte in a quoted string)\n");
	EXPECT("* 1 FETCH (BODY[] {99999999999999999999}\r\n",
	       "ERR: literal larger than 1073741824 bytes");
	EXPECT("* 1 FETCH (BODY[] {1073741825}\r\n",
	       "ERR: literal larger than 1073741824 bytes");
	EXPECT("* 1 FETCH (BODY[] {-1}\r\n",
	       "* #1 FETCH MALFORMED(invalid literal size)\n");
	EXPECT("* 1 FETCH (BODY[] {1x}\r\n",
	       "* #1 FETCH MALFORMED(invalid literal size)\n");
	EXPECT("* 1 FETCH (BODY[] {}\r\n",
	       "* #1 FETCH MALFORMED(invalid literal size)\n");
	/* Skipped to the first LF: the rest is read as responses. */
	EXPECT("* 1 FETCH (BODY[] {5+}\r\nhello)\r\n",
	       "* #1 FETCH MALFORMED(non-synchronizing literal {n+} from "
	       "the server)\n* FETCH MALFORMED(invalid character ')' in the "
	       "tag (after a malformed line))\n");
	EXPECT("* 1 FETCH (BODY[] {5} \r\nhello)\r\n",
	       "* #1 FETCH MALFORMED(literal size not followed by CRLF)\n"
	       "* FETCH MALFORMED(invalid character ')' in the tag (after a "
	       "malformed line))\n");
	EXPECT("* 1 FETCH (UID 1))\r\n",
	       "* #1 FETCH MALFORMED(unbalanced ')')\n");
	EXPECT("* 1 FETCH (UID 1\r\n",
	       "* #1 FETCH MALFORMED(missing ')' at end of line)\n");
	EXPECT("* X a\0b\r\n", "* X MALFORMED(NUL byte in an atom)\n");
	EXPECT("* X \0\r\n", "* X MALFORMED(NUL byte in response)\n");
	EXPECT("* OK te\0xt\r\n", "ERR: NUL byte in the response text");
	EXPECT("A1\0 OK\r\n", "ERR: NUL byte in the tag");
	EXPECT(" OK x\r\n", "ERR: missing tag");
	EXPECT("\r\n", "ERR: empty line");
	EXPECT("A1\r\n", "ERR: missing keyword after tag");
	EXPECT("* 3\r\n", "ERR: missing keyword after number");
	EXPECT("*\r\n", "ERR: no space after '*'");
	EXPECT("* \r\n", "ERR: missing response keyword");
	EXPECT("* X a\rb\r\n", "ERR: CR not followed by LF");
	EXPECT("* OK a\rb\r\n", "ERR: CR not followed by LF");
	EXPECT("* X a\x01\r\n",
	       "* X MALFORMED(control character in an atom)\n");
	EXPECT("* X a\"b\"\r\n",
	       "* X MALFORMED(invalid character '\"' in an atom)\n");
	EXPECT("* OK [ALERT x\r\n", "ERR: unterminated response code");
	EXPECT("* OK [] x\r\n", "ERR: empty response code");
	EXPECT("* OK [X (a] x\r\n", "ERR: missing ')' in response code");
	EXPECT("* 1 FETCH (BODY[HEADER\r\n",
	       "* #1 FETCH MALFORMED(line ends inside a FETCH item's "
	       "[section])\n");
	EXPECT("(a)\r\n", "ERR: invalid character '(' in the tag");
	/* Whatever follows an error is not looked at. */
	EXPECT("* OK [X )] x\r\n* OK fine\r\n", "ERR: unbalanced ')'");
	/* A malformed data line is skipped to its end, whatever it holds,
	 * and the next response is read as usual (Cyrus 3.6's STATUS with
	 * garbage bytes in place of a MAILBOXID). */
	EXPECT("* STATUS INBOX (UIDNEXT 2 MAILBOXID (O\xb7\x12\tV) "
	       "HIGHESTMODSEQ 2)\r\n* STATUS b (UIDNEXT 3)\r\nA1 OK x\r\n",
	       "* STATUS MALFORMED(control character in an atom)\n"
	       "* STATUS : b (UIDNEXT 3)\ntag=A1 OK/OK \"x\"\n");
	EXPECT("* STATUS b (MAILBOXID (O\x01\rx)) x\r\n* STATUS c ()\r\n",
	       "* STATUS MALFORMED(control character in an atom)\n"
	       "* STATUS : c ()\n");
	EXPECT("* STATUS b (MAILBOXID (\x93 {\x01V)) x\r\n* STATUS c ()\r\n",
	       "* STATUS MALFORMED(invalid literal size)\n* STATUS : c ()\n");
	/* A LF among the garbage: the rest is the same malformed response;
	 * a valid response after it is read as usual. */
	EXPECT("* STATUS b (MAILBOXID (O\x01\nV UIDNEXT 2)\r\n"
	       "* STATUS c ()\r\n",
	       "* STATUS MALFORMED(control character in an atom)\n"
	       "* STATUS MALFORMED(tagged response without a status (after a "
	       "malformed line))\n* STATUS : c ()\n");
	EXPECT("* STATUS b (MAILBOXID (O\x01\n)V) x)\r\nA1 OK done\r\n",
	       "* STATUS MALFORMED(control character in an atom)\n"
	       "* STATUS MALFORMED(invalid character ')' in the tag (after a "
	       "malformed line))\ntag=A1 OK/OK \"done\"\n");
	EXPECT("* STATUS b (MAILBOXID (O\x01\n V) x)\r\n",
	       "* STATUS MALFORMED(control character in an atom)\n"
	       "* STATUS MALFORMED(missing tag (after a malformed line))\n");
	/* Without a malformed line before, such a line is fatal. */
	EXPECT("V) x)\r\n", "ERR: invalid character ')' in the tag");
	/* Limits stay fatal, and so does a line with a literal. */
	EXPECT("* X {1}\r\na \x01\r\n", "ERR: control character in response");
}

TEST(nesting_and_args)
{
	struct imap_parser_settings set = {.max_depth = 8, .max_args = 10};
	char bomb[4096];

	EXPECT_SET(&set, "* X ((((((((a))))))))\r\n",
	           "* X : ((((((((a))))))))\n");
	EXPECT_SET(&set, "* X (((((((((a)))))))))\r\n",
	           "ERR: lists nested deeper than 8");
	EXPECT_SET(&set, "* X 1 2 3 4 5 6 7 8 9 10\r\n",
	           "* X : 1 2 3 4 5 6 7 8 9 10\n");
	EXPECT_SET(&set, "* X 1 2 3 4 5 6 7 8 9 10 11\r\n",
	           "ERR: more than 10 arguments in a response");
	EXPECT_SET(&set, "* X ((((()))) \"a\" b {1}\r\nc (d e)) f\r\n",
	           "ERR: more than 10 arguments in a response");
	/* A nesting bomb with the default limits, never completed. */
	memset(bomb, '(', sizeof(bomb));
	memcpy(bomb, "* X ", 4);
	CHECK(expect_set(bomb, sizeof(bomb), NULL,
	                 "ERR: lists nested deeper than 16"));
}

TEST(overlong_line)
{
	struct imap_parser_settings set = {.max_line = 4096};
	struct imap_parser *p = imap_parser_create(&set);
	const struct imap_response *r;
	const char *error = NULL;
	char chunk[1000];
	int i, ret = 0;

	memset(chunk, 'a', sizeof(chunk));
	CHECK_INT_EQ(imap_parser_feed(p, "* X ", 4), 4);
	for (i = 0; i < 100 && ret == 0; i++) {
		CHECK(imap_parser_feed(p, chunk, sizeof(chunk)) ==
		      sizeof(chunk));
		ret = imap_parser_next(p, &r, &error);
	}
	CHECK(ret == -1 && i == 5);
	CHECK_STREQ(error, "response line longer than 4096 bytes");
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), -1);
	imap_parser_free(&p);

	/* The default limit, and its message. */
	p = imap_parser_create(NULL);
	ret = 0;
	for (i = 0; i < 2000 && ret == 0; i++) {
		CHECK(imap_parser_feed(p, chunk, sizeof(chunk)) ==
		      sizeof(chunk));
		ret = imap_parser_next(p, &r, &error);
	}
	CHECK(ret == -1 && i == 1049);
	CHECK_STREQ(error, "response line longer than 1048576 bytes");
	imap_parser_free(&p);

	/* A line passing the limit inside one feed fails as well. */
	{
		char *big = malloc(5000);

		memset(big, 'b', 5000);
		memcpy(big, "* X ", 4);
		memcpy(big + 4998, "\r\n", 2);
		CHECK(expect_set(big, 5000, &set,
		                 "ERR: response line longer than 4096 bytes"));
		free(big);
	}
}

TEST(response_limit)
{
	struct imap_parser_settings set = {.max_response = 1000,
	                                   .max_line = 4096};
	struct imap_parser *p;
	const struct imap_response *r;
	const char *error = NULL;
	size_t room;
	char lit[2000];

	/* An inline literal that cannot fit is refused at its header. */
	EXPECT_SET(&set, "* 1 FETCH (BODY[] {999}\r\n",
	           "ERR: response longer than 1000 bytes");
	/* Many small literals fill the buffer: an error, not a hang. */
	memset(lit, 'x', sizeof(lit));
	p = imap_parser_create(&set);
	CHECK_INT_EQ(imap_parser_feed(p, "* 1 FETCH (", 11), 11);
	while (imap_parser_next(p, &r, &error) == 0) {
		if (imap_parser_input_space(p, &room) == NULL || room == 0)
			break;
		if (imap_parser_feed(p, "A {100}\r\n", 9) != 9 ||
		    imap_parser_feed(p, lit, 100) != 100)
			break;
	}
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), -1);
	CHECK_STREQ(error, "response longer than 1000 bytes");
	CHECK(imap_parser_pending(p) <= 1000);
	imap_parser_free(&p);
}

TEST(huge_spilled_literal)
{
	static const char head[] = "* 1 FETCH (UID 5 BODY[] {20971520}\r\n";
	static const char tail[] = " FLAGS (\\Seen))\r\nA1 OK done\r\n";
	const size_t size = 20971520;
	struct imap_parser_settings set = {.max_response = 65536};
	struct imap_parser *p = imap_parser_create(&set);
	const struct imap_response *r = NULL;
	const struct imap_arg *list;
	const char *error;
	char chunk[4096], back[4096];
	size_t off = 0, n, room, max_pending = 0, cnt;
	struct timespec t0, t1;
	int ret = 0, fds = count_fds();
	double ms;

	for (n = 0; n < sizeof(chunk); n++)
		chunk[n] = (char)(n * 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT_EQ(imap_parser_feed(p, head, sizeof(head) - 1), sizeof(head) - 1);
	while (off < size && ret == 0) {
		n = size - off < sizeof(chunk) ? size - off : sizeof(chunk);
		imap_parser_input_space(p, &room);
		/* What is held in memory plus the room offered. */
		CHECK(room + (imap_parser_pending(p) - off) <= 65536);
		if (imap_parser_feed(p, chunk, n) != n)
			break;
		off += n;
		ret = imap_parser_next(p, &r, &error);
		if (imap_parser_pending(p) - off > max_pending)
			max_pending = imap_parser_pending(p) - off;
	}
	CHECK(off == size && ret == 0);
	CHECK_INT_EQ(imap_parser_feed(p, tail, sizeof(tail) - 1), sizeof(tail) - 1);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 20 MB spilled literal in 4 KB chunks: %.1f ms\n", ms);
	CHECK(ms < 2000);
	CHECK(max_pending < 100);
	CHECK(imap_arg_get_list(&r->args[0], &list, &cnt) && cnt == 6);
	CHECK(list[3].fd >= 0 && list[3].len == size);
	CHECK_INT_EQ(pread(list[3].fd, back, sizeof(back), size - 4096), 4096);
	CHECK_MEMEQ(back, sizeof(back), chunk, sizeof(chunk));
	CHECK(imap_arg_get_list(&list[5], &list, &cnt) && cnt == 1);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	CHECK_STREQ(r->tag, "A1");
	imap_parser_free(&p);
	CHECK_INT_EQ(count_fds(), fds);
}

TEST(large_inline_literal)
{
	/* 7 MB kept in memory (inline limit raised) fed in 4 KB chunks:
	 * resuming must not rescan what was already seen. */
	struct imap_parser_settings set = {.max_inline_literal = 8 << 20};
	struct imap_parser *p = imap_parser_create(&set);
	const struct imap_response *r = NULL;
	const char *error;
	char chunk[4096], hdr[64];
	size_t size = 7 << 20, off = 0, n;
	struct timespec t0, t1;
	int ret = 0;
	double ms;

	memset(chunk, 'q', sizeof(chunk));
	n = (size_t)snprintf(hdr, sizeof(hdr), "* 1 FETCH (BODY[] {%zu}\r\n",
	                     size);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT_EQ(imap_parser_feed(p, hdr, n), n);
	while (off < size && ret == 0) {
		n = size - off < sizeof(chunk) ? size - off : sizeof(chunk);
		if (imap_parser_feed(p, chunk, n) != n)
			break;
		off += n;
		ret = imap_parser_next(p, &r, &error);
	}
	CHECK(off == size && ret == 0);
	CHECK_INT_EQ(imap_parser_feed(p, ")\r\n", 3), 3);
	CHECK_INT_EQ(imap_parser_next(p, &r, &error), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 7 MB inline literal in 4 KB chunks: %.1f ms\n", ms);
	CHECK(ms < 2000);
	CHECK(r->args[0].list[1].len == size && r->args[0].list[1].fd == -1);
	CHECK_INT_EQ(r->args[0].list[1].str[size - 1], 'q');
	imap_parser_free(&p);
}

TEST(arg_helpers)
{
	struct imap_arg a = {.type = IMAP_ARG_ATOM, .fd = -1};
	struct imap_arg nil = {.type = IMAP_ARG_NIL, .fd = -1};
	struct imap_arg lst = {
	    .type = IMAP_ARG_LIST, .fd = -1, .list = &a, .len = 1};
	const struct imap_arg *items;
	const char *s = "x";
	uint32_t u32;
	uint64_t u64;
	size_t n;

#define ATOM(v) (a.str = (v), a.len = strlen(v))
	ATOM("4294967295");
	CHECK(imap_arg_get_uint32(&a, &u32) && u32 == 4294967295U);
	ATOM("4294967296");
	CHECK(!imap_arg_get_uint32(&a, &u32));
	CHECK(imap_arg_get_uint64(&a, &u64) && u64 == 4294967296ULL);
	ATOM("18446744073709551616");
	CHECK(!imap_arg_get_uint64(&a, &u64));
	ATOM("000000000000000000001");
	CHECK(!imap_arg_get_uint64(&a, &u64));
	ATOM("00000000000000000001");
	CHECK(imap_arg_get_uint64(&a, &u64) && u64 == 1);
	ATOM("+1");
	CHECK(!imap_arg_get_uint32(&a, &u32));
	ATOM("-1");
	CHECK(!imap_arg_get_uint64(&a, &u64));
	ATOM("");
	CHECK(!imap_arg_get_uint32(&a, &u32));
	ATOM("12a");
	CHECK(!imap_arg_get_uint32(&a, &u32));
	CHECK(imap_arg_is_atom(&a, "12A"));
	CHECK(!imap_arg_is_atom(&nil, "NIL"));
	CHECK(imap_arg_get_nstring(&nil, &s) && s == NULL);
	CHECK(!imap_arg_get_astring(&nil, &s));
	CHECK(imap_arg_get_list(&lst, &items, &n) && n == 1 && items == &a);
	CHECK(!imap_arg_get_list(&a, &items, &n));
	a.type = IMAP_ARG_STRING;
	ATOM("5");
	CHECK(!imap_arg_get_uint32(&a, &u32));
	CHECK(imap_arg_get_astring(&a, &s) && strcmp(s, "5") == 0);
#undef ATOM
}

TEST(lenient_spacing)
{
	EXPECT("* X ( a  b )  \r\n", "* X : (a b)\n");
	EXPECT("A1 OK \r\n", "tag=A1 OK/OK \"\"\n");
	EXPECT("* 3 EXISTS \r\n", "* #3 EXISTS\n");
	EXPECT("* 1 FETCH (BODY[] {2}\n\r\n)\n", "* #1 FETCH : (BODY[] "
	                                         "{2}\"\\x0d\\x0a\")\n");
	EXPECT("A1  OK\r\n", "ERR: missing response keyword");
}

/* Verbatim from Dovecot 2.3.19 (UID FETCH with BODY.PEEK[], a header
 * section and a BINARY partial, then the tagged reply). */
TEST(dovecot_fetch)
{
	EXPECT("* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent $x) MODSEQ (3) "
	       "INTERNALDATE \"28-Nov-2026 05:49:18 +0000\" RFC822.SIZE 52 "
	       "X-GUID 1795844958.M303554P13145.vm,S=48,W=52 BODY[] {52}\r\n"
	       "From: a@example.org\r\nSubject: test \xc3\xa9\r\n\r\n"
	       "body line\r\n BODY[HEADER.FIELDS (FROM SUBJECT)] {41}\r\n"
	       "From: a@example.org\r\nSubject: test \xc3\xa9\r\n\r\n "
	       "BINARY[1]<0> {4}\r\nbody)\r\n"
	       "a6 OK Fetch completed (0.017 + 0.000 + 0.016 secs).\r\n",
	       "* #1 FETCH : (UID 1 FLAGS (\\Seen \\Recent $x) MODSEQ (3) "
	       "INTERNALDATE \"28-Nov-2026 05:49:18 +0000\" RFC822.SIZE 52 "
	       "X-GUID 1795844958.M303554P13145.vm,S=48,W=52 BODY[] "
	       "{52}\"From: a@example.org\\x0d\\x0aSubject: test "
	       "\\xc3\\xa9\\x0d\\x0a\\x0d\\x0abody line\\x0d\\x0a\" "
	       "BODY[HEADER.FIELDS (FROM SUBJECT)] {41}\"From: "
	       "a@example.org\\x0d\\x0aSubject: test \\xc3\\xa9\\x0d\\x0a"
	       "\\x0d\\x0a\" BINARY[1]<0> {4}\"body\")\n"
	       "tag=a6 OK/OK \"Fetch completed (0.017 + 0.000 + 0.016 "
	       "secs).\"\n");
}

TEST(odd_tokens)
{
	EXPECT("* OK [PERMANENTFLAGS ()] none\r\n",
	       "* OK/OK [PERMANENTFLAGS ()] \"none\"\n");
	EXPECT("* X ~foo ~ ~{1}\r\n\xff\r\n", "* X : ~foo ~ ~{1}\"\\xff\"\n");
	EXPECT("* OK [X {2}\r\nab] t\r\n", "* OK/OK [X {2}\"ab\"] \"t\"\n");
	EXPECT("* X ]a] b]\r\n", "* X : ]a] b]\n");
	EXPECT("A1 OK [CAPABILITY a[b] t\r\n",
	       "tag=A1 OK/OK [CAPABILITY a[b] \"t\"\n");
	EXPECT("* 1 FETCH (BODY[1.2] {0}\r\n BODY[TEXT]<10> \"\")\r\n",
	       "* #1 FETCH : (BODY[1.2] {0}\"\" BODY[TEXT]<10> \"\")\n");
}
