/* SPDX-License-Identifier: GPL-3.0-or-later */
/* --dry-run's database: a copy of the one on disk, read into memory
 * (state_open_dry()), where the run's changes go and are lost. */
#include "state-private.h"

#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copy the file at from to to (new, 0600); 0 when from does not exist,
 * 1 when copied. */
static int
copy_file(const char *from, const char *to, const char **error_r)
{
	char buf[65536];
	ssize_t n = 0;
	int in, out, ret = 1;

	in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0 && errno == ENOENT)
		return 0;
	if (in < 0)
		return state_set_error(NULL, error_r, "cannot read %s: %s",
		                       from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return state_set_error(NULL, error_r, "cannot create %s: %s",
		                       to, strerror(errno));
	}
	while (ret == 1 && (n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			ret = state_set_error(NULL, error_r,
			                      "cannot write %s: %s", to,
			                      strerror(errno));
	}
	if (ret == 1 && n < 0)
		ret = state_set_error(NULL, error_r, "cannot read %s: %s", from,
		                      strerror(errno));
	close(in);
	if (close(out) < 0 && ret == 1)
		ret = state_set_error(NULL, error_r, "cannot write %s: %s", to,
		                      strerror(errno));
	return ret;
}

/* The database at path (and its -wal, what a stopped run left there)
 * into memory (db), through a private copy in $TMPDIR that SQLite may
 * recover: path itself is only read. */
static int
read_copy(const char *path, sqlite3 *db, const char **error_r)
{
	static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
	char dir[4096], from[4096 + 8], to[4096 + 16];
	const char *tmp = getenv("TMPDIR");
	sqlite3 *src = NULL;
	sqlite3_backup *bk;
	size_t i;
	int ret = 0, rc;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/imapsync-dry.XXXXXX", tmp) >=
	        sizeof(dir) ||
	    mkdtemp(dir) == NULL)
		return state_set_error(NULL, error_r,
		                       "cannot make a directory in %s: %s", tmp,
		                       strerror(errno));
	for (i = 0; i < 2 && ret == 0; i++) {
		snprintf(from, sizeof(from), "%s%s", path, ext[i]);
		snprintf(to, sizeof(to), "%s/db%s", dir, ext[i]);
		if (copy_file(from, to, error_r) < 0)
			ret = -1;
	}
	snprintf(to, sizeof(to), "%s/db", dir);
	if (ret == 0 &&
	    sqlite3_open_v2(to, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		ret = state_set_error(
		    NULL, error_r, "cannot open database %s: %s", path,
		    src != NULL ? sqlite3_errmsg(src) : "out of memory");
	if (ret == 0) {
		bk = sqlite3_backup_init(db, "main", src, "main");
		rc = bk != NULL ? sqlite3_backup_step(bk, -1)
		                : sqlite3_errcode(db);
		if (bk != NULL)
			sqlite3_backup_finish(bk);
		if (rc != SQLITE_DONE)
			ret = state_set_error(NULL, error_r,
			                      "cannot read database %s: %s",
			                      path, sqlite3_errstr(rc));
	}
	sqlite3_close(src);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(to, sizeof(to), "%s/db%s", dir, ext[i]);
		(void)unlink(to);
	}
	(void)rmdir(dir);
	return ret;
}

/* --dry-run: the database read into memory, so the run goes through the
 * same decisions, writes included, and leaves no trace. A missing file
 * stays missing (no directory, no lock made); an existing one is locked
 * while it is read, so no run is writing it meanwhile. */
int
state_open_dry(const char *path, struct state **state_r, const char **error_r)
{
	struct state *st;
	struct stat sb;
	int ret = 0, version = 0;

	*state_r = NULL;
	if (path[0] == '\0')
		return state_set_error(NULL, error_r, "empty database path");
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->lock_fd = -1;
	if (sqlite3_open_v2(":memory:", &st->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		ret = state_set_error(NULL, error_r,
		                      "cannot open a database in "
		                      "memory: out of memory");
	if (ret == 0 && lstat(path, &sb) == 0) {
		ret = state_take_lock(path, &st->lock_fd, &st->lock_path,
		                      &st->lock_kept, error_r);
		if (ret == 0)
			ret = read_copy(path, st->db, error_r);
	} else if (ret == 0 && errno != ENOENT) {
		ret = state_set_error(NULL, error_r,
		                      "cannot read database %s: %s", path,
		                      strerror(errno));
	}
	if (ret == 0 && state_exec(st, "PRAGMA foreign_keys = ON", error_r) < 0)
		ret = -1;
	if (ret == 0) {
		if (state_exec(st, "BEGIN", error_r) < 0 ||
		    state_pragma_int(st, "PRAGMA user_version", &version,
		                     error_r) < 0 ||
		    (version != STATE_SCHEMA_VERSION &&
		     state_migrate(st, version, error_r) < 0) ||
		    state_exec(st, "COMMIT", error_r) < 0)
			ret = -1;
		st->found_version = version;
	}
	if (ret < 0 || ret == STATE_LOCKED) {
		if (*error_r == st->error) {
			snprintf(state_open_error, sizeof(state_open_error),
			         "%s", st->error);
			*error_r = state_open_error;
		}
		state_close(&st);
		return ret;
	}
	*state_r = st;
	return 0;
}
