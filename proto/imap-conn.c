/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The connection: a queue of commands written as fast as the socket takes
 * them, and the responses read back and dispatched by tag.
 *
 * Commands live in one list in tag order, from the oldest unanswered to the
 * newest queued. wcur points at the first one not completely written:
 * every command before it is on its way or on the wire. Writing stops at
 * a synchronizing literal until the server's "+", and at a command with a
 * continuation handler (AUTHENTICATE, IDLE) until its tagged response,
 * since the server reads everything after such a command as its answer. */
#include "imap-conn.h"

#include "buf.h"
#include "imap-decode.h"
#include "imap-fetch-join.h"
#include "imap-writer.h"
#include "limits.h"
#include "transport.h"
#include "xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Reads from one connection before giving the others their turn. */
#define CONN_READS_PER_TURN 8

struct imap_cmd {
	struct imap_cmd *prev, *next;
	struct imap_conn *conn;
	uint64_t tagnum;
	char tag[24];
	imap_cmd_fn *cb;
	void *ctx;
	imap_cmd_cont_fn *cont;
	struct imap_writer *w;
	/* Could not be built: answered with a BAD made up here. */
	char *local_error;
	bool answered;
	char what[24]; /* for messages: "UID FETCH" */
	/* What it asks of each message it names in FETCH responses
	 * (imap_fetch_join_want(); 0: nothing, or not known here), and
	 * of which: fetch_uids, or any with fetch_all. */
	unsigned fetch_want;
	bool fetch_all;
	struct uidset fetch_uids;
	/* SELECT, EXAMINE, CLOSE or UNSELECT: the server answers what comes
	 * before it in the mailbox selected before it. */
	bool reselects;
};

struct imap_conn {
	char *name;
	struct imap_conn_settings set;
	struct imap_parser_settings parser_set;
	struct transport *t;
	struct imap_parser *parser;
	enum imap_conn_state state;
	char error[1024];

	uint64_t caps, enabled;
	struct imap_conn_stats stats;
	uint64_t next_tag;

	struct imap_cmd *head, *tail, *wcur;
	struct imap_cmd *building; /* begun, not ended */
	size_t in_flight;
	size_t queued_mem; /* writer bytes in memory, not yet in obuf */
	char *obuf;
	size_t obuf_off, obuf_len;
	bool need_flush;
	bool bye_in_logout;
	bool got_bytes; /* since imap_conn_run last looked */
	/* Read and dispatch nothing more until the transport is swapped:
	 * what follows STARTTLS's or COMPRESS's OK belongs to the new
	 * layer. */
	bool input_held;

	imap_untagged_fn *untagged;
	void *untagged_ctx;
	/* The response keyword whose malformed lines go to the handler
	 * (imap_conn_accept_malformed), or NULL. */
	const char *malformed_ok;
	struct imap_conn *throttle_target;
	/* FETCH items held until the rest of their message's come. */
	struct imap_fetch_join *join;
	char fetch_error[512];

	struct buf *trace_line;
	uint64_t trace_dropped, trace_lit_left;

	/* The oldest command in flight must be answered within answer_ms
	 * (0: no limit) of becoming the oldest, plus a second for each
	 * IMAP_MIN_RATE bytes that went either way since (answer_bytes is
	 * the count then): a trickle cannot hold a command open, a long
	 * transfer can go on. */
	int answer_ms;
	int64_t answer_since;
	uint64_t answer_bytes;
	/* Everything must be done by then (0: no deadline): connecting. */
	int64_t deadline;
	int deadline_ms;
	char deadline_what[64];
};

static bool
conn_active(const struct imap_conn *c)
{
	return c->state != IMAP_CONN_FAILED && c->state != IMAP_CONN_CLOSED;
}

static void
conn_trace(struct imap_conn *c, bool out, const char *line, size_t len)
{
	if (c->set.trace != NULL)
		c->set.trace(c->set.trace_ctx, c->name, out, line, len);
	else
		fprintf(stderr, "%s %s %.*s\n", c->name, out ? "->" : "<-",
		        (int)len, line);
}

static void
conn_trace_out(void *ctx, const char *line, size_t len)
{
	conn_trace(ctx, true, line, len);
}

static int conn_input(struct imap_conn *c);
static void conn_eof(struct imap_conn *c);
static int64_t now_ms(void);

/* The answer clock of the oldest command starts again. */
static void
conn_answer_restart(struct imap_conn *c)
{
	c->answer_since = now_ms();
	c->answer_bytes = c->stats.bytes_in + c->stats.bytes_out;
}

static void
cmd_unlink(struct imap_conn *c, struct imap_cmd *cmd)
{
	if (c->wcur == cmd)
		c->wcur = cmd->next;
	if (cmd->prev != NULL)
		cmd->prev->next = cmd->next;
	else
		c->head = cmd->next;
	if (cmd->next != NULL)
		cmd->next->prev = cmd->prev;
	else
		c->tail = cmd->prev;
	cmd->prev = cmd->next = NULL;
}

static void
cmd_free(struct imap_conn *c, struct imap_cmd *cmd)
{
	if (cmd->w != NULL)
		c->queued_mem -= imap_writer_mem_pending(cmd->w);
	imap_writer_free(&cmd->w);
	uidset_free(&cmd->fetch_uids);
	free(cmd->local_error);
	free(cmd);
}

