/* SPDX-License-Identifier: GPL-3.0-or-later */
/* imapsync --status: what the state database says, without a server.
 *
 * A run or a watcher holds the database in SQLite's exclusive locking
 * mode for as long as it runs, so no other connection can read it, and
 * the lock file must not be taken either (a run starting would fail).
 * The database and its WAL are copied instead, into a private directory,
 * and the copy is read: a copy made while neither file changed is the
 * database as of its last commit (SQLite recovers the WAL of the copy
 * as it would after a crash). The lock file is only probed. */
#include "status.h"

#include "buf.h"
#include "log.h"
#include "mutf7.h"
#include "options.h"
#include "state.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Copies tried before giving up on a database that keeps changing. */
#define STATUS_COPY_TRIES 50

struct status_side {
	bool have;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};

struct status_row {
	char *name; /* UTF-8, local delimiter */
	bool subscribed;
	uint64_t pairs, pending;
	struct status_side side[SIDE_COUNT];
	bool have_synced;
	int64_t synced;
};

struct status {
	const char *path;
	int schema;
	bool locked;
	long pid; /* 0: unknown */
	/* The holder by its command line (Linux's /proc): "watcher" (with
	 * --watch or --notify), "run", or NULL when it cannot be read. */
	const char *holder;
	/* Each side's delimiter; NULL when no run recorded it. */
	char *delim[SIDE_COUNT];
	struct status_row *rows;
	size_t count, alloc;
	uint64_t pairs, pending;
};

/* "watcher" when pid's arguments (before the first MAILBOX, as options
 * are parsed) hold --watch or --notify, "run" when they do not, NULL
 * when they cannot be read. */
static const char *
status_holder(long pid)
{
	char path[64], buf[8192];
	ssize_t n;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* argv[0] first, then each argument after its NUL */
	for (i = strlen(buf) + 1; i < (size_t)n; i += strlen(buf + i) + 1) {
		const char *a = buf + i;

		if (strncmp(a, "--watch", 7) == 0 &&
		    (a[7] == '\0' || a[7] == '='))
			return "watcher";
		if (strcmp(a, "--notify") == 0)
			return "watcher";
		if (a[0] != '-' || strcmp(a, "--") == 0)
			break;
	}
	return "run";
}

/* Whether a run holds path's lock (state.c's take_lock()), and its pid.
 * A shared flock is taken and given back at once when the lock is free:
 * never an exclusive one, and never a file created. */
/* The text of this module's failures (HACKING.md, "Error text"). */
static char status_error[1024];

static void status_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* fmt into status_error; an argument may be status_error itself. */
static void
status_errorf(const char *fmt, ...)
{
	char text[sizeof(status_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(status_error, text, sizeof(text));
}

static int
status_probe_lock(struct status *st, const char **error_r)
{
	char *lock_path, buf[32];
	ssize_t n;
	int fd;

	lock_path = xasprintf("%s.lock", st->path);
	fd = open(lock_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int err = errno;

		if (err == ENOENT) {
			free(lock_path);
			return 0;
		}
		status_errorf("cannot open %s: %s", lock_path, strerror(err));
		free(lock_path);
		*error_r = status_error;
		return -1;
	}
	free(lock_path);
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* a file a killed run left: no lock */
		flock(fd, LOCK_UN);
		close(fd);
		return 0;
	}
	st->locked = true;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	st->pid = strtol(buf, NULL, 10);
	if (st->pid < 0)
		st->pid = 0;
	if (st->pid > 0)
		st->holder = status_holder(st->pid);
	return 0;
}

static bool
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Copy from to to (created 0600); the stat of from before and after in
 * *before and *after, or st_ino 0 in both when from does not exist. */
static int
copy_file(const char *from, const char *to, struct stat *before,
          struct stat *after, const char **error_r)
{
	char buf[65536];
	int in, out = -1;
	ssize_t n;

	memset(before, 0, sizeof(*before));
	memset(after, 0, sizeof(*after));
	in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0 && errno == ENOENT)
		return 0;
	if (in < 0 || fstat(in, before) < 0)
		goto fail_from;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		goto fail_to;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n)
			goto fail_to;
	}
	if (n < 0 || fstat(in, after) < 0)
		goto fail_from;
	close(in);
	if (close(out) < 0) {
		out = -1;
		goto fail_to;
	}
	return 0;
