/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include "buf.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "limits.h"
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Misbehaving servers, scripted in sh and reached through the tunnel: the
 * failures a real Dovecot never shows. */

static struct buf *trace;

static void
trace_cb(void *ctx, const char *name, bool out, const char *line, size_t len)
{
	CHECK(buf_printf(trace, "%s %s ", name, out ? "->" : "<-") == 0);
	CHECK(buf_append(trace, line, len) == 0);
	CHECK(buf_append_str(trace, "\n") == 0);
}

static struct imap_conn *
peer(const char *script, int debug)
{
	static struct imap_parser_settings ps = {.max_line = 100};
	struct imap_conn_settings set = {
	    .name = "test",
	    .debug = debug,
	    .trace = trace_cb,
	    .parser = &ps,
	};
	const char *error;
	struct transport *t = transport_tunnel_create(script, true, &error);

	if (trace == NULL)
		trace = buf_create(1 << 20);
	buf_reset(trace);
	if (t == NULL)
		return NULL;
	return imap_conn_create(&set, t);
}

struct res {
	int calls;
	int status;
	char text[256];
};

static void
res_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct res *r = ctx;

	r->calls++;
	r->status = resp != NULL ? (int)resp->status : -1;
	snprintf(r->text, sizeof(r->text), "%s",
	         resp != NULL ? resp->text : imap_conn_error(c));
}

static int
run(struct imap_conn *c, int timeout_ms)
{
	return imap_conn_run(&c, 1, NULL, NULL, timeout_ms);
}

TEST(unknown_tag)
{
	struct imap_conn *c = peer(
	    "printf '* PREAUTH hi\\r\\nX9 OK what\\r\\n'; cat >/dev/null", 0);
	struct res r = {0};

	CHECK(imap_conn_cmd(c, res_cb, &r, "NOOP") != NULL);
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_STREQ(imap_conn_error(c),
	            "test: protocol error: tagged response for unknown tag "
	            "'X9'");
	CHECK(r.calls == 1 && r.status == -1);
	imap_conn_free(&c);
	CHECK(c == NULL);
}

