/* SPDX-License-Identifier: GPL-3.0-or-later */
/* conn-test IMAP-COMMAND: drives the connection library against a real
 * Dovecot store reached through IMAP-COMMAND (a pre-authenticated `imap`
 * script from tests/lib/store.sh), printing TAP. */
#include "buf.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "mutf7.h"
#include "transport.h"
#include "uidset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLAN 46
#define BIG_SIZE (20 * 1024 * 1024)
#define PIPELINE 1000
#define TIMEOUT_MS 60000

static int test_n;
static const char *imap_cmd;

static bool __attribute__((format(printf, 2, 3)))
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++test_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* What the untagged handler saw. */
#define MAX_LIST 32
struct seen {
	int nlist;
	char names[MAX_LIST][256];
	unsigned flags[MAX_LIST];
	char delim[MAX_LIST];
	int nstatus;
	char status_names[MAX_LIST][256];
	struct imap_status_data status[MAX_LIST];
	bool vanished_earlier;
	struct uidset vanished;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint64_t fetch_modseq;
	/* A FETCH BODY[] to compare with the file cmp_fd. */
	int cmp_fd;
	uint64_t cmp_len;
	int bodies, bodies_same, bodies_spilled;
	int bad_decodes;
};

static bool
decode_name(const char *mutf7, size_t len, char *out, size_t size)
{
	struct buf *b = buf_create(4096);
	const char *error;
	bool ret =
	    mutf7_decode(mutf7, len, b, &error) == 0 && buf_len(b) < size;

	if (ret)
		memcpy(out, buf_data(b), buf_len(b) + 1);
	buf_free(&b);
	return ret;
}

static bool
same_as_file(const struct imap_arg *body, int fd, uint64_t len)
{
	static char a[65536], b[65536];
	uint64_t off = 0;

	if (body->type != IMAP_ARG_LITERAL || body->len != len)
		return false;
	while (off < len) {
		size_t k = len - off < sizeof(a) ? len - off : sizeof(a);

		if (pread(fd, a, k, off) != (ssize_t)k)
			return false;
		if (body->fd >= 0) {
			if (pread(body->fd, b, k, off) != (ssize_t)k)
				return false;
			if (memcmp(a, b, k) != 0)
				return false;
		} else if (memcmp(a, body->str + off, k) != 0) {
			return false;
		}
		off += k;
	}
	return true;
}

static void
untagged_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct seen *s = ctx;
	const char *error;

	if (resp->name == NULL)
		return;
	if (strcmp(resp->name, "LIST") == 0 && s->nlist < MAX_LIST) {
		struct imap_list l;

		if (imap_decode_list(resp, &l, &error) < 0 ||
		    !decode_name(l.name, l.name_len, s->names[s->nlist], 256)) {
			s->bad_decodes++;
			return;
		}
		s->flags[s->nlist] = l.flags;
		s->delim[s->nlist] = l.delimiter;
		s->nlist++;
	} else if (strcmp(resp->name, "STATUS") == 0 && s->nstatus < MAX_LIST) {
		struct imap_status_data st;

		if (imap_decode_status(resp, &st, &error) < 0 ||
		    !decode_name(st.mailbox, st.mailbox_len,
		                 s->status_names[s->nstatus], 256)) {
			s->bad_decodes++;
			return;
		}
		s->status[s->nstatus] = st;
		s->status[s->nstatus].mailbox = NULL;
		s->status[s->nstatus].x_guid = NULL;
		s->status[s->nstatus].mailboxid = NULL;
		s->nstatus++;
	} else if (strcmp(resp->name, "VANISHED") == 0) {
		if (imap_decode_vanished(resp, &s->vanished_earlier,
		                         &s->vanished, &error) < 0)
			s->bad_decodes++;
	} else if (strcmp(resp->name, "FETCH") == 0) {
		struct imap_fetch f;

		if (imap_decode_fetch(resp, &f, &error) < 0) {
			diag("FETCH: %s", error);
			s->bad_decodes++;
			return;
		}
		if (f.have & IMAP_FETCH_MODSEQ)
			s->fetch_modseq = f.modseq;
		if ((f.have & IMAP_FETCH_BODY) && f.body != NULL) {
			s->bodies++;
			if (f.body->fd >= 0)
				s->bodies_spilled++;
			if (same_as_file(f.body, s->cmp_fd, s->cmp_len))
				s->bodies_same++;
		}
	} else if (resp->status == IMAP_STATUS_OK && resp->code != NULL) {
		struct imap_resp_code code;

		if (imap_decode_code(resp, &code, NULL, NULL, &error) < 0)
			return;
		if (code.code == IMAP_CODE_UIDVALIDITY)
			s->uidvalidity = code.uidvalidity;
		if (code.code == IMAP_CODE_HIGHESTMODSEQ)
			s->highestmodseq = code.modseq;
	}
}