fail_from:
	status_errorf("cannot read %s: %s", from, strerror(errno));
	goto fail;
fail_to:
	status_errorf("cannot write %s: %s", to, strerror(errno));
fail:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	*error_r = status_error;
	return -1;
}

/* The database and its WAL, copied into dir while neither changed. */
static int
status_snapshot(const char *path, const char *dir, char **copy_r,
                const char **error_r)
{
	struct stat db[2], wal[2], again;
	char *wal_path, *copy, *copy_wal;
	int tries, ret = -1;

	wal_path = xasprintf("%s-wal", path);
	copy = xasprintf("%s/state.db", dir);
	copy_wal = xasprintf("%s/state.db-wal", dir);
	for (tries = 0; tries < STATUS_COPY_TRIES; tries++) {
		if (tries > 0)
			usleep(100 * 1000);
		unlink(copy_wal);
		if (copy_file(path, copy, &db[0], &db[1], error_r) < 0 ||
		    copy_file(wal_path, copy_wal, &wal[0], &wal[1], error_r) <
		        0)
			goto out;
		if (db[0].st_ino == 0) {
			status_errorf("database %s does not exist", path);
			*error_r = status_error;
			goto out;
		}
		/* the database did not change while the WAL was copied */
		if (stat(path, &again) < 0)
			memset(&again, 0, sizeof(again));
		if (same_stat(&db[0], &db[1]) && same_stat(&wal[0], &wal[1]) &&
		    same_stat(&db[1], &again)) {
			ret = 0;
			break;
		}
	}
	if (ret < 0) {
		status_errorf("database %s kept changing while it was read: "
		              "run --status again",
		              path);
		*error_r = status_error;
	}
out:
	free(wal_path);
	free(copy_wal);
	if (ret == 0)
		*copy_r = copy;
	else
		free(copy);
	return ret;
}

static void
status_cleanup(const char *dir)
{
	static const char *const files[] = {"state.db", "state.db-wal",
	                                    "state.db-shm", "state.db-journal"};
	char *path;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path = xasprintf("%s/%s", dir, files[i]);
		unlink(path);
		free(path);
	}
	rmdir(dir);
}

static bool
has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *s;
	bool found = false;

	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM sqlite_schema WHERE type = "
	                       "'table' AND name = ?1",
	                       -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/* The name as the user knows it: the local delimiter for the NULs, and
 * modified UTF-7 decoded (the bytes as they are, controls as '?', when
 * it is not valid modified UTF-7). Caller frees. */
static char *
status_name(const struct status *st, const unsigned char *name, size_t len)
{
	const char *d = st->delim[SIDE_LOCAL];
	char delim = d != NULL && d[0] != '\0' ? d[0] : '/';
	struct buf *b = buf_create(4 * len + 16);
	const char *error;
	char *raw = xmalloc(len + 1), *out;
	size_t i;

	for (i = 0; i < len; i++)
		raw[i] = name[i] == '\0'  ? delim
		         : name[i] < 0x20 ? '?'
		                          : (char)name[i];
	raw[len] = '\0';
	if (mutf7_decode(raw, len, b, &error) < 0) {
		buf_free(&b);
		return raw;
	}
	out = xstrndup(buf_data(b), buf_len(b));
	buf_free(&b);
	free(raw);
	return out;
}

