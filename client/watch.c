/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Watch mode. Between syncs the two sync connections sit idle, read for
 * anything the servers say; with --notify a second connection to each
 * server, which never syncs, holds NOTIFY (RFC 5465) on every personal
 * mailbox, or IDLE on INBOX where the server lacks NOTIFY. Keeping the
 * watch apart from the sync leaves no window: a change made while a sync
 * runs is announced on the watch connection and starts the next sync, so
 * nothing waits for the next poll. Our own changes are announced too;
 * they cost one more sync, which finds nothing to do.
 *
 * Deadlines use CLOCK_BOOTTIME, which goes on during a suspend, and waits
 * are sliced, so a laptop that wakes up polls (and finds its connections
 * dead) at once, not after the rest of the sleep it was in. */
#include "watch.h"

#include "config.h"
#include "imap-conn.h"
#include "imap-decode.h"
#include "log.h"
#include "mailboxes.h"
#include "options.h"
#include "progress.h"
#include "server.h"
#include "state.h"
#include "summary.h"
#include "sync.h"
#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Servers end idle sessions after 30 minutes (RFC 9051 asks for no
 * less): say something well before. */
#define WATCH_KEEPALIVE_MS (10 * 60 * 1000)
#define WATCH_BACKOFF_FIRST_MS 1000
#define WATCH_BACKOFF_MAX_MS (5 * 60 * 1000)
/* A mailbox that keeps failing waits 1, 2, 4 ... 60 minutes. */
#define WATCH_FAILING_FIRST_MS (60 * 1000)
#define WATCH_FAILING_MAX_MS (60 * 60 * 1000)
/* The longest single wait, so that the clock is read again after a
 * suspend. */
#define WATCH_SLICE_MS (15 * 1000)

enum watch_how {
	WATCH_POLL,
	WATCH_IDLE,
	WATCH_NOTIFY,
};

struct watch;

struct watch_side {
	struct watch *w;
	unsigned side;
	enum watch_how how;
	struct imap_cmd *idle; /* the IDLE in progress */
	bool idling;           /* its continuation came */
	bool idle_end;         /* DONE wanted as soon as it comes */
};

struct watch_failing {
	char *name;
	size_t len;
	unsigned count;
	int64_t until_ms;
};

struct watch {
	struct sync_run *run;
	/* --notify: the watch connections (only server[].conn is used) */
	struct sync_run peer;
	struct watch_side ws[SIDE_COUNT];
	const struct options *opts;
	const char *config_path;
	struct config **config;

	bool connected;
	/* A connection worked once: a later one is made "again". */
	bool ever_connected;
	/* The server never answered NOTIFY SET: not asked again. */
	bool no_notify[SIDE_COUNT];
	bool changed;
	int64_t next_sync_ms, next_keepalive_ms;
	/* Connection attempts failed in a row, and the wait before the
	 * next. */
	unsigned down_count;
	int64_t backoff_ms;
	struct watch_failing *failing;
	size_t failing_count;
};

static volatile sig_atomic_t watch_stop, watch_reload;
static int watch_pipe[2] = {-1, -1};

static void
watch_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP) {
		watch_reload = 1;
	} else if (watch_stop) {
		/* Asked twice: go now, as safely as a crash is. */
		_exit(128 + sig);
	} else {
		watch_stop = 1;
	}
	if (write(watch_pipe[1], "", 1) < 0) {
		/* Full: a wake-up is pending anyway. */
	}
	errno = saved;
}

/* WATCH_KEEPALIVE_MS, or for tests IMAPSYNC_DEBUG_KEEPALIVE (ms). */
static int64_t
watch_keepalive_ms(void)
{
	const char *v = getenv("IMAPSYNC_DEBUG_KEEPALIVE");
	long ms = v != NULL ? strtol(v, NULL, 10) : 0;

	return ms > 0 ? ms : WATCH_KEEPALIVE_MS;
}