/* A tagged response, kept. */
struct result {
	bool done;
	int status; /* -1: the connection failed */
	char text[512];
	struct imap_resp_code code;
	struct uidset set;
};

static void
result_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct result *r = ctx;
	const char *error;

	r->done = true;
	if (resp == NULL) {
		r->status = -1;
		snprintf(r->text, sizeof(r->text), "%s", imap_conn_error(c));
		return;
	}
	r->status = resp->status;
	snprintf(r->text, sizeof(r->text), "%s", resp->text);
	if (imap_decode_code(resp, &r->code, &r->set, NULL, &error) < 0)
		r->code.code = IMAP_CODE_NONE;
}

static bool
result_done(void *ctx)
{
	return ((struct result *)ctx)->done;
}

static void
result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	uidset_init(&r->set);
	r->status = -2;
}

/* Run one command to its end; its tagged status, or -1. */
static int
run_cmd(struct imap_conn *c, struct result *r, const char *fmt, ...)
{
	va_list ap;

	uidset_free(&r->set);
	result_init(r);
	va_start(ap, fmt);
	if (imap_conn_cmdv(c, result_cb, r, fmt, ap) == NULL) {
		va_end(ap);
		return -1;
	}
	va_end(ap);
	imap_conn_run(&c, 1, result_done, r, TIMEOUT_MS);
	if (r->status != IMAP_STATUS_OK)
		diag("%s: status %d: %s (%s)", fmt, r->status, r->text,
		     imap_conn_error(c));
	return r->status;
}

static struct buf *trace_text;

static void
trace_cb(void *ctx, const char *name, bool out, const char *line, size_t len)
{
	if (buf_printf(trace_text, "%s %s ", name, out ? "->" : "<-") < 0)
		abort();
	if (buf_append(trace_text, line, len) < 0)
		abort();
	if (buf_append_str(trace_text, "\n") < 0)
		abort();
}

static bool
greeted(void *ctx)
{
	return imap_conn_state(ctx) != IMAP_CONN_GREETING;
}

static struct imap_conn *
connect_to(const char *command, int debug, uint64_t caps_disabled,
           struct seen *seen)
{
	struct imap_conn_settings set = {
	    .name = "remote",
	    .debug = debug,
	    .trace = trace_cb,
	    .caps_disabled = caps_disabled,
	};
	const char *error;
	struct transport *t = transport_tunnel_create(command, false, &error);
	struct imap_conn *c;

	if (t == NULL) {
		diag("%s", error);
		return NULL;
	}
	c = imap_conn_create(&set, t);
	imap_conn_set_untagged(c, untagged_cb, seen);
	imap_conn_run(&c, 1, greeted, c, TIMEOUT_MS);
	return c;
}

static int
big_file(uint64_t size, char seed)
{
	char path[] = "/tmp/conn-test-XXXXXX";
	int fd = mkstemp(path);
	char line[80];
	uint64_t off = 0;
	int n;

	if (fd < 0)
		return -1;
	unlink(path);
	n = snprintf(line, sizeof(line), "Subject: big %c\r\n\r\n", seed);
	if (write(fd, line, n) != n)
		return -1;
	off = n;
	while (off < size) {
		size_t k;

		for (n = 0; n < 76; n++)
			line[n] = 'A' + (seed + off / 78 + n) % 26;
		line[76] = '\r';
		line[77] = '\n';
		k = size - off < 78 ? size - off : 78;
		if (k < 78) {
			/* End with CRLF so the server stores the bytes as
			 * they are. */
			memset(line, 'x', k);
			if (k >= 2)
				memcpy(line + k - 2, "\r\n", 2);
		}
		if (write(fd, line, k) != (ssize_t)k)
			return -1;
		off += k;
	}
	return fd;
}