TEST(bye_outside_logout)
{
	struct imap_conn *c = peer(
	    "printf '* OK hi\\r\\n* BYE going down\\r\\n'; cat >/dev/null", 0);
	struct res r = {0};

	imap_conn_cmd(c, res_cb, &r, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_INT_EQ(imap_conn_state(c), IMAP_CONN_FAILED);
	CHECK_STREQ(imap_conn_error(c), "test: server said BYE: going down");
	CHECK(r.calls == 1 && r.status == -1);
	imap_conn_free(&c);
}

TEST(greeting_bye)
{
	struct imap_conn *c = peer("printf '* BYE too busy\\r\\n'", 0);

	CHECK_INT_EQ(imap_conn_cmd_wait(c, NULL, 0, "NOOP"), -1);
	CHECK_STREQ(imap_conn_error(c), "test: server said BYE: too busy");
	imap_conn_free(&c);
}

TEST(bad_greeting)
{
	struct imap_conn *c =
	    peer("printf 'A1 OK hi\\r\\n'; cat >/dev/null", 0);
	char text[200];

	CHECK_INT_EQ(imap_conn_cmd_wait(c, text, sizeof(text), "NOOP"), -1);
	CHECK_STREQ(text, "test: protocol error: the greeting is not OK, "
	                  "PREAUTH or BYE");
	imap_conn_free(&c);
}

TEST(unexpected_continuation)
{
	struct imap_conn *c =
	    peer("printf '* PREAUTH hi\\r\\n+ go on\\r\\n'; cat >/dev/null", 0);

	imap_conn_cmd(c, NULL, NULL, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_STREQ(imap_conn_error(c),
	            "test: protocol error: unexpected continuation request");
	imap_conn_free(&c);
}

TEST(line_limit)
{
	struct imap_conn *c =
	    peer("printf '* PREAUTH hi\\r\\n* OK '; head -c 300 /dev/zero | "
	         "tr '\\0' x; cat >/dev/null",
	         0);

	imap_conn_cmd(c, NULL, NULL, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK(strncmp(imap_conn_error(c), "test: protocol error: ", 22) == 0);
	imap_conn_free(&c);
}

TEST(eof_with_status)
{
	struct imap_conn *c = peer("printf '* PREAUTH hi\\r\\n'; exit 4", 0);
	struct res r = {0};

	imap_conn_cmd(c, res_cb, &r, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_STREQ(imap_conn_error(c),
	            "test: connection closed by the server (command exited "
	            "with status 4)");
	CHECK(r.calls == 1 && r.status == -1);
	CHECK_INT_EQ(imap_conn_in_flight(c), 0);
	imap_conn_free(&c);
}

/* A tunnel whose command ends before any greeting (ssh refusing its own
 * config): no server was contacted, and the last few stderr lines say
 * why (the line naming the setting, and the one saying what is wrong). */
TEST(eof_before_greeting)
{
	struct imap_conn *c = peer("echo zero >&2; echo one >&2; "
	                           "echo 'line 20: bad' >&2; printf 'no' >&2; "
	                           "exit 255",
	                           0);
	struct res r = {0};

	imap_conn_cmd(c, res_cb, &r, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_STREQ(imap_conn_error(c),
	            "test: connection closed before the IMAP greeting "
	            "(command exited with status 255: one / line 20: bad / "
	            "no)");
	imap_conn_free(&c);
	c = peer("true; exit 3", 0);
	imap_conn_cmd(c, res_cb, &r, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_STREQ(imap_conn_error(c),
	            "test: connection closed before the IMAP greeting "
	            "(command exited with status 3)");
	imap_conn_free(&c);
}

TEST(timeout_leaves_conn_usable)
{
	struct imap_conn *c =
	    peer("printf '* PREAUTH hi\\r\\n'; cat >/dev/null", 0);
	struct res r = {0};

	imap_conn_cmd(c, res_cb, &r, "NOOP");
	CHECK_INT_EQ(run(c, 200), -1);
	CHECK_INT_EQ(errno, ETIMEDOUT);
	CHECK_INT_EQ(imap_conn_state(c), IMAP_CONN_AUTH);
	CHECK(r.calls == 0 && imap_conn_in_flight(c) == 1);
	imap_conn_free(&c);
	CHECK(r.calls == 1 && r.status == -1);
}

/* A synchronizing literal the server refuses: the rest of that command
 * is never sent, the next command starts on a fresh line. */
TEST(refused_sync_literal)
{
	struct imap_conn *c =
	    peer("printf '* OK hi\\r\\n'; read a; printf 'A1 NO no\\r\\n'; "
	         "read b; printf 'A2 OK got %s\\r\\n' \"$(echo $b | tr -d "
	         "'\\r')\"; cat >/dev/null",
	         0);
	struct res r1 = {0}, r2 = {0};

	imap_conn_cmd(c, res_cb, &r1, "APPEND x %L", "abc", (size_t)3);
	imap_conn_cmd(c, res_cb, &r2, "NOOP");
	CHECK_INT_EQ(run(c, 5000), 0);
	CHECK(r1.calls == 1 && r1.status == IMAP_STATUS_NO);
	CHECK(r2.calls == 1 && r2.status == IMAP_STATUS_OK);
	CHECK_STREQ(r2.text, "got A2 NOOP");
	imap_conn_free(&c);
}

TEST(logout_closes)
{
	struct imap_conn *c = peer("printf '* PREAUTH hi\\r\\n'; read a; "
	                           "printf '* BYE bye\\r\\nA1 OK done\\r\\n'",
	                           0);
	struct res r = {0};

	CHECK_INT_EQ(imap_conn_cmd_wait(c, NULL, 0, "LOGOUT"), IMAP_STATUS_OK);
	CHECK_INT_EQ(imap_conn_state(c), IMAP_CONN_CLOSED);
	CHECK_STREQ(imap_conn_error(c), "");
	CHECK(imap_conn_cmd(c, res_cb, &r, "NOOP") == NULL);
	imap_conn_free(&c);
}

TEST(piecewise_after_failure)
{
	struct imap_conn *c = peer("printf '* PREAUTH hi\\r\\n'; exit 4", 0);
	struct imap_cmd *cmd, *left;
	struct res r = {0};

	cmd = imap_conn_cmd_begin(c, res_cb, &r);
	left = imap_conn_cmd_begin(c, res_cb, &r);
	imap_cmd_add(left, "NOOP");
	imap_cmd_add(cmd, "APPEND x %L", "abc", (size_t)3);
	imap_conn_cmd(c, NULL, NULL, "NOOP");
	CHECK_INT_EQ(run(c, 5000), -1);
	CHECK_INT_EQ(r.calls, 0);
	imap_cmd_end(cmd);
	CHECK(r.calls == 1 && r.status == -1);
	CHECK(imap_conn_cmd_begin(c, res_cb, &r) == NULL);
	imap_cmd_add(NULL, "NOOP");
	imap_cmd_end(NULL);
	imap_cmd_abort(NULL);
	/* left is still being built: freeing the connection frees it. */
	imap_conn_free(&c);
	CHECK_INT_EQ(r.calls, 1);
}

TEST(trace_incoming_literal)
{
	struct imap_conn *c =
	    peer("printf '* PREAUTH hi\\r\\n'; read a; printf '* 1 FETCH "
	         "(BODY[] {8}\\r\\nab\\r\\ncd\\r\\n)\\r\\nA1 OK x\\r\\n'; cat "
	         ">/dev/null",
	         1);

	CHECK(imap_conn_cmd_wait(c, NULL, 0, "FETCH 1 BODY[]") ==
	      IMAP_STATUS_OK);
	CHECK_STREQ(buf_data(trace), "test <- * PREAUTH hi\n"
	                             "test -> A1 FETCH 1 BODY[]\n"
	                             "test <- * 1 FETCH (BODY[] {8}\n"
	                             "test <- {8 bytes})\n"
	                             "test <- A1 OK x\n");
	imap_conn_free(&c);
	c = peer("printf '* PREAUTH hi\\r\\n'; read a; printf '* 1 FETCH "
	         "(BODY[] {8}\\r\\nab\\r\\ncd\\r\\n)\\r\\nA1 OK x\\r\\n'; "
	         "sleep 5",
	         2);
	CHECK(imap_conn_cmd_wait(c, NULL, 0, "FETCH 1 BODY[]") ==
	      IMAP_STATUS_OK);
	CHECK_STREQ(buf_data(trace), "test <- * PREAUTH hi\n"
	                             "test -> A1 FETCH 1 BODY[]\n"
	                             "test <- * 1 FETCH (BODY[] {8}\n"
	                             "test <- ab\n"
	                             "test <- cd\n"
	                             "test <- )\n"
	                             "test <- A1 OK x\n");
	imap_conn_free(&c);
	buf_free(&trace);
}

/* A server that trickles its answer, a byte every 100 ms (never silent
 * for the 1 s the idle limit allows): the answer deadline ends it,
 * naming the command. */
TEST(answer_timeout_trickle)
{
	struct imap_conn *c = peer("printf '* PREAUTH hi\\r\\n'; "
	                           "while :; do printf x; sleep 0.1; done",
	                           0);
	struct res r = {0};

	imap_conn_set_answer_timeout(c, 1000);
	imap_conn_cmd(c, res_cb, &r, "UID FETCH 1:* (FLAGS)");
	CHECK_INT_EQ(run(c, 1000), -1);
	CHECK_INT_EQ(imap_conn_state(c), IMAP_CONN_FAILED);
	CHECK(strstr(imap_conn_error(c),
	             "test: no answer to UID FETCH within 1 s") != NULL);
	CHECK(r.calls == 1 && r.status == -1);
	imap_conn_free(&c);
}

static bool
greeted(void *ctx)
{
	return imap_conn_state(ctx) != IMAP_CONN_GREETING;
}

/* A greeting a byte every 100 ms: the deadline is not moved by it. */
TEST(deadline_trickled_greeting)
{
	struct imap_conn *c =
	    peer("for b in '*' ' ' O K ' ' h i; do printf \"$b\"; sleep 0.1; "
	         "done; sleep 0.2; while :; do printf x; sleep 0.1; done",
	         0);

	imap_conn_set_deadline(c, 500, "greeting");
	CHECK_STREQ(imap_conn_waiting_for(c), "greeting");
	CHECK_INT_EQ(imap_conn_run(&c, 1, greeted, c, 1000), -1);
	CHECK_INT_EQ(imap_conn_state(c), IMAP_CONN_FAILED);
	CHECK(strstr(imap_conn_error(c), "greeting not done within 0 s") !=
	      NULL);
	imap_conn_free(&c);
}

static bool
both_greeted(void *ctx)
{
	struct imap_conn **c = ctx;

	return imap_conn_state(c[0]) != IMAP_CONN_GREETING &&
	       imap_conn_state(c[1]) != IMAP_CONN_GREETING;
}

/* The deadline does not count against a connection that waits for none
 * of its commands, only for the other one. */
TEST(deadline_blames_the_late_one)
{
	struct imap_conn *c[2];

	c[0] = peer("printf '* PREAUTH hi\\r\\n'; cat >/dev/null", 0);
	c[1] = peer("printf '*'; cat >/dev/null", 0);
	imap_conn_set_deadline(c[0], 300, "connecting");
	imap_conn_set_deadline(c[1], 300, "connecting");
	CHECK_INT_EQ(imap_conn_run(c, 2, both_greeted, c, 2000), -1);
	CHECK_INT_EQ(imap_conn_state(c[0]), IMAP_CONN_AUTH);
	CHECK_INT_EQ(imap_conn_state(c[1]), IMAP_CONN_FAILED);
	CHECK(strstr(imap_conn_error(c[1]), "connecting not done") != NULL);
	imap_conn_free(&c[0]);
	imap_conn_free(&c[1]);
}

/* What the caller is handed, in order: "FETCH uid items" for each FETCH
 * (its item bits in hex), "TAG status" for each tagged response. */
static struct buf *handed;

static void
handed_untagged(struct imap_conn *c, const struct imap_response *resp,
                void *ctx)
{
	struct imap_fetch f;
	const char *error;

	if (resp->name == NULL || strcmp(resp->name, "FETCH") != 0)
		return;
	if (resp->malformed != NULL)
		CHECK(buf_printf(handed, "BAD %s\n", resp->malformed) == 0);
	else if (imap_decode_fetch(resp, &f, &error) < 0)
		CHECK(buf_printf(handed, "UNDECODED %s\n", error) == 0);
	else
		CHECK(buf_printf(handed, "FETCH %u %x%s%.*s\n", f.uid, f.have,
		           f.body == NULL       ? ""
		           : f.body->str == NULL ? " spilled"
		                                 : " ",
		           f.body != NULL && f.body->str != NULL
		               ? (int)f.body->len
		               : 0,
		           f.body != NULL && f.body->str != NULL ? f.body->str
		                                                 : "") == 0);
}

static void
handed_tagged(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	CHECK(buf_printf(handed, "%s %s\n", (const char *)ctx,
	                 resp != NULL ? resp->name : "NULL") == 0);
}

/* A message's items in several FETCH responses reach the caller as one;
 * a part that never gets the rest goes on before its command's answer;
 * a FETCH that answers no FETCH command goes on at once. */
TEST(fetch_items_joined)
{
	struct imap_conn *c = peer(
	    "printf '* PREAUTH hi\\r\\n'; read a; read b; "
	    "printf '* 1 FETCH (UID 5 FLAGS (x))\\r\\n"
	    "* 9 FETCH (UID 40 FLAGS (y))\\r\\n"
	    "* 1 FETCH (UID 5 INTERNALDATE \"01-Jan-2024 10:00:00 +0000\")"
	    "\\r\\n"
	    "* 2 FETCH (UID 6 FLAGS ())\\r\\n"
	    "* 1 FETCH (UID 5 BODY[] {3}\\r\\nabc)\\r\\n"
	    "* 3 FETCH (BODY[] {3}\\r\\ndef)\\r\\n"
	    "* 3 FETCH (UID 7 FLAGS () INTERNALDATE \"01-Jan-2024 10:00:00 "
	    "+0000\")\\r\\n"
	    "A1 OK done\\r\\nA2 OK noop\\r\\n'; cat >/dev/null",
	    0);

	handed = buf_create(1 << 16);
	imap_conn_set_untagged(c, handed_untagged, NULL);
	CHECK(imap_conn_cmd(c, handed_tagged, "A1",
	                    "UID FETCH 5:7 (FLAGS INTERNALDATE BODY.PEEK[])") !=
	      NULL);
	CHECK(imap_conn_cmd(c, handed_tagged, "A2", "NOOP") != NULL);
	CHECK_INT_EQ(run(c, 5000), 0);
	CHECK_STREQ(buf_data(handed), "FETCH 40 3\n"
	                              "FETCH 5 2b abc\n"
	                              "FETCH 7 2b def\n"
	                              "FETCH 6 3\n"
	                              "A1 OK\n"
	                              "A2 OK\n");
	imap_conn_free(&c);
	buf_free(&handed);
}

/* A STORE's own FETCH (UID MODSEQ) that comes while a SELECT with
 * QRESYNC is queued behind the STORE belongs to the mailbox before: on at
 * once, never held as a piece of what the SELECT asks. */
TEST(fetch_not_joined_across_select)
{
	struct imap_conn *c = peer(
	    "printf '* PREAUTH hi\\r\\n'; read a; read b; "
	    "printf '* 1 FETCH (UID 1 MODSEQ (3))\\r\\n"
	    "A1 OK stored\\r\\n"
	    "* OK [HIGHESTMODSEQ 9] x\\r\\n"
	    "* 1 FETCH (UID 1 FLAGS (y) MODSEQ (8))\\r\\n"
	    "A2 OK selected\\r\\n'; cat >/dev/null",
	    0);

	handed = buf_create(1 << 16);
	imap_conn_set_untagged(c, handed_untagged, NULL);
	CHECK(imap_conn_cmd(c, handed_tagged, "A1",
	                    "UID STORE 1 (UNCHANGEDSINCE 2) FLAGS.SILENT (x)") !=
	      NULL);
	CHECK(imap_conn_cmd(c, handed_tagged, "A2",
	                    "SELECT other (QRESYNC (1 2))") != NULL);
	CHECK_INT_EQ(run(c, 5000), 0);
	/* MODSEQ alone, before A1's answer, not after A2's. */
	CHECK(strncmp(buf_data(handed), "FETCH 1 ", 8) == 0);
	CHECK(strstr(buf_data(handed), "\nA1 OK\nFETCH 1 ") != NULL);
	CHECK(strstr(buf_data(handed), "A2 OK\n") != NULL);
	imap_conn_free(&c);
	buf_free(&handed);
}

/* Past IMAP_MAX_FETCH_HELD_FILES bodies waiting for their flags, the
 * caller gets a malformed FETCH naming the message and the limit, and
 * what comes after goes on as it comes (the caller fails the mailbox:
 * nothing is held without bound, nothing is dropped unsaid). */
TEST(fetch_join_cap)
{
	static struct imap_parser_settings ps = {.max_line = 100,
	                                         .max_inline_literal = 1};
	struct imap_conn_settings set = {.name = "test", .parser = &ps};
	char script[512];
	const char *error;
	struct transport *t;
	struct imap_conn *c;
	const char *got;

	snprintf(script, sizeof(script),
	         "printf '* PREAUTH hi\\r\\n'; read a; i=1; "
	         "while [ $i -le %d ]; do "
	         "printf '* %%d FETCH (UID %%d BODY[] {2}\\r\\nab)\\r\\n' "
	         "$i $i; i=$((i + 1)); done; "
	         "printf 'A1 OK done\\r\\n'; cat >/dev/null",
	         IMAP_MAX_FETCH_HELD_FILES + 2);
	t = transport_tunnel_create(script, true, &error);
	CHECK(t != NULL);
	c = imap_conn_create(&set, t);
	handed = buf_create(1 << 16);
	imap_conn_set_untagged(c, handed_untagged, NULL);
	CHECK(imap_conn_cmd(c, handed_tagged, "A1",
	                    "UID FETCH 1:100 (FLAGS INTERNALDATE "
	                    "BODY.PEEK[])") != NULL);
	CHECK_INT_EQ(run(c, 5000), 0);
	got = buf_data(handed);
	CHECK(strncmp(got, "BAD UID 65 (message 65): its items came in several "
	                   "FETCH responses, and more than IMAP_MAX_FETCH_HELD",
	              96) == 0);
	/* The one after, on as it came; then the command's answer. */
	if (!CHECK(strstr(got, "\nFETCH 66 21 spilled\nA1 OK\n") != NULL))
		printf("# %s", got);
	imap_conn_free(&c);
	buf_free(&handed);
}