static int64_t
watch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
watch_drain(void)
{
	char b[64];

	while (read(watch_pipe[0], b, sizeof(b)) > 0)
		;
}

static int
watch_signals(void)
{
	struct sigaction sa;

	if (pipe2(watch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking call returns, and the loop looks at
	 * the flags. */
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -1;
	return 0;
}

/* Sleep ms, or until a signal. */
static void
watch_sleep(int64_t ms)
{
	int64_t end = watch_now() + ms;

	while (!watch_stop && !watch_reload) {
		struct pollfd pfd = {.fd = watch_pipe[0], .events = POLLIN};
		int64_t left = end - watch_now();

		if (left <= 0)
			break;
		if (left > WATCH_SLICE_MS)
			left = WATCH_SLICE_MS;
		if (poll(&pfd, 1, (int)left) > 0)
			watch_drain();
	}
}

/* --- mailboxes that keep failing ------------------------------------------ */

static struct watch_failing *
watch_failing_find(struct watch *w, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < w->failing_count; i++) {
		struct watch_failing *f = &w->failing[i];

		if (f->len == len && memcmp(f->name, name, len) == 0)
			return f;
	}
	return NULL;
}

static bool
watch_skip(void *ctx, const char *name, size_t len)
{
	struct watch *w = ctx;
	struct watch_failing *f = watch_failing_find(w, name, len);

	return f != NULL && watch_now() < f->until_ms;
}

static void
watch_synced(void *ctx, const char *name, size_t len, bool failed)
{
	struct watch *w = ctx;
	struct watch_failing *f = watch_failing_find(w, name, len);
	char *display;
	int64_t wait;

	if (!failed) {
		if (f != NULL) {
			free(f->name);
			*f = w->failing[--w->failing_count];
		}
		return;
	}
	if (f == NULL) {
		w->failing = xreallocarray(w->failing, w->failing_count + 1,
		                           sizeof(*w->failing));
		f = &w->failing[w->failing_count];
		memset(f, 0, sizeof(*f));
		f->name = xmalloc(len + 1);
		memcpy(f->name, name, len);
		f->name[len] = '\0';
		f->len = len;
		w->failing_count++;
	}
	f->count++;
	wait = WATCH_FAILING_FIRST_MS;
	for (unsigned i = 1; i < f->count && wait < WATCH_FAILING_MAX_MS; i++)
		wait *= 2;
	if (wait > WATCH_FAILING_MAX_MS)
		wait = WATCH_FAILING_MAX_MS;
	f->until_ms = watch_now() + wait;
	display = sync_display_name(w->run, name, len);
	log_warn(NULL, NULL,
	         "mailbox %s failed %u %s in a row: left out of the "
	         "syncs of the next %d %s",
	         display != NULL ? display : "?", f->count,
	         log_plural(f->count, "time", "times"), (int)(wait / 60000),
	         log_plural((uint64_t)(wait / 60000), "minute", "minutes"));
	free(display);
}

/* --- the watch connections ------------------------------------------------- */

static bool
watch_event(const struct imap_response *resp)
{
	static const char *const names[] = {
	    "STATUS", "LIST", "EXISTS", "EXPUNGE", "VANISHED", "FETCH",
	};
	size_t i;

	if (resp->kind != IMAP_RESP_UNTAGGED || resp->name == NULL)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(resp->name, names[i]) == 0)
			return true;
	}
	return false;
}

static void
watch_untagged(struct imap_conn *c, const struct imap_response *resp,
               void *ctx)
{
	struct watch *w = ctx;

	if (!watch_event(resp))
		return;
	if (!w->changed)
		log_debugf(imap_conn_name(c), NULL, "change announced (%s)",
		           resp->name);
	w->changed = true;
}