static int
status_read(struct status *st, sqlite3 *db, const char **error_r)
{
	bool pending = has_table(db, "pending"),
	     synced = has_table(db, "synced");
	sqlite3_stmt *s = NULL;
	char *sql;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto db_error;
	st->schema = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (st->schema > STATE_SCHEMA_VERSION) {
		status_errorf("database %s: schema version %d is newer than "
		              "this imapsync knows (%d)",
		              st->path, st->schema, STATE_SCHEMA_VERSION);
		*error_r = status_error;
		return -1;
	}
	if (st->schema < 1 || !has_table(db, "mailboxes"))
		return 0; /* created and never used */
	if (has_table(db, "delimiter")) {
		if (sqlite3_prepare_v2(db, "SELECT side, delim FROM delimiter",
		                       -1, &s, NULL) != SQLITE_OK)
			goto db_error;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *side =
			    (const char *)sqlite3_column_text(s, 0);
			const char *delim =
			    (const char *)sqlite3_column_text(s, 1);
			enum side i = strcmp(side, "local") == 0 ? SIDE_LOCAL
			                                         : SIDE_REMOTE;

			free(st->delim[i]);
			st->delim[i] = xstrdup(delim != NULL ? delim : "");
		}
		sqlite3_finalize(s);
		s = NULL;
		if (rc != SQLITE_DONE)
			goto db_error;
	}
	sql =
	    xasprintf("SELECT m.mailbox, m.subscribed, "
	              "l.UIDVALIDITY, l.UIDNEXT, l.HIGHESTMODSEQ, "
	              "r.UIDVALIDITY, r.UIDNEXT, r.HIGHESTMODSEQ, "
	              "(SELECT COUNT(*) FROM mapping p WHERE p.idx = m.idx), "
	              "%s, %s "
	              "FROM mailboxes m LEFT JOIN local l ON l.idx = m.idx "
	              "LEFT JOIN remote r ON r.idx = m.idx ORDER BY m.mailbox",
	              pending ? "(SELECT COUNT(*) FROM pending q "
	                        "WHERE q.idx = m.idx)"
	                      : "0",
	              synced ? "(SELECT time FROM synced t WHERE t.idx = m.idx)"
	                     : "NULL");
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		goto db_error;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct status_row *r;

		if (st->count == st->alloc) {
			st->alloc = st->alloc == 0 ? 16 : st->alloc * 2;
			st->rows = xreallocarray(st->rows, st->alloc,
			                         sizeof(*st->rows));
		}
		r = &st->rows[st->count++];
		memset(r, 0, sizeof(*r));
		r->name = status_name(st, sqlite3_column_blob(s, 0),
		                      (size_t)sqlite3_column_bytes(s, 0));
		r->subscribed = sqlite3_column_int(s, 1) != 0;
		for (unsigned i = 0; i < SIDE_COUNT; i++) {
			int col = 2 + 3 * (int)i;

			if (sqlite3_column_type(s, col) == SQLITE_NULL)
				continue;
			r->side[i].have = true;
			r->side[i].uidvalidity =
			    (uint32_t)sqlite3_column_int64(s, col);
			r->side[i].uidnext =
			    (uint32_t)sqlite3_column_int64(s, col + 1);
			r->side[i].highestmodseq =
			    (uint64_t)sqlite3_column_int64(s, col + 2);
		}
		r->pairs = (uint64_t)sqlite3_column_int64(s, 8);
		r->pending = (uint64_t)sqlite3_column_int64(s, 9);
		r->have_synced = sqlite3_column_type(s, 10) != SQLITE_NULL;
		r->synced = sqlite3_column_int64(s, 10);
		st->pairs += r->pairs;
		st->pending += r->pending;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		s = NULL;
		goto db_error;
	}
	return 0;
db_error:
	status_errorf("database %s: %s", st->path, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	*error_r = status_error;
	return -1;
}

static const char *
status_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