/* Call every callback still waiting with NULL and drop all output. */
static void
conn_drop_commands(struct imap_conn *c)
{
	struct imap_cmd *cmd;

	/* Held FETCH items go with the commands they answer. */
	if (c->join != NULL)
		imap_fetch_join_drop(c->join, NULL);
	while ((cmd = c->head) != NULL) {
		cmd_unlink(c, cmd);
		if (!cmd->answered) {
			cmd->answered = true;
			c->in_flight--;
			if (cmd->cb != NULL)
				cmd->cb(c, NULL, cmd->ctx);
		}
		cmd_free(c, cmd);
	}
	c->obuf_len = 0;
	c->obuf_off = 0;
}

static void __attribute__((format(printf, 2, 3)))
conn_fail(struct imap_conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->state == IMAP_CONN_FAILED)
		return;
	c->state = IMAP_CONN_FAILED;
	n = snprintf(c->error, sizeof(c->error), "%s: ", c->name);
	if (n < 0 || (size_t)n >= sizeof(c->error))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(c->error + n, sizeof(c->error) - n, fmt, ap);
	va_end(ap);
	conn_drop_commands(c);
}

static void
conn_close(struct imap_conn *c)
{
	if (!conn_active(c))
		return;
	c->state = IMAP_CONN_CLOSED;
	conn_drop_commands(c);
}

struct imap_conn *
imap_conn_create(const struct imap_conn_settings *set, struct transport *t)
{
	struct imap_conn *c = xcalloc(1, sizeof(*c));

	c->set = *set;
	c->name = xstrdup(set->name != NULL ? set->name : "imap");
	c->obuf = xmalloc(IMAP_CONN_OBUF_SIZE);
	c->trace_line = buf_create(IMAP_MAX_TRACE_LINE + 64);
	if (set->parser != NULL) {
		c->parser_set = *set->parser;
		c->set.parser = &c->parser_set;
	}
	c->parser = imap_parser_create(c->set.parser);
	c->join = imap_fetch_join_create();
	c->t = t;
	c->state = IMAP_CONN_GREETING;
	return c;
}

void
imap_conn_free(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	if (conn_active(c))
		c->state = IMAP_CONN_CLOSED;
	conn_drop_commands(c);
	while (c->building != NULL)
		imap_cmd_abort(c->building);
	imap_parser_free(&c->parser);
	imap_fetch_join_free(&c->join);
	transport_free(&c->t);
	buf_free(&c->trace_line);
	free(c->obuf);
	free(c->name);
	free(c);
}

const char *
imap_conn_name(const struct imap_conn *c)
{
	return c->name;
}

enum imap_conn_state
imap_conn_state(const struct imap_conn *c)
{
	return c->state;
}

const char *
imap_conn_error(const struct imap_conn *c)
{
	return c->error;
}

uint64_t
imap_conn_caps(const struct imap_conn *c)
{
	return c->caps & ~c->set.caps_disabled;
}

uint64_t
imap_conn_enabled(const struct imap_conn *c)
{
	return c->enabled;
}

void
imap_conn_get_stats(const struct imap_conn *c, struct imap_conn_stats *stats_r)
{
	*stats_r = c->stats;
	if (c->t != NULL) {
		stats_r->wire_in = c->t->wire_in;
		stats_r->wire_out = c->t->wire_out;
	}
}

void
imap_conn_set_transport(struct imap_conn *c, struct transport *t)
{
	c->t = t;
	c->input_held = false;
}

void
imap_conn_hold_input(struct imap_conn *c)
{
	c->input_held = true;
}

size_t
imap_conn_input_pending(const struct imap_conn *c)
{
	return imap_parser_pending(c->parser);
}

struct transport *
imap_conn_get_transport(struct imap_conn *c)
{
	return c->t;
}

void
imap_conn_accept_malformed(struct imap_conn *c, const char *name)
{
	c->malformed_ok = name;
}

void
imap_conn_set_untagged(struct imap_conn *c, imap_untagged_fn *fn, void *ctx)
{
	c->untagged = fn;
	c->untagged_ctx = ctx;
}

static struct imap_cmd *
conn_cmd_new(struct imap_conn *c, imap_cmd_fn *cb, void *ctx)
{
	struct imap_cmd *cmd = xcalloc(1, sizeof(*cmd));

	cmd->conn = c;
	cmd->tagnum = ++c->next_tag;
	snprintf(cmd->tag, sizeof(cmd->tag), "A%" PRIu64, cmd->tagnum);
	cmd->cb = cb;
	cmd->ctx = ctx;
	uidset_init(&cmd->fetch_uids);
	return cmd;
}

/* Remember why cmd cannot be sent; it is answered with a made-up BAD. */
static void
cmd_set_local_error(struct imap_cmd *cmd, const char *error)
{
	imap_writer_free(&cmd->w);
	if (cmd->local_error == NULL)
		cmd->local_error = xstrdup(error);
}

static void
conn_cmd_queue(struct imap_conn *c, struct imap_cmd *cmd)
{
	if (cmd->w != NULL) {
		const char *text;
		size_t len;

		c->queued_mem += imap_writer_mem_pending(cmd->w);
		imap_writer_what(cmd->w, cmd->what, sizeof(cmd->what));
		cmd->reselects = strcasecmp(cmd->what, "SELECT") == 0 ||
		                 strcasecmp(cmd->what, "EXAMINE") == 0 ||
		                 strcasecmp(cmd->what, "CLOSE") == 0 ||
		                 strcasecmp(cmd->what, "UNSELECT") == 0;
		text = imap_writer_text(cmd->w, &len);
		if (!imap_fetch_join_want(text, len, &cmd->fetch_want,
		                          &cmd->fetch_uids, &cmd->fetch_all)) {
			cmd->fetch_want = 0;
			uidset_clear(&cmd->fetch_uids);
		}
	}
	if (c->in_flight == 0)
		conn_answer_restart(c);
	cmd->prev = c->tail;
	if (c->tail != NULL)
		c->tail->next = cmd;
	else
		c->head = cmd;
	c->tail = cmd;
	if (c->wcur == NULL)
		c->wcur = cmd;
	c->in_flight++;
}

