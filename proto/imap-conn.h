/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One IMAP connection with a command pipeline: any number of commands may
 * be in flight; each tagged response reaches the callback of the command
 * that carries its tag, untagged responses go to one handler. Several
 * connections are driven together by imap_conn_run(), which reads from all
 * of them while writing to any, so two servers work at the same time and
 * neither can deadlock the other by filling its output. */
#ifndef PROTO_IMAP_CONN_H
#define PROTO_IMAP_CONN_H

#include "imap-parser.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct transport;
struct imap_conn;
struct imap_cmd;

/* Trace sink for --debug: one call per line sent or received. */
typedef void imap_trace_fn(void *ctx, const char *conn_name, bool out,
			   const char *line, size_t len);

struct imap_conn_settings {
	/* "local" or "remote": starts every message about this connection. */
	const char *name;
	/* NULL: the defaults of limits.h. */
	const struct imap_parser_settings *parser;
	/* 0: no trace; 1: trace with credentials and literals' bodies
	 * elided; 2: everything, credentials too. */
	int debug;
	imap_trace_fn *trace; /* NULL: to stderr */
	void *trace_ctx;
	/* Capabilities (enum imap_capability bits) to act as if the server
	 * lacked: works around server bugs, and lets tests force
	 * synchronizing literals. imap_conn_caps() leaves them out. */
	uint64_t caps_disabled;
};

enum imap_conn_state {
	IMAP_CONN_GREETING, /* waiting for the server's first line */
	IMAP_CONN_NOAUTH,   /* greeted with OK */
	IMAP_CONN_AUTH,     /* greeted with PREAUTH, or logged in */
	IMAP_CONN_CLOSED,   /* LOGOUT completed or the server said BYE */
	IMAP_CONN_FAILED,   /* see imap_conn_error() */
};

/* A connection over t, which it takes over (freed with the connection).
 * The greeting is read by the first imap_conn_run(). */
struct imap_conn *imap_conn_create(const struct imap_conn_settings *set,
				   struct transport *t);
/* Close the transport and free; callbacks of commands still in flight are
 * called with a NULL response first. */
void imap_conn_free(struct imap_conn **c);

const char *imap_conn_name(const struct imap_conn *c);
enum imap_conn_state imap_conn_state(const struct imap_conn *c);
/* Why the connection failed: "remote: connection closed: ssh: exited with
 * status 255"; "" while it has not. */
const char *imap_conn_error(const struct imap_conn *c);
/* Capabilities (enum imap_capability bits) from the greeting's code, a
 * CAPABILITY response, or a tagged OK's [CAPABILITY] code; 0 if none yet. */
uint64_t imap_conn_caps(const struct imap_conn *c);
/* Capabilities turned on by ENABLE. */
uint64_t imap_conn_enabled(const struct imap_conn *c);

struct imap_conn_stats {
	uint64_t bytes_in, bytes_out; /* IMAP bytes, above every layer */
	uint64_t wire_in, wire_out;   /* bytes on the socket */
	uint64_t commands;            /* commands sent */
};
void imap_conn_get_stats(const struct imap_conn *c,
			 struct imap_conn_stats *stats_r);

/* Swap in a layer stacked on the current transport (TLS after STARTTLS,
 * deflate after COMPRESS); only when no command is in flight. */
void imap_conn_set_transport(struct imap_conn *c, struct transport *t);
struct transport *imap_conn_get_transport(struct imap_conn *c);
/* Read and dispatch nothing more from c until imap_conn_set_transport():
 * called from the callback of STARTTLS or COMPRESS, so that bytes after
 * its tagged OK stay unread (or undispatched) rather than being taken as
 * responses of the old layer. */
void imap_conn_hold_input(struct imap_conn *c);
/* Bytes received and not yet dispatched as responses: after a held
 * STARTTLS, anything here was sent before the handshake (injected). */
size_t imap_conn_input_pending(const struct imap_conn *c);

typedef void imap_untagged_fn(struct imap_conn *c,
			      const struct imap_response *resp, void *ctx);
/* Every untagged response goes to fn (after the connection has noted
 * CAPABILITY, ENABLED and BYE itself). */
void imap_conn_set_untagged(struct imap_conn *c, imap_untagged_fn *fn,
			    void *ctx);
/* Untagged NAME responses whose arguments do not parse go to the untagged
 * handler with resp->malformed set, instead of failing the connection (a
 * caller that knows how to do without them: a server that botches an
 * optional STATUS item). name must outlive its use; NULL: none (the
 * default). */
void imap_conn_accept_malformed(struct imap_conn *c, const char *name);

/* Called with the tagged response, or NULL when the connection failed or
 * was freed before it came. May queue further commands. */
typedef void imap_cmd_fn(struct imap_conn *c, const struct imap_response *resp,
			 void *ctx);
/* Called with a continuation request meant for this command (not one that
 * releases a synchronizing literal, which the connection handles). Reply
 * with imap_cmd_continue(); return -1 to fail the connection. */
typedef int imap_cmd_cont_fn(struct imap_conn *c, struct imap_cmd *cmd,
			     const struct imap_response *resp, void *ctx);