/* Characters (not bytes) of a UTF-8 string, for the columns. */
static size_t
utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void
status_print_text(const struct status *st, FILE *out)
{
	size_t width = strlen("MAILBOX"), i;
	int64_t last = 0;
	char tbuf[64];

	fprintf(out, "database %s (schema %d)\n", st->path, st->schema);
	if (st->locked && st->pid > 0)
		fprintf(out,
		        "lock: held by pid %ld (%s is using the database; "
		        "shown as of its last commit)\n",
		        st->pid,
		        st->holder == NULL ? "a run or a watcher"
		        : strcmp(st->holder, "watcher") == 0 ? "a watcher"
		                                             : "a run");
	else if (st->locked)
		fprintf(out, "lock: held (a run or a watcher is using the "
		             "database; shown as of its last commit)\n");
	else
		fprintf(out, "lock: free (no run or watcher)\n");
	for (i = 0; i < st->count; i++) {
		size_t w = utf8_width(st->rows[i].name);

		if (w > width)
			width = w;
	}
	if (width > 40)
		width = 40;
	fprintf(out, "%-*s %8s %7s %10s %15s %10s %15s  %s\n", (int)width,
	        "MAILBOX", "PAIRS", "PENDING", "L.UIDNEXT", "L.HIGHESTMODSEQ",
	        "R.UIDNEXT", "R.HIGHESTMODSEQ", "LAST SYNC (UTC)");
	for (i = 0; i < st->count; i++) {
		const struct status_row *r = &st->rows[i];
		char num[4][24];
		size_t w = utf8_width(r->name);

		for (unsigned s = 0; s < SIDE_COUNT; s++) {
			if (!r->side[s].have) {
				strcpy(num[2 * s], "-");
				strcpy(num[2 * s + 1], "-");
				continue;
			}
			snprintf(num[2 * s], sizeof(num[0]), "%" PRIu32,
			         r->side[s].uidnext);
			snprintf(num[2 * s + 1], sizeof(num[0]), "%" PRIu64,
			         r->side[s].highestmodseq);
		}
		/* printf pads bytes: pad a UTF-8 name by characters */
		fprintf(
		    out,
		    "%s%*s %8" PRIu64 " %7" PRIu64 " %10s %15s %10s %15s  %s\n",
		    r->name, (int)(w < width ? width - w : 0), "", r->pairs,
		    r->pending, num[0], num[1], num[2], num[3],
		    r->have_synced ? status_time(r->synced, tbuf, sizeof(tbuf))
		                   : "never");
		if (r->have_synced && r->synced > last)
			last = r->synced;
	}
	fprintf(out,
	        "total: %zu %s, %" PRIu64 " %s, %" PRIu64
	        " interrupted %s pending",
	        st->count, log_plural(st->count, "mailbox", "mailboxes"),
	        st->pairs, log_plural(st->pairs, "pair", "pairs"), st->pending,
	        log_plural(st->pending, "copy", "copies"));
	if (last > 0)
		fprintf(out, ", last sync %s UTC",
		        status_time(last, tbuf, sizeof(tbuf)));
	fputc('\n', out);
}

static void
json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else if (c >= 0x80) {
			/* a byte that begins no valid UTF-8 sequence would
			 * make the document invalid: U+FFFD instead */
			const unsigned char *p = (const unsigned char *)s;
			size_t n = c >= 0xF0 && c < 0xF5   ? 4
			           : c >= 0xE0             ? 3
			           : c >= 0xC2 && c < 0xE0 ? 2
			                                   : 0;
			size_t k;

			for (k = 1; k < n && (p[k] & 0xC0) == 0x80; k++)
				;
			if (n == 0 || k < n) {
				fputs("\\ufffd", out);
				continue;
			}
			fwrite(s, 1, n, out);
			s += n - 1;
		} else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