static void
watch_idle_done(struct imap_conn *c, const struct imap_response *resp,
                void *ctx)
{
	struct watch_side *ws = ctx;

	ws->idle = NULL;
	ws->idling = false;
	ws->idle_end = false;
	if (resp != NULL && resp->status != IMAP_STATUS_OK) {
		log_warn(imap_conn_name(c), NULL,
		         "IDLE refused (%s): polling instead", resp->text);
		ws->how = WATCH_POLL;
	}
}

static int
watch_idle_cont(struct imap_conn *c, struct imap_cmd *cmd,
                const struct imap_response *resp, void *ctx)
{
	struct watch_side *ws = ctx;

	(void)c;
	(void)resp;
	ws->idling = true;
	if (ws->idle_end)
		imap_cmd_continue(cmd, "DONE", 4, false);
	return 0;
}

static void
watch_idle_start(struct watch_side *ws)
{
	struct imap_conn *c = ws->w->peer.server[ws->side].conn;

	ws->idling = false;
	ws->idle_end = false;
	ws->idle = imap_conn_cmd(c, watch_idle_done, ws, "IDLE");
	if (ws->idle != NULL)
		imap_cmd_set_continuation(ws->idle, watch_idle_cont);
}

static void
watch_idle_end(struct watch_side *ws)
{
	if (ws->idle == NULL || ws->idle_end)
		return;
	ws->idle_end = true;
	if (ws->idling)
		imap_cmd_continue(ws->idle, "DONE", 4, false);
}

struct watch_wait {
	bool done;
	/* The wait ended first (a signal): the answer, when the connection
	 * gets or drops it, only frees this. */
	bool orphan;
	int status;
	char text[1024];
};

static void
watch_wait_cb(struct imap_conn *c, const struct imap_response *resp, void *ctx)
{
	struct watch_wait *ww = ctx;

	if (ww->orphan) {
		free(ww);
		return;
	}
	ww->done = true;
	ww->status = resp != NULL ? (int)resp->status : -1;
	snprintf(ww->text, sizeof(ww->text), "%s",
	         resp != NULL ? resp->text : imap_conn_error(c));
}

static bool
watch_wait_done(void *ctx)
{
	return ((struct watch_wait *)ctx)->done || watch_stop;
}

/* A command on a watch connection and its answer, as imap_conn_cmd_wait()
 * but ended by a signal (-1 then) and bounded by the connection's answer
 * timeout: its status, or -1 with the reason in text. */
static int
watch_cmd_wait(struct imap_conn *c, char *text, size_t size, const char *cmd)
{
	struct watch_wait *ww = xcalloc(1, sizeof(*ww));
	int r;

	if (imap_conn_cmd(c, watch_wait_cb, ww, "%a", cmd) == NULL) {
		snprintf(text, size, "%s", imap_conn_error(c));
		free(ww);
		return -1;
	}
	for (;;) {
		r = imap_conn_run_fd(&c, 1, watch_wait_done, ww, -1,
		                     watch_pipe[0]);
		if (ww->done || watch_stop || r < 0)
			break;
		/* SIGHUP: its flag stays for the loop to see. */
		watch_drain();
	}
	if (!ww->done) {
		snprintf(text, size, "%s",
		         r < 0 ? imap_conn_error(c) : "stopping on a signal");
		ww->orphan = true;
		return -1;
	}
	snprintf(text, size, "%s", ww->text);
	r = ww->status;
	free(ww);
	return r;
}

/* Start watching on the peer connections: NOTIFY, else IDLE on INBOX,
 * else nothing (polling). */