struct imap_cmd *
imap_conn_cmdv(struct imap_conn *c, imap_cmd_fn *cb, void *ctx, const char *fmt,
               va_list ap)
{
	struct imap_cmd *cmd;
	const char *error = NULL;

	if (!conn_active(c))
		return NULL;
	cmd = conn_cmd_new(c, cb, ctx);
	cmd->w = imap_writer_create(cmd->tag, fmt, ap, &error);
	if (cmd->w == NULL)
		cmd_set_local_error(cmd, error);
	conn_cmd_queue(c, cmd);
	return conn_active(c) ? cmd : NULL;
}

struct imap_cmd *
imap_conn_cmd_begin(struct imap_conn *c, imap_cmd_fn *cb, void *ctx)
{
	struct imap_cmd *cmd;

	if (!conn_active(c))
		return NULL;
	cmd = conn_cmd_new(c, cb, ctx);
	cmd->w = imap_writer_begin(cmd->tag);
	/* Commands being built are kept apart, so that the connection can
	 * free them if it goes first. */
	cmd->next = c->building;
	if (c->building != NULL)
		c->building->prev = cmd;
	c->building = cmd;
	return cmd;
}

void
imap_cmd_add(struct imap_cmd *cmd, const char *fmt, ...)
{
	const char *error = NULL;
	va_list ap;

	if (cmd == NULL || cmd->w == NULL)
		return;
	va_start(ap, fmt);
	if (imap_writer_add(cmd->w, fmt, ap, &error) < 0)
		cmd_set_local_error(cmd, error);
	va_end(ap);
}

static void
cmd_unlink_building(struct imap_conn *c, struct imap_cmd *cmd)
{
	if (cmd->prev != NULL)
		cmd->prev->next = cmd->next;
	else
		c->building = cmd->next;
	if (cmd->next != NULL)
		cmd->next->prev = cmd->prev;
	cmd->prev = cmd->next = NULL;
}

void
imap_cmd_end(struct imap_cmd *cmd)
{
	struct imap_conn *c;

	if (cmd == NULL)
		return;
	c = cmd->conn;
	cmd_unlink_building(c, cmd);
	if (!conn_active(c)) {
		/* The connection went while the command was being built. */
		if (cmd->cb != NULL)
			cmd->cb(c, NULL, cmd->ctx);
		imap_writer_free(&cmd->w);
		free(cmd->local_error);
		free(cmd);
		return;
	}
	if (cmd->w != NULL)
		imap_writer_end(cmd->w);
	conn_cmd_queue(c, cmd);
}

void
imap_cmd_abort(struct imap_cmd *cmd)
{
	if (cmd == NULL)
		return;
	cmd_unlink_building(cmd->conn, cmd);
	imap_writer_free(&cmd->w);
	free(cmd->local_error);
	free(cmd);
}

struct imap_cmd *
imap_conn_cmd(struct imap_conn *c, imap_cmd_fn *cb, void *ctx, const char *fmt,
              ...)
{
	struct imap_cmd *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = imap_conn_cmdv(c, cb, ctx, fmt, ap);
	va_end(ap);
	return cmd;
}

void
imap_cmd_set_continuation(struct imap_cmd *cmd, imap_cmd_cont_fn *fn)
{
	cmd->cont = fn;
}

void
imap_cmd_continue(struct imap_cmd *cmd, const void *data, size_t len,
                  bool secret)
{
	struct imap_conn *c = cmd->conn;

	if (cmd->w == NULL || cmd->answered || !conn_active(c))
		return;
	/* SASL answers carry credentials whatever the caller says. */
	if (strcmp(imap_writer_verb(cmd->w), "AUTHENTICATE") == 0)
		secret = true;
	imap_writer_add_line(cmd->w, data, len, secret);
	c->queued_mem += len + 2;
}

const char *
imap_cmd_tag(const struct imap_cmd *cmd)
{
	return cmd->tag;
}

size_t
imap_conn_in_flight(const struct imap_conn *c)
{
	return c->in_flight;
}

size_t
imap_conn_output_queued(const struct imap_conn *c)
{
	return c->obuf_len + c->queued_mem;
}

void
imap_conn_throttle(struct imap_conn *c, struct imap_conn *target)
{
	c->throttle_target = target;
}

static bool
conn_throttled(const struct imap_conn *c)
{
	const struct imap_conn *t = c->throttle_target;

	if (c->input_held)
		return true;
	return t != NULL && conn_active(t) &&
	       imap_conn_output_queued(t) > IMAP_MAX_OUTPUT_QUEUE / 2;
}

static bool
cmd_is(const struct imap_cmd *cmd, const char *verb)
{
	return cmd->w != NULL && strcmp(imap_writer_verb(cmd->w), verb) == 0;
}

/* A FETCH response, as it came or joined, to the caller. */
static void
conn_hand_fetch(struct imap_conn *c, const struct imap_response *resp)
{
	if (c->untagged != NULL)
		c->untagged(c, resp, c->untagged_ctx);
}

/* Hand on what is held for owner (NULL: what is ready). */
static void
conn_fetch_flush(struct imap_conn *c, const struct imap_cmd *owner)
{
	const struct imap_response *r;
	int ret;

	while (c->state != IMAP_CONN_FAILED &&
	       (ret = imap_fetch_join_next(c->join, owner, &r)) != 0) {
		if (ret < 0) {
			conn_fail(c, "out of memory");
			return;
		}
		conn_hand_fetch(c, r);
	}
}

