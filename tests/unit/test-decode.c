/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "imap-decode.h"

#include <stdlib.h>

/* Every case goes through the real parser, so what is decoded is what a
 * server's bytes really turn into. Lines marked "Dovecot" are verbatim
 * from dovecot-imapd 2.3.19. */
static struct imap_parser *parser;

static const struct imap_response *
parse_n(const char *s, size_t len)
{
	const struct imap_response *resp = NULL;
	const char *error = NULL;
	size_t off = 0, n;

	if (parser != NULL)
		imap_parser_free(&parser);
	parser = imap_parser_create(NULL);
	while (off < len) {
		n = imap_parser_feed(parser, s + off, len - off);
		if (n == 0)
			break;
		off += n;
	}
	if (imap_parser_next(parser, &resp, &error) != 1) {
		printf("# parser refused %s: %s\n", s,
		       error != NULL ? error : "incomplete");
		resp = NULL;
	}
	CHECK(resp != NULL);
	return resp;
}

static const struct imap_response *
parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void
done(void)
{
	if (parser != NULL)
		imap_parser_free(&parser);
	CHECK(parser == NULL);
}

enum decoder {
	D_CAPABILITY,
	D_ENABLED,
	D_LIST,
	D_STATUS,
	D_FETCH,
	D_VANISHED,
	D_CODE,
};

static int
run_decoder(enum decoder d, const struct imap_response *resp,
            const char **error_r)
{
	struct uidset set = UIDSET_INIT, set2 = UIDSET_INIT;
	struct imap_list list;
	struct imap_status_data st;
	struct imap_fetch f;
	struct imap_resp_code code;
	uint64_t caps;
	bool earlier;
	int ret = 0;

	switch (d) {
	case D_CAPABILITY:
		ret = imap_decode_capability(resp->args, resp->count, &caps,
		                             error_r);
		break;
	case D_ENABLED:
		ret = imap_decode_enabled(resp, &caps, error_r);
		break;
	case D_LIST:
		ret = imap_decode_list(resp, &list, error_r);
		break;
	case D_STATUS:
		ret = imap_decode_status(resp, &st, error_r);
		break;
	case D_FETCH:
		ret = imap_decode_fetch(resp, &f, error_r);
		break;
	case D_VANISHED:
		ret = imap_decode_vanished(resp, &earlier, &set, error_r);
		break;
	case D_CODE:
		ret = imap_decode_code(resp, &code, &set, &set2, error_r);
		break;
	}
	uidset_free(&set);
	uidset_free(&set2);
	return ret;
}

/* The line parses, the decoder refuses it, and the error names want. */
static bool
fails(enum decoder d, const char *line, const char *want)
{
	const struct imap_response *resp = parse(line);
	const char *error = NULL;
	bool ok;

	if (resp == NULL)
		return false;
	ok = run_decoder(d, resp, &error) == -1 && error != NULL &&
	     strstr(error, want) != NULL;
	if (!ok)
		printf("# expected failure with \"%s\" for %s# got: %s\n", want,
		       line, error != NULL ? error : "success");
	return ok;
}

static bool
flag_is(const struct imap_arg *arg, const char *flag)
{
	return arg->type == IMAP_ARG_ATOM && arg->str != NULL &&
	       strcmp(arg->str, flag) == 0;
}

TEST(capability_dovecot)
{
	/* Dovecot */
	const struct imap_response *resp = parse(
	    "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
	    "SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
	    "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "
	    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 "
	    "CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN "
	    "CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
	    "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY\r\n");
	uint64_t caps = 0, want;
	const char *error = NULL;

	want = IMAP_CAP_IMAP4REV1 | IMAP_CAP_SASL_IR | IMAP_CAP_ID |
	       IMAP_CAP_ENABLE | IMAP_CAP_IDLE | IMAP_CAP_MULTIAPPEND |
	       IMAP_CAP_UNSELECT | IMAP_CAP_NAMESPACE | IMAP_CAP_UIDPLUS |
	       IMAP_CAP_LIST_EXTENDED | IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC |
	       IMAP_CAP_ESEARCH | IMAP_CAP_LIST_STATUS | IMAP_CAP_BINARY |
	       IMAP_CAP_MOVE | IMAP_CAP_STATUS_SIZE | IMAP_CAP_LITERALPLUS |
	       IMAP_CAP_NOTIFY;
	CHECK(resp != NULL && imap_decode_capability(resp->args, resp->count,
	                                             &caps, &error) == 0);
	CHECK_INT_EQ(caps, want);
	done();
}

TEST(capability_auth_and_case)
{
	const struct imap_response *resp =
	    parse("* CAPABILITY imap4REV2 STARTTLS LOGINDISABLED AUTH=PLAIN "
	          "auth=login AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 "
	          "COMPRESS=DEFLATE LITERAL- OBJECTID X-UNKNOWN AUTH= ID\r\n");
	uint64_t caps = 0;
	const char *error = NULL;

	CHECK(resp != NULL && imap_decode_capability(resp->args, resp->count,
	                                             &caps, &error) == 0);
	CHECK(caps ==
	      (IMAP_CAP_IMAP4REV2 | IMAP_CAP_STARTTLS | IMAP_CAP_LOGINDISABLED |
	       IMAP_CAP_AUTH_PLAIN | IMAP_CAP_AUTH_LOGIN |
	       IMAP_CAP_AUTH_SCRAM_SHA_256 | IMAP_CAP_COMPRESS_DEFLATE |
	       IMAP_CAP_LITERALMINUS | IMAP_CAP_OBJECTID | IMAP_CAP_ID));
	done();
}

TEST(capability_in_code)
{
	/* Dovecot greeting */
	const struct imap_response *resp =
	    parse("* PREAUTH [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID "
	          "ENABLE IDLE UIDPLUS LIST-EXTENDED CONDSTORE QRESYNC "
	          "LITERAL+ NOTIFY] Logged in as nobody\r\n");
	struct imap_resp_code code;
	uint64_t caps = 0;
	const char *error = NULL;

	CHECK(resp != NULL &&
	      imap_decode_capability(resp->code_args, resp->code_count, &caps,
	                             &error) == 0);
	CHECK((caps & IMAP_CAP_QRESYNC) != 0);
	CHECK_INT_EQ(imap_decode_code(resp, &code, NULL, NULL, &error), 0);
	CHECK_INT_EQ(code.code, IMAP_CODE_CAPABILITY);
	CHECK_INT_EQ(code.caps, caps);
	CHECK(code.caps ==
	      (IMAP_CAP_IMAP4REV1 | IMAP_CAP_SASL_IR | IMAP_CAP_ID |
	       IMAP_CAP_ENABLE | IMAP_CAP_IDLE | IMAP_CAP_UIDPLUS |
	       IMAP_CAP_LIST_EXTENDED | IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC |
	       IMAP_CAP_LITERALPLUS | IMAP_CAP_NOTIFY));
	done();
}