/* Queue a command. The tag and CRLF are added. fmt directives:
 *   %a  const char *: atom, written as is (the caller vouches for it)
 *   %s  const char *: astring: atom, quoted string or literal, the
 *       shortest that is valid for the bytes
 *   %q  const char *: string: quoted or literal, never an atom
 *   %m  const char *: mailbox name in UTF-8: modified UTF-7, then as %s
 *   %P  const char *: like %s, but a credential: redacted in traces
 *   %u  unsigned, %U uint64_t, %d int
 *   %S  const struct uidset *: the whole set as written by uidset_format
 *   %L  const void *, size_t: a literal from memory (copied)
 *   %F  int fd, uint64_t len: a literal of len bytes read from fd at
 *       offset 0 (the fd is dup()ed; pread() is used)
 *   %%  a percent sign
 * Literals are sent non-synchronizing when the server has LITERAL+ (or
 * LITERAL- and at most 4096 bytes), else the command stalls on them until
 * the server's continuation. Returns the command, owned by the connection
 * until its callback has returned; NULL when the connection has failed
 * (cb is not called then) or fmt was bad (a programming error: abort). */
struct imap_cmd *imap_conn_cmd(struct imap_conn *c, imap_cmd_fn *cb, void *ctx,
			       const char *fmt, ...);
struct imap_cmd *imap_conn_cmdv(struct imap_conn *c, imap_cmd_fn *cb,
				void *ctx, const char *fmt, va_list ap);
/* Build a command in pieces (a MULTIAPPEND of messages as they arrive):
 * begin it, add pieces with the directives of imap_conn_cmd() (the first
 * piece starts with the command name, later ones with a space), then end
 * it to queue it, or abort it to drop it. Nothing is written before end;
 * literals are copied (or their fd dup()ed) as they are added. NULL when
 * the connection has failed; add, end and abort accept NULL. */
struct imap_cmd *imap_conn_cmd_begin(struct imap_conn *c, imap_cmd_fn *cb,
				     void *ctx);
void imap_cmd_add(struct imap_cmd *cmd, const char *fmt, ...);
void imap_cmd_end(struct imap_cmd *cmd);
/* Drop a command that was begun and not ended; cb is not called. */
void imap_cmd_abort(struct imap_cmd *cmd);
/* Route continuation requests for cmd to fn (AUTHENTICATE, IDLE). */
void imap_cmd_set_continuation(struct imap_cmd *cmd, imap_cmd_cont_fn *fn);
/* Send a line in answer to a continuation (the CRLF is added); secret
 * lines are redacted in traces. */
void imap_cmd_continue(struct imap_cmd *cmd, const void *data, size_t len,
		       bool secret);
const char *imap_cmd_tag(const struct imap_cmd *cmd);

/* Commands queued or sent whose tagged response has not come. */
size_t imap_conn_in_flight(const struct imap_conn *c);
/* Bytes of output held in memory, not yet written. */
size_t imap_conn_output_queued(const struct imap_conn *c);
/* Stop reading from c while target holds more than half of
 * IMAP_MAX_OUTPUT_QUEUE of output (a FETCH feeding an APPEND must not
 * outrun it). NULL: never. */
void imap_conn_throttle(struct imap_conn *c, struct imap_conn *target);

/* The oldest command in flight must be answered within ms (0: no limit)
 * of becoming the oldest, plus a second per IMAP_MIN_RATE bytes sent or
 * received meanwhile; else the connection fails ("no answer to SELECT
 * within 300 s"). IDLE is exempt. */
void imap_conn_set_answer_timeout(struct imap_conn *c, int ms);
/* All must be done within ms from now (-1: no deadline), whatever comes
 * in: else the connection fails ("what not done within 60 s"). */
void imap_conn_set_deadline(struct imap_conn *c, int ms, const char *what);
/* What the server was asked and has not answered yet, oldest first
 * ("UID FETCH", "greeting"); NULL if nothing. */
const char *imap_conn_waiting_for(const struct imap_conn *c);

typedef bool imap_done_fn(void *ctx);
/* Drive the connections until done(ctx) returns true (checked after each
 * batch of dispatched responses), or, with done NULL, until none has a
 * command in flight. Returns 0, or -1 as soon as one connection fails or
 * timeout_ms (-1: none) passes with nothing received; the failed one
 * says why in imap_conn_error() and the others stay usable. */
int imap_conn_run(struct imap_conn *const *conns, size_t n, imap_done_fn *done,
		  void *ctx, int timeout_ms);

/* imap_conn_run(), also returning 0 as soon as wake_fd (-1: none) is
 * readable, which it leaves unread: a self-pipe that a signal handler
 * writes to ends a wait for the servers without a race. */
int imap_conn_run_fd(struct imap_conn *const *conns, size_t n,
		     imap_done_fn *done, void *ctx, int timeout_ms,
		     int wake_fd);

/* Queue a command and drive c alone until its tagged response: returns its
 * status (IMAP_STATUS_OK, NO or BAD), or -1 if the connection failed. The
 * response text is copied into text (if not NULL, truncated to size). */
int imap_conn_cmd_wait(struct imap_conn *c, char *text, size_t size,
		       const char *fmt, ...);

#endif