/* The command in flight a FETCH response of uid (0: none given) answers:
 * the oldest sent that asks FETCH items of that message, in the mailbox
 * the server has selected now: not past a SELECT (or EXAMINE, CLOSE,
 * UNSELECT) with an older command still unanswered, which runs in the
 * mailbox before (a STORE's own FETCH while the next mailbox's SELECT is
 * queued behind it is no piece of what that SELECT asks). */
static struct imap_cmd *
conn_fetch_owner(struct imap_conn *c, uint32_t uid)
{
	struct imap_cmd *cmd;
	bool older = false;

	for (cmd = c->head; cmd != NULL; cmd = cmd->next) {
		if (cmd == c->wcur &&
		    (cmd->w == NULL || imap_writer_at_start(cmd->w)))
			break;
		if (cmd->answered)
			continue;
		if (cmd->reselects && older)
			break;
		older = true;
		if (!cmd->answered && cmd->fetch_want != 0 &&
		    (uid == 0 || cmd->fetch_all ||
		     uidset_contains(&cmd->fetch_uids, uid)))
			return cmd;
		if (cmd == c->wcur)
			break;
	}
	return NULL;
}

/* An untagged FETCH: on at once when it has all its command asked, else
 * held until the rest comes (imap-fetch-join.c). A server past the cap
 * gets a malformed FETCH in the caller's hands, naming the message. */
static void
conn_fetch(struct imap_conn *c, const struct imap_response *resp)
{
	uint32_t uid = imap_fetch_join_uid(resp);
	struct imap_cmd *owner = conn_fetch_owner(c, uid);
	const struct imap_response *r;
	struct imap_response bad;
	const char *error;
	int ret;

	ret = imap_fetch_join_add(c->join, resp, owner,
	                          owner != NULL ? owner->fetch_want : 0, &r,
	                          &error);
	if (ret > 0) {
		conn_hand_fetch(c, r);
		return;
	}
	if (ret == 0)
		return;
	if (owner != NULL)
		owner->fetch_want = 0; /* the rest goes on as it comes */
	snprintf(c->fetch_error, sizeof(c->fetch_error),
	         "UID %" PRIu32 " (message %" PRIu32 "): %s", uid, resp->number,
	         error);
	memset(&bad, 0, sizeof(bad));
	bad.kind = IMAP_RESP_UNTAGGED;
	bad.has_number = true;
	bad.number = resp->number;
	bad.name = "FETCH";
	bad.malformed = c->fetch_error;
	conn_hand_fetch(c, &bad);
}

/* The tagged response (real or made up) for cmd has come. */
static void
conn_complete(struct imap_conn *c, struct imap_cmd *cmd,
              const struct imap_response *resp)
{
	bool keep = false;

	/* What it was sent of messages whose other items never came: on,
	 * as it is, before the command's own answer. */
	conn_fetch_flush(c, cmd);
	if (c->state == IMAP_CONN_FAILED)
		return; /* cmd went with the others, answered NULL */
	cmd->answered = true;
	c->in_flight--;
	conn_answer_restart(c);
	if (cmd->w != NULL && imap_writer_stalled(cmd->w)) {
		/* The server refused a synchronizing literal. */
		c->queued_mem -= imap_writer_mem_pending(cmd->w);
		imap_writer_abort(cmd->w);
	}
	/* A command answered before it was all written (a non-synchronizing
	 * literal the server must still read) stays until it is. */
	if (cmd->w != NULL && !imap_writer_finished(cmd->w))
		keep = true;
	else
		cmd_unlink(c, cmd);
	if (cmd->cb != NULL)
		cmd->cb(c, resp, cmd->ctx);
	if (!keep)
		cmd_free(c, cmd);
}

static void
conn_complete_local(struct imap_conn *c, struct imap_cmd *cmd)
{
	struct imap_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.kind = IMAP_RESP_TAGGED;
	resp.tag = cmd->tag;
	resp.name = "BAD";
	resp.status = IMAP_STATUS_BAD;
	resp.text = cmd->local_error;
	conn_complete(c, cmd, &resp);
}

/* Copy what can be sent into the (empty) output buffer. */
static void
conn_fill_output(struct imap_conn *c)
{
	struct imap_cmd *cmd;
	const char *error;
	size_t before;
	ssize_t n;

	while (c->obuf_len < IMAP_CONN_OBUF_SIZE && conn_active(c) &&
	       (cmd = c->wcur) != NULL) {
		if (cmd->local_error != NULL) {
			conn_complete_local(c, cmd);
			continue;
		}
		imap_writer_set_caps(cmd->w, imap_conn_caps(c));
		if (imap_writer_finished(cmd->w)) {
			if (cmd->answered) {
				cmd_unlink(c, cmd);
				cmd_free(c, cmd);
			} else if (cmd->cont != NULL) {
				break;
			} else {
				/* Written: its bodies need not wait for the
				 * answer in memory. */
				imap_writer_release(cmd->w);
				c->wcur = cmd->next;
			}
			continue;
		}
		if (imap_writer_stalled(cmd->w))
			break;
		if (imap_writer_at_start(cmd->w))
			c->stats.commands++;
		if (c->set.debug > 0)
			imap_writer_trace(cmd->w, c->set.debug, conn_trace_out,
			                  c);
		before = imap_writer_mem_pending(cmd->w);
		n = imap_writer_fill(cmd->w, c->obuf + c->obuf_len,
		                     IMAP_CONN_OBUF_SIZE - c->obuf_len, &error);
		c->queued_mem -= before - imap_writer_mem_pending(cmd->w);
		if (n < 0) {
			conn_fail(c, "cannot send a literal of %s: %s",
			          cmd->tag, error);
			return;
		}
		c->obuf_len += n;
	}
}

