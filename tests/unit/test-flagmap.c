/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "buf.h"
#include "flagmap.h"
#include "imap-parser.h"
#include "limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(set_get_remove_many)
{
	struct flagmap m;
	uint32_t uid;
	size_t pos = 0, seen = 0;
	struct flagmap_entry *e;

	flagmap_init(&m);
	for (uid = 1; uid <= 10000; uid++)
		flagmap_set(&m, uid * 7, uid % 2 ? "\\Seen" : "", uid);
	CHECK_INT_EQ(m.count, 10000);
	CHECK(flagmap_get(&m, 7 * 5) != NULL &&
	      strcmp(flagmap_get(&m, 35)->flags, "\\Seen") == 0);
	CHECK(flagmap_get(&m, 8) == NULL);
	CHECK(flagmap_get(&m, 0) == NULL);
	/* Removing keeps every other entry reachable (probe runs). */
	for (uid = 1; uid <= 10000; uid += 2)
		CHECK(flagmap_remove(&m, uid * 7));
	CHECK(!flagmap_remove(&m, 7));
	CHECK_INT_EQ(m.count, 5000);
	for (uid = 2; uid <= 10000; uid += 2) {
		e = flagmap_get(&m, uid * 7);
		CHECK(e != NULL && e->modseq == uid);
	}
	while ((e = flagmap_next(&m, &pos)) != NULL)
		seen++;
	CHECK_INT_EQ(seen, 5000);
	flagmap_set(&m, 14, "\\Flagged", 99);
	CHECK_STREQ(flagmap_get(&m, 14)->flags, "\\Flagged");
	CHECK_INT_EQ(m.count, 5000);
	flagmap_free(&m);
	CHECK(m.count == 0 && m.slots == NULL);
}

static const struct imap_response *
parse_flags(struct imap_parser *p, const char *line)
{
	const struct imap_response *resp = NULL;
	const char *error;

	imap_parser_feed(p, line, strlen(line));
	CHECK_INT_EQ(imap_parser_next(p, &resp, &error), 1);
	return resp;
}

TEST(canonical_drops_recent_sorts_and_dedupes)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_response *resp =
		parse_flags(p, "* FLAGS (\\Seen $Label1 \\Recent \\answered "
			       "\\SEEN \\Flagged)\r\n");
	struct buf *b = buf_create(1024);
	const struct imap_arg *items;
	size_t n;

	CHECK(resp != NULL && resp->count == 1);
	CHECK(imap_arg_get_list(&resp->args[0], &items, &n));
	CHECK_INT_EQ(flags_canonical(items, n, b), 0);
	CHECK_STREQ(buf_data(b), "$Label1 \\answered \\Flagged \\Seen");
	buf_reset(b);
	resp = parse_flags(p, "* FLAGS ()\r\n");
	CHECK(resp != NULL &&
	      imap_arg_get_list(&resp->args[0], &items, &n) && n == 0);
	CHECK_INT_EQ(flags_canonical(items, n, b), 0);
	CHECK_STREQ(buf_data(b), "");
	buf_reset(b);
	resp = parse_flags(p, "* FLAGS (\\Seen \"quoted\")\r\n");
	CHECK(resp != NULL && imap_arg_get_list(&resp->args[0], &items, &n));
	CHECK_INT_EQ(flags_canonical(items, n, b), -1);
	buf_free(&b);
	imap_parser_free(&p);
}

TEST(union_and_equal)
{
	struct buf *b = buf_create(1024);

	CHECK_INT_EQ(flags_union("\\Seen $a", "\\Flagged \\seen", b), 0);
	/* Either spelling of \Seen may survive: flags are caseless. */
	CHECK(flags_equal(buf_data(b), "$a \\Flagged \\Seen"));
	buf_reset(b);
	CHECK_INT_EQ(flags_union("", "", b), 0);
	CHECK_STREQ(buf_data(b), "");
	buf_reset(b);
	CHECK_INT_EQ(flags_union("", "\\Draft", b), 0);
	CHECK_STREQ(buf_data(b), "\\Draft");
	CHECK(flags_equal("\\Seen \\Flagged", "\\seen \\flagged"));
	CHECK(!flags_equal("\\Seen", "\\Seen \\Flagged"));
	buf_free(&b);
}

