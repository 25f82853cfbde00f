/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Messages for the user: one line per action, on stderr or the logfile,
 * each started by the configured log-prefix; warnings and errors always,
 * actions unless --quiet, protocol traces with --debug (=imap), the sync
 * engine's decisions with --debug (=sync). */
#ifndef CLIENT_LOG_H
#define CLIENT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

struct log_settings {
	const char *logfile;    /* NULL: stderr only */
	const char *prefix_fmt; /* interimap's log-prefix, or NULL */
	bool quiet;
	int debug;       /* the wire trace: 1, and 2 with credentials */
	bool debug_sync; /* the decision trace (log_sync_trace()) */
};

/* Open the logfile (appending) if one is set; -1 with *error_r if it
 * cannot be opened. */
int log_init(const struct log_settings *set, const char **error_r);
void log_deinit(void);
int log_debug_level(void);
/* Drop every message but --debug traces while on: watch mode says once
 * that a server is unreachable, not at each attempt to reach it again. */
void log_mute(bool on);
/* Start each line on stderr with the time, as in the logfile (watch
 * mode: a terminal that shows a day's lines), unless journald reads it. */
void log_stamp_stderr(bool on);
/* The last error line, logged or muted ("" if none). */
const char *log_last_error(void);

/* "imapsync: [WARNING: ]..." on stderr, before log_init() or without it
 * (usage and configuration errors). Every line on stderr starts with its
 * sd-daemon(3) priority ("<3>" error, "<4>" warning, "<6>" action, "<7>"
 * debug) when $JOURNAL_STREAM says that journald reads stderr. */
void log_early(bool warning, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An action (suppressed by --quiet). side is "local", "remote",
 * "database" or NULL; mailbox the display name or NULL. */
void log_info(const char *side, const char *mailbox, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "WARNING: ..." (never suppressed). */
void log_warn(const char *side, const char *mailbox, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "ERROR: ..." (never suppressed). */
void log_error(const char *side, const char *mailbox, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Only with --debug. */
void log_debugf(const char *side, const char *mailbox, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append s to out as inert text: control characters (C0, DEL, C1),
 * line and paragraph separators, bidirectional overrides and bytes that
 * are not UTF-8 become \n, \r, \t, \xHH or \uHHHH; the rest (valid
 * UTF-8, backslash included) is copied. Every line this module writes
 * goes through it, so nothing a server or a name holds can move the
 * cursor, set a title or start a line of its own. -1 if out is full. */
int log_escape(struct buf *out, const char *s, size_t len)
    __attribute__((warn_unused_result));
/* s as one word for a POSIX shell, for advice the user may paste: in
 * single quotes, each ' written '\''. Caller frees. */
char *log_shell_quote(const char *s);

/* Whether --debug=sync is on: callers test it before they format a
 * line (client/sync-trace.c's sync_trace()). */
bool log_sync_tracing(void);
/* A line of the decision trace, "sync: " and the text, on stderr or the
 * logfile as the protocol trace goes, at debug priority. */
void log_sync_trace(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* The form of a noun for a count: one when n is 1, else many, as in
 * "%" PRIu64 " %s", n, log_plural(n, "message", "messages"). */
static inline const char *
log_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A protocol trace line (the imap_conn trace sink). */
void log_trace(void *ctx, const char *conn_name, bool out, const char *line,
               size_t len);

/* The progress line on a terminal: redrawn in place, cleared by the next
 * message or by log_progress_end(). No-op when stderr is not a tty or
 * with --quiet. */
void log_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_progress_end(void);

#endif