/* Write as much as the transport takes. -1 if the connection failed. */
static int
conn_output(struct imap_conn *c)
{
	ssize_t n;
	int r;

	if (c->state != IMAP_CONN_NOAUTH && c->state != IMAP_CONN_AUTH)
		return c->state == IMAP_CONN_FAILED ? -1 : 0;
	for (;;) {
		if (c->obuf_len == 0) {
			c->obuf_off = 0;
			conn_fill_output(c);
			if (c->state == IMAP_CONN_FAILED)
				return -1;
			if (c->obuf_len == 0 || !conn_active(c))
				break;
		}
		n = transport_write(c->t, c->obuf + c->obuf_off, c->obuf_len);
		if (n > 0) {
			c->obuf_off += n;
			c->obuf_len -= n;
			c->stats.bytes_out += n;
			c->need_flush = true;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/* What the server said before it went (a BYE) says
			 * more than the broken pipe does. */
			c->obuf_len = 0;
			conn_input(c);
			if (conn_active(c))
				conn_eof(c);
			return -1;
		}
		conn_fail(c, "cannot send: %s",
		          transport_error(c->t)[0] != '\0'
		              ? transport_error(c->t)
		              : strerror(n < 0 ? errno : EPIPE));
		return -1;
	}
	if (c->need_flush && conn_active(c)) {
		r = transport_flush(c->t);
		if (r < 0) {
			conn_fail(c, "cannot send: %s", transport_error(c->t));
			return -1;
		}
		c->need_flush = r > 0;
	}
	return 0;
}

/* "{123}" or "{123+}" (maybe after "~") at the end of a line announces a
 * literal of that size; 0 if the line does not end so. */
static uint64_t
trace_literal_size(const char *line, size_t len)
{
	uint64_t n = 0, mul = 1;
	size_t i;

	if (len < 3 || line[len - 1] != '}')
		return 0;
	i = len - 1;
	if (line[i - 1] == '+')
		i--;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9' &&
	       mul <= 1000000000000ULL) {
		n += (line[i - 1] - '0') * mul;
		mul *= 10;
		i--;
	}
	return i > 0 && line[i - 1] == '{' && mul > 1 ? n : 0;
}

static void
trace_in_add(struct imap_conn *c, const char *data, size_t len)
{
	size_t room = IMAP_MAX_TRACE_LINE - buf_len(c->trace_line);
	size_t k = len < room ? len : room;

	/* Within IMAP_MAX_TRACE_LINE: the rest is counted, not shown. */
	if (buf_append(c->trace_line, data, k) < 0)
		k = 0;
	c->trace_dropped += len - k;
}

static void
trace_in_end(struct imap_conn *c, bool detect)
{
	const char *line = buf_data(c->trace_line);
	size_t len = buf_len(c->trace_line);
	uint64_t lit = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (detect && c->trace_dropped == 0)
		lit = trace_literal_size(line, len);
	/* The marker fits the 64 bytes the buffer has past the line. */
	if (c->trace_dropped > 0) {
		buf_truncate(c->trace_line, len);
		if (buf_printf(c->trace_line, "... (%" PRIu64 " more bytes)",
		               c->trace_dropped) < 0)
			buf_truncate(c->trace_line, len);
		len = buf_len(c->trace_line);
	}
	conn_trace(c, false, line, len);
	buf_reset(c->trace_line);
	c->trace_dropped = 0;
	if (lit > 0) {
		c->trace_lit_left = lit;
		if (c->set.debug < 2 &&
		    buf_printf(c->trace_line, "{%" PRIu64 " bytes}", lit) < 0)
			buf_reset(c->trace_line);
	}
}

/* Trace what was read, line by line, literals summarized at debug 1. */
static void
trace_in(struct imap_conn *c, const char *p, size_t len)
{
	const char *nl;
	size_t k;

	while (len > 0) {
		bool in_lit = c->trace_lit_left > 0;

		k = len;
		if (in_lit && k > c->trace_lit_left)
			k = c->trace_lit_left;
		if (in_lit && c->set.debug < 2) {
			c->trace_lit_left -= k;
			p += k;
			len -= k;
			continue;
		}
		nl = memchr(p, '\n', k);
		if (nl != NULL)
			k = nl - p + 1;
		trace_in_add(c, p, k);
		if (in_lit)
			c->trace_lit_left -= k;
		p += k;
		len -= k;
		if (nl != NULL)
			trace_in_end(c, !in_lit);
	}
}

static void
conn_note_code(struct imap_conn *c, const struct imap_response *resp)
{
	uint64_t caps;
	const char *error;

	if (resp->code != NULL && strcmp(resp->code, "CAPABILITY") == 0 &&
	    imap_decode_capability(resp->code_args, resp->code_count, &caps,
	                           &error) == 0)
		c->caps = caps;
}

static bool
conn_logout_sent(const struct imap_conn *c)
{
	const struct imap_cmd *cmd;

	for (cmd = c->head; cmd != NULL && cmd != c->wcur; cmd = cmd->next) {
		if (!cmd->answered && cmd_is(cmd, "LOGOUT"))
			return true;
	}
	return c->wcur != NULL && cmd_is(c->wcur, "LOGOUT") &&
	       !imap_writer_at_start(c->wcur->w);
}