static const char *const boxes[] = {
    "Sent", "Archive/2024", "Entw\xc3\xbcrfe", "\xe6\x97\xa5\xe6\x9c\xac",
    "a&b",  "with space",
};
#define NBOXES (sizeof(boxes) / sizeof(boxes[0]))

static int
find_name(char names[][256], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

static void
test_setup(struct imap_conn *c, struct seen *s)
{
	struct result r;
	size_t i;
	int created = 0, ix, six, listed = 0;
	bool status_ok = true;

	result_init(&r);
	ok(imap_conn_state(c) == IMAP_CONN_AUTH,
	   "PREAUTH greeting: state AUTH");
	ok((imap_conn_caps(c) & IMAP_CAP_QRESYNC) &&
	       (imap_conn_caps(c) & IMAP_CAP_LITERALPLUS),
	   "greeting capabilities noted (QRESYNC, LITERAL+)");
	ok(run_cmd(c, &r, "CAPABILITY") == IMAP_STATUS_OK &&
	       (imap_conn_caps(c) & IMAP_CAP_LIST_STATUS) &&
	       (imap_conn_caps(c) & IMAP_CAP_MULTIAPPEND),
	   "CAPABILITY");
	ok(run_cmd(c, &r, "ENABLE QRESYNC") == IMAP_STATUS_OK &&
	       (imap_conn_enabled(c) & IMAP_CAP_QRESYNC),
	   "ENABLE QRESYNC: ENABLED seen");
	for (i = 0; i < NBOXES; i++)
		created +=
		    run_cmd(c, &r, "CREATE %m", boxes[i]) == IMAP_STATUS_OK;
	ok(created == (int)NBOXES, "CREATE %d mailboxes, 8-bit names too",
	   created);
	ok(run_cmd(c, &r, "SUBSCRIBE %m", boxes[2]) == IMAP_STATUS_OK,
	   "SUBSCRIBE");
	ok(run_cmd(c, &r,
	           "LIST \"\" \"*\" RETURN (SUBSCRIBED STATUS (UIDVALIDITY "
	           "UIDNEXT HIGHESTMODSEQ))") == IMAP_STATUS_OK &&
	       s->bad_decodes == 0,
	   "LIST-STATUS");
	for (i = 0; i < NBOXES; i++) {
		ix = find_name(s->names, s->nlist, boxes[i]);
		six = find_name(s->status_names, s->nstatus, boxes[i]);
		if (ix >= 0)
			listed++;
		if (six < 0 || s->status[six].uidnext != 1 ||
		    s->status[six].uidvalidity == 0 ||
		    !(s->status[six].have & IMAP_STATUS_HIGHESTMODSEQ))
			status_ok = false;
	}
	ok(listed == (int)NBOXES && find_name(s->names, s->nlist, "INBOX") >= 0,
	   "LIST names decoded: %d of %zu", listed, NBOXES);
	ok(status_ok, "STATUS values for each mailbox");
	ix = find_name(s->names, s->nlist, boxes[2]);
	ok(ix >= 0 && (s->flags[ix] & IMAP_LIST_SUBSCRIBED) &&
	       !(s->flags[find_name(s->names, s->nlist, boxes[0])] &
	         IMAP_LIST_SUBSCRIBED) &&
	       s->delim[ix] == '/',
	   "LIST flags and delimiter");
	uidset_free(&r.set);
}

static const char msg1[] = "Subject: one\r\n\r\nfirst\r\n";
static const char msg2[] = "Subject: two\r\n\r\nsecond\r\n";
static const char msg3[] = "Subject: three\r\n\r\nthird\r\n";

/* MULTIAPPEND built piece by piece, as the sync does while messages
 * arrive; an aborted command in between is never sent. */
static void
piecewise_append(struct imap_conn *c, const char *box, const char *mode)
{
	const char *const msgs[] = {msg1, msg2, msg3};
	struct imap_cmd *cmd, *dropped;
	struct result r;
	size_t i;
	int fd = -1;

	result_init(&r);
	cmd = imap_conn_cmd_begin(c, result_cb, &r);
	dropped = imap_conn_cmd_begin(c, result_cb, &r);
	imap_cmd_add(dropped, "NOOP");
	imap_cmd_add(cmd, "APPEND %m", box);
	for (i = 0; i < 3; i++) {
		fd = big_file(1000 + i, 'k');
		imap_cmd_add(cmd, " (\\Draft) %L", msgs[i], strlen(msgs[i]));
		imap_cmd_add(cmd, " %F", fd, (uint64_t)(1000 + i));
		close(fd);
	}
	imap_cmd_abort(dropped);
	imap_cmd_end(cmd);
	imap_conn_run(&c, 1, result_done, &r, TIMEOUT_MS);
	ok(r.status == IMAP_STATUS_OK && r.code.code == IMAP_CODE_APPENDUID &&
	       uidset_count(&r.set) == 6,
	   "piecewise MULTIAPPEND of 6 (%s): APPENDUID", mode);
	uidset_free(&r.set);
}

static void
test_multiappend(struct imap_conn *c, const char *box, const char *mode)
{
	struct result r;
	size_t tlen = buf_len(trace_text);
	const char *tr;

	result_init(&r);
	ok(run_cmd(c, &r, "APPEND %m (\\Seen) %L (\\Flagged) %L %L", box, msg1,
	           sizeof(msg1) - 1, msg2, sizeof(msg2) - 1, msg3,
	           sizeof(msg3) - 1) == IMAP_STATUS_OK &&
	       r.code.code == IMAP_CODE_APPENDUID && uidset_count(&r.set) == 3,
	   "MULTIAPPEND of 3 (%s): APPENDUID", mode);
	tr = buf_data(trace_text) + tlen;
	if (strcmp(mode, "LITERAL+") == 0)
		ok(strstr(tr, "{23+}") != NULL && strstr(tr, "{23}") == NULL,
		   "literals sent non-synchronizing");
	else
		ok(strstr(tr, "{23}") != NULL && strstr(tr, "{23+}") == NULL &&
		       strstr(tr, "remote <- + ") != NULL,
		   "literals waited for the continuation");
	piecewise_append(c, box, mode);
	uidset_free(&r.set);
}

static void
test_qresync(struct imap_conn *c, struct seen *s)
{
	struct result r;
	uint64_t modseq, modseq1;
	uint32_t uidvalidity;

	result_init(&r);
	s->highestmodseq = 0;
	ok(run_cmd(c, &r, "SELECT %m", boxes[0]) == IMAP_STATUS_OK &&
	       s->uidvalidity != 0 && s->highestmodseq != 0,
	   "SELECT: UIDVALIDITY and HIGHESTMODSEQ");
	uidvalidity = s->uidvalidity;
	modseq = s->highestmodseq;
	ok(run_cmd(c, &r, "UID STORE 2 +FLAGS.SILENT (\\Deleted)") ==
	           IMAP_STATUS_OK &&
	       run_cmd(c, &r, "UID EXPUNGE 2") == IMAP_STATUS_OK,
	   "expunge UID 2");
	uidset_clear(&s->vanished);
	s->vanished_earlier = false;
	ok(run_cmd(c, &r, "SELECT %m (QRESYNC (%u %U))", boxes[0], uidvalidity,
	           modseq) == IMAP_STATUS_OK &&
	       s->vanished_earlier && uidset_count(&s->vanished) == 1 &&
	       uidset_contains(&s->vanished, 2),
	   "SELECT (QRESYNC): VANISHED (EARLIER) 2");

	/* UNCHANGEDSINCE with a stale modseq. */
	s->fetch_modseq = 0;
	run_cmd(c, &r, "UID FETCH 1 (MODSEQ)");
	modseq1 = s->fetch_modseq;
	ok(modseq1 != 0 &&
	       run_cmd(c, &r, "UID STORE 1 +FLAGS.SILENT (\\Answered)") ==
	           IMAP_STATUS_OK,
	   "FETCH MODSEQ then STORE");
	ok(run_cmd(c, &r, "UID STORE 1 (UNCHANGEDSINCE %U) FLAGS.SILENT (x)",
	           modseq1) == IMAP_STATUS_OK &&
	       r.code.code == IMAP_CODE_MODIFIED && uidset_contains(&r.set, 1),
	   "UID STORE (UNCHANGEDSINCE stale): [MODIFIED 1]");
	uidset_free(&r.set);
}

static void
test_big(struct imap_conn *c, struct seen *s)
{
	struct result r;
	int fd = big_file(BIG_SIZE, 'a');
	uint32_t uid;

	result_init(&r);
	ok(fd >= 0 &&
	       run_cmd(c, &r, "APPEND %m %F", boxes[1], fd,
	               (uint64_t)BIG_SIZE) == IMAP_STATUS_OK &&
	       r.code.code == IMAP_CODE_APPENDUID &&
	       uidset_nth(&r.set, 0, &uid),
	   "APPEND 20 MB from a file");
	s->cmp_fd = fd;
	s->cmp_len = BIG_SIZE;
	s->bodies = s->bodies_same = s->bodies_spilled = 0;
	ok(run_cmd(c, &r, "SELECT %m", boxes[1]) == IMAP_STATUS_OK &&
	       run_cmd(c, &r, "UID FETCH %u (BODY.PEEK[])", uid) ==
	           IMAP_STATUS_OK &&
	       s->bodies == 1 && s->bodies_spilled == 1,
	   "FETCH 20 MB: spilled literal");
	ok(s->bodies_same == 1, "FETCH 20 MB: the same bytes came back");
	close(fd);
	uidset_free(&r.set);
}

struct pipeline {
	int next, in_order, ok;
};

static void
pipeline_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct pipeline *p = ctx;
	(void)c;
	if (resp == NULL)
		return;
	/* The tag says which command this was: compare with the count. */
	if (atoi(resp->tag + 1) == p->next++)
		p->in_order++;
	if (resp->status == IMAP_STATUS_OK)
		p->ok++;
}