static int
watch_peer_start(struct watch *w)
{
	char text[1024];
	unsigned s;
	int st;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct watch_side *ws = &w->ws[s];
		struct imap_conn *c = w->peer.server[s].conn;
		uint64_t caps = imap_conn_caps(c);

		ws->how = WATCH_POLL;
		/* A flag changed in a mailbox not selected changes none of
		 * MESSAGES, UIDNEXT, UNSEEN: NOTIFY's STATUS for FlagChange
		 * carries HIGHESTMODSEQ only with CONDSTORE enabled, and
		 * Dovecot sends nothing without it. */
		if ((caps & IMAP_CAP_NOTIFY) != 0 && !w->no_notify[s] &&
		    (caps & IMAP_CAP_CONDSTORE) != 0) {
			st = watch_cmd_wait(c, text, sizeof(text),
			                    "ENABLE CONDSTORE");
			if (st < 0 && watch_stop)
				return -1;
			if (st < 0) {
				/* As for NOTIFY SET below. */
				log_warn(side_name(s), NULL,
				         "ENABLE failed (%s): watching "
				         "without NOTIFY from now on",
				         text);
				w->no_notify[s] = true;
				return -1;
			}
		}
		if ((caps & IMAP_CAP_NOTIFY) != 0 && !w->no_notify[s]) {
			st = watch_cmd_wait(
			    c, text, sizeof(text),
			    "NOTIFY SET (personal (MessageNew MessageExpunge "
			    "FlagChange MailboxName SubscriptionChange))");
			if (st < 0 && watch_stop)
				return -1;
			if (st < 0) {
				/* A server that takes NOTIFY and never
				 * answers it: the next connection does
				 * without. */
				log_warn(side_name(s), NULL,
				         "NOTIFY SET failed (%s): watching "
				         "without NOTIFY from now on",
				         text);
				w->no_notify[s] = true;
				return -1;
			}
			if (st == IMAP_STATUS_OK) {
				ws->how = WATCH_NOTIFY;
				continue;
			}
			log_warn(side_name(s), NULL, "NOTIFY refused (%s)",
			         text);
		}
		if ((caps & IMAP_CAP_IDLE) != 0) {
			st = watch_cmd_wait(c, text, sizeof(text),
			                    "EXAMINE INBOX");
			if (st < 0) {
				if (!watch_stop)
					log_error(side_name(s), NULL,
					          "EXAMINE INBOX failed: %s",
					          text);
				return -1;
			}
			if (st == IMAP_STATUS_OK) {
				ws->how = WATCH_IDLE;
				watch_idle_start(ws);
				log_info(side_name(s), NULL,
				         "no NOTIFY: watching INBOX with IDLE, "
				         "other mailboxes every %u s",
				         w->opts->watch_seconds);
				continue;
			}
		}
		log_warn(side_name(s), NULL,
		         "neither NOTIFY nor IDLE: polling every %u s",
		         w->opts->watch_seconds);
	}
	return 0;
}

/* --- connections ----------------------------------------------------------- */

static void
watch_disconnect(struct watch *w)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		/* LOGOUT is no way to end an IDLE. */
		watch_idle_end(&w->ws[s]);
	}
	server_disconnect(&w->peer);
	server_disconnect(w->run);
	for (s = 0; s < SIDE_COUNT; s++) {
		w->ws[s].idle = NULL;
		w->ws[s].idling = false;
		w->ws[s].how = WATCH_POLL;
	}
	w->connected = false;
}

static int
watch_connect(struct watch *w)
{
	int debug = (int)w->opts->debug;

	w->run->fatal = false;
	if (server_connect(w->run, *w->config, debug) < 0)
		return -1;
	if (w->opts->notify) {
		w->peer.config = *w->config;
		w->peer.stop = &watch_stop;
		if (server_connect(&w->peer, *w->config, debug) < 0 ||
		    watch_peer_start(w) < 0)
			return -1;
	}
	w->connected = true;
	w->ever_connected = true;
	w->next_keepalive_ms = watch_now() + watch_keepalive_ms();
	return 0;
}

/* A connection failed (its error is logged) or could not be made: hang
 * up everything and wait before trying again, saying so once. */