/* Before an EXPUNGE or a VANISHED (not EARLIER) goes on: what is held
 * of the messages it removes is all there will be, on first. */
static void
conn_fetch_gone(struct imap_conn *c, const struct imap_response *resp)
{
	struct uidset uids = UIDSET_INIT;
	const char *error;
	bool earlier;

	if (strcmp(resp->name, "EXPUNGE") == 0 && resp->has_number) {
		imap_fetch_join_expunge(c->join, resp->number);
	} else if (strcmp(resp->name, "VANISHED") == 0) {
		if (imap_decode_vanished(resp, &earlier, &uids, &error) < 0 ||
		    earlier) {
			uidset_free(&uids);
			return;
		}
		uidset_normalize(&uids);
		imap_fetch_join_vanished(c->join, &uids);
		uidset_free(&uids);
	} else {
		return;
	}
	conn_fetch_flush(c, NULL);
}

static void
conn_untagged(struct imap_conn *c, const struct imap_response *resp)
{
	const char *error;
	uint64_t caps;

	if (resp->malformed != NULL &&
	    (c->malformed_ok == NULL || resp->name == NULL ||
	     strcmp(resp->name, c->malformed_ok) != 0)) {
		conn_fail(c, "protocol error: %s", resp->malformed);
		return;
	}
	if (resp->name != NULL && strcmp(resp->name, "FETCH") == 0) {
		conn_fetch(c, resp);
		return;
	}
	if (resp->name != NULL && imap_fetch_join_bytes(c->join) > 0)
		conn_fetch_gone(c, resp);
	conn_note_code(c, resp);
	if (resp->name != NULL && strcmp(resp->name, "CAPABILITY") == 0 &&
	    imap_decode_capability(resp->args, resp->count, &caps, &error) == 0)
		c->caps = caps;
	if (resp->name != NULL && strcmp(resp->name, "ENABLED") == 0 &&
	    imap_decode_enabled(resp, &caps, &error) == 0)
		c->enabled |= caps;
	if (c->untagged != NULL)
		c->untagged(c, resp, c->untagged_ctx);
	if (resp->status == IMAP_STATUS_BYE && conn_active(c)) {
		if (conn_logout_sent(c))
			c->bye_in_logout = true;
		else
			conn_fail(c, "server said BYE: %s",
			          resp->text != NULL ? resp->text : "");
	}
}

static void
conn_greeting(struct imap_conn *c, const struct imap_response *resp)
{
	if (resp->kind != IMAP_RESP_UNTAGGED ||
	    (resp->status != IMAP_STATUS_OK &&
	     resp->status != IMAP_STATUS_PREAUTH &&
	     resp->status != IMAP_STATUS_BYE)) {
		conn_fail(c, "protocol error: the greeting is not OK, "
		             "PREAUTH or BYE");
		return;
	}
	if (resp->status == IMAP_STATUS_OK)
		c->state = IMAP_CONN_NOAUTH;
	else if (resp->status == IMAP_STATUS_PREAUTH)
		c->state = IMAP_CONN_AUTH;
	conn_untagged(c, resp);
}

static void
conn_tagged(struct imap_conn *c, const struct imap_response *resp)
{
	struct imap_cmd *cmd;

	for (cmd = c->head; cmd != NULL && cmd != c->wcur; cmd = cmd->next) {
		if (!cmd->answered && strcmp(cmd->tag, resp->tag) == 0)
			break;
	}
	if (cmd == c->wcur && cmd != NULL &&
	    (cmd->answered || cmd->w == NULL || imap_writer_at_start(cmd->w) ||
	     strcmp(cmd->tag, resp->tag) != 0))
		cmd = NULL;
	if (cmd == NULL) {
		conn_fail(c,
		          "protocol error: tagged response for unknown "
		          "tag '%.64s'",
		          resp->tag);
		return;
	}
	conn_note_code(c, resp);
	if (resp->status == IMAP_STATUS_OK &&
	    (cmd_is(cmd, "LOGIN") || cmd_is(cmd, "AUTHENTICATE")))
		c->state = IMAP_CONN_AUTH;
	if (cmd_is(cmd, "LOGOUT") && conn_active(c)) {
		/* Whatever follows LOGOUT will never be answered. */
		c->state = IMAP_CONN_CLOSED;
		conn_complete(c, cmd, resp);
		conn_drop_commands(c);
		return;
	}
	conn_complete(c, cmd, resp);
}

static void
conn_continuation(struct imap_conn *c, const struct imap_response *resp)
{
	struct imap_cmd *cmd = c->wcur;

	if (cmd != NULL && cmd->w != NULL && imap_writer_stalled(cmd->w) &&
	    c->obuf_len == 0) {
		imap_writer_resume(cmd->w);
		return;
	}
	if (cmd != NULL && cmd->cont != NULL && cmd->w != NULL &&
	    imap_writer_finished(cmd->w) && !cmd->answered) {
		if (cmd->cont(c, cmd, resp, cmd->ctx) < 0)
			conn_fail(c,
			          "%s %s: cannot answer the server's "
			          "continuation request",
			          cmd->tag, imap_writer_verb(cmd->w));
		return;
	}
	conn_fail(c, "protocol error: unexpected continuation request");
}

/* Hand every complete response on. -1 if the connection failed. */
static int
conn_dispatch(struct imap_conn *c)
{
	const struct imap_response *resp;
	const char *error;
	int r;

	while (conn_active(c) && !c->input_held) {
		r = imap_parser_next(c->parser, &resp, &error);
		if (r == 0)
			break;
		if (r < 0) {
			conn_fail(c, "protocol error: %s", error);
			break;
		}
		if (c->state == IMAP_CONN_GREETING)
			conn_greeting(c, resp);
		else if (resp->kind == IMAP_RESP_UNTAGGED)
			conn_untagged(c, resp);
		else if (resp->kind == IMAP_RESP_TAGGED)
			conn_tagged(c, resp);
		else
			conn_continuation(c, resp);
	}
	return c->state == IMAP_CONN_FAILED ? -1 : 0;
}