static void
test_pipeline(struct imap_conn *c)
{
	struct pipeline p = {0, 0, 0};
	struct imap_conn_stats st;
	int i, queued = 0;

	/* Tags are A<n>: the first of the batch is the next tag. */
	p.next = -1;
	for (i = 0; i < PIPELINE; i++) {
		struct imap_cmd *cmd =
		    i % 2 == 0 ? imap_conn_cmd(c, pipeline_cb, &p, "NOOP")
		               : imap_conn_cmd(c, pipeline_cb, &p,
		                               "UID FETCH 1 (FLAGS)");

		if (cmd != NULL)
			queued++;
		if (i == 0 && cmd != NULL)
			p.next = atoi(imap_cmd_tag(cmd) + 1);
	}
	ok(queued == PIPELINE && imap_conn_in_flight(c) == PIPELINE,
	   "%d commands queued at once", queued);
	ok(imap_conn_run(&c, 1, NULL, NULL, TIMEOUT_MS) == 0 &&
	       imap_conn_in_flight(c) == 0,
	   "pipeline ran to the end");
	ok(p.in_order == PIPELINE && p.ok == PIPELINE,
	   "%d responses in order, %d OK", p.in_order, p.ok);
	imap_conn_get_stats(c, &st);
	ok(st.bytes_in == st.wire_in && st.bytes_out == st.wire_out &&
	       st.bytes_in > 0 && st.commands > PIPELINE,
	   "byte counters (in %llu, out %llu, %llu commands)",
	   (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
	   (unsigned long long)st.commands);
}

struct both {
	struct result fetch, append;
};

static bool
both_done(void *ctx)
{
	struct both *b = ctx;

	return b->fetch.done && b->append.done;
}

static void
test_two_conns(struct imap_conn *a, struct seen *sa)
{
	struct seen sb;
	struct imap_conn *b;
	struct both both;
	struct result r;
	int fd = big_file(BIG_SIZE, 'a'), fd2 = big_file(BIG_SIZE, 'q');
	struct imap_conn *conns[2];
	size_t queued;
	char *mem;

	memset(&sb, 0, sizeof(sb));
	uidset_init(&sb.vanished);
	result_init(&r);
	result_init(&both.fetch);
	result_init(&both.append);
	b = connect_to(imap_cmd, 0, 0, &sb);
	ok(b != NULL && imap_conn_state(b) == IMAP_CONN_AUTH,
	   "second connection");
	sa->cmp_fd = fd;
	sa->cmp_len = BIG_SIZE;
	sa->bodies = sa->bodies_same = 0;
	/* The 20 MB message of test_big is the last in boxes[1]. */
	imap_conn_cmd(a, result_cb, &both.fetch, "FETCH * (BODY.PEEK[])");
	/* From memory this time, so that b's output queue is big enough to
	 * throttle reading from a. */
	mem = malloc(BIG_SIZE);
	if (mem == NULL || pread(fd2, mem, BIG_SIZE, 0) != BIG_SIZE)
		abort();
	imap_conn_cmd(b, result_cb, &both.append, "APPEND %m %L", boxes[3], mem,
	              (size_t)BIG_SIZE);
	free(mem);
	queued = imap_conn_output_queued(b);
	imap_conn_throttle(a, b);
	conns[0] = a;
	conns[1] = b;
	ok(imap_conn_run(conns, 2, both_done, &both, TIMEOUT_MS) == 0 &&
	       both.fetch.status == IMAP_STATUS_OK &&
	       both.append.status == IMAP_STATUS_OK,
	   "20 MB FETCH on one and 20 MB APPEND on the other together");
	ok(queued > BIG_SIZE && imap_conn_output_queued(b) == 0,
	   "output queue: %zu bytes, then drained", queued);
	imap_conn_throttle(a, NULL);
	ok(sa->bodies == 1 && sa->bodies_same == 1,
	   "the FETCH brought the same bytes");
	sb.cmp_fd = fd2;
	sb.cmp_len = BIG_SIZE;
	ok(run_cmd(b, &r, "EXAMINE %m", boxes[3]) == IMAP_STATUS_OK &&
	       run_cmd(b, &r, "FETCH 1 (BODY.PEEK[])") == IMAP_STATUS_OK &&
	       sb.bodies_same == 1,
	   "the APPEND stored the same bytes");
	ok(imap_conn_cmd_wait(b, r.text, sizeof(r.text), "LOGOUT") ==
	           IMAP_STATUS_OK &&
	       imap_conn_state(b) == IMAP_CONN_CLOSED,
	   "LOGOUT: state CLOSED");
	imap_conn_free(&b);
	close(fd);
	close(fd2);
	uidset_free(&r.set);
	uidset_free(&both.fetch.set);
	uidset_free(&both.append.set);
	uidset_free(&sb.vanished);
}

static int idle_conts;

static int
idle_cont(struct imap_conn *c, struct imap_cmd *cmd,
          const struct imap_response *resp, void *ctx)
{
	idle_conts++;
	return 0;
}

static void
test_tunnel_failures(void)
{
	char command[4096];
	const char *error = NULL;
	struct transport *t;
	struct imap_conn *c;
	struct result r1, r2;
	struct imap_cmd *cmd;
	struct seen s;

	memset(&s, 0, sizeof(s));
	uidset_init(&s.vanished);
	t = transport_tunnel_create("/nonexistent/imapd --preauth", true,
	                            &error);
	ok(t == NULL && error != NULL &&
	       strstr(error, "cannot run '/nonexistent/imapd --preauth'") &&
	       strstr(error, "No such file or directory"),
	   "missing tunnel command: %s", error);

	c = connect_to("kill -9 $$", 0, 0, &s);
	ok(c != NULL && imap_conn_state(c) == IMAP_CONN_FAILED &&
	       strcmp(imap_conn_error(c),
	              "remote: connection closed before the IMAP "
	              "greeting (command killed by signal 9)") == 0,
	   "killed tunnel: %s", c != NULL ? imap_conn_error(c) : "");
	imap_conn_free(&c);

	/* The server goes away in the middle of an IDLE, with a command
	 * queued behind it. */
	snprintf(command, sizeof(command),
	         "{ timeout -s KILL 2 %s; } 2>/dev/null; exit 3", imap_cmd);
	c = connect_to(command, 0, 0, &s);
	result_init(&r1);
	result_init(&r2);
	cmd = imap_conn_cmd(c, result_cb, &r1, "IDLE");
	if (cmd != NULL)
		imap_cmd_set_continuation(cmd, idle_cont);
	imap_conn_cmd(c, result_cb, &r2, "NOOP");
	ok(imap_conn_run(&c, 1, NULL, NULL, TIMEOUT_MS) == -1 &&
	       imap_conn_state(c) == IMAP_CONN_FAILED &&
	       strcmp(imap_conn_error(c),
	              "remote: connection closed by the server "
	              "(command exited with status 3)") == 0,
	   "tunnel exits mid-session: %s", imap_conn_error(c));
	ok(r1.done && r1.status == -1 && r2.done && r2.status == -1 &&
	       imap_conn_in_flight(c) == 0 && idle_conts == 1,
	   "IDLE continuation handled; pending callbacks called with NULL");
	ok(imap_conn_cmd(c, result_cb, &r1, "NOOP") == NULL,
	   "no command queued on a failed connection");
	imap_conn_free(&c);

	/* Commands queued before the greeting wait for it. */
	t = transport_tunnel_create(imap_cmd, false, &error);
	c = imap_conn_create(&(struct imap_conn_settings){.name = "early"}, t);
	ok(imap_conn_cmd_wait(c, NULL, 0, "NOOP") == IMAP_STATUS_OK &&
	       imap_conn_state(c) == IMAP_CONN_AUTH,
	   "a command queued before the greeting");
	imap_conn_free(&c);
	uidset_free(&r1.set);
	uidset_free(&r2.set);
	uidset_free(&s.vanished);
}

static void
test_trace(void)
{
	struct seen s;
	struct result r;
	int debug;

	memset(&s, 0, sizeof(s));
	uidset_init(&s.vanished);
	result_init(&r);
	for (debug = 1; debug <= 2; debug++) {
		struct imap_conn *c = connect_to(imap_cmd, debug, 0, &s);

		buf_reset(trace_text);
		ok(imap_conn_cmd_wait(c, r.text, sizeof(r.text), "LOGIN %s %P",
		                      "joe",
		                      "hunter2-secret") == IMAP_STATUS_BAD &&
		       strstr(r.text, "LOGIN") != NULL,
		   "imap_conn_cmd_wait: BAD and its text");
		if (debug == 1)
			ok(strstr(buf_data(trace_text),
			          "remote -> A1 LOGIN joe <redacted>\n") &&
			       !strstr(buf_data(trace_text), "hunter2"),
			   "debug 1: the %%P argument is redacted");
		else
			ok(strstr(buf_data(trace_text),
			          "remote -> A1 LOGIN joe hunter2-secret\n") &&
			       strstr(buf_data(trace_text), "remote <- A1 "),
			   "debug 2: the %%P argument is shown");
		imap_conn_free(&c);
	}
	uidset_free(&r.set);
	uidset_free(&s.vanished);
}

int
main(int argc, char **argv)
{
	struct seen s;
	struct imap_conn *c, *sync;

	if (argc != 2) {
		fprintf(stderr, "usage: conn-test IMAP-COMMAND\n");
		return 2;
	}
	imap_cmd = argv[1];
	trace_text = buf_create(256 * 1024 * 1024);
	memset(&s, 0, sizeof(s));
	uidset_init(&s.vanished);
	printf("1..%d\n", PLAN);

	c = connect_to(imap_cmd, 1, 0, &s);
	if (!ok(c != NULL, "connect through the tunnel"))
		return 1;
	test_setup(c, &s);
	test_multiappend(c, boxes[0], "LITERAL+");
	sync = connect_to(imap_cmd, 1,
	                  IMAP_CAP_LITERALPLUS | IMAP_CAP_LITERALMINUS, &s);
	ok(sync != NULL && !(imap_conn_caps(sync) & IMAP_CAP_LITERALPLUS),
	   "caps_disabled hides LITERAL+");
	test_multiappend(sync, boxes[2], "synchronizing");
	imap_conn_free(&sync);
	/* The big transfers are not traced. */
	imap_conn_free(&c);
	c = connect_to(imap_cmd, 0, 0, &s);
	run_cmd(c, &(struct result){0}, "ENABLE QRESYNC");
	test_qresync(c, &s);
	test_big(c, &s);
	test_pipeline(c);
	test_two_conns(c, &s);
	imap_conn_free(&c);
	test_tunnel_failures();
	test_trace();
	if (test_n != PLAN)
		diag("planned %d, ran %d", PLAN, test_n);
	buf_free(&trace_text);
	uidset_free(&s.vanished);
	return 0;
}