TEST(drop_one_flag)
{
	struct buf *b = buf_create(1024);

	CHECK_INT_EQ(buf_append_str(b, "$a \\Deleted \\Seen"), 0);
	flags_drop(b, "\\deleted");
	CHECK_STREQ(buf_data(b), "$a \\Seen");
	flags_drop(b, "\\Deleted");
	CHECK_STREQ(buf_data(b), "$a \\Seen");
	flags_drop(b, "\\Seen");
	CHECK_STREQ(buf_data(b), "$a");
	flags_drop(b, "$a");
	CHECK_STREQ(buf_data(b), "");
	flags_drop(b, "$a");
	CHECK_STREQ(buf_data(b), "");
	buf_free(&b);
}

/* merge3(base, a, b) into a string, changes into *changes. */
static const char *
merge3(const char *base, const char *a, const char *b, char *changes)
{
	static char out[256];
	struct buf *r = buf_create(1024), *c = buf_create(1024);

	CHECK_INT_EQ(flags_merge3(base, a, b, "local", "remote", r, c), 0);
	snprintf(out, sizeof(out), "%s", buf_data(r));
	snprintf(changes, 256, "%s", buf_data(c));
	buf_free(&r);
	buf_free(&c);
	return out;
}

TEST(merge_per_flag_from_the_base)
{
	char c[256];

	/* -\Seen here, +\Flagged there: the union would undo the
	 * unread mark. */
	CHECK_STREQ(merge3("\\Seen", "", "\\Flagged \\Seen", c),
	            "\\Flagged");
	CHECK_STREQ(c, "-\\Seen from local, +\\Flagged from remote");
	/* A keyword added here, another removed there. */
	CHECK_STREQ(merge3("$label2", "$label1 $label2", "", c), "$label1");
	CHECK_STREQ(c, "-$label2 from remote, +$label1 from local");
	/* Both remove different flags. */
	CHECK_STREQ(merge3("\\Answered \\Flagged \\Seen",
	                   "\\Answered \\Seen", "\\Answered \\Flagged",
	                   c),
	            "\\Answered");
	/* Both add the same one: no conflict on it. */
	CHECK_STREQ(merge3("", "\\Seen", "\\Seen kw", c), "\\Seen kw");
	CHECK_STREQ(c, "+\\Seen from both sides, +kw from remote");
	/* One side only: that side's list. */
	CHECK_STREQ(merge3("a b", "a b", "b c", c), "b c");
	CHECK_STREQ(merge3("a b", "b c", "a b", c), "b c");
	/* Case does not make a flag another. */
	CHECK_STREQ(merge3("\\Seen", "\\SEEN kw", "", c), "kw");
}

TEST(runs_by_flags_not_by_message)
{
	struct flagruns fr;
	uint32_t uid;

	flagruns_init(&fr);
	/* 100 000 messages in 3 changes of flags: 4 runs, 3 strings. */
	for (uid = 1; uid <= 100000; uid++)
		CHECK(flagruns_add(&fr, uid,
		                   uid <= 60000 || uid > 90000 ? "\\Seen"
		                   : uid <= 70000              ? ""
		                                               : "\\Flagged") ==
		      0);
	CHECK(fr.n == 4 && fr.nstrs == 3);
	CHECK_STREQ(flagruns_get(&fr, 1), "\\Seen");
	CHECK_STREQ(flagruns_get(&fr, 60000), "\\Seen");
	CHECK_STREQ(flagruns_get(&fr, 60001), "");
	CHECK_STREQ(flagruns_get(&fr, 70001), "\\Flagged");
	CHECK_STREQ(flagruns_get(&fr, 100000), "\\Seen");
	CHECK(flagruns_get(&fr, 0) == NULL);
	CHECK(flagruns_get(&fr, 100001) == NULL);
	/* Not above the last: the caller keeps it elsewhere. */
	CHECK_INT_EQ(flagruns_add(&fr, 5, "\\Seen"), 1);
	/* A gap with the same flags shares the string. */
	CHECK_INT_EQ(flagruns_add(&fr, 100005, "\\Seen"), 0);
	CHECK(fr.n == 5 && fr.nstrs == 3);
	CHECK(flagruns_get(&fr, 100003) == NULL);
	/* Forgetting one splits its run; the ends shrink it. */
	flagruns_remove(&fr, 30000);
	CHECK(flagruns_get(&fr, 30000) == NULL);
	CHECK_STREQ(flagruns_get(&fr, 29999), "\\Seen");
	CHECK_STREQ(flagruns_get(&fr, 30001), "\\Seen");
	flagruns_remove(&fr, 1);
	CHECK(flagruns_get(&fr, 1) == NULL);
	flagruns_remove(&fr, 100005);
	CHECK(flagruns_get(&fr, 100005) == NULL);
	flagruns_remove(&fr, 100004); /* not there */
	CHECK_INT_EQ(fr.n, 5);
	flagruns_free(&fr);
	CHECK(fr.n == 0 && fr.r == NULL);

	/* Flags that alternate: a run each, but the strings are shared. */
	flagruns_init(&fr);
	for (uid = 1; uid <= 1000; uid++)
		CHECK(flagruns_add(&fr, uid,
		                   uid % 3 == 0   ? "\\Seen"
		                   : uid % 3 == 1 ? "\\Answered \\Seen"
		                                  : "") == 0);
	CHECK(fr.n == 1000 && fr.nstrs == 3);
	CHECK_STREQ(flagruns_get(&fr, 301), "\\Answered \\Seen");
	flagruns_free(&fr);
}