static void
watch_down(struct watch *w)
{
	watch_disconnect(w);
	if (w->down_count == 0) {
		w->backoff_ms = WATCH_BACKOFF_FIRST_MS;
		log_info(NULL, NULL,
		         "%s in the background (every %d s at most)",
		         w->ever_connected ? "connecting again"
		                           : "trying to connect",
		         WATCH_BACKOFF_MAX_MS / 1000);
		/* Each failed attempt would log its error again. */
		log_mute(true);
	} else if (w->backoff_ms < WATCH_BACKOFF_MAX_MS) {
		w->backoff_ms *= 2;
		if (w->backoff_ms >= WATCH_BACKOFF_MAX_MS) {
			/* Said once more, with the reason as it is now. */
			w->backoff_ms = WATCH_BACKOFF_MAX_MS;
			log_mute(false);
			log_warn(NULL, NULL,
			         "still no connection after %u attempts "
			         "(last: %s); trying every %d s",
			         w->down_count, log_last_error(),
			         WATCH_BACKOFF_MAX_MS / 1000);
			log_mute(true);
		}
	}
	w->down_count++;
	watch_sleep(w->backoff_ms);
}

/* Connected (w->connected) after down_count failed attempts: said when
 * there were any. Only a watcher that was connected before is connected
 * "again". */
static void
watch_up(struct watch *w, bool before)
{
	if (w->down_count == 0)
		return;
	log_mute(false);
	log_info(NULL, NULL, "connected%s after %u failed %s",
	         before ? " again" : "", w->down_count,
	         log_plural(w->down_count, "attempt", "attempts"));
	w->down_count = 0;
}

/* --- waiting --------------------------------------------------------------- */

static size_t
watch_conns(struct watch *w, struct imap_conn **conns)
{
	size_t n = 0;
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		if (w->run->server[s].conn != NULL)
			conns[n++] = w->run->server[s].conn;
		if (w->peer.server[s].conn != NULL)
			conns[n++] = w->peer.server[s].conn;
	}
	return n;
}

static bool
watch_conns_ok(struct imap_conn *const *conns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (imap_conn_state(conns[i]) != IMAP_CONN_AUTH)
			return false;
	}
	return true;
}

static void
watch_log_failed(struct imap_conn *const *conns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *err = imap_conn_error(conns[i]);

		if (imap_conn_state(conns[i]) == IMAP_CONN_AUTH)
			continue;
		log_error(NULL, NULL, "%s",
		          err[0] != '\0' ? err : "connection closed");
		return;
	}
}

struct watch_wake {
	struct watch *w;
	struct imap_conn **conns;
	size_t n;
	int64_t until_ms;
};

static bool
watch_woken(void *ctx)
{
	struct watch_wake *k = ctx;

	return k->w->changed || watch_stop || watch_reload ||
	       !watch_conns_ok(k->conns, k->n) || watch_now() >= k->until_ms;
}

static void
watch_noop_done(struct imap_conn *c, const struct imap_response *resp,
                void *ctx)
{
	(void)c;
	(void)resp;
	(void)ctx;
}

/* Say something on every connection before the servers' idle timeout,
 * and find out that a connection died (a suspend, a NAT that forgot
 * it): NOOP, or IDLE ended and begun again. */
static int
watch_keepalive(struct watch *w, struct imap_conn **conns, size_t n)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		imap_conn_cmd(w->run->server[s].conn, watch_noop_done, NULL,
		              "NOOP");
		if (w->ws[s].how == WATCH_IDLE)
			watch_idle_end(&w->ws[s]);
		else if (w->peer.server[s].conn != NULL)
			imap_conn_cmd(w->peer.server[s].conn, watch_noop_done,
			              NULL, "NOOP");
	}
	if (imap_conn_run(conns, n, NULL, NULL, 60 * 1000) < 0) {
		if (watch_conns_ok(conns, n))
			log_error(NULL, NULL,
			          "no answer to NOOP within 60 s: connection "
			          "lost");
		else
			watch_log_failed(conns, n);
		return -1;
	}
	for (s = 0; s < SIDE_COUNT; s++) {
		if (w->ws[s].how == WATCH_IDLE)
			watch_idle_start(&w->ws[s]);
	}
	w->next_keepalive_ms = watch_now() + watch_keepalive_ms();
	return 0;
}

