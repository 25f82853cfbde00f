/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "log.h"

#include "buf.h"
#include "config.h"
#include "limits.h"
#include "xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	FILE *file; /* the logfile, or NULL */
	char *prefix_fmt;
	bool quiet;
	int debug;
	bool debug_sync;
	bool progress_shown;
	bool tty;
	bool muted;
	bool stamp_stderr;
	int journal; /* -1: not looked yet */
	char last_error[512];
} log_state = {.journal = -1};

/* sd-daemon(3) priorities, as "<N>" before a line journald reads. */
enum log_priority {
	LOG_PRIO_ERR = 3,
	LOG_PRIO_WARNING = 4,
	LOG_PRIO_INFO = 6,
	LOG_PRIO_DEBUG = 7,
};

/* Whether stderr is the stream systemd connected to journald: then
 * $JOURNAL_STREAM is its "device:inode" (systemd.exec(5)). A stderr
 * redirected elsewhere by the service keeps the variable but not the
 * inode, and gets no prefixes. */
static bool
log_stderr_is_journal(void)
{
	const char *env;
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (log_state.journal >= 0)
		return log_state.journal != 0;
	log_state.journal = 0;
	env = getenv("JOURNAL_STREAM");
	if (env == NULL || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    env[end] != '\0' || fstat(STDERR_FILENO, &st) < 0)
		return false;
	log_state.journal = (unsigned long long)st.st_dev == dev &&
	                    (unsigned long long)st.st_ino == ino;
	return log_state.journal != 0;
}

