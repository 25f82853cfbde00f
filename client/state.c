/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The state database itself: opening it (the lock, the journal, the
 * schema brought up to date), closing and discarding it, transactions,
 * and what the other state-*.c files share to reach it: the SQL of each
 * prepared statement, the helpers that run them, the flagset cache.
 * state-private.h says which file owns which table. */
#include "limits.h"
#include "state-private.h"

#include "xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATUS_SET(t)                                                          \
	"INSERT INTO " t " (idx, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) "        \
	"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (idx) DO UPDATE SET "             \
	"UIDVALIDITY = excluded.UIDVALIDITY, UIDNEXT = excluded.UIDNEXT, "     \
	"HIGHESTMODSEQ = excluded.HIGHESTMODSEQ"
#define PENDING_COLS "SELECT idx, side, uid, fingerprint, created FROM pending"

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_MAILBOX_FIND] =
        "SELECT idx, subscribed FROM mailboxes WHERE mailbox = ?1",
    [STMT_MAILBOX_CREATE] =
        "INSERT INTO mailboxes (mailbox, subscribed) VALUES (?1, ?2)",
    [STMT_MAILBOX_SUBSCRIBE] =
        "UPDATE mailboxes SET subscribed = ?2 WHERE idx = ?1",
    [STMT_MAILBOX_LIST] =
        "SELECT m.idx, m.mailbox, m.subscribed, "
        "l.UIDVALIDITY, l.UIDNEXT, l.HIGHESTMODSEQ, "
        "r.UIDVALIDITY, r.UIDNEXT, r.HIGHESTMODSEQ "
        "FROM mailboxes m LEFT JOIN local l ON l.idx = m.idx "
        "LEFT JOIN remote r ON r.idx = m.idx ORDER BY m.mailbox",
    /* BLOBs compare as memcmp: names from "from\0" up to (excluding)
     * "from\1" are exactly the children */
    [STMT_RENAME_LIST] = "SELECT idx, mailbox FROM mailboxes "
                         "WHERE mailbox = ?1 "
                         "OR (mailbox >= ?2 AND mailbox < ?3)",
    [STMT_RENAME_SET] = "UPDATE mailboxes SET mailbox = ?2 WHERE idx = ?1",
    [STMT_DELETE_MAPPING] = "DELETE FROM mapping WHERE idx = ?1",
    [STMT_DELETE_LOCAL] = "DELETE FROM local WHERE idx = ?1",
    [STMT_DELETE_REMOTE] = "DELETE FROM remote WHERE idx = ?1",
    [STMT_DELETE_PENDING] = "DELETE FROM pending WHERE idx = ?1",
    [STMT_DELETE_EXPUNGING] = "DELETE FROM expunging WHERE idx = ?1",
    [STMT_DELETE_MAILBOX] = "DELETE FROM mailboxes WHERE idx = ?1",
    [STMT_STATUS_GET_LOCAL] = "SELECT UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ "
                              "FROM local WHERE idx = ?1",
    [STMT_STATUS_GET_REMOTE] = "SELECT UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ "
                               "FROM remote WHERE idx = ?1",
    [STMT_STATUS_SET_LOCAL] = STATUS_SET("local"),
    [STMT_STATUS_SET_REMOTE] = STATUS_SET("remote"),
    [STMT_MAPPING_REMOVE_LOCAL] =
        "DELETE FROM mapping WHERE idx = ?1 AND lUID = ?2",
    [STMT_MAPPING_REMOVE_REMOTE] =
        "DELETE FROM mapping WHERE idx = ?1 AND rUID = ?2",
    [STMT_MAPPING_LOOKUP_LOCAL] =
        "SELECT rUID, size FROM mapping WHERE idx = ?1 AND lUID = ?2",
    [STMT_MAPPING_LOOKUP_REMOTE] =
        "SELECT lUID, size FROM mapping WHERE idx = ?1 AND rUID = ?2",
    [STMT_MAPPING_COUNT] = "SELECT COUNT(*) FROM mapping WHERE idx = ?1",
    [STMT_MAPPING_LIST_LOCAL] = "SELECT lUID, rUID FROM mapping "
                                "WHERE idx = ?1 AND lUID BETWEEN ?2 AND ?3 "
                                "ORDER BY lUID",
    [STMT_MAPPING_LIST_REMOTE] = "SELECT lUID, rUID FROM mapping "
                                 "WHERE idx = ?1 AND rUID BETWEEN ?2 AND ?3 "
                                 "ORDER BY rUID",
    [STMT_PENDING_ADD] = "INSERT INTO pending "
                         "(idx, side, uid, fingerprint, created) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_PENDING_REMOVE] = "DELETE FROM pending "
                            "WHERE idx = ?1 AND side = ?2 AND uid = ?3",
    [STMT_PENDING_LIST_ONE] = PENDING_COLS " WHERE idx = ?1 "
                                           "ORDER BY created, rowid",
    [STMT_PENDING_LIST_ALL] = PENDING_COLS " ORDER BY created, rowid",
    [STMT_ID_SET] = "INSERT INTO mailbox_id (idx, side, id) "
                    "VALUES (?1, ?2, ?3) ON CONFLICT (idx, side) "
                    "DO UPDATE SET id = excluded.id "
                    "WHERE id != excluded.id",
    [STMT_ID_FIND] = "SELECT idx FROM mailbox_id WHERE side = ?1 AND id = ?2",
    [STMT_ID_GET] = "SELECT id FROM mailbox_id WHERE idx = ?1 AND side = ?2",
    [STMT_ID_MISSING] = "SELECT count(*) FROM mailboxes m WHERE NOT EXISTS "
                        "(SELECT 1 FROM mailbox_id i "
                        "WHERE i.idx = m.idx AND i.side = ?1)",
    [STMT_MAILBOX_COUNT] = "SELECT count(*) FROM mailboxes",
    [STMT_REFUSAL_GET] =
        "SELECT reason FROM refusal WHERE side = ?1 AND feature = ?2",
    [STMT_REFUSAL_SET] = "INSERT OR REPLACE INTO refusal "
                         "(side, feature, reason, created) "
                         "VALUES (?1, ?2, ?3, ?4)",
    [STMT_SYNCED_SET] = "INSERT INTO synced (idx, time) VALUES (?1, ?2) "
                        "ON CONFLICT (idx) DO UPDATE SET time = excluded.time",
    [STMT_SYNCED_SET_RANGE] = "UPDATE synced SET time = ?3 "
                              "WHERE idx BETWEEN ?1 AND ?2",
    [STMT_DELIM_SET] = "INSERT INTO delimiter (side, delim) VALUES (?1, ?2) "
                       "ON CONFLICT (side) DO UPDATE SET delim = "
                       "excluded.delim WHERE delim != excluded.delim",
    [STMT_FLAGSET_FIND] = "SELECT id FROM flagset WHERE flags = ?1",
    [STMT_FLAGSET_ADD] = "INSERT INTO flagset (flags) VALUES (?1)",
    [STMT_MAPPING_ADD_BASE] =
        "INSERT INTO mapping (idx, lUID, rUID, size, base) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_BASE_SET] =
        "UPDATE mapping SET base = ?3 WHERE idx = ?1 AND lUID = ?2",
    [STMT_BASE_GET_LOCAL] =
        "SELECT f.flags FROM mapping m JOIN flagset f ON f.id = m.base "
        "WHERE m.idx = ?1 AND m.lUID = ?2",
    [STMT_BASE_GET_REMOTE] =
        "SELECT f.flags FROM mapping m JOIN flagset f ON f.id = m.base "
        "WHERE m.idx = ?1 AND m.rUID = ?2",
    [STMT_MARK_GET] =
        "SELECT local_hms, remote_hms FROM base_mark WHERE idx = ?1",
    [STMT_MARK_SET] = "INSERT OR REPLACE INTO base_mark "
                      "(idx, local_hms, remote_hms) VALUES (?1, ?2, ?3)",
    [STMT_BASE_FORGET] = "UPDATE mapping SET base = NULL "
                         "WHERE idx = ?1 AND base IS NOT NULL",
    [STMT_PENDING_ADD_BASE] = "INSERT INTO pending "
                              "(idx, side, uid, fingerprint, created, base) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_PENDING_BASE_GET] =
        "SELECT f.flags FROM pending p JOIN flagset f ON f.id = p.base "
        "WHERE p.idx = ?1 AND p.side = ?2 AND p.uid = ?3",
    [STMT_EXPUNGING_ADD] = "INSERT OR IGNORE INTO expunging (idx, side, uid) "
                           "VALUES (?1, ?2, ?3)",
    [STMT_EXPUNGING_REMOVE] = "DELETE FROM expunging "
                              "WHERE idx = ?1 AND side = ?2 AND uid = ?3",
    [STMT_EXPUNGING_LIST] = "SELECT uid FROM expunging "
                            "WHERE idx = ?1 AND side = ?2 ORDER BY uid",
    [STMT_EXPUNGING_ANY] = "SELECT EXISTS (SELECT 1 FROM expunging)",
};