TEST(capability_malformed)
{
	CHECK(fails(D_CAPABILITY, "* CAPABILITY IMAP4rev1 \"IDLE\"\r\n",
	            "CAPABILITY"));
	CHECK(fails(D_CAPABILITY, "* CAPABILITY IMAP4rev1 (IDLE)\r\n",
	            "not an atom"));
	CHECK(fails(D_CAPABILITY, "* CAPABILITY NIL\r\n", "CAPABILITY"));
	CHECK(fails(D_CODE, "* OK [CAPABILITY IMAP4rev1 (X)] hi\r\n",
	            "CAPABILITY"));
	done();
}

TEST(enabled)
{
	/* Dovecot */
	const struct imap_response *resp =
	    parse("* ENABLED CONDSTORE QRESYNC\r\n");
	uint64_t caps = 0;
	const char *error = NULL;

	CHECK(resp != NULL && imap_decode_enabled(resp, &caps, &error) == 0);
	CHECK_INT_EQ(caps, (IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC));

	resp = parse("* ENABLED\r\n");
	CHECK(resp != NULL && imap_decode_enabled(resp, &caps, &error) == 0);
	CHECK_INT_EQ(caps, 0);

	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
	resp = parse("* ENABLED qresync\r\n");
	CHECK(resp != NULL && imap_decode_enabled(resp, &caps, &error) == 0);
	CHECK_INT_EQ(caps, (IMAP_CAP_CONDSTORE | IMAP_CAP_QRESYNC));

	CHECK(fails(D_ENABLED, "* ENABLED \"QRESYNC\"\r\n", "ENABLED"));
	CHECK(fails(D_ENABLED, "* CAPABILITY QRESYNC\r\n", "ENABLED"));
	done();
}