status_print_json(const struct status *st, FILE *out)
{
	fputs("{\"database\": ", out);
	json_string(out, st->path);
	fprintf(out, ", \"schema\": %d, \"lock\": {\"held\": %s, \"pid\": ",
	        st->schema, st->locked ? "true" : "false");
	if (st->locked && st->pid > 0)
		fprintf(out, "%ld", st->pid);
	else
		fputs("null", out);
	fputs(", \"by\": ", out);
	if (st->locked && st->holder != NULL)
		fprintf(out, "\"%s\"}", st->holder);
	else
		fputs("null}", out);
	fputs(", \"delimiter\": {", out);
	for (unsigned s = 0; s < SIDE_COUNT; s++) {
		fprintf(out, "%s\"%s\": ", s > 0 ? ", " : "", side_name(s));
		if (st->delim[s] != NULL)
			json_string(out, st->delim[s]);
		else
			fputs("null", out);
	}
	fputs("}, \"mailboxes\": [", out);
	for (size_t i = 0; i < st->count; i++) {
		const struct status_row *r = &st->rows[i];

		fputs(i > 0 ? ",\n  {\"name\": " : "\n  {\"name\": ", out);
		json_string(out, r->name);
		fprintf(out,
		        ", \"subscribed\": %s, \"pairs\": %" PRIu64
		        ", \"pending\": %" PRIu64,
		        r->subscribed ? "true" : "false", r->pairs, r->pending);
		for (unsigned s = 0; s < SIDE_COUNT; s++) {
			if (!r->side[s].have) {
				fprintf(out, ", \"%s\": null", side_name(s));
				continue;
			}
			fprintf(out,
			        ", \"%s\": {\"uidvalidity\": %" PRIu32
			        ", \"uidnext\": %" PRIu32
			        ", \"highestmodseq\": %" PRIu64 "}",
			        side_name(s), r->side[s].uidvalidity,
			        r->side[s].uidnext, r->side[s].highestmodseq);
		}
		if (r->have_synced)
			fprintf(out, ", \"last_sync\": %" PRId64 "}",
			        r->synced);
		else
			fputs(", \"last_sync\": null}", out);
	}
	fprintf(out,
	        "%s], \"total\": {\"mailboxes\": %zu, \"pairs\": %" PRIu64
	        ", \"pending\": %" PRIu64 "}}\n",
	        st->count > 0 ? "\n" : "", st->count, st->pairs, st->pending);
}

int
status_show(const char *path, bool json, FILE *out)
{
	struct status st;
	char dir[4096], *copy = NULL;
	const char *tmp = getenv("TMPDIR"), *error = NULL;
	sqlite3 *db = NULL;
	struct stat sb;
	int status = IMAPSYNC_EXIT_SERVER;

	memset(&st, 0, sizeof(st));
	st.path = path;
	if (status_probe_lock(&st, &error) < 0)
		goto fail;
	if (stat(path, &sb) < 0 && errno == ENOENT) {
		/* no run yet: nothing to show, and nothing is created */
		if (json)
			status_print_json(&st, out);
		else
			fprintf(out,
			        "database %s does not exist yet: no run has "
			        "synchronized this configuration\n",
			        path);
		return IMAPSYNC_EXIT_OK;
	}
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/imapsync-status.XXXXXX",
	                     tmp) >= sizeof(dir) ||
	    mkdtemp(dir) == NULL) {
		log_error("database", NULL,
		          "cannot make a directory under %s for a copy of %s: "
		          "%s",
		          tmp, path, strerror(errno));
		return IMAPSYNC_EXIT_SERVER;
	}
	if (status_snapshot(path, dir, &copy, &error) < 0)
		goto fail_dir;
	if (sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		status_errorf("cannot read the copy of %s: %s", path,
		              db != NULL ? sqlite3_errmsg(db)
		                         : "out of memory");
		error = status_error;
		goto fail_dir;
	}
	if (status_read(&st, db, &error) < 0)
		goto fail_dir;
	if (json)
		status_print_json(&st, out);
	else
		status_print_text(&st, out);
	status = fflush(out) == 0 ? IMAPSYNC_EXIT_OK : IMAPSYNC_EXIT_SERVER;
	error = NULL;
fail_dir:
	sqlite3_close(db);
	status_cleanup(dir);
	free(copy);
fail:
	if (error != NULL)
		log_error("database", NULL, "%s", error);
	for (size_t i = 0; i < st.count; i++)
		free(st.rows[i].name);
	free(st.rows);
	free(st.delim[0]);
	free(st.delim[1]);
	return status;
}