/* Leave the mailbox the sync selected last: Dovecot answers STATUS for
 * the selected mailbox from the session's view of it, which does not see
 * what other sessions did since, so the next sync's LIST would miss the
 * very change that woke it. Nothing waits for the answer. */
static void
watch_unselect(struct watch *w)
{
	unsigned s;

	for (s = 0; s < SIDE_COUNT; s++) {
		struct imap_conn *c = w->run->server[s].conn;

		if ((imap_conn_caps(c) & IMAP_CAP_UNSELECT) != 0)
			imap_conn_cmd(c, watch_noop_done, NULL, "UNSELECT");
		else /* a failed SELECT leaves none selected */
			imap_conn_cmd(c, watch_noop_done, NULL,
			              "EXAMINE \"imapsync: none\"");
	}
}

/* Until a change is announced, the next poll is due, or a signal; -1 when
 * a connection failed. */
static int
watch_wait(struct watch *w)
{
	struct imap_conn *conns[2 * SIDE_COUNT];
	struct watch_wake k = {w, conns, watch_conns(w, conns), 0};
	size_t i;

	for (i = 0; i < k.n; i++)
		imap_conn_set_untagged(conns[i], watch_untagged, w);
	for (;;) {
		int64_t now = watch_now(), until;

		if (w->changed || watch_stop || watch_reload)
			return 0;
		if (!watch_conns_ok(conns, k.n)) {
			watch_log_failed(conns, k.n);
			return -1;
		}
		if (now >= w->next_sync_ms) {
			w->changed = true;
			return 0;
		}
		if (now >= w->next_keepalive_ms) {
			if (watch_keepalive(w, conns, k.n) < 0)
				return -1;
			continue;
		}
		until = w->next_sync_ms < w->next_keepalive_ms
		            ? w->next_sync_ms
		            : w->next_keepalive_ms;
		if (until > now + WATCH_SLICE_MS)
			until = now + WATCH_SLICE_MS;
		k.until_ms = until;
		if (imap_conn_run_fd(conns, k.n, watch_woken, &k,
		                     (int)(until - now), watch_pipe[0]) < 0 &&
		    errno != ETIMEDOUT && errno != EINTR &&
		    watch_conns_ok(conns, k.n)) {
			log_error(NULL, NULL, "waiting for the servers: %s",
			          strerror(errno));
			return -1;
		}
		watch_drain();
	}
}

/* --- SIGHUP ---------------------------------------------------------------- */

static void
watch_reread(struct watch *w)
{
	struct config *nc = NULL;
	struct log_settings ls;
	char *olddb = NULL, *newdb = NULL;
	const char *error;

	if (config_load(w->config_path, &nc, &error) < 0 ||
	    config_check_supported(nc, &error) < 0) {
		log_error(NULL, NULL, "%s; going on with the configuration "
		                      "read before",
		          error);
		config_free(&nc);
		return;
	}
	if (config_database_path(*w->config, &olddb, &error) == 0 &&
	    config_database_path(nc, &newdb, &error) == 0 &&
	    strcmp(olddb, newdb) != 0)
		log_warn("database", NULL,
		         "the database stays %s until imapsync restarts",
		         olddb);
	free(olddb);
	free(newdb);
	watch_disconnect(w);
	memset(&ls, 0, sizeof(ls));
	ls.logfile = nc->logfile;
	ls.prefix_fmt = nc->log_prefix;
	ls.quiet = w->opts->quiet;
	ls.debug = (int)w->opts->debug;
	ls.debug_sync = w->opts->debug_sync;
	log_deinit();
	if (log_init(&ls, &error) < 0)
		log_early(false, "%s", error);
	config_free(w->config);
	*w->config = nc;
	w->run->config = nc;
	log_info(NULL, NULL, "configuration read again from %s",
	         w->config_path);
}