static void
conn_eof(struct imap_conn *c)
{
	const char *why = transport_error(c->t);

	if (c->bye_in_logout && imap_parser_pending(c->parser) == 0) {
		conn_close(c);
		return;
	}
	/* Before the greeting, a tunnel's command may never have reached
	 * a server (ssh refusing its config, a host that does not
	 * resolve): no server is to blame. */
	if (c->state == IMAP_CONN_GREETING && why[0] != '\0')
		conn_fail(c, "connection closed before the IMAP greeting (%s)",
		          why);
	else if (c->state == IMAP_CONN_GREETING)
		conn_fail(c, "connection closed before the IMAP greeting");
	else if (why[0] != '\0')
		conn_fail(c, "connection closed by the server (%s)", why);
	else
		conn_fail(c, "connection closed by the server");
}

/* Read what is there and dispatch it. -1 if the connection failed. */
static int
conn_input(struct imap_conn *c)
{
	size_t size;
	ssize_t n;
	char *space;
	int i;

	for (i = 0; i < CONN_READS_PER_TURN && conn_active(c); i++) {
		if (conn_throttled(c))
			break;
		space = imap_parser_input_space(c->parser, &size);
		if (size == 0) {
			if (conn_dispatch(c) < 0)
				return -1;
			space = imap_parser_input_space(c->parser, &size);
			if (size == 0) {
				conn_fail(c, "protocol error: a response does "
				             "not fit in the input buffer");
				return -1;
			}
		}
		n = transport_read(c->t, space, size);
		if (n > 0) {
			if (c->set.debug > 0)
				trace_in(c, space, n);
			imap_parser_input_commit(c->parser, n);
			c->stats.bytes_in += n;
			c->got_bytes = true;
			if (conn_dispatch(c) < 0)
				return -1;
			continue;
		}
		if (n == 0) {
			conn_eof(c);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			int err = errno;

			conn_fail(c, "cannot read: %s",
			          transport_error(c->t)[0] != '\0'
			              ? transport_error(c->t)
			              : strerror(err));
		}
	}
	return c->state == IMAP_CONN_FAILED ? -1 : 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
conns_idle(struct imap_conn *const *conns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (conns[i]->in_flight > 0)
			return false;
	}
	return true;
}

/* The oldest command not answered yet, if any. */
static const struct imap_cmd *
conn_oldest(const struct imap_conn *c)
{
	const struct imap_cmd *cmd;

	for (cmd = c->head; cmd != NULL; cmd = cmd->next) {
		if (!cmd->answered)
			return cmd;
	}
	return NULL;
}

void
imap_conn_set_answer_timeout(struct imap_conn *c, int ms)
{
	c->answer_ms = ms > 0 ? ms : 0;
	conn_answer_restart(c);
}

void
imap_conn_set_deadline(struct imap_conn *c, int ms, const char *what)
{
	if (ms < 0) {
		c->deadline = 0;
		return;
	}
	c->deadline = now_ms() + ms;
	c->deadline_ms = ms;
	snprintf(c->deadline_what, sizeof(c->deadline_what), "%s",
	         what != NULL ? what : "connecting");
}

const char *
imap_conn_waiting_for(const struct imap_conn *c)
{
	const struct imap_cmd *cmd = conn_oldest(c);

	if (cmd == NULL)
		return c->state == IMAP_CONN_GREETING ? "greeting" : NULL;
	return cmd->what[0] != '\0' ? cmd->what : "command";
}

/* When c's time is up (INT64_MAX: never): its deadline, or its oldest
 * command's (an IDLE waits as long as it is meant to). */
static int64_t
conn_expiry(const struct imap_conn *c)
{
	const struct imap_cmd *cmd;
	int64_t at = INT64_MAX;

	if (!conn_active(c))
		return at;
	/* Waiting for the others is not being late. */
	if (c->deadline > 0 &&
	    (c->in_flight > 0 || c->state == IMAP_CONN_GREETING))
		at = c->deadline;
	if (c->answer_ms > 0 && (cmd = conn_oldest(c)) != NULL &&
	    !cmd_is(cmd, "IDLE")) {
		uint64_t moved =
		    c->stats.bytes_in + c->stats.bytes_out - c->answer_bytes;
		int64_t cmd_at =
		    c->answer_since + c->answer_ms +
		    (int64_t)(moved / IMAP_MIN_RATE * 1000 +
		              moved % IMAP_MIN_RATE * 1000 / IMAP_MIN_RATE);

		if (cmd_at < at)
			at = cmd_at;
	}
	return at;
}

/* Fail c if its time is up; -1 then. */
static int
conn_check_expiry(struct imap_conn *c, int64_t now)
{
	const struct imap_cmd *cmd;

	if (now < conn_expiry(c))
		return 0;
	if (c->deadline > 0 && now >= c->deadline &&
	    (c->in_flight > 0 || c->state == IMAP_CONN_GREETING))
		conn_fail(c, "%s not done within %d s", c->deadline_what,
		          c->deadline_ms / 1000);
	else if ((cmd = conn_oldest(c)) != NULL)
		conn_fail(c, "no answer to %s within %d s",
		          cmd->what[0] != '\0' ? cmd->what : "a command",
		          c->answer_ms / 1000);
	return -1;
}