TEST(list_dovecot)
{
	struct imap_list list;
	const struct imap_response *resp;
	const char *error = NULL;

	/* Dovecot */
	resp = parse("* LIST (\\Subscribed \\HasNoChildren) \"/\" Foo/Bar\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_INT_EQ(list.flags, (IMAP_LIST_SUBSCRIBED | IMAP_LIST_HASNOCHILDREN));
	CHECK_INT_EQ(list.delimiter, '/');
	CHECK_MEMEQ(list.name, list.name_len, "Foo/Bar", 7);
	CHECK(list.oldname == NULL);

	/* Dovecot */
	resp = parse("* LIST (\\NonExistent \\HasChildren) \"/\" Foo\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_INT_EQ(list.flags, (IMAP_LIST_NONEXISTENT | IMAP_LIST_HASCHILDREN));

	/* Dovecot */
	resp = parse("* LIST (\\HasNoChildren) \"/\" \"Sp ace\"\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_MEMEQ(list.name, list.name_len, "Sp ace", 6);

	/* Dovecot */
	resp = parse("* LIST (\\HasNoChildren) \"/\" Caf&AOk-\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_MEMEQ(list.name, list.name_len, "Caf&AOk-", 8);

	/* Dovecot, LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" */
	resp = parse("* LIST (\\NonExistent) \"/\" Foo "
	             "(CHILDINFO (\"SUBSCRIBED\"))\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK(list.flags ==
	      (IMAP_LIST_NONEXISTENT | IMAP_LIST_CHILD_SUBSCRIBED));

	/* Dovecot */
	resp = parse("* LSUB () \"/\" Foo/Bar\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_INT_EQ(list.flags, 0);
	CHECK_MEMEQ(list.name, list.name_len, "Foo/Bar", 7);
	done();
}

TEST(list_rfc_shapes)
{
	struct imap_list list;
	const struct imap_response *resp;
	const char *error = NULL;

	/* RFC 5258 examples, tags quoted */
	resp = parse("* LIST (\\Marked \\NoInferiors \\UNMARKED \\noselect "
	             "\\Remote \\Drafts) NIL \"Foo\" (\"CHILDINFO\" "
	             "(\"REMOTE\" \"SUBSCRIBED\") \"OLDNAME\" (\"Bar\") "
	             "\"X-UNKNOWN\" (1 (2 3)) \"X-NIL\" NIL)\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK(list.flags == (IMAP_LIST_MARKED | IMAP_LIST_NOINFERIORS |
	                     IMAP_LIST_UNMARKED | IMAP_LIST_NOSELECT |
	                     IMAP_LIST_REMOTE | IMAP_LIST_CHILD_SUBSCRIBED));
	CHECK_INT_EQ(list.delimiter, '\0');
	CHECK_MEMEQ(list.name, list.name_len, "Foo", 3);
	CHECK_STREQ(list.oldname, "Bar");

	/* INBOX left as the server wrote it; a literal name */
	resp = parse("* LIST () \".\" inbox\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_MEMEQ(list.name, list.name_len, "inbox", 5);
	resp = parse("* LIST () \".\" {5}\r\na\"b\\c\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_INT_EQ(list.delimiter, '.');
	CHECK_MEMEQ(list.name, list.name_len, "a\"b\\c", 5);
	resp = parse("* LIST (\\Noselect) \"/\" \"\"\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	CHECK_INT_EQ(list.name_len, 0);
	resp = parse("* LIST () \"/\" x ()\r\n");
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == 0);
	done();
}

TEST(list_malformed)
{
	static const char nul_name[] = "* LIST () \"/\" {3}\r\na\0b\r\n";
	const struct imap_response *resp;
	struct imap_list list;
	const char *error = NULL;
	char *big;

	CHECK(fails(D_LIST, "* LIST \\Noselect \"/\" x\r\n",
	            "LIST: flags are not a list"));
	CHECK(fails(D_LIST, "* LIST (\"\\\\Noselect\") \"/\" x\r\n", "flag"));
	CHECK(fails(D_LIST, "* LIST (()) \"/\" x\r\n", "flag"));
	CHECK(fails(D_LIST, "* LIST () \"//\" x\r\n", "delimiter"));
	CHECK(fails(D_LIST, "* LIST () \"\" x\r\n", "delimiter"));
	CHECK(fails(D_LIST, "* LIST () / x\r\n", "delimiter"));
	CHECK(fails(D_LIST, "* LIST () (\"/\") x\r\n", "delimiter"));
	CHECK(fails(D_LIST, "* LIST () \"/\" (x)\r\n", "name"));
	CHECK(fails(D_LIST, "* LIST () \"/\" NIL\r\n", "name"));
	CHECK(fails(D_LIST, "* LIST () \"/\"\r\n", "missing"));
	CHECK(fails(D_LIST, "* LIST\r\n", "missing"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x (A (B)) y\r\n", "after"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x y\r\n", "extended"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x (CHILDINFO)\r\n",
	            "without a value"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x ((A) B)\r\n", "tag"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x (CHILDINFO SUBSCRIBED)\r\n",
	            "CHILDINFO"));
	CHECK(
	    fails(D_LIST, "* LIST () \"/\" x (CHILDINFO ())\r\n", "CHILDINFO"));
	CHECK(fails(D_LIST, "* LIST () \"/\" x (CHILDINFO ((A)))\r\n",
	            "CHILDINFO"));
	CHECK(
	    fails(D_LIST, "* LIST () \"/\" x (OLDNAME \"y\")\r\n", "OLDNAME"));
	CHECK(
	    fails(D_LIST, "* LIST () \"/\" x (OLDNAME (y z))\r\n", "OLDNAME"));
	CHECK(
	    fails(D_LIST, "* LIST () \"/\" x (OLDNAME (NIL))\r\n", "OLDNAME"));
	CHECK(fails(D_LIST, "* STATUS x (MESSAGES 1)\r\n", "LIST"));

	resp = parse_n(nul_name, sizeof(nul_name) - 1);
	CHECK(resp != NULL && imap_decode_list(resp, &list, &error) == -1);
	CHECK(error != NULL && strstr(error, "name") != NULL);

	/* a name longer than IMAP_MAX_MAILBOX_NAME */
	big = malloc(5000 + 64);
	CHECK(big != NULL);
	if (big != NULL) {
		size_t n = (size_t)sprintf(big, "* LIST () \"/\" {5000}\r\n");

		memset(big + n, 'a', 5000);
		memcpy(big + n + 5000, "\r\n", 2);
		resp = parse_n(big, n + 5002);
		error = NULL;
		CHECK(resp != NULL &&
		      imap_decode_list(resp, &list, &error) == -1);
		CHECK(error != NULL && strstr(error, "name") != NULL);
		free(big);
	}
	done();
}

TEST(status_dovecot)
{
	struct imap_status_data st;
	const struct imap_response *resp;
	const char *error = NULL;

	/* Dovecot */
	resp = parse("* STATUS INBOX (MESSAGES 3 RECENT 3 UIDNEXT 4 "
	             "UIDVALIDITY 1795844540 UNSEEN 2 HIGHESTMODSEQ 4 "
	             "SIZE 76 X-GUID 01ff3025ba690a6bd21f000083ecc375)\r\n");
	CHECK(resp != NULL && imap_decode_status(resp, &st, &error) == 0);
	CHECK(st.have == (IMAP_STATUS_MESSAGES | IMAP_STATUS_RECENT |
	                  IMAP_STATUS_UIDNEXT | IMAP_STATUS_UIDVALIDITY |
	                  IMAP_STATUS_UNSEEN | IMAP_STATUS_HIGHESTMODSEQ |
	                  IMAP_STATUS_SIZE | IMAP_STATUS_X_GUID));
	CHECK_MEMEQ(st.mailbox, st.mailbox_len, "INBOX", 5);
	CHECK(st.messages == 3 && st.recent == 3 && st.uidnext == 4);
	CHECK(st.uidvalidity == 1795844540u && st.unseen == 2);
	CHECK(st.highestmodseq == 4 && st.size == 76);
	CHECK_STREQ(st.x_guid, "01ff3025ba690a6bd21f000083ecc375");
	CHECK(st.mailboxid == NULL);

	/* Dovecot */
	resp = parse("* STATUS \"Sp ace\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY "
	             "1795844539 HIGHESTMODSEQ 1)\r\n");
	CHECK(resp != NULL && imap_decode_status(resp, &st, &error) == 0);
	CHECK_MEMEQ(st.mailbox, st.mailbox_len, "Sp ace", 6);
	CHECK(st.messages == 0 && st.uidnext == 1);
	done();
}

TEST(status_rfc_shapes)
{
	struct imap_status_data st;
	const struct imap_response *resp;
	const char *error = NULL;

	resp = parse("* STATUS {3}\r\nA B (messages 231 UIDNEXT 44292 "
	             "UIDVALIDITY 4294967295 HIGHESTMODSEQ 7011231777 "
	             "MAILBOXID (F2212ea87-6097-4256-9d51-71338625) "
	             "SIZE 9223372036854775807 X-FUTURE (1 2) X-NIL NIL "
	             "X-STR \"s\" APPENDLIMIT 100)\r\n");
	CHECK(resp != NULL && imap_decode_status(resp, &st, &error) == 0);
	CHECK_MEMEQ(st.mailbox, st.mailbox_len, "A B", 3);
	CHECK(st.messages == 231 && st.uidnext == 44292);
	CHECK_INT_EQ(st.uidvalidity, 4294967295u);
	CHECK_INT_EQ(st.highestmodseq, 7011231777ULL);
	CHECK_INT_EQ(st.size, 9223372036854775807ULL);
	CHECK_STREQ(st.mailboxid, "F2212ea87-6097-4256-9d51-71338625");
	CHECK((st.have & IMAP_STATUS_MAILBOXID) != 0);
	CHECK_INT_EQ((st.have & IMAP_STATUS_UNSEEN), 0);

	/* an empty list and HIGHESTMODSEQ 0 (mod-sequence-valzer) */
	resp = parse("* STATUS x ()\r\n");
	CHECK(resp != NULL && imap_decode_status(resp, &st, &error) == 0);
	CHECK_INT_EQ(st.have, 0);
	resp = parse("* STATUS x (HIGHESTMODSEQ 0)\r\n");
	CHECK(resp != NULL && imap_decode_status(resp, &st, &error) == 0);
	CHECK(st.have == IMAP_STATUS_HIGHESTMODSEQ && st.highestmodseq == 0);
	done();
}

TEST(status_malformed)
{
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES 4294967296)\r\n",
	            "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES -1)\r\n", "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES +1)\r\n", "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES 1a)\r\n", "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES \"1\")\r\n", "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES NIL)\r\n", "MESSAGES"));
	CHECK(fails(D_STATUS, "* STATUS x (UIDNEXT 0)\r\n", "UIDNEXT"));
	CHECK(fails(D_STATUS, "* STATUS x (UIDVALIDITY 0)\r\n", "UIDVALIDITY"));
	CHECK(fails(D_STATUS, "* STATUS x (UNSEEN (1))\r\n", "UNSEEN"));
	CHECK(fails(D_STATUS, "* STATUS x (RECENT 99999999999)\r\n", "RECENT"));
	CHECK(fails(D_STATUS,
	            "* STATUS x (HIGHESTMODSEQ 9223372036854775808)\r\n",
	            "HIGHESTMODSEQ"));
	CHECK(fails(D_STATUS,
	            "* STATUS x (HIGHESTMODSEQ 18446744073709551616)\r\n",
	            "HIGHESTMODSEQ"));
	CHECK(fails(D_STATUS, "* STATUS x (SIZE 99999999999999999999)\r\n",
	            "SIZE"));
	CHECK(fails(D_STATUS, "* STATUS x (X-GUID (a))\r\n", "X-GUID"));
	CHECK(fails(D_STATUS, "* STATUS x (X-GUID NIL)\r\n", "X-GUID"));
	CHECK(fails(D_STATUS, "* STATUS x (MAILBOXID abc)\r\n", "MAILBOXID"));
	CHECK(fails(D_STATUS, "* STATUS x (MAILBOXID ())\r\n", "MAILBOXID"));
	CHECK(fails(D_STATUS, "* STATUS x (MAILBOXID (a b))\r\n", "MAILBOXID"));
	CHECK(
	    fails(D_STATUS, "* STATUS x (MAILBOXID (\"a\"))\r\n", "MAILBOXID"));
	CHECK(fails(D_STATUS, "* STATUS x (MAILBOXID (a.b))\r\n", "MAILBOXID"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES)\r\n", "without a value"));
	CHECK(fails(D_STATUS, "* STATUS x (MESSAGES 1 UIDNEXT)\r\n",
	            "without a value"));
	CHECK(fails(D_STATUS, "* STATUS x ((MESSAGES) 1)\r\n", "item name"));
	CHECK(fails(D_STATUS, "* STATUS x MESSAGES 1\r\n", "STATUS"));
	CHECK(fails(D_STATUS, "* STATUS x \"MESSAGES 1\"\r\n",
	            "items are not a list"));
	CHECK(fails(D_STATUS, "* STATUS (x) (MESSAGES 1)\r\n", "mailbox"));
	CHECK(fails(D_STATUS, "* STATUS NIL (MESSAGES 1)\r\n", "mailbox"));
	CHECK(fails(D_STATUS, "* STATUS x\r\n", "STATUS"));
	done();
}

TEST(fetch_dovecot)
{
	/* Dovecot, UID FETCH 1:* (UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE
	 * X-GUID BODY.PEEK[]) */
	static const char line[] =
	    "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent $Label1) MODSEQ (3) "
	    "INTERNALDATE \"17-Jul-1996 09:44:25 +0000\" RFC822.SIZE 22 "
	    "X-GUID 1795844538.M629917P8146.vm,S=19,W=22 BODY[] {22}\r\n"
	    "Subject: hi\r\n\r\nhello\r\n)\r\n";
	const struct imap_response *resp = parse(line);
	struct imap_fetch f;
	const char *error = NULL;

	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK(f.have == (IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ |
	                 IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
	                 IMAP_FETCH_X_GUID | IMAP_FETCH_BODY));
	CHECK(f.seq == 1 && f.uid == 1);
	CHECK_INT_EQ(f.flags_count, 3);
	if (f.flags_count == 3) {
		CHECK(flag_is(&f.flags[0], "\\Seen"));
		CHECK(flag_is(&f.flags[1], "\\Recent"));
		CHECK(flag_is(&f.flags[2], "$Label1"));
	}
	CHECK_INT_EQ(f.modseq, 3);
	CHECK_STREQ(f.internaldate, "17-Jul-1996 09:44:25 +0000");
	CHECK_INT_EQ(f.internaldate_time, 837596665);
	CHECK_INT_EQ(f.size, 22);
	CHECK_STREQ(f.x_guid, "1795844538.M629917P8146.vm,S=19,W=22");
	CHECK(f.body != NULL && f.body->type == IMAP_ARG_LITERAL);
	if (f.body != NULL && f.body->str != NULL)
		CHECK_MEMEQ(f.body->str, f.body->len,
		            "Subject: hi\r\n\r\nhello\r\n", 22);
	CHECK(f.emailid == NULL);

	/* Dovecot, FETCH (FLAGS) (CHANGEDSINCE 1 VANISHED) */
	resp = parse("* 1 FETCH (UID 3 FLAGS () MODSEQ (4))\r\n");
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK(f.have ==
	      (IMAP_FETCH_UID | IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ));
	CHECK(f.uid == 3 && f.flags_count == 0 && f.modseq == 4);
	done();
}

TEST(fetch_skips_unknown)
{
	/* Dovecot, UID FETCH 1 (BINARY.PEEK[] BODY.PEEK[HEADER.FIELDS
	 * (Subject)] ENVELOPE) */
	static const char line[] =
	    "* 1 FETCH (UID 1 BINARY[] {22}\r\n"
	    "Subject: hi\r\n\r\nhello\r\n"
	    " BODY[HEADER.FIELDS (SUBJECT)] {15}\r\n"
	    "Subject: hi\r\n\r\n"
	    " ENVELOPE (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
	const struct imap_response *resp = parse(line);
	struct imap_fetch f;
	const char *error = NULL;

	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK_INT_EQ(f.have, (IMAP_FETCH_UID | IMAP_FETCH_BODY | IMAP_FETCH_HEADER));
	CHECK(f.body != NULL && f.body->len == 22);
	CHECK(f.header != NULL && f.header->len == 15);

	resp = parse("* 7 FETCH (X-A NIL X-B \"s\" X-C (1 (2)) X-D {3}\r\nabc"
	             " X-E atom body[] NIL uid 9 flags (\\Answered) "
	             "EMAILID (M6d99ac3275bb4e) RFC822.SIZE 0 "
	             "modseq (9223372036854775807))\r\n");
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK(f.seq == 7 && f.uid == 9);
	CHECK(f.body != NULL && f.body->type == IMAP_ARG_NIL);
	CHECK(f.flags_count == 1 && flag_is(&f.flags[0], "\\Answered"));
	CHECK_STREQ(f.emailid, "M6d99ac3275bb4e");
	CHECK_INT_EQ(f.modseq, 9223372036854775807ULL);
	CHECK((f.have & IMAP_FETCH_RFC822_SIZE) != 0 && f.size == 0);

	/* a quoted BODY[] and a space-padded day */
	resp = parse("* 4294967295 FETCH (BODY[] \"x\" INTERNALDATE "
	             "\" 7-Jul-1996 02:44:25 -0700\" X-GUID \"a b\")\r\n");
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK_INT_EQ(f.seq, 4294967295u);
	CHECK(f.body != NULL && f.body->type == IMAP_ARG_STRING);
	CHECK_STREQ(f.internaldate, " 7-Jul-1996 02:44:25 -0700");
	CHECK_INT_EQ(f.internaldate_time, 836732665);
	CHECK_STREQ(f.x_guid, "a b");
	done();
}

TEST(fetch_malformed)
{
	CHECK(fails(D_FETCH, "* 1 FETCH (UID 0)\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID 4294967296)\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID -5)\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID 5x)\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID \"5\")\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID (5))\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID NIL)\r\n", "FETCH: UID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID)\r\n", "without a value"));
	CHECK(fails(D_FETCH, "* 1 FETCH (FLAGS \\Seen)\r\n",
	            "FETCH: FLAGS is not a list"));
	CHECK(fails(D_FETCH, "* 1 FETCH (FLAGS \"\\\\Seen\")\r\n",
	            "FETCH: FLAGS is not a list"));
	CHECK(fails(D_FETCH, "* 1 FETCH (FLAGS NIL)\r\n",
	            "FETCH: FLAGS is not a list"));
	CHECK(fails(D_FETCH, "* 1 FETCH (FLAGS (\"\\\\Seen\"))\r\n",
	            "FETCH: FLAGS"));
	CHECK(
	    fails(D_FETCH, "* 1 FETCH (FLAGS ((\\Seen)))\r\n", "FETCH: FLAGS"));
	CHECK(fails(D_FETCH, "* 1 FETCH (FLAGS (NIL))\r\n", "FETCH: FLAGS"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ 5)\r\n", "FETCH: MODSEQ"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ ())\r\n", "FETCH: MODSEQ"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ (1 2))\r\n", "FETCH: MODSEQ"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ (0))\r\n", "FETCH: MODSEQ"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ (9223372036854775808))\r\n",
	            "FETCH: MODSEQ"));
	CHECK(fails(D_FETCH, "* 1 FETCH (MODSEQ ((5)))\r\n", "FETCH: MODSEQ"));
	CHECK(
	    fails(D_FETCH,
	          "* 1 FETCH (INTERNALDATE \"32-Jul-1996 02:44:25 -0700\")\r\n",
	          "INTERNALDATE"));
	CHECK(
	    fails(D_FETCH, "* 1 FETCH (INTERNALDATE NIL)\r\n", "INTERNALDATE"));
	CHECK(fails(D_FETCH, "* 1 FETCH (INTERNALDATE 17-Jul-1996)\r\n",
	            "INTERNALDATE"));
	CHECK(fails(D_FETCH, "* 1 FETCH (RFC822.SIZE 4294967296)\r\n",
	            "RFC822.SIZE"));
	CHECK(fails(D_FETCH, "* 1 FETCH (RFC822.SIZE NIL)\r\n", "RFC822.SIZE"));
	CHECK(fails(D_FETCH, "* 1 FETCH (BODY[] (a))\r\n", "BODY[]"));
	CHECK(fails(D_FETCH, "* 1 FETCH (BODY[] abc)\r\n", "BODY[]"));
	CHECK(fails(D_FETCH, "* 1 FETCH (BINARY[] (a))\r\n", "BODY[]"));
	CHECK(fails(D_FETCH, "* 1 FETCH (X-GUID NIL)\r\n", "X-GUID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (X-GUID (a))\r\n", "X-GUID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (EMAILID M1)\r\n", "EMAILID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (EMAILID (M1 M2))\r\n", "EMAILID"));
	CHECK(fails(D_FETCH, "* 1 FETCH (\"UID\" 5)\r\n", "item name"));
	CHECK(fails(D_FETCH, "* 1 FETCH ((UID) 5)\r\n", "item name"));
	CHECK(fails(D_FETCH, "* 1 FETCH UID 5\r\n", "not one list"));
	CHECK(fails(D_FETCH, "* 1 FETCH (UID 5) (UID 6)\r\n", "not one list"));
	CHECK(fails(D_FETCH, "* 1 FETCH\r\n", "not one list"));
	CHECK(fails(D_FETCH, "* 0 FETCH (UID 5)\r\n", "sequence number"));
	CHECK(fails(D_FETCH, "* FETCH (UID 5)\r\n", "sequence number"));
	CHECK(fails(D_FETCH, "* 1 EXPUNGE\r\n", "not a FETCH"));
	CHECK(fails(D_FETCH, "A1 OK FETCH done\r\n", "not a FETCH"));
	done();
}

TEST(fetch_big_and_binary_bodies)
{
	static const char bin[] = "* 2 FETCH (BINARY[] ~{3}\r\na\0b UID 8)\r\n";
	const size_t body_len = 300000;
	const struct imap_response *resp;
	struct imap_fetch f;
	const char *error = NULL;
	char head[64], *msg;
	size_t n;

	resp = parse_n(bin, sizeof(bin) - 1);
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK(f.uid == 8 && f.body != NULL && f.body->literal8);
	if (f.body != NULL && f.body->str != NULL)
		CHECK_MEMEQ(f.body->str, f.body->len, "a\0b", 3);

	/* past IMAP_MAX_INLINE_LITERAL the body is a spilled file */
	n = (size_t)snprintf(head, sizeof(head),
	                     "* 3 FETCH (UID 9 BODY[] {%zu}\r\n", body_len);
	msg = malloc(n + body_len + 4);
	CHECK(msg != NULL);
	if (msg == NULL)
		return;
	memcpy(msg, head, n);
	memset(msg + n, 'x', body_len);
	memcpy(msg + n + body_len, ")\r\n", 3);
	resp = parse_n(msg, n + body_len + 3);
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK(f.uid == 9 && f.body != NULL);
	if (f.body != NULL) {
		CHECK_INT_EQ(f.body->type, IMAP_ARG_LITERAL);
		CHECK_INT_EQ(f.body->len, body_len);
		CHECK(f.body->str == NULL && f.body->fd >= 0);
	}
	free(msg);
	done();
}

TEST(vanished)
{
	struct uidset set = UIDSET_INIT;
	const struct imap_response *resp;
	const char *error = NULL;
	bool earlier = true;
	uint32_t uid;

	/* Dovecot */
	resp = parse("* VANISHED 1:2\r\n");
	CHECK(resp != NULL &&
	      imap_decode_vanished(resp, &earlier, &set, &error) == 0);
	CHECK(!earlier && uidset_count(&set) == 2);

	/* Dovecot */
	resp = parse("* VANISHED (EARLIER) 1:2\r\n");
	uidset_clear(&set);
	CHECK(resp != NULL &&
	      imap_decode_vanished(resp, &earlier, &set, &error) == 0);
	CHECK(earlier && uidset_count(&set) == 2);

	resp = parse("* VANISHED (earlier) 41,43:116,4294967295\r\n");
	uidset_clear(&set);
	CHECK(resp != NULL &&
	      imap_decode_vanished(resp, &earlier, &set, &error) == 0);
	CHECK(earlier && uidset_count(&set) == 1 + 74 + 1);
	CHECK(uidset_nth(&set, 0, &uid) && uid == 41);
	CHECK(uidset_contains(&set, 4294967295u));
	uidset_free(&set);

	CHECK(fails(D_VANISHED, "* VANISHED 1:*\r\n", "VANISHED: malformed"));
	CHECK(fails(D_VANISHED, "* VANISHED 0\r\n", "VANISHED: malformed"));
	CHECK(fails(D_VANISHED, "* VANISHED 4294967296\r\n",
	            "VANISHED: malformed"));
	CHECK(fails(D_VANISHED, "* VANISHED 1,,2\r\n", "VANISHED: malformed"));
	CHECK(fails(D_VANISHED, "* VANISHED \"1:2\"\r\n", "VANISHED"));
	CHECK(fails(D_VANISHED, "* VANISHED (1:2)\r\n", "VANISHED"));
	CHECK(fails(D_VANISHED, "* VANISHED\r\n", "VANISHED"));
	CHECK(fails(D_VANISHED, "* VANISHED (LATER) 1\r\n", "EARLIER"));
	CHECK(fails(D_VANISHED, "* VANISHED EARLIER 1\r\n", "EARLIER"));
	CHECK(fails(D_VANISHED, "* VANISHED (EARLIER)\r\n", "VANISHED"));
	CHECK(fails(D_VANISHED, "* VANISHED (EARLIER) 1 2\r\n", "VANISHED"));
	done();
}

static bool
code_is(const char *line, enum imap_code want, struct imap_resp_code *c,
        struct uidset *set, struct uidset *set2)
{
	const struct imap_response *resp = parse(line);
	const char *error = NULL;

	if (resp == NULL)
		return false;
	if (imap_decode_code(resp, c, set, set2, &error) < 0) {
		printf("# %s# error: %s\n", line, error);
		return false;
	}
	return c->code == want;
}

TEST(code_dovecot)
{
	struct uidset set = UIDSET_INIT, set2 = UIDSET_INIT;
	struct imap_resp_code c;
	uint32_t uid;

	/* All Dovecot */
	CHECK(code_is("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
	              "\\Seen \\Draft $Label1 \\*)] Flags permitted.\r\n",
	              IMAP_CODE_PERMANENTFLAGS, &c, NULL, NULL));
	CHECK_INT_EQ(c.flags_count, 7);
	if (c.flags_count == 7) {
		CHECK(flag_is(&c.flags[0], "\\Answered"));
		CHECK(flag_is(&c.flags[6], "\\*"));
	}
	CHECK(code_is("* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n",
	              IMAP_CODE_PERMANENTFLAGS, &c, NULL, NULL));
	CHECK_INT_EQ(c.flags_count, 0);
	CHECK(code_is("* OK [UNSEEN 2] First unseen.\r\n", IMAP_CODE_UNSEEN, &c,
	              NULL, NULL));
	CHECK_INT_EQ(c.unseen, 2);
	CHECK(code_is("* OK [UIDVALIDITY 1795844540] UIDs valid\r\n",
	              IMAP_CODE_UIDVALIDITY, &c, NULL, NULL));
	CHECK_INT_EQ(c.uidvalidity, 1795844540u);
	CHECK(code_is("* OK [UIDNEXT 4] Predicted next UID\r\n",
	              IMAP_CODE_UIDNEXT, &c, NULL, NULL));
	CHECK_INT_EQ(c.uidnext, 4);
	CHECK(code_is("* OK [HIGHESTMODSEQ 4] Highest\r\n",
	              IMAP_CODE_HIGHESTMODSEQ, &c, NULL, NULL));
	CHECK_INT_EQ(c.modseq, 4);
	CHECK(code_is("b1 OK [READ-WRITE] Select completed (0.001 + 0.000 "
	              "secs).\r\n",
	              IMAP_CODE_READ_WRITE, &c, NULL, NULL));
	CHECK(code_is("c9 OK [READ-ONLY] Examine completed (0.001 + 0.000 "
	              "secs).\r\n",
	              IMAP_CODE_READ_ONLY, &c, NULL, NULL));
	CHECK(code_is("* OK [CLOSED] Previous mailbox closed.\r\n",
	              IMAP_CODE_CLOSED, &c, NULL, NULL));
	CHECK(code_is("c7 NO [ALREADYEXISTS] Mailbox already exists (0.001 + "
	              "0.000 secs).\r\n",
	              IMAP_CODE_ALREADYEXISTS, &c, NULL, NULL));
	CHECK(code_is("c2 OK [HIGHESTMODSEQ 7] Move completed (0.002 + 0.000 "
	              "+ 0.001 secs).\r\n",
	              IMAP_CODE_HIGHESTMODSEQ, &c, NULL, NULL));
	CHECK_INT_EQ(c.modseq, 7);
	CHECK(code_is("c8 NO Mailbox doesn't exist: Nope (0.001 + 0.000 "
	              "secs).\r\n",
	              IMAP_CODE_NONE, &c, NULL, NULL));

	CHECK(code_is("a8 OK [APPENDUID 1795844540 1:2] Append completed "
	              "(0.003 + 0.000 + 0.002 secs).\r\n",
	              IMAP_CODE_APPENDUID, &c, &set, NULL));
	CHECK(c.uidvalidity == 1795844540u && uidset_count(&set) == 2);
	uidset_clear(&set);
	CHECK(code_is("a9 OK [APPENDUID 1795844540 3] Append completed "
	              "(0.001 + 0.000 secs).\r\n",
	              IMAP_CODE_APPENDUID, &c, &set, NULL));
	CHECK(uidset_count(&set) == 1 && uidset_contains(&set, 3));
	uidset_clear(&set);
	CHECK(code_is("b7 OK [COPYUID 1795844538 1:3 1:3] Copy completed "
	              "(0.002 + 0.000 + 0.001 secs).\r\n",
	              IMAP_CODE_COPYUID, &c, &set, &set2));
	CHECK_INT_EQ(c.uidvalidity, 1795844538u);
	CHECK(uidset_count(&set) == 3 && uidset_count(&set2) == 3);
	uidset_clear(&set);
	uidset_clear(&set2);
	CHECK(code_is("* OK [COPYUID 1795844538 2 4] Moved UIDs.\r\n",
	              IMAP_CODE_COPYUID, &c, &set, &set2));
	CHECK(uidset_contains(&set, 2) && uidset_contains(&set2, 4));
	uidset_clear(&set);
	uidset_clear(&set2);
	CHECK(code_is("b6 OK [MODIFIED 1:2] Conditional store failed (0.002 + "
	              "0.000 + 0.001 secs).\r\n",
	              IMAP_CODE_MODIFIED, &c, &set, NULL));
	CHECK_INT_EQ(uidset_count(&set), 2);
	uidset_clear(&set);

	/* RFC 4315: matching order, NULL sets still validated */
	CHECK(code_is("A1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	              IMAP_CODE_COPYUID, &c, &set, &set2));
	CHECK(uidset_nth(&set, 1, &uid) && uid == 319);
	CHECK(uidset_nth(&set2, 1, &uid) && uid == 3957);
	CHECK(code_is("A1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	              IMAP_CODE_COPYUID, &c, NULL, NULL));
	uidset_free(&set);
	uidset_free(&set2);
	done();
}

TEST(code_all_names)
{
	static const struct {
		const char *line;
		enum imap_code code;
	} cases[] = {
	    {"* OK [ALERT] x\r\n", IMAP_CODE_ALERT},
	    {"* NO [TRYCREATE] x\r\n", IMAP_CODE_TRYCREATE},
	    {"* OK [NOMODSEQ] x\r\n", IMAP_CODE_NOMODSEQ},
	    {"A1 NO [NONEXISTENT] x\r\n", IMAP_CODE_NONEXISTENT},
	    {"A1 OK [COMPRESSIONACTIVE] x\r\n", IMAP_CODE_COMPRESSIONACTIVE},
	    {"A1 NO [OVERQUOTA] x\r\n", IMAP_CODE_OVERQUOTA},
	    {"A1 NO [UNAVAILABLE] x\r\n", IMAP_CODE_UNAVAILABLE},
	    {"A1 NO [SERVERBUG] x\r\n", IMAP_CODE_SERVERBUG},
	    {"A1 NO [LIMIT] x\r\n", IMAP_CODE_LIMIT},
	    {"A1 NO [read-only] x\r\n", IMAP_CODE_READ_ONLY},
	    {"A1 NO [BADCHARSET (UTF-8)] x\r\n", IMAP_CODE_OTHER},
	    {"A1 OK [UIDNOTSTICKY] x\r\n", IMAP_CODE_OTHER},
	    {"* OK [X-WEIRD (a \"b\") 5] x\r\n", IMAP_CODE_OTHER},
	    {"* BYE [UNAVAILABLE] shutting down\r\n", IMAP_CODE_UNAVAILABLE},
	};
	struct imap_resp_code c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		CHECK(code_is(cases[i].line, cases[i].code, &c, NULL, NULL));
	CHECK(code_is("A1 OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] "
	              "Created\r\n",
	              IMAP_CODE_MAILBOXID, &c, NULL, NULL));
	CHECK_STREQ(c.mailboxid, "F2212ea87-6097-4256-9d51-71338625");
	CHECK(code_is("* OK [UIDVALIDITY 4294967295] x\r\n",
	              IMAP_CODE_UIDVALIDITY, &c, NULL, NULL));
	CHECK_INT_EQ(c.uidvalidity, 4294967295u);
	CHECK(code_is("* OK [HIGHESTMODSEQ 9223372036854775807] x\r\n",
	              IMAP_CODE_HIGHESTMODSEQ, &c, NULL, NULL));
	CHECK_INT_EQ(c.modseq, 9223372036854775807ULL);
	done();
}

TEST(code_malformed)
{
	CHECK(fails(D_CODE, "* OK [UIDVALIDITY 0] x\r\n", "UIDVALIDITY"));
	CHECK(fails(D_CODE, "* OK [UIDVALIDITY 4294967296] x\r\n",
	            "UIDVALIDITY"));
	CHECK(fails(D_CODE, "* OK [UIDVALIDITY] x\r\n", "UIDVALIDITY"));
	CHECK(fails(D_CODE, "* OK [UIDVALIDITY 1 2] x\r\n", "UIDVALIDITY"));
	CHECK(fails(D_CODE, "* OK [UIDVALIDITY \"1\"] x\r\n", "UIDVALIDITY"));
	CHECK(fails(D_CODE, "* OK [UIDNEXT 0] x\r\n", "UIDNEXT"));
	CHECK(fails(D_CODE, "* OK [UIDNEXT x] x\r\n", "UIDNEXT"));
	CHECK(fails(D_CODE, "* OK [UNSEEN 0] x\r\n", "UNSEEN"));
	CHECK(fails(D_CODE, "* OK [HIGHESTMODSEQ 0] x\r\n", "HIGHESTMODSEQ"));
	CHECK(fails(D_CODE, "* OK [HIGHESTMODSEQ 9223372036854775808] x\r\n",
	            "HIGHESTMODSEQ"));
	CHECK(fails(D_CODE, "* OK [HIGHESTMODSEQ (5)] x\r\n", "HIGHESTMODSEQ"));
	CHECK(fails(D_CODE, "* OK [PERMANENTFLAGS \\Seen] x\r\n",
	            "PERMANENTFLAGS"));
	CHECK(fails(D_CODE, "* OK [PERMANENTFLAGS (\"\\\\Seen\")] x\r\n",
	            "PERMANENTFLAGS"));
	CHECK(fails(D_CODE, "* OK [PERMANENTFLAGS] x\r\n", "PERMANENTFLAGS"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 0 1] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 5] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 5 0] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 5 1:*] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 5 (1)] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [APPENDUID 5 1 2] x\r\n", "APPENDUID"));
	CHECK(fails(D_CODE, "A1 OK [COPYUID 5 1:3 4:5] x\r\n",
	            "COPYUID: source and destination"));
	CHECK(fails(D_CODE, "A1 OK [COPYUID 5 1:3] x\r\n", "COPYUID"));
	CHECK(fails(D_CODE, "A1 OK [COPYUID 0 1 2] x\r\n", "COPYUID"));
	CHECK(fails(D_CODE, "A1 OK [COPYUID 5 1 x] x\r\n", "COPYUID"));
	CHECK(fails(D_CODE, "A1 OK [COPYUID 5 1 4294967296] x\r\n", "COPYUID"));
	CHECK(fails(D_CODE, "A1 OK [MODIFIED] x\r\n", "MODIFIED"));
	CHECK(fails(D_CODE, "A1 OK [MODIFIED 0] x\r\n", "MODIFIED"));
	CHECK(fails(D_CODE, "A1 OK [MODIFIED \"1\"] x\r\n", "MODIFIED"));
	CHECK(fails(D_CODE, "A1 OK [MAILBOXID F1] x\r\n", "MAILBOXID"));
	CHECK(fails(D_CODE, "A1 OK [MAILBOXID (F/1)] x\r\n", "MAILBOXID"));
	CHECK(fails(D_CODE, "A1 OK [READ-WRITE 1] x\r\n", "no arguments"));
	CHECK(fails(D_CODE, "A1 OK [CLOSED (x)] x\r\n", "no arguments"));
	done();
}

TEST(datetime)
{
	int64_t t = 0;

	CHECK_INT_EQ(imap_decode_datetime("17-Jul-1996 02:44:25 -0700", &t), 0);
	CHECK_INT_EQ(t, 837596665);
	CHECK_INT_EQ(imap_decode_datetime("17-Jul-1996 09:44:25 +0000", &t), 0);
	CHECK_INT_EQ(t, 837596665);
	CHECK_INT_EQ(imap_decode_datetime(" 7-Jul-1996 02:44:25 -0700", &t), 0);
	CHECK_INT_EQ(t, 836732665);
	CHECK_INT_EQ(imap_decode_datetime("07-jul-1996 02:44:25 -0700", &t), 0);
	CHECK_INT_EQ(t, 836732665);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-1970 00:00:00 +0000", &t), 0);
	CHECK_INT_EQ(t, 0);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-1970 00:00:00 +0130", &t), 0);
	CHECK_INT_EQ(t, -5400);
	CHECK_INT_EQ(imap_decode_datetime("31-Dec-1969 23:59:59 +0000", &t), 0);
	CHECK_INT_EQ(t, -1);
	CHECK_INT_EQ(imap_decode_datetime("29-Feb-2000 12:00:00 +0000", &t), 0);
	CHECK_INT_EQ(t, 951825600);
	CHECK_INT_EQ(imap_decode_datetime("29-Feb-2024 00:00:00 +0000", &t), 0);
	CHECK_INT_EQ(t, 1709164800);
	CHECK_INT_EQ(imap_decode_datetime("19-Jan-2038 03:14:08 +0000", &t), 0);
	CHECK_INT_EQ(t, 2147483648LL);
	CHECK_INT_EQ(imap_decode_datetime("31-Dec-9999 23:59:59 -2359", &t), 0);
	CHECK_INT_EQ(t, 253402300799LL + 86340);
	CHECK_INT_EQ(imap_decode_datetime("28-Nov-2026 05:42:18 +0000", &t), 0);
	CHECK_INT_EQ(t, 1795844538);

	t = 42;
	CHECK_INT_EQ(imap_decode_datetime("29-Feb-1900 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("29-Feb-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("31-Apr-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("00-Apr-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("32-Jan-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Foo-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Ja-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-0000 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 24:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:60:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:61 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +0060", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +2400", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 *0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +00000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("1-Jan-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("1 -Jan-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime(" -Jan-2023 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 0:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +0000 ", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023T00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:0a:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-2023 00:00:00 +0-00", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("01-Jan-20-3 00:00:00 +0000", &t), -1);
	CHECK_INT_EQ(imap_decode_datetime("", &t), -1);
	CHECK_INT_EQ(t, 42);
}

TEST(fetch_header_fields)
{
	/* Dovecot's answer to BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]. */
	const struct imap_response *resp =
		parse("* 3 FETCH (UID 7 RFC822.SIZE 120 "
		      "BODY[HEADER.FIELDS (MESSAGE-ID)] {23}\r\n"
		      "Message-ID: <a@b>\r\n\r\n\r\n)\r\n");
	struct imap_fetch f;
	const char *error;

	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == 0);
	CHECK((f.have & IMAP_FETCH_HEADER) != 0);
	CHECK(f.header != NULL && f.header->len == 23);
	CHECK(f.header != NULL && f.header->str != NULL &&
	      strncmp(f.header->str, "Message-ID: <a@b>", 17) == 0);
	CHECK(f.uid == 7 && f.size == 120 && f.body == NULL);
	resp = parse("* 3 FETCH (UID 7 BODY[HEADER] (x))\r\n");
	CHECK(resp != NULL && imap_decode_fetch(resp, &f, &error) == -1);
	done();
}