/* --- the loop -------------------------------------------------------------- */

/* A round's summary, when it did something: a watcher's log has no line
 * a minute for rounds that found nothing. */
static void
watch_summary(const struct sync_run *run, int64_t started)
{
	if (summary_any(run) || run->mailbox_failures > 0 || run->fatal)
		summary_log(run, started);
}

int
watch_run(struct sync_run *run, const struct options *opts,
          const char *config_path, struct config **config)
{
	struct watch w;
	int status = IMAPSYNC_EXIT_OK;
	bool said_waiting = false;
	unsigned s;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.run = run;
	w.opts = opts;
	w.config_path = config_path;
	w.config = config;
	for (s = 0; s < SIDE_COUNT; s++) {
		w.ws[s].w = &w;
		w.ws[s].side = s;
	}
	if (watch_signals() < 0) {
		log_error(NULL, NULL, "cannot catch signals: %s",
		          strerror(errno));
		return IMAPSYNC_EXIT_SERVER;
	}
	run->stop = &watch_stop;
	run->skip = watch_skip;
	run->synced = watch_synced;
	run->hook_ctx = &w;
	w.changed = true;
	/* Lines hours apart: each says when. */
	log_stamp_stderr(true);
	/* Said once, so that a terminal that shows nothing more is known to
	 * be waiting, not hung. */
	if (opts->notify)
		log_info(NULL, NULL,
		         "--notify: syncing now, then at each change the "
		         "servers report (and every %u s); SIGINT or SIGTERM "
		         "stops, SIGHUP reads %s again",
		         opts->watch_seconds, config_path);
	else
		log_info(NULL, NULL,
		         "--watch: syncing now, then every %u s; SIGINT or "
		         "SIGTERM stops, SIGHUP reads %s again",
		         opts->watch_seconds, config_path);
	while (!watch_stop) {
		if (watch_reload) {
			watch_reload = 0;
			watch_reread(&w);
			w.changed = true;
		}
		if (!w.connected) {
			bool before = w.ever_connected;

			if (watch_connect(&w) < 0) {
				if (watch_stop)
					break;
				watch_down(&w);
				continue;
			}
			watch_up(&w, before);
			w.changed = true;
		}
		if (w.changed) {
			int64_t started = summary_clock();

			w.changed = false;
			run->mailbox_failures = 0;
			memset(&run->tally, 0, sizeof(run->tally));
			progress_start();
			if (mailboxes_sync(run, opts->mailboxes,
			                   opts->mailbox_count, false) < 0 ||
			    run->fatal) {
				watch_summary(run, started);
				if (run->braked) {
					status = IMAPSYNC_EXIT_BRAKE;
					break;
				}
				if (!watch_stop)
					watch_down(&w);
				continue;
			}
			watch_summary(run, started);
			watch_unselect(&w);
			w.next_sync_ms =
			    watch_now() + (int64_t)opts->watch_seconds * 1000;
			if (!said_waiting)
				log_info(NULL, NULL, "first sync done; "
				                     "waiting for changes");
			said_waiting = true;
		}
		if (watch_wait(&w) < 0)
			watch_down(&w);
	}
	log_mute(false);
	if (watch_stop)
		log_info(NULL, NULL, "stopping on a signal");
	server_log_stats(run);
	watch_disconnect(&w);
	run->stop = NULL;
	run->skip = NULL;
	run->synced = NULL;
	for (i = 0; i < w.failing_count; i++)
		free(w.failing[i].name);
	free(w.failing);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	close(watch_pipe[0]);
	close(watch_pipe[1]);
	watch_pipe[0] = watch_pipe[1] = -1;
	return status;
}