/* One line on stderr, with its priority when journald reads it. */
static void
log_stderr(enum log_priority prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_stderr(enum log_priority prio, const char *fmt, ...)
{
	va_list ap;

	if (log_stderr_is_journal())
		fprintf(stderr, "<%d>", (int)prio);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void
log_early(bool warning, const char *fmt, ...)
{
	va_list ap;

	if (log_stderr_is_journal())
		fprintf(stderr, "<%d>",
		        warning ? LOG_PRIO_WARNING : LOG_PRIO_ERR);
	fputs("imapsync: ", stderr);
	if (warning)
		fputs("WARNING: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The text of log_init()'s failure (HACKING.md, "Error text"). */
static char log_error_text[512];

int
log_init(const struct log_settings *set, const char **error_r)
{
	log_state.quiet = set->quiet;
	log_state.debug = set->debug;
	log_state.debug_sync = set->debug_sync;
	log_state.journal = -1;
	log_state.tty = isatty(STDERR_FILENO) == 1;
	free(log_state.prefix_fmt);
	log_state.prefix_fmt =
	    set->prefix_fmt != NULL ? xstrdup(set->prefix_fmt) : NULL;
	if (set->logfile != NULL) {
		log_state.file = fopen(set->logfile, "ae");
		if (log_state.file == NULL) {
			snprintf(log_error_text, sizeof(log_error_text),
			         "cannot open logfile %s: %s", set->logfile,
			         strerror(errno));
			*error_r = log_error_text;
			return -1;
		}
		setvbuf(log_state.file, NULL, _IOLBF, 0);
	}
	return 0;
}

void
log_deinit(void)
{
	log_progress_end();
	if (log_state.file != NULL)
		fclose(log_state.file);
	log_state.file = NULL;
	free(log_state.prefix_fmt);
	log_state.prefix_fmt = NULL;
}

void
log_mute(bool on)
{
	log_state.muted = on;
}

const char *
log_last_error(void)
{
	return log_state.last_error;
}

int
log_debug_level(void)
{
	return log_state.debug;
}

/* Escaped text is at most this many times as long as the text. */
#define LOG_ESCAPE_GROWTH 4

static int
log_escape_byte(struct buf *out, unsigned char c)
{
	switch (c) {
	case '\n':
		return buf_append_str(out, "\\n");
	case '\r':
		return buf_append_str(out, "\\r");
	case '\t':
		return buf_append_str(out, "\\t");
	default:
		return buf_printf(out, "\\x%02x", c);
	}
}

/* The length of the UTF-8 sequence at s (1 to 4) and its code point, or
 * 0 when s does not start one (overlong, surrogate, past U+10FFFF,
 * truncated). */
static size_t
log_utf8(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	size_t n, i;
	uint32_t cp, min;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

int
log_escape(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;
	int ret = 0;

	while (i < len && ret == 0) {
		n = log_utf8(p + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f) {
			ret = log_escape_byte(out, p[i]);
			i++;
			continue;
		}
		/* C1 controls (a terminal may take U+009B for CSI), line
		 * separators and bidirectional overrides. */
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			ret = buf_printf(out, "\\u%04" PRIx32, cp);
		else
			ret = buf_append(out, p + i, n);
		i += n;
	}
	return ret;
}

char *
log_shell_quote(const char *s)
{
	size_t len = strlen(s), i, j = 0;
	char *q = xmalloc(len * 4 + 3);

	q[j++] = '\'';
	for (i = 0; i < len; i++) {
		if (s[i] == '\'') {
			memcpy(q + j, "'\\''", 4);
			j += 4;
		} else {
			q[j++] = s[i];
		}
	}
	q[j++] = '\'';
	q[j] = '\0';
	return q;
}

/* "2026-03-01 14:05:09.123+0100": with the year and the offset, as a log
 * outlives a year and a time zone change. */
static void
log_stamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	char date[24], zone[8];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, size, "%s.%03d%s", date, (int)(tv.tv_usec / 1000), zone);
}

void
log_stamp_stderr(bool on)
{
	log_state.stamp_stderr = on;
}

/* Room kept at the end of a log line for the marker of a cut. */
#define LOG_CUT_MARKER_MAX 64

/* Append what fits of data: a log line is cut, never refused. */
static void
log_put(struct buf *raw, const char *data, size_t len)
{
	if (len > buf_avail(raw))
		len = buf_avail(raw);
	if (buf_append(raw, data, len) < 0)
		return; /* within buf_avail: cannot */
}

/* fmt into raw, whose cap is LOG_MAX_LINE: a message that would pass it
 * is cut, and says how much was left out, rather than being lost. */
static void
log_vappend(struct buf *raw, const char *fmt, va_list ap)
{
	char mark[LOG_CUT_MARKER_MAX];
	size_t len, keep;
	va_list aq;
	char *text;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	len = (size_t)n;
	text = xmalloc(len + 1);
	vsnprintf(text, len + 1, fmt, ap);
	if (len <= buf_avail(raw)) {
		log_put(raw, text, len);
	} else {
		keep = buf_avail(raw) > LOG_CUT_MARKER_MAX
		           ? buf_avail(raw) - LOG_CUT_MARKER_MAX
		           : 0;
		log_put(raw, text, keep);
		n = snprintf(mark, sizeof(mark),
		             "... (%zu more bytes not logged)", len - keep);
		if (n > 0)
			log_put(raw, mark, (size_t)n);
	}
	free(text);
}

static void log_appendf(struct buf *raw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_appendf(struct buf *raw, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vappend(raw, fmt, ap);
	va_end(ap);
}

/* Write one line with its prefix: to the logfile (timestamped) when there
 * is one, else to stderr; errors and warnings go to stderr too. The whole
 * line is escaped (log_escape): names and server texts are in it. */
static void
log_line(enum log_priority prio, const char *side, const char *mailbox,
         const char *label, const char *fmt, va_list ap)
{
	struct buf *raw = buf_create(LOG_MAX_LINE), *line;
	char stamp[64] = "";

	line = buf_create(LOG_MAX_LINE * LOG_ESCAPE_GROWTH);
	/* A log-prefix past the line's cap stops there, said by "...". */
	if (log_state.prefix_fmt != NULL) {
		if (config_log_prefix_format(log_state.prefix_fmt, side,
		                             mailbox, raw) < 0)
			log_put(raw, "...", 3);
	} else if (side != NULL && mailbox != NULL)
		log_appendf(raw, "%s(%s): ", side, mailbox);
	else if (side != NULL)
		log_appendf(raw, "%s: ", side);
	if (label != NULL)
		log_appendf(raw, "%s", label);
	log_vappend(raw, fmt, ap);
	/* LOG_ESCAPE_GROWTH bytes of line for each of raw's: it cannot be
	 * full; if it were, what fits is kept and "..." says so. */
	if (log_escape(line, buf_data(raw), buf_len(raw)) < 0)
		log_put(line, "...", 3);
	buf_free(&raw);
	if (label != NULL && strcmp(label, "ERROR: ") == 0)
		snprintf(log_state.last_error, sizeof(log_state.last_error),
		         "%s", buf_data(line));
	if (log_state.muted) {
		buf_free(&line);
		return;
	}
	log_progress_end();
	if (log_state.file != NULL || log_state.stamp_stderr)
		log_stamp(stamp, sizeof(stamp));
	if (log_state.file != NULL)
		fprintf(log_state.file, "%s %s\n", stamp, buf_data(line));
	/* journald stamps each line itself. */
	if (log_state.file == NULL || prio <= LOG_PRIO_WARNING)
		log_stderr(prio, "%s%s%s\n",
		           log_state.stamp_stderr && !log_stderr_is_journal()
		               ? stamp
		               : "",
		           log_state.stamp_stderr && !log_stderr_is_journal()
		               ? " "
		               : "",
		           buf_data(line));
	buf_free(&line);
}

void
log_info(const char *side, const char *mailbox, const char *fmt, ...)
{
	va_list ap;

	if (log_state.quiet)
		return;
	va_start(ap, fmt);
	log_line(LOG_PRIO_INFO, side, mailbox, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *side, const char *mailbox, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_PRIO_WARNING, side, mailbox, "WARNING: ", fmt, ap);
	va_end(ap);
}

void
log_error(const char *side, const char *mailbox, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_PRIO_ERR, side, mailbox, "ERROR: ", fmt, ap);
	va_end(ap);
}

void
log_debugf(const char *side, const char *mailbox, const char *fmt, ...)
{
	va_list ap;

	if (log_state.debug == 0)
		return;
	va_start(ap, fmt);
	log_line(LOG_PRIO_DEBUG, side, mailbox, NULL, fmt, ap);
	va_end(ap);
}

bool
log_sync_tracing(void)
{
	return log_state.debug_sync;
}

/* A debug line, "HEAD SEP TEXT" with TEXT escaped, where the traces
 * go: the logfile if there is one, else stderr. */
static void
log_debug_write(const char *head, const char *sep, const char *text,
                size_t len)
{
	struct buf *esc = buf_create(len * LOG_ESCAPE_GROWTH + 1);

	if (log_escape(esc, text, len) < 0) /* sized as in log_line() */
		log_put(esc, "...", 3);
	log_progress_end();
	if (log_state.file != NULL)
		fprintf(log_state.file, "%s%s%s\n", head, sep, buf_data(esc));
	else
		log_stderr(LOG_PRIO_DEBUG, "%s%s%s\n", head, sep,
		           buf_data(esc));
	buf_free(&esc);
}

void
log_sync_trace(const char *fmt, va_list ap)
{
	struct buf *raw;

	if (!log_state.debug_sync)
		return;
	raw = buf_create(LOG_MAX_LINE);
	if (buf_vprintf(raw, fmt, ap) < 0) /* cut at the cap: say so */
		log_put(raw, "...", 3);
	log_debug_write("sync:", " ", buf_data(raw), buf_len(raw));
	buf_free(&raw);
}

void
log_trace(void *ctx, const char *conn_name, bool out, const char *line,
          size_t len)
{
	(void)ctx;
	log_debug_write(conn_name, out ? " -> " : " <- ", line, len);
}

void
log_progress(const char *fmt, ...)
{
	struct buf *raw, *esc;
	va_list ap;

	if (!log_state.tty || log_state.quiet)
		return;
	raw = buf_create(LOG_MAX_PROGRESS_LINE);
	esc = buf_create(LOG_MAX_PROGRESS_LINE * LOG_ESCAPE_GROWTH);
	va_start(ap, fmt);
	log_vappend(raw, fmt, ap);
	va_end(ap);
	if (log_escape(esc, buf_data(raw), buf_len(raw)) < 0) /* as above */
		log_put(esc, "...", 3);
	fputs("\r\033[K", stderr);
	fputs(buf_data(esc), stderr);
	fflush(stderr);
	buf_free(&raw);
	buf_free(&esc);
	log_state.progress_shown = true;
}

void
log_progress_end(void)
{
	if (!log_state.progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	log_state.progress_shown = false;
}
