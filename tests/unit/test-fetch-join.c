/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "imap-decode.h"
#include "imap-fetch-join.h"
#include "limits.h"

#include <stdlib.h>
#include <unistd.h>

/* Each piece goes through the real parser (spilling bodies past 16
 * bytes), one parser per piece: what the join holds must not point into
 * a response that is gone. */
static const struct imap_response *
parse(struct imap_parser **p, const char *s)
{
	static const struct imap_parser_settings set = {.max_inline_literal =
	                                                    16};
	const struct imap_response *resp = NULL;
	const char *error = NULL;

	imap_parser_free(p);
	*p = imap_parser_create(&set);
	CHECK(imap_parser_feed(*p, s, strlen(s)) == strlen(s));
	if (!CHECK(imap_parser_next(*p, &resp, &error) == 1))
		printf("# %s: %s\n", s, error != NULL ? error : "incomplete");
	return resp;
}

static const int cmd_a = 1, cmd_b = 2;

#define KEYS                                                                   \
	(IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ |               \
	 IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_HEADER)
#define BODY                                                                   \
	(IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |         \
	 IMAP_FETCH_BODY)

TEST(want)
{
	static const char keys[] =
	    "A7 UID FETCH 3:5,9 (UID FLAGS MODSEQ RFC822.SIZE INTERNALDATE "
	    "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n";
	struct uidset u = UIDSET_INIT;
	unsigned want;
	bool all;

	CHECK(imap_fetch_join_want(keys, strlen(keys), &want, &u, &all));
	CHECK_INT_EQ(want, KEYS);
	CHECK(!all && uidset_contains(&u, 4) && uidset_contains(&u, 9) &&
	      !uidset_contains(&u, 6));
	uidset_clear(&u);
#define WANT(s) imap_fetch_join_want(s, strlen(s), &want, &u, &all)
	CHECK(WANT("A8 UID FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])\r\n"));
	CHECK_INT_EQ(want, BODY);
	uidset_clear(&u);
	/* "n:*" may name a message below n. */
	CHECK(WANT("A9 UID FETCH 40:* (RFC822.SIZE)\r\n") && all);
	CHECK_INT_EQ(want, IMAP_FETCH_UID | IMAP_FETCH_RFC822_SIZE);
	CHECK(WANT("A1 FETCH 1:* FLAGS\r\n") && all);
	CHECK_INT_EQ(want, IMAP_FETCH_FLAGS);
	CHECK(WANT("A2 SELECT INBOX (QRESYNC (7 99))\r\n") && all);
	CHECK_INT_EQ(want,
	             IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ);
	/* Not joined: what is not known here, and other commands. */
	CHECK(!WANT("A3 UID FETCH 1 (FLAGS ENVELOPE)\r\n"));
	CHECK(!WANT("A4 UID FETCH 1 (BODY.PEEK[]<0.10>)\r\n"));
	CHECK(!WANT("A5 SELECT INBOX\r\n"));
	CHECK(!WANT("A6 UID STORE 1 +FLAGS (\\Seen)\r\n"));
	CHECK(!WANT("A7 NOOP\r\n"));
#undef WANT
	uidset_free(&u);
}

/* The joined response, decoded. */
static struct imap_fetch
decoded(const struct imap_response *r)
{
	struct imap_fetch f;
	const char *error = "";

	CHECK(r != NULL);
	if (r == NULL || imap_decode_fetch(r, &f, &error) < 0) {
		printf("# %s\n", error);
		memset(&f, 0, sizeof(f));
	}
	return f;
}