char state_open_error[1024];

int
state_set_error(struct state *st, const char **error_r, const char *fmt, ...)
{
	char *buf = st != NULL ? st->error : state_open_error;
	size_t size = st != NULL ? sizeof(st->error) : sizeof(state_open_error);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	*error_r = buf;
	return -1;
}

int
state_db_error(struct state *st, const char **error_r, const char *what)
{
	return state_set_error(st, error_r, "database %s: %s: %s", st->path,
	                       what, sqlite3_errmsg(st->db));
}

sqlite3_stmt *
state_stmt(struct state *st, enum stmt id, const char **error_r)
{
	if (st->stmts[id] == NULL &&
	    sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
	                       SQLITE_PREPARE_PERSISTENT, &st->stmts[id],
	                       NULL) != SQLITE_OK) {
		state_db_error(st, error_r, "prepare");
		return NULL;
	}
	return st->stmts[id];
}

void
state_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Step s to its end (a statement returning no rows); the number of rows
 * changed, or -1. */
int
state_run(struct state *st, sqlite3_stmt *s, const char *what,
          const char **error_r)
{
	int rc = sqlite3_step(s);

	state_done(s);
	if (rc != SQLITE_DONE)
		return state_db_error(st, error_r, what);
	return sqlite3_changes(st->db);
}