/* n keywords "Pnnnnn_xxx...x" (KW_LEN bytes each, P one letter),
 * canonical: sorted, one space between. Caller frees. */
#define KW_LEN 45
static char *
keywords(const char *prefix, size_t n)
{
	struct buf *b = buf_create(BUF_NO_CAP);
	char *s;
	size_t i;

	for (i = 0; i < n; i++)
		CHECK_INT_EQ(
		    buf_printf(b, "%s%s%05zu_%s", i > 0 ? " " : "", prefix, i,
		               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
		    0);
	s = strdup(buf_data(b));
	buf_free(&b);
	return s;
}

/* The known fault: the union of two lists was built in a buffer of one
 * list's cap, and a server's long lists made it "out of memory". Two
 * lists of SYNC_MAX_FLAGS_TEXT each merge in SYNC_MAX_FLAGS_MERGED. */
TEST(union_of_two_longest_lists_fits)
{
	/* Just under the cap each: KW_LEN + 1 bytes a keyword. */
	size_t n = (SYNC_MAX_FLAGS_TEXT + 1) / (KW_LEN + 1);
	char *a = keywords("a", n), *b = keywords("b", n);
	struct buf *u = buf_create(SYNC_MAX_FLAGS_MERGED);
	struct buf *c = buf_create(SYNC_MAX_FLAG_CHANGES);
	struct buf *small = buf_create(SYNC_MAX_FLAGS_TEXT);

	CHECK(strlen(a) <= SYNC_MAX_FLAGS_TEXT &&
	      strlen(a) > SYNC_MAX_FLAGS_TEXT - (KW_LEN + 1));
	CHECK_INT_EQ(flags_union(a, b, u), 0);
	CHECK_INT_EQ(buf_len(u), strlen(a) + 1 + strlen(b));
	CHECK(strncmp(buf_data(u), a, strlen(a)) == 0);
	/* A buffer of one list's cap: the limit is said (-1), and the
	 * buffer is not left half written with garbage past it. */
	CHECK_INT_EQ(flags_union(a, b, small), -1);
	CHECK(buf_len(small) <= SYNC_MAX_FLAGS_TEXT);
	/* The merge from an empty base: every flag added, by its side; the
	 * text of the changes, a log line's worth, ends in "...". */
	buf_reset(u);
	CHECK_INT_EQ(flags_merge3("", a, b, "local", "remote", u, c), 0);
	CHECK_INT_EQ(buf_len(u), strlen(a) + 1 + strlen(b));
	CHECK(buf_len(c) <= SYNC_MAX_FLAG_CHANGES);
	CHECK(strncmp(buf_data(c), "+a00000_", 8) == 0);
	CHECK(buf_len(c) > 3 &&
	      strcmp(buf_data(c) + buf_len(c) - 3, "...") == 0);
	buf_free(&u);
	buf_free(&c);
	buf_free(&small);
	free(a);
	free(b);
}

/* A changes buffer too small for even the marker: the merge still
 * works, the text says nothing. */
TEST(merge_changes_tiny_buffer)
{
	struct buf *r = buf_create(1024), *c = buf_create(2);

	CHECK_INT_EQ(flags_merge3("", "\\Seen", "kw", "l", "r", r, c), 0);
	CHECK_STREQ(buf_data(r), "\\Seen kw");
	CHECK_STREQ(buf_data(c), "");
	buf_free(&r);
	buf_free(&c);
}