TEST(keys_in_pieces)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = NULL;
	const struct imap_response *r;
	const char *error;
	struct imap_fetch f;

	CHECK(j != NULL);
	CHECK_INT_EQ(
	    imap_fetch_join_add(j,
	                        parse(&p, "* 5 FETCH (UID 9 FLAGS (\\Seen) "
	                                  "MODSEQ (7))\r\n"),
	                        &cmd_a, KEYS, &r, &error),
	    0);
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 5 FETCH (UID 9 RFC822.SIZE 1234)\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	/* Another message meanwhile, whole: on at once, untouched. */
	r = NULL;
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j,
	                 parse(&p, "* 6 FETCH (UID 10 FLAGS () MODSEQ (8) "
	                           "RFC822.SIZE 1 INTERNALDATE "
	                           "\"01-Jan-2024 10:00:00 +0000\" "
	                           "BODY[HEADER.FIELDS (MESSAGE-ID)] "
	                           "{4}\r\nab\r\n)\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             1);
	f = decoded(r);
	CHECK_INT_EQ(f.uid, 10u);
	/* A newer FLAGS replaces the held one. */
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j,
	                 parse(&p, "* 5 FETCH (UID 9 FLAGS (\\Answered) "
	                           "INTERNALDATE "
	                           "\"01-Jan-2024 10:00:01 +0000\")\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	CHECK(imap_fetch_join_bytes(j) > 0);
	CHECK_INT_EQ(
	    imap_fetch_join_add(j,
	                        parse(&p, "* 5 FETCH (UID 9 BODY[HEADER.FIELDS "
	                                  "(MESSAGE-ID)] {21}\r\nMessage-ID: "
	                                  "<a@b>\r\n\r\n)\r\n"),
	                        &cmd_a, KEYS, &r, &error),
	    1);
	f = decoded(r);
	CHECK_INT_EQ(f.have, KEYS);
	CHECK_INT_EQ(f.uid, 9u);
	CHECK_INT_EQ(f.seq, 5u);
	CHECK_INT_EQ(f.size, 1234u);
	CHECK_INT_EQ(f.modseq, 7u);
	CHECK(f.flags_count == 1 && f.flags != NULL &&
	      imap_arg_is_atom(&f.flags[0], "\\Answered"));
	CHECK_STREQ(f.internaldate, "01-Jan-2024 10:00:01 +0000");
	CHECK(f.header != NULL && f.header->len == 21);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 0);
	CHECK_INT_EQ(imap_fetch_join_bytes(j), 0u);
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
	CHECK(j == NULL);
}

TEST(body_first_spilled_then_flags_without_uid)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = NULL;
	const struct imap_response *r;
	const char *error;
	struct imap_fetch f;
	char got[64];

	/* The body, spilled to a file the parser closes at the next
	 * response: the join keeps its own. */
	CHECK_INT_EQ(
	    imap_fetch_join_add(j,
	                        parse(&p, "* 2 FETCH (UID 4 BODY[] {20}\r\n"
	                                  "Subject: x\r\n\r\nbody\r\n)\r\n"),
	                        &cmd_b, BODY, &r, &error),
	    0);
	/* No UID: the sequence number says which. */
	CHECK_INT_EQ(
	    imap_fetch_join_add(j, parse(&p, "* 2 FETCH (FLAGS (\\Seen))\r\n"),
	                        &cmd_b, BODY, &r, &error),
	    0);
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j,
	                 parse(&p, "* 2 FETCH (INTERNALDATE "
	                           "\"01-Jan-2024 10:00:00 +0000\")\r\n"),
	                 &cmd_b, BODY, &r, &error),
	             1);
	f = decoded(r);
	CHECK_INT_EQ(f.have, BODY);
	CHECK_INT_EQ(f.uid, 4u);
	CHECK(f.body != NULL && f.body->str == NULL && f.body->fd >= 0 &&
	      f.body->len == 20);
	if (f.body != NULL && f.body->fd >= 0) {
		CHECK_INT_EQ(pread(f.body->fd, got, 20, 0), 20);
		CHECK_MEMEQ(got, 20, "Subject: x\r\n\r\nbody\r\n", 20);
	}
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
}

TEST(unsolicited_and_tagged_flush)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = NULL;
	const struct imap_response *r;
	const char *error;
	struct imap_fetch f;

	/* No command asks: on at once. */
	CHECK_INT_EQ(
	    imap_fetch_join_add(j, parse(&p, "* 1 FETCH (UID 3 FLAGS ())\r\n"),
	                        NULL, 0, &r, &error),
	    1);
	/* Nothing the command asked but the UID (a STORE's answer). */
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 1 FETCH (UID 3 MODSEQ (4))\r\n"),
	                 &cmd_a, IMAP_FETCH_UID | IMAP_FETCH_RFC822_SIZE, &r,
	                 &error),
	             1);
	/* A part that never gets its rest: on at its command's end. */
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 7 FETCH (UID 8 FLAGS (\\Seen))\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	CHECK_INT_EQ(
	    imap_fetch_join_add(j, parse(&p, "* 9 FETCH (UID 11 FLAGS ())\r\n"),
	                        &cmd_b, KEYS, &r, &error),
	    0);
	/* A piece that does not decode is not joined: a good UID must not
	 * hide a bad one. */
	r = NULL;
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 7 FETCH (UID x8 RFC822.SIZE 1)\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             1);
	CHECK(r != NULL && r->args[0].len == 4 &&
	      strcmp(r->args[0].list[1].str, "x8") == 0);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 1);
	f = decoded(r);
	CHECK_INT_EQ(f.uid, 8u);
	CHECK_INT_EQ(f.have, IMAP_FETCH_UID | IMAP_FETCH_FLAGS);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 0);
	CHECK(imap_fetch_join_bytes(j) > 0);
	imap_fetch_join_drop(j, &cmd_b);
	CHECK_INT_EQ(imap_fetch_join_bytes(j), 0u);
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
}