int
imap_conn_run(struct imap_conn *const *conns, size_t n, imap_done_fn *done,
              void *ctx, int timeout_ms)
{
	return imap_conn_run_fd(conns, n, done, ctx, timeout_ms, -1);
}

int
imap_conn_run_fd(struct imap_conn *const *conns, size_t n, imap_done_fn *done,
                 void *ctx, int timeout_ms, int wake_fd)
{
	struct pollfd *pfd = xcalloc(n + 1, sizeof(*pfd));
	int64_t last_rx = now_ms(), wait;
	size_t i, active;
	bool held;
	int ret = -1, r;

	for (;;) {
		for (i = 0; i < n; i++) {
			struct imap_conn *c = conns[i];

			if (c->state == IMAP_CONN_FAILED || conn_output(c) < 0)
				goto out;
			if (conn_active(c) && !conn_throttled(c) &&
			    transport_pending(c->t) > 0 && conn_input(c) < 0)
				goto out;
			if (c->got_bytes) {
				c->got_bytes = false;
				last_rx = now_ms();
			}
		}
		/* After every input: what one connection's answers queued
		 * on another goes out before poll, which would not wake for
		 * it. */
		for (i = 0; i < n; i++) {
			if (conn_output(conns[i]) < 0)
				goto out;
		}
		if (done != NULL ? done(ctx) : conns_idle(conns, n)) {
			ret = 0;
			goto out;
		}
		active = 0;
		held = false;
		for (i = 0; i < n; i++) {
			struct imap_conn *c = conns[i];
			bool want_write = c->obuf_len > 0 || c->need_flush;
			short ev;

			pfd[i].fd = -1;
			pfd[i].events = 0;
			pfd[i].revents = 0;
			if (!conn_active(c))
				continue;
			/* Input a layer holds (inflated, decrypted) that
			 * one turn of reads left: the socket may stay
			 * silent, so poll must not sleep. */
			if (!conn_throttled(c) && transport_pending(c->t) > 0)
				held = true;
			ev = transport_events(c->t, want_write);
			if (conn_throttled(c)) {
				if (!want_write)
					continue;
				ev &= ~POLLIN;
			}
			pfd[i].fd = transport_fd(c->t);
			pfd[i].events = ev;
			active++;
		}
		if (active == 0 && wake_fd < 0) {
			/* Nothing could ever make done() true. */
			errno = EDEADLK;
			goto out;
		}
		pfd[n].fd = wake_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		wait = -1;
		if (timeout_ms >= 0) {
			wait = last_rx + timeout_ms - now_ms();
			if (wait < 0)
				wait = 0;
		}
		for (i = 0; i < n; i++) {
			int64_t at = conn_expiry(conns[i]), now = now_ms();

			/* Not read from: its server is not the one late. */
			if (conn_throttled(conns[i]))
				conn_answer_restart(conns[i]);
			else if (at != INT64_MAX &&
			         (wait < 0 || at - now < wait))
				wait = at > now ? at - now : 0;
		}
		if (held)
			wait = 0;
		r = poll(pfd, n + 1, wait);
		if (r < 0 && errno != EINTR)
			goto out;
		if (r > 0 && (pfd[n].revents & POLLIN) != 0) {
			ret = 0;
			goto out;
		}
		if (r == 0 && timeout_ms >= 0 &&
		    now_ms() - last_rx >= timeout_ms) {
			errno = ETIMEDOUT;
			goto out;
		}
		for (i = 0; i < n && r > 0; i++) {
			struct imap_conn *c = conns[i];

			/* A transport still connecting, or TLS in a
			 * handshake, needs POLLOUT to make its reads
			 * progress. */
			if (((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
			     ((pfd[i].revents & POLLOUT) && conn_active(c) &&
			      (transport_events(c->t, false) & POLLOUT))) &&
			    conn_input(c) < 0)
				goto out;
			if (c->got_bytes) {
				c->got_bytes = false;
				last_rx = now_ms();
			}
		}
		/* After reading: an answer that came in time counts. */
		for (i = 0; i < n; i++) {
			if (!conn_throttled(conns[i]) &&
			    conn_check_expiry(conns[i], now_ms()) < 0) {
				errno = ETIMEDOUT;
				goto out;
			}
		}
	}
out:
	free(pfd);
	return ret;
}

struct conn_wait {
	bool done;
	int status;
	char *text;
	size_t size;
};

static void
conn_wait_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct conn_wait *w = ctx;
	const char *text = resp != NULL ? resp->text : imap_conn_error(c);

	w->done = true;
	w->status = resp != NULL ? (int)resp->status : -1;
	if (w->text != NULL && w->size > 0)
		snprintf(w->text, w->size, "%s", text != NULL ? text : "");
}

static bool
conn_wait_done(void *ctx)
{
	return ((struct conn_wait *)ctx)->done;
}

int
imap_conn_cmd_wait(struct imap_conn *c, char *text, size_t size,
                   const char *fmt, ...)
{
	struct conn_wait w = {false, -1, text, size};
	struct imap_cmd *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = imap_conn_cmdv(c, conn_wait_cb, &w, fmt, ap);
	va_end(ap);
	if (cmd == NULL) {
		if (text != NULL && size > 0)
			snprintf(text, size, "%s", imap_conn_error(c));
		return -1;
	}
	if (imap_conn_run(&c, 1, conn_wait_done, &w, -1) < 0 && !w.done) {
		if (text != NULL && size > 0)
			snprintf(text, size, "%s", imap_conn_error(c));
		return -1;
	}
	return w.status;
}