int
state_exec(struct state *st, const char *sql, const char **error_r)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return state_db_error(st, error_r, sql);
	return 0;
}

int
state_exec_list(struct state *st, const char *const *sql, const char **error_r)
{
	for (; *sql != NULL; sql++) {
		if (state_exec(st, *sql, error_r) < 0)
			return -1;
	}
	return 0;
}

int
state_pragma_int(struct state *st, const char *sql, int *value_r,
                 const char **error_r)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return state_db_error(st, error_r, sql);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*value_r = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return state_db_error(st, error_r, sql);
	return 0;
}

/* mkdir -p of path's parent, new directories mode 0700. */
static int
make_parents(const char *path, const char **error_r)
{
	char *dir = xstrdup(path), *p;

	for (p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			state_set_error(NULL, error_r, "cannot create %s: %s",
			                dir, strerror(errno));
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

/* The sidecar lock: flock() on PATH.lock, which holds the owner's pid.
 * flock rather than SQLite's own locks so that a second instance fails
 * at once with a pid to show, and on a file of its own so that it never
 * meets SQLite's fcntl locks (they are the same lock on NFS). The owner
 * removes the file while it still holds the lock (state_close()), so a
 * lock won on a file that is no longer at PATH.lock is no lock: the file
 * is opened again. */
int
state_take_lock(const char *path, int *fd_r, char **lock_path_r, bool *kept_r,
                const char **error_r)
{
	char *lock_path, buf[32];
	struct stat fst, pst;
	ssize_t n;
	int fd, tries;

	lock_path = xasprintf("%s.lock", path);
	/* A dry run (kept_r) leaves a file it found as it was: one a
	 * killed run left keeps its pid and stays. */
	if (kept_r != NULL)
		*kept_r = lstat(lock_path, &pst) == 0;
	for (tries = 0;; tries++) {
		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		          0600);
		if (fd < 0) {
			state_set_error(NULL, error_r, "cannot open %s: %s",
			                lock_path, strerror(errno));
			free(lock_path);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = errno;

			n = pread(fd, buf, sizeof(buf) - 1, 0);
			close(fd);
			free(lock_path);
			if (err != EWOULDBLOCK)
				return state_set_error(NULL, error_r,
				                       "cannot lock %s: %s",
				                       path, strerror(err));
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			state_set_error(
			    NULL, error_r,
			    "another imapsync is running on %s (pid %s)", path,
			    buf[0] != '\0' ? buf : "unknown");
			return STATE_LOCKED;
		}
		if (fstat(fd, &fst) == 0 && lstat(lock_path, &pst) == 0 &&
		    fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
			break;
		/* removed by the run that held it, between our open and
		 * our flock */
		close(fd);
		if (tries == 10) {
			state_set_error(
			    NULL, error_r,
			    "cannot lock %s: %s keeps being replaced", path,
			    lock_path);
			free(lock_path);
			return -1;
		}
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if ((kept_r == NULL || !*kept_r) &&
	    (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n)) {
		state_set_error(NULL, error_r, "cannot write %s: %s", lock_path,
		                strerror(errno));
		close(fd);
		free(lock_path);
		return -1;
	}
	*fd_r = fd;
	*lock_path_r = lock_path;
	return 0;
}

/* Create the file ourselves: SQLite would create it 0644 & ~umask. Its
 * -wal file takes the database file's mode. */
static int
create_file(const char *path, const char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		state_set_error(NULL, error_r, "cannot create %s: %s", path,
		                strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
locked_by_other(struct state *st, const char **error_r)
{
	state_set_error(st, error_r,
	                "database %s is locked by another program (interimap?)",
	                st->path);
	return STATE_LOCKED;
}

/* Journal: WAL. A commit appends to one file and syncs it once, where the
 * rollback journal writes and syncs the journal, the database and the
 * directory; the engine commits often (each intent before its APPEND),
 * so this is where the time goes. synchronous=FULL keeps every commit
 * across a power cut, which the intents need. locking_mode=EXCLUSIVE
 * (interimap's too) holds SQLite's lock for the whole run, so interimap
 * on the same file is refused as well, and WAL then needs no -shm file;
 * with the lock held, the page cache stays valid from one transaction to
 * the next, and STATE_CACHE_KIB of it keeps a large mailbox's pairs in
 * memory instead of reading them from the file at each pass. */
static int
configure(struct state *st, const char **error_r)
{
	char sql[64];
	sqlite3_stmt *s;
	bool wal;
	int rc;

	if (state_exec(st, "PRAGMA locking_mode = EXCLUSIVE", error_r) < 0)
		return -1;
	/* preparing reads the schema: a lock held elsewhere shows here */
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	                        NULL);
	if (rc == SQLITE_BUSY)
		return locked_by_other(st, error_r);
	if (rc != SQLITE_OK)
		return state_db_error(st, error_r, "PRAGMA journal_mode");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		if (rc == SQLITE_BUSY)
			return locked_by_other(st, error_r);
		return state_db_error(st, error_r, "PRAGMA journal_mode");
	}
	wal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
	sqlite3_finalize(s);
	if (!wal)
		return state_set_error(st, error_r,
		                       "database %s: cannot use WAL", st->path);
	if (state_exec(st, "PRAGMA synchronous = FULL", error_r) < 0 ||
	    state_exec(st, "PRAGMA foreign_keys = ON", error_r) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STATE_CACHE_KIB);
	return state_exec(st, sql, error_r);
}

int
state_open(const char *path, struct state **state_r, const char **error_r)
{
	struct state *st;
	int ret, version;

	*state_r = NULL;
	if (path[0] == '\0')
		return state_set_error(NULL, error_r, "empty database path");
	if (make_parents(path, error_r) < 0)
		return -1;
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->lock_fd = -1;
	ret =
	    state_take_lock(path, &st->lock_fd, &st->lock_path, NULL, error_r);
	if (ret == 0)
		ret = create_file(path, error_r);
	/* NOFOLLOW: config_database_check() refused a symlink; one made
	 * since is refused here. */
	if (ret == 0 &&
	    sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK) {
		ret = state_set_error(
		    NULL, error_r, "cannot open database %s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
	}
	if (ret == 0)
		ret = configure(st, error_r);
	if (ret == 0) {
		int rc =
		    sqlite3_exec(st->db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);

		if (rc == SQLITE_BUSY)
			ret = locked_by_other(st, error_r);
		else if (rc != SQLITE_OK)
			ret = state_db_error(st, error_r, "BEGIN EXCLUSIVE");
	}
	if (ret == 0) {
		if (state_pragma_int(st, "PRAGMA user_version", &version,
		                     error_r) < 0 ||
		    (version != STATE_SCHEMA_VERSION &&
		     state_migrate(st, version, error_r) < 0) ||
		    state_exec(st, "COMMIT", error_r) < 0)
			ret = -1;
		st->found_version = version;
	}
	if (ret < 0) {
		/* the message may live in st: move it out first */
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

static void
forget_last_flags(struct state *st)
{
	for (unsigned i = 0; i < FLAGS_CACHE; i++) {
		free(st->flags_cache[i].flags);
		st->flags_cache[i].flags = NULL;
	}
}

void
state_close(struct state **_st)
{
	struct state *st = *_st;

	if (st == NULL)
		return;
	*_st = NULL;
	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	if (st->db != NULL) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(st->db);
	}
	if (st->lock_fd >= 0) {
		/* while still holding it: see state_take_lock() */
		if (st->lock_path != NULL && !st->lock_kept)
			unlink(st->lock_path);
		close(st->lock_fd);
	}
	free(st->lock_path);
	forget_last_flags(st);
	free(st->path);
	free(st);
}

void
state_discard(struct state **_st)
{
	struct state *st = *_st;
	char *side;

	if (st == NULL)
		return;
	*_st = NULL;
	for (int i = 0; i < STMT_COUNT; i++) {
		sqlite3_finalize(st->stmts[i]);
		st->stmts[i] = NULL;
	}
	if (st->db != NULL) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(st->db);
		st->db = NULL;
	}
	/* under the lock still, so no other run opens it meanwhile */
	unlink(st->path);
	side = xasprintf("%s-wal", st->path);
	unlink(side);
	free(side);
	side = xasprintf("%s-journal", st->path);
	unlink(side);
	free(side);
	*_st = st;
	state_close(_st);
}

int
state_found_version(const struct state *st)
{
	return st->found_version;
}

int
state_begin(struct state *st, const char **error_r)
{
	if (st->batch)
		return state_savepoint(st, error_r);
	return state_exec(st, "BEGIN IMMEDIATE", error_r);
}

int
state_commit(struct state *st, const char **error_r)
{
	if (st->batch)
		return state_savepoint_end(st, true, error_r);
	if (state_exec(st, "COMMIT", error_r) < 0) {
		forget_last_flags(st);
		return -1;
	}
	return 0;
}

int
state_savepoint(struct state *st, const char **error_r)
{
	return state_exec(st, "SAVEPOINT s", error_r);
}

int
state_savepoint_end(struct state *st, bool keep, const char **error_r)
{
	if (keep)
		return state_exec(st, "RELEASE s", error_r);
	if (sqlite3_exec(st->db, "ROLLBACK TO s; RELEASE s", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		*error_r = "cannot roll back a savepoint";
		return -1;
	}
	return 0;
}

int
state_batch_begin(struct state *st, const char **error_r)
{
	if (state_exec(st, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	st->batch = true;
	return 0;
}

int
state_batch_end(struct state *st, bool keep, const char **error_r)
{
	const char *ignored;

	st->batch = false;
	/* COMMIT ends the savepoints a part left open too. */
	if (keep && state_exec(st, "COMMIT", error_r) == 0)
		return 0;
	forget_last_flags(st);
	if (state_in_transaction(st))
		(void)state_exec(st, "ROLLBACK", &ignored);
	return keep ? -1 : 0;
}

int
state_set_lazy(struct state *st, bool lazy, const char **error_r)
{
	/* WAL and synchronous=NORMAL: appended, not synced; the next
	 * FULL commit syncs it too, in order. */
	return state_exec(st,
	                  lazy ? "PRAGMA synchronous = NORMAL"
	                       : "PRAGMA synchronous = FULL",
	                  error_r);
}

bool
state_in_transaction(const struct state *st)
{
	return !sqlite3_get_autocommit(st->db);
}

int
state_rollback(struct state *st, const char **error_r)
{
	forget_last_flags(st);
	if (st->batch)
		return state_savepoint_end(st, false, error_r);
	return state_exec(st, "ROLLBACK", error_r);
}

/* The id of flags' row in flagset, made if missing. */
int
flagset_id(struct state *st, const char *flags, int64_t *id_r,
           const char **error_r)
{
	sqlite3_stmt *s;
	unsigned i;
	int rc;

	for (i = 0; i < FLAGS_CACHE; i++) {
		if (st->flags_cache[i].flags != NULL &&
		    strcmp(st->flags_cache[i].flags, flags) == 0) {
			*id_r = st->flags_cache[i].id;
			return 0;
		}
	}
	if ((s = state_stmt(st, STMT_FLAGSET_FIND, error_r)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, flags, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(s, 0);
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "look up flag list");
	if (rc == SQLITE_DONE) {
		if ((s = state_stmt(st, STMT_FLAGSET_ADD, error_r)) == NULL)
			return -1;
		sqlite3_bind_text(s, 1, flags, -1, SQLITE_STATIC);
		if (state_run(st, s, "add flag list", error_r) < 0)
			return -1;
		*id_r = sqlite3_last_insert_rowid(st->db);
	}
	i = st->flags_cache_next++ % FLAGS_CACHE;
	free(st->flags_cache[i].flags);
	st->flags_cache[i].flags = xstrdup(flags);
	st->flags_cache[i].id = *id_r;
	return 0;
}

/* Bind v to column col of s, or NULL where there is none (no size known,
 * no base). */
void
state_bind_or_null(sqlite3_stmt *s, int col, bool have, int64_t v)
{
	if (have)
		sqlite3_bind_int64(s, col, v);
	else
		sqlite3_bind_null(s, col);
}

/* Step s, bound, for one text column: 1 and *text_r (the caller frees
 * it) for a row, 0 for none. */
int
state_step_text(struct state *st, sqlite3_stmt *s, char **text_r,
                const char *what, const char **error_r)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		/* NULL: SQLite's own allocation failed. */
		if (t == NULL) {
			state_done(s);
			return state_set_error(st, error_r, "out of memory");
		}
		*text_r = xstrdup((const char *)t);
	}
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, what);
	return rc == SQLITE_ROW ? 1 : 0;
}