TEST(expunge_and_vanished)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = NULL;
	const struct imap_response *r;
	const char *error;
	struct uidset gone = UIDSET_INIT;
	struct imap_fetch f;

	CHECK_INT_EQ(
	    imap_fetch_join_add(j, parse(&p, "* 3 FETCH (FLAGS (\\Seen))\r\n"),
	                        &cmd_a, KEYS, &r, &error),
	    0);
	CHECK_INT_EQ(
	    imap_fetch_join_add(j, parse(&p, "* 5 FETCH (FLAGS (\\Draft))\r\n"),
	                        &cmd_a, KEYS, &r, &error),
	    0);
	/* Message 3 goes: its part is all there is; 5 becomes 4. */
	imap_fetch_join_expunge(j, 3);
	CHECK_INT_EQ(imap_fetch_join_next(j, NULL, &r), 1);
	CHECK_INT_EQ(r->number, 3u);
	CHECK_INT_EQ(imap_fetch_join_next(j, NULL, &r), 0);
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 4 FETCH (UID 20 RFC822.SIZE 5)\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j, parse(&p, "* 6 FETCH (UID 21 RFC822.SIZE 5)\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	/* After a VANISHED only UIDs name messages. */
	CHECK(uidset_add(&gone, 21) == 0);
	imap_fetch_join_vanished(j, &gone);
	CHECK_INT_EQ(imap_fetch_join_next(j, NULL, &r), 1);
	f = decoded(r);
	CHECK_INT_EQ(f.uid, 21u);
	CHECK_INT_EQ(imap_fetch_join_next(j, NULL, &r), 0);
	CHECK_INT_EQ(imap_fetch_join_add(
	                 j,
	                 parse(&p, "* 4 FETCH (INTERNALDATE "
	                           "\"01-Jan-2024 10:00:00 +0000\")\r\n"),
	                 &cmd_a, KEYS, &r, &error),
	             0);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 1);
	f = decoded(r);
	CHECK_INT_EQ(f.uid, 20u);
	CHECK_INT_EQ(f.have, IMAP_FETCH_UID | IMAP_FETCH_FLAGS |
	                         IMAP_FETCH_RFC822_SIZE);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 1);
	CHECK_INT_EQ(r->number, 4u);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_a, &r), 0);
	uidset_free(&gone);
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
}

TEST(cap)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = NULL;
	const struct imap_response *r;
	const char *error = NULL;
	char line[128];
	unsigned i;
	int ret = 0;

	/* Bodies that never get their flags, each spilled: the files run
	 * out first. */
	for (i = 1; i <= IMAP_MAX_FETCH_HELD_FILES + 1; i++) {
		snprintf(line, sizeof(line),
		         "* %u FETCH (UID %u BODY[] {20}\r\n"
		         "0123456789abcdefghij)\r\n",
		         i, i);
		ret = imap_fetch_join_add(j, parse(&p, line), &cmd_b, BODY, &r,
		                          &error);
		if (ret != 0)
			break;
	}
	CHECK_INT_EQ(ret, -1);
	CHECK_INT_EQ(i, IMAP_MAX_FETCH_HELD_FILES + 1);
	CHECK(error != NULL && strstr(error, "IMAP_MAX_FETCH_HELD") != NULL);
	/* What the command's part held is gone. */
	CHECK_INT_EQ(imap_fetch_join_bytes(j), 0u);
	CHECK_INT_EQ(imap_fetch_join_next(j, &cmd_b, &r), 0);
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
}

TEST(cap_messages)
{
	struct imap_fetch_join *j = imap_fetch_join_create();
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_response *resp, *r;
	const char *error = NULL;
	char line[64];
	unsigned i;
	int ret = 0;

	/* Flags that never get the rest, one message after another. */
	for (i = 1; i <= IMAP_MAX_FETCH_HELD_MESSAGES + 1; i++) {
		snprintf(line, sizeof(line), "* %u FETCH (UID %u FLAGS ())\r\n",
		         i, i);
		if (imap_parser_feed(p, line, strlen(line)) != strlen(line) ||
		    imap_parser_next(p, &resp, &error) != 1)
			break;
		ret = imap_fetch_join_add(j, resp, &cmd_a, KEYS, &r, &error);
		if (ret != 0)
			break;
	}
	CHECK_INT_EQ(ret, -1);
	CHECK_INT_EQ(i, IMAP_MAX_FETCH_HELD_MESSAGES + 1);
	CHECK(error != NULL &&
	      strstr(error, "IMAP_MAX_FETCH_HELD_MESSAGES") != NULL);
	CHECK_INT_EQ(imap_fetch_join_bytes(j), 0u);
	imap_parser_free(&p);
	imap_fetch_join_free(&j);
}
