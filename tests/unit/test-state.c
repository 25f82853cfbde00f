/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test.h"

#include <ftw.h>
#include <sqlite3.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "limits.h"
#include "state-private.h"
#include "state.h"

static char dir[64];
static char dbpath[128];

/* A fresh temporary directory; the database goes two levels below it so
 * that state_open() has parents to create. */
static const char *
setup(void)
{
	strcpy(dir, "/tmp/test-state.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(dbpath, sizeof(dbpath), "%s/data/imapsync/host.db", dir);
	return dbpath;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK(access(dir, F_OK) != 0);
}

static struct state *
open_ok(const char *path)
{
	struct state *st = NULL;
	const char *error = NULL;

	if (!CHECK_INT_EQ(state_open(path, &st, &error), 0))
		printf("# state_open: %s\n", error);
	return st;
}

/* Run SQL on the file through a connection of our own. */
static int
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

TEST(create_mode_and_schema)
{
	const char *path = setup();
	struct stat st_buf;
	struct state *st;
	char sub[160];
	mode_t old = umask(0);

	st = open_ok(path);
	umask(old);
	CHECK(st != NULL);
	if (st == NULL) {
		teardown();
		return;
	}
	CHECK_INT_EQ(state_found_version(st), 0);
	CHECK(stat(path, &st_buf) == 0 && (st_buf.st_mode & 07777) == 0600);
	snprintf(sub, sizeof(sub), "%s/data/imapsync", dir);
	CHECK(stat(sub, &st_buf) == 0 && (st_buf.st_mode & 07777) == 0700);
	snprintf(sub, sizeof(sub), "%s.lock", path);
	CHECK(stat(sub, &st_buf) == 0 && (st_buf.st_mode & 07777) == 0600);
	state_close(&st);
	CHECK(st == NULL);
	/* the lock file is there only while a run holds it */
	CHECK(stat(sub, &st_buf) < 0 && errno == ENOENT);

	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
	CHECK(raw_int(path, "SELECT COUNT(*) FROM pragma_journal_mode "
	                    "WHERE journal_mode = 'wal'") == 1);
	CHECK(raw_int(path, "SELECT COUNT(*) FROM sqlite_schema WHERE type = "
	                    "'table' AND name IN ('mailboxes', 'local', "
	                    "'remote', 'mapping', 'pending')") == 5);
	st = open_ok(path);
	CHECK(st != NULL && state_found_version(st) == STATE_SCHEMA_VERSION);
	state_close(&st);
	teardown();
}

TEST(second_open_fails_at_once)
{
	const char *path = setup();
	struct state *st = open_ok(path), *st2 = NULL;
	const char *error = NULL;
	char want[256];

	CHECK_INT_EQ(state_open(path, &st2, &error), STATE_LOCKED);
	CHECK(st2 == NULL);
	snprintf(want, sizeof(want),
	         "another imapsync is running on %s (pid %ld)", path,
	         (long)getpid());
	CHECK_STREQ(error, want);
	state_close(&st);
	st2 = open_ok(path);
	CHECK(st2 != NULL);
	state_close(&st2);
	teardown();
}

TEST(locked_by_another_program)
{
	const char *path = setup();
	struct state *st = open_ok(path);
	const char *error = NULL;
	sqlite3 *db;

	state_close(&st);
	/* an interimap-like holder of SQLite's own lock */
	CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
	CHECK(sqlite3_exec(db,
	                   "PRAGMA locking_mode = EXCLUSIVE; "
	                   "BEGIN EXCLUSIVE",
	                   NULL, NULL, NULL) == SQLITE_OK);
	CHECK_INT_EQ(state_open(path, &st, &error), STATE_LOCKED);
	if (!CHECK(error != NULL && strstr(error, "locked by another program")))
		printf("# %s\n", error);
	CHECK(st == NULL);
	sqlite3_close(db);
	st = open_ok(path);
	state_close(&st);
	teardown();
}

TEST(mailboxes)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	int64_t idx, idx2, found;
	bool sub;

	CHECK_INT_EQ(state_mailbox_find(st, "INBOX", 5, &found, &sub, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "INBOX", 5, true, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "a\0b", 3, false, &idx2, &error), 0);
	CHECK(idx != idx2);
	CHECK_INT_EQ(state_mailbox_find(st, "INBOX", 5, &found, &sub, &error), 1);
	CHECK(found == idx && sub);
	CHECK_INT_EQ(state_mailbox_find(st, "a\0b", 3, &found, &sub, &error), 1);
	CHECK(found == idx2 && !sub);
	CHECK_INT_EQ(state_mailbox_find(st, "a", 1, &found, NULL, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "a/b", 3, &found, NULL, &error), 0);
	CHECK_INT_EQ(state_mailbox_set_subscribed(st, idx2, true, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "a\0b", 3, &found, &sub, &error), 1);
	CHECK(sub);
	CHECK(state_mailbox_create(st, "INBOX", 5, false, &found, &error) < 0);
	CHECK(error != NULL && strstr(error, "UNIQUE") != NULL);
	CHECK(state_mailbox_create(st, "", 0, false, &found, &error) < 0);
	state_close(&st);
	teardown();
}

TEST(status)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	struct state_side_status s = {7, 100, 123456789012345ULL}, r;
	int64_t idx;

	CHECK_INT_EQ(state_mailbox_create(st, "INBOX", 5, true, &idx, &error), 0);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_LOCAL, &r, &error), 0);
	CHECK_INT_EQ(state_status_set(st, idx, SIDE_LOCAL, &s, &error), 0);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_LOCAL, &r, &error), 1);
	CHECK(r.uidvalidity == 7 && r.uidnext == 100 &&
	      r.highestmodseq == 123456789012345ULL);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_REMOTE, &r, &error), 0);
	s.uidnext = 4294967295U;
	s.uidvalidity = 4000000000U;
	s.highestmodseq = INT64_MAX;
	CHECK_INT_EQ(state_status_set(st, idx, SIDE_REMOTE, &s, &error), 0);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_REMOTE, &r, &error), 1);
	CHECK(r.uidnext == 4294967295U && r.uidvalidity == 4000000000U &&
	      r.highestmodseq == INT64_MAX);
	/* an update keeps one row */
	s.uidnext = 5;
	CHECK_INT_EQ(state_status_set(st, idx, SIDE_REMOTE, &s, &error), 0);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_REMOTE, &r, &error), 1);
	CHECK_INT_EQ(r.uidnext, 5);
	s.highestmodseq = (uint64_t)INT64_MAX + 1;
	CHECK(state_status_set(st, idx, SIDE_REMOTE, &s, &error) < 0);
	/* UIDVALIDITY > 0 and the foreign key hold */
	s.highestmodseq = 1;
	s.uidvalidity = 0;
	CHECK(state_status_set(st, idx, SIDE_LOCAL, &s, &error) < 0);
	s.uidvalidity = 1;
	CHECK(state_status_set(st, idx + 100, SIDE_LOCAL, &s, &error) < 0);
	CHECK(error != NULL && strstr(error, "FOREIGN KEY") != NULL);
	state_close(&st);
	teardown();
}

struct pairs {
	uint32_t l[8], r[8];
	int n;
};

static int
collect_pair(void *context, uint32_t luid, uint32_t ruid)
{
	struct pairs *p = context;

	p->l[p->n] = luid;
	p->r[p->n] = ruid;
	return ++p->n == 8 ? 1 : 0;
}

TEST(mapping)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	struct pairs p = {{0}, {0}, 0};
	uint64_t count = 99;
	uint32_t other = 0, size = 99;
	int64_t idx;

	CHECK_INT_EQ(state_mailbox_create(st, "INBOX", 5, true, &idx, &error), 0);
	CHECK_INT_EQ(state_mapping_add(st, idx, 1, 30, 0, &error), 0);
	CHECK_INT_EQ(state_mapping_add(st, idx, 2, 10, 0, &error), 0);
	CHECK_INT_EQ(state_mapping_add(st, idx, 3, 20, 0, &error), 0);
	CHECK(state_mapping_add(st, idx, 4, 10, 0, &error) < 0);     /* rUID */
	CHECK(state_mapping_add(st, idx, 1, 40, 0, &error) < 0);     /* lUID */
	CHECK(state_mapping_add(st, idx, 0, 50, 0, &error) < 0);     /* CHECK */
	CHECK(state_mapping_add(st, idx + 1, 5, 50, 0, &error) < 0); /* FK */
	CHECK(state_mapping_count(st, idx, &count, &error) == 0 && count == 3);
	CHECK(state_mapping_lookup(st, idx, SIDE_LOCAL, 2, &other, &error) ==
	      1);
	CHECK_INT_EQ(other, 10);
	CHECK(state_mapping_lookup(st, idx, SIDE_REMOTE, 20, &other, &error) ==
	      1);
	CHECK_INT_EQ(other, 3);
	CHECK(state_mapping_lookup(st, idx, SIDE_REMOTE, 3, &other, &error) ==
	      0);
	CHECK(state_mapping_foreach(st, idx, SIDE_LOCAL, collect_pair, &p,
	                            &error) == 0);
	CHECK(p.n == 3 && p.l[0] == 1 && p.l[1] == 2 && p.l[2] == 3);
	p.n = 0;
	CHECK(state_mapping_foreach(st, idx, SIDE_REMOTE, collect_pair, &p,
	                            &error) == 0);
	CHECK(p.n == 3 && p.r[0] == 10 && p.r[1] == 20 && p.r[2] == 30);
	/* A range of one side's UIDs, by the index, bounds included. */
	p.n = 0;
	CHECK(state_mapping_foreach_range(st, idx, SIDE_LOCAL, 2, 3,
	                                  collect_pair, &p, &error) == 0);
	CHECK(p.n == 2 && p.l[0] == 2 && p.l[1] == 3 && p.r[0] == 10);
	p.n = 0;
	CHECK(state_mapping_foreach_range(st, idx, SIDE_REMOTE, 11, 29,
	                                  collect_pair, &p, &error) == 0);
	CHECK(p.n == 1 && p.l[0] == 3 && p.r[0] == 20);
	p.n = 0;
	CHECK(state_mapping_foreach_range(st, idx, SIDE_LOCAL, 4, UINT32_MAX,
	                                  collect_pair, &p, &error) == 0);
	CHECK_INT_EQ(p.n, 0);
	CHECK_INT_EQ(state_mapping_remove(st, idx, SIDE_REMOTE, 20, &error), 1);
	CHECK_INT_EQ(state_mapping_remove(st, idx, SIDE_REMOTE, 20, &error), 0);
	CHECK_INT_EQ(state_mapping_remove(st, idx, SIDE_LOCAL, 1, &error), 1);
	CHECK(state_mapping_count(st, idx, &count, &error) == 0 && count == 1);
	/* A size, where known, comes back with the pair; none reads 0. */
	CHECK_INT_EQ(state_mapping_add(st, idx, 7, 70, 4321, &error), 0);
	CHECK(state_mapping_lookup_size(st, idx, SIDE_REMOTE, 70, &other,
	                                &size, &error) == 1);
	CHECK(other == 7 && size == 4321);
	CHECK(state_mapping_lookup_size(st, idx, SIDE_LOCAL, 2, &other, &size,
	                                &error) == 1);
	CHECK(other == 10 && size == 0);
	/* UIDs up to 2^32-1 survive */
	CHECK(state_mapping_add(st, idx, 4294967295U, 4294967294U, 0, &error) ==
	      0);
	CHECK(state_mapping_lookup(st, idx, SIDE_LOCAL, 4294967295U, &other,
	                           &error) == 1);
	CHECK_INT_EQ(other, 4294967294U);
	state_close(&st);
	teardown();
}

struct names {
	char name[8][16];
	int n;
};

static int
collect_name(void *context, const struct state_mailbox *mb)
{
	struct names *ns = context;

	if (ns->n == 8 || mb->name_len >= 16)
		return -1;
	memcpy(ns->name[ns->n], mb->name, mb->name_len);
	for (size_t i = 0; i < mb->name_len; i++) {
		if (ns->name[ns->n][i] == '\0')
			ns->name[ns->n][i] = '/';
	}
	ns->name[ns->n][mb->name_len] = '\0';
	ns->n++;
	return 0;
}

/* --status's times: by index range, the rows there updated and the
 * missing ones made; the indexes outside left alone. */
TEST(synced_range)
{
	const char *path = setup();
	struct state *st = open_ok(path);
	const char *error = NULL;
	int64_t idx[5];
	char name[2] = "a";

	for (int i = 0; i < 5; i++, name[0]++)
		CHECK_INT_EQ(
		    state_mailbox_create(st, name, 1, false, &idx[i], &error),
		    0);
	CHECK_INT_EQ(idx[4] - idx[0], 4);
	CHECK_INT_EQ(state_synced_set(st, idx[1], 100, &error), 0);
	CHECK_INT_EQ(state_synced_set(st, idx[4], 100, &error), 0);
	CHECK_INT_EQ(state_synced_set_range(st, idx[1], idx[2], 200, &error),
	             0);
	CHECK_INT_EQ(state_synced_set_range(st, idx[0], idx[0], 300, &error),
	             0);
	state_close(&st);
	CHECK_INT_EQ(raw_int(path, "SELECT group_concat(time, ' ') FROM "
	                           "(SELECT time FROM synced ORDER BY idx)"),
	             300);
	CHECK_INT_EQ(raw_int(path, "SELECT COUNT(*) FROM synced"), 4);
	CHECK_INT_EQ(raw_int(path, "SELECT SUM(time) FROM synced"),
	             300 + 200 + 200 + 100);
	teardown();
}

TEST(rename_with_children)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	struct names ns = {.n = 0};
	unsigned count = 0;
	int64_t idx, a, ab;

	CHECK_INT_EQ(state_mailbox_create(st, "a", 1, false, &a, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "a\0b", 3, false, &ab, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "a\0b\0c", 5, false, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "ab", 2, false, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "z", 1, false, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "x\0b", 3, false, &idx, &error), 0);

	CHECK(state_mailbox_rename(st, "a", 1, "z", 1, &count, &error) < 0);
	CHECK(error != NULL && strstr(error, "mailbox z exists") != NULL);
	CHECK(state_mailbox_rename(st, "a", 1, "a\0n", 3, &count, &error) < 0);
	CHECK(error != NULL && strstr(error, "under itself") != NULL);
	/* a child's new name is taken: nothing moves */
	CHECK(state_mailbox_rename(st, "a", 1, "x", 1, &count, &error) < 0);
	CHECK(error != NULL && strstr(error, "mailbox x/b exists") != NULL);
	CHECK_INT_EQ(state_mailbox_find(st, "a\0b", 3, &idx, NULL, &error), 1);

	CHECK(state_mailbox_rename(st, "a", 1, "new\0q", 5, &count, &error) ==
	      0);
	CHECK_INT_EQ(count, 3);
	CHECK_INT_EQ(state_mailbox_find(st, "new\0q", 5, &idx, NULL, &error), 1);
	CHECK_INT_EQ(idx, a);
	CHECK_INT_EQ(state_mailbox_find(st, "new\0q\0b", 7, &idx, NULL, &error), 1);
	CHECK_INT_EQ(idx, ab);
	CHECK_INT_EQ(state_mailbox_foreach(st, collect_name, &ns, &error), 0);
	CHECK_INT_EQ(ns.n, 6);
	CHECK_STREQ(ns.name[0], "ab");
	CHECK_STREQ(ns.name[1], "new/q");
	CHECK_STREQ(ns.name[2], "new/q/b");
	CHECK_STREQ(ns.name[3], "new/q/b/c");
	CHECK_STREQ(ns.name[4], "x/b");
	CHECK_STREQ(ns.name[5], "z");
	/* a name with no row renames its children only (interimap too) */
	CHECK_INT_EQ(state_mailbox_rename(st, "x", 1, "y", 1, &count, &error), 0);
	CHECK_INT_EQ(count, 1);
	CHECK(state_mailbox_rename(st, "nothing", 7, "y2", 2, &count, &error) ==
	      0);
	CHECK_INT_EQ(count, 0);
	state_close(&st);
	teardown();
}

static int
count_pending(void *context, const struct state_pending *p)
{
	(*(int *)context)++;
	return 0;
}

TEST(delete_mailbox_and_foreign_keys)
{
	const char *path = setup();
	struct state *st = open_ok(path);
	const char *error = NULL;
	struct state_side_status s = {1, 2, 3};
	struct state_side_status r;
	int64_t idx, other;
	uint64_t count;
	int n = 0;

	CHECK_INT_EQ(state_mailbox_create(st, "a", 1, false, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "a\0c", 3, false, &other, &error), 0);
	CHECK_INT_EQ(state_status_set(st, idx, SIDE_LOCAL, &s, &error), 0);
	CHECK_INT_EQ(state_status_set(st, idx, SIDE_REMOTE, &s, &error), 0);
	CHECK_INT_EQ(state_mapping_add(st, idx, 1, 1, 0, &error), 0);
	CHECK_INT_EQ(state_mapping_add(st, other, 1, 1, 0, &error), 0);
	CHECK_INT_EQ(state_pending_add(st, idx, SIDE_LOCAL, 5, "fp", 2, &error), 0);
	CHECK_INT_EQ(state_mailbox_delete(st, idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "a", 1, &idx, NULL, &error), 0);
	CHECK_INT_EQ(state_status_get(st, idx, SIDE_LOCAL, &r, &error), 0);
	CHECK(state_mapping_count(st, idx, &count, &error) == 0 && count == 0);
	CHECK_INT_EQ(state_pending_foreach(st, 0, count_pending, &n, &error), 0);
	CHECK_INT_EQ(n, 0);
	/* not recursive: the child stays */
	CHECK_INT_EQ(state_mailbox_find(st, "a\0c", 3, &idx, NULL, &error), 1);
	CHECK(state_mapping_count(st, other, &count, &error) == 0 &&
	      count == 1);
	CHECK(state_pending_add(st, other, SIDE_REMOTE, 9, "x", 1, &error) ==
	      0);
	state_close(&st);

	/* interimap's tables refuse an orphan; ours cascades */
	CHECK(raw_sql(path, "PRAGMA foreign_keys = ON; "
	                    "DELETE FROM mailboxes") < 0);
	CHECK(raw_sql(path, "PRAGMA foreign_keys = ON; DELETE FROM mapping; "
	                    "DELETE FROM mailboxes") == 0);
	CHECK_INT_EQ(raw_int(path, "SELECT COUNT(*) FROM pending"), 0);
	teardown();
}

TEST(transactions)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	int64_t idx;
	int cache = 0;

	/* the page cache a large mailbox's pairs fit in (in KiB: negative) */
	CHECK_INT_EQ(state_pragma_int(st, "PRAGMA cache_size", &cache, &error),
	             0);
	CHECK_INT_EQ(cache, -STATE_CACHE_KIB);

	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "gone", 4, false, &idx, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "gone", 4, &idx, NULL, &error), 1);
	CHECK_INT_EQ(state_rollback(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "gone", 4, &idx, NULL, &error), 0);
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK(state_begin(st, &error) < 0);
	CHECK_INT_EQ(state_mailbox_create(st, "kept", 4, false, &idx, &error), 0);
	CHECK_INT_EQ(state_commit(st, &error), 0);
	CHECK(state_commit(st, &error) < 0);
	/* left open at close: rolled back */
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "lost", 4, false, &idx, &error), 0);
	state_close(&st);
	st = open_ok(dbpath);
	CHECK_INT_EQ(state_mailbox_find(st, "kept", 4, &idx, NULL, &error), 1);
	CHECK_INT_EQ(state_mailbox_find(st, "lost", 4, &idx, NULL, &error), 0);
	state_close(&st);
	teardown();
}

/* A batch (the APPLY flight's): the transactions within it are parts
 * that commit or roll back alone, and only the batch's end writes them;
 * a batch dropped or left open at close writes nothing. */
TEST(transaction_batch)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	int64_t idx;

	CHECK_INT_EQ(state_batch_begin(st, &error), 0);
	CHECK(state_in_transaction(st));
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "one", 3, false, &idx, &error),
	             0);
	CHECK_INT_EQ(state_commit(st, &error), 0);
	CHECK(state_in_transaction(st)); /* a part's end is not the batch's */
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "undone", 6, false, &idx, &error),
	             0);
	CHECK_INT_EQ(state_rollback(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_find(st, "undone", 6, &idx, NULL, &error),
	             0);
	CHECK_INT_EQ(state_mailbox_find(st, "one", 3, &idx, NULL, &error), 1);
	/* a part left open: the batch's commit takes it too */
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "open", 4, false, &idx, &error),
	             0);
	CHECK_INT_EQ(state_batch_end(st, true, &error), 0);
	CHECK(!state_in_transaction(st));
	/* after the batch, transactions are transactions again */
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK(state_begin(st, &error) < 0);
	CHECK_INT_EQ(state_rollback(st, &error), 0);
	/* dropped: nothing of it stays, its parts' commits neither */
	CHECK_INT_EQ(state_batch_begin(st, &error), 0);
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(
	    state_mailbox_create(st, "dropped", 7, false, &idx, &error), 0);
	CHECK_INT_EQ(state_commit(st, &error), 0);
	CHECK_INT_EQ(state_batch_end(st, false, &error), 0);
	CHECK(!state_in_transaction(st));
	CHECK_INT_EQ(state_mailbox_find(st, "dropped", 7, &idx, NULL, &error),
	             0);
	/* left open at close: nothing written */
	CHECK_INT_EQ(state_batch_begin(st, &error), 0);
	CHECK_INT_EQ(state_begin(st, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "lost", 4, false, &idx, &error),
	             0);
	CHECK_INT_EQ(state_commit(st, &error), 0);
	state_close(&st);
	st = open_ok(dbpath);
	CHECK_INT_EQ(state_mailbox_find(st, "one", 3, &idx, NULL, &error), 1);
	CHECK_INT_EQ(state_mailbox_find(st, "open", 4, &idx, NULL, &error), 1);
	CHECK_INT_EQ(state_mailbox_find(st, "lost", 4, &idx, NULL, &error), 0);
	state_close(&st);
	teardown();
}

struct pend {
	uint32_t uid[4];
	enum side from[4];
	size_t fplen[4];
	int n;
};

static int
collect_pending(void *context, const struct state_pending *p)
{
	struct pend *pd = context;

	if (pd->n == 4)
		return -1;
	pd->uid[pd->n] = p->uid;
	pd->from[pd->n] = p->from;
	pd->fplen[pd->n] = p->fingerprint_len;
	pd->n++;
	return 0;
}

TEST(pending)
{
	struct state *st = open_ok(setup());
	const char *error = NULL;
	unsigned char fp[32];
	struct pend pd = {.n = 0};
	int64_t a, b;

	memset(fp, 0xab, sizeof(fp));
	CHECK_INT_EQ(state_mailbox_create(st, "a", 1, false, &a, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "b", 1, false, &b, &error), 0);
	CHECK_INT_EQ(state_pending_add(st, a, SIDE_LOCAL, 7, fp, 32, &error), 0);
	CHECK_INT_EQ(state_pending_add(st, a, SIDE_REMOTE, 7, fp, 32, &error), 0);
	CHECK_INT_EQ(state_pending_add(st, b, SIDE_REMOTE, 8, NULL, 0, &error), 0);
	CHECK(state_pending_add(st, a, SIDE_LOCAL, 7, fp, 32, &error) < 0);
	CHECK(state_pending_add(st, a, SIDE_LOCAL, 0, fp, 32, &error) < 0);
	CHECK_INT_EQ(state_pending_foreach(st, a, collect_pending, &pd, &error), 0);
	CHECK_INT_EQ(pd.n, 2);
	CHECK(pd.uid[0] == 7 && pd.from[0] == SIDE_LOCAL && pd.fplen[0] == 32);
	CHECK(pd.uid[1] == 7 && pd.from[1] == SIDE_REMOTE);
	pd.n = 0;
	CHECK_INT_EQ(state_pending_foreach(st, 0, collect_pending, &pd, &error), 0);
	CHECK(pd.n == 3 && pd.uid[2] == 8 && pd.fplen[2] == 0);
	CHECK_INT_EQ(state_pending_remove(st, a, SIDE_REMOTE, 7, &error), 1);
	CHECK_INT_EQ(state_pending_remove(st, a, SIDE_REMOTE, 7, &error), 0);
	pd.n = 0;
	CHECK_INT_EQ(state_pending_foreach(st, a, collect_pending, &pd, &error), 0);
	CHECK(pd.n == 1 && pd.from[0] == SIDE_LOCAL);
	state_close(&st);
	teardown();
}

TEST(interimap_database_upgrades)
{
	const char *path = setup();
	struct state *st;
	const char *error = NULL;
	struct state_side_status r;
	uint32_t other;
	int64_t idx;
	char sub[160];

	snprintf(sub, sizeof(sub), "%s/data", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/data/imapsync", dir);
	mkdir(sub, 0700);
	/* what interimap 0.5.7 creates, with one mailbox */
	CHECK(
	    raw_sql(path,
	            "CREATE TABLE mailboxes (idx INTEGER NOT NULL PRIMARY KEY "
	            "AUTOINCREMENT, mailbox BLOB COLLATE BINARY NOT NULL "
	            "CHECK (mailbox != '') UNIQUE, subscribed BOOLEAN NOT "
	            "NULL);"
	            "CREATE TABLE local (idx INTEGER NOT NULL PRIMARY KEY "
	            "REFERENCES mailboxes(idx), UIDVALIDITY UNSIGNED INT NOT "
	            "NULL CHECK (UIDVALIDITY > 0), UIDNEXT UNSIGNED INT NOT "
	            "NULL, HIGHESTMODSEQ UNSIGNED BIGINT NOT NULL);"
	            "CREATE TABLE remote (idx INTEGER NOT NULL PRIMARY KEY "
	            "REFERENCES mailboxes(idx), UIDVALIDITY UNSIGNED INT NOT "
	            "NULL CHECK (UIDVALIDITY > 0), UIDNEXT UNSIGNED INT NOT "
	            "NULL, HIGHESTMODSEQ UNSIGNED BIGINT NOT NULL);"
	            "CREATE TABLE mapping (idx INTEGER NOT NULL REFERENCES "
	            "mailboxes(idx), lUID UNSIGNED INT NOT NULL CHECK (lUID > "
	            "0), rUID UNSIGNED INT NOT NULL CHECK (rUID > 0), PRIMARY "
	            "KEY (idx,lUID), UNIQUE (idx,rUID));"
	            "INSERT INTO mailboxes VALUES (1, x'610062', 1);"
	            "INSERT INTO local VALUES (1, 11, 3, 20);"
	            "INSERT INTO remote VALUES (1, 12, 4, 30);"
	            "INSERT INTO mapping VALUES (1, 2, 3);"
	            "PRAGMA user_version = 1;") == 0);
	st = open_ok(path);
	CHECK(st != NULL && state_found_version(st) == 1);
	if (st != NULL) {
		CHECK(state_mailbox_find(st, "a\0b", 3, &idx, NULL, &error) ==
		      1);
		CHECK_INT_EQ(state_status_get(st, idx, SIDE_REMOTE, &r, &error), 1);
		CHECK(r.uidvalidity == 12 && r.uidnext == 4 &&
		      r.highestmodseq == 30);
		CHECK(state_mapping_lookup(st, idx, SIDE_LOCAL, 2, &other,
		                           &error) == 1);
		CHECK_INT_EQ(other, 3);
		CHECK(state_pending_add(st, idx, SIDE_LOCAL, 3, "f", 1,
		                        &error) == 0);
	}
	state_close(&st);
	CHECK_INT_EQ(raw_int(path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);

	CHECK_INT_EQ(raw_sql(path, "PRAGMA user_version = 99"), 0);
	CHECK_INT_EQ(state_open(path, &st, &error), -1);
	CHECK(error != NULL && strstr(error, "schema version 99 is newer"));
	CHECK_INT_EQ(raw_sql(path, "PRAGMA user_version = 0"), 0);
	CHECK_INT_EQ(state_open(path, &st, &error), -1);
	CHECK(error != NULL && strstr(error, "interimap < 0.5"));
	CHECK(st == NULL);
	teardown();
}

TEST(mailbox_ids)
{
	struct state *st;
	const char *error;
	int64_t a, b, found = 0;
	const char *path = setup();

	st = open_ok(path);
	CHECK(st != NULL);
	if (st == NULL) {
		teardown();
		return;
	}
	CHECK_INT_EQ(state_mailbox_create(st, "a", 1, false, &a, &error), 0);
	CHECK_INT_EQ(state_mailbox_create(st, "b", 1, false, &b, &error), 0);
	CHECK_INT_EQ(state_mailbox_id_set(st, a, SIDE_LOCAL, "guid-a", &error), 0);
	CHECK(state_mailbox_id_set(st, b, SIDE_REMOTE, "guid-a", &error) ==
	      0);
	CHECK(state_mailbox_id_find(st, SIDE_LOCAL, "guid-a", &found,
	                            &error) == 1 &&
	      found == a);
	CHECK(state_mailbox_id_find(st, SIDE_REMOTE, "guid-a", &found,
	                            &error) == 1 &&
	      found == b);
	CHECK_INT_EQ(state_mailbox_id_set(st, a, SIDE_LOCAL, "guid-a2", &error), 0);
	CHECK(state_mailbox_id_find(st, SIDE_LOCAL, "guid-a", &found,
	                            &error) == 0);
	/* Renaming keeps the id; deleting the mailbox drops it. */
	CHECK_INT_EQ(state_mailbox_rename(st, "a", 1, "c", 1, NULL, &error), 0);
	CHECK(state_mailbox_id_find(st, SIDE_LOCAL, "guid-a2", &found,
	                            &error) == 1 &&
	      found == a);
	CHECK_INT_EQ(state_mailbox_delete(st, a, &error), 0);
	CHECK(state_mailbox_id_find(st, SIDE_LOCAL, "guid-a2", &found,
	                            &error) == 0);
	state_close(&st);
	teardown();
}

TEST(refusals)
{
	struct state *st;
	const char *error;
	bool refused = true;
	const char *path = setup();

	st = open_ok(path);
	CHECK(st != NULL);
	if (st == NULL) {
		teardown();
		return;
	}
	CHECK(state_refusal_get(st, SIDE_REMOTE, "X-GUID", &refused,
	                        &error) == 0 &&
	      !refused);
	CHECK(state_refusal_set(st, SIDE_REMOTE, "X-GUID", "BAD", &error) ==
	      0);
	CHECK(state_refusal_set(st, SIDE_REMOTE, "X-GUID", "BAD again",
	                        &error) == 0);
	state_close(&st);
	/* Remembered across runs, per side. */
	st = open_ok(path);
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK(state_refusal_get(st, SIDE_REMOTE, "X-GUID", &refused,
		                        &error) == 0 &&
		      refused);
		CHECK(state_refusal_get(st, SIDE_LOCAL, "X-GUID", &refused,
		                        &error) == 0 &&
		      !refused);
	}
	state_close(&st);
	teardown();
}

/* A file's bytes, for a comparison; NULL if it cannot be read. */
static char *
slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, alloc = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n == alloc) {
			alloc = alloc == 0 ? 65536 : alloc * 2;
			buf = realloc(buf, alloc);
			if (buf == NULL)
				abort();
		}
		got = fread(buf + n, 1, alloc - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len_r = n;
	return buf;
}

/* --dry-run: the database in memory; the file as it was, none made. */
TEST(dry_open_writes_nothing)
{
	const char *path = setup();
	struct state *st = NULL;
	const char *error = NULL;
	char lock[160];
	char *before, *after;
	size_t blen = 0, alen = 0;
	int64_t idx, found;

	/* No file: none made, nor its directory, nor a lock. */
	CHECK_INT_EQ(state_open_dry(path, &st, &error), 0);
	CHECK(st != NULL);
	if (st != NULL)
		CHECK_INT_EQ(state_mailbox_create(st, "INBOX", 5, true, &idx,
		                                  &error),
		             0);
	state_close(&st);
	CHECK(access(path, F_OK) != 0);
	snprintf(lock, sizeof(lock), "%s/data", dir);
	CHECK(access(lock, F_OK) != 0);

	/* A file: read, changed in memory only, the lock gone after. */
	st = open_ok(path);
	CHECK_INT_EQ(state_mailbox_create(st, "INBOX", 5, true, &idx, &error),
	             0);
	state_close(&st);
	before = slurp(path, &blen);
	CHECK_INT_EQ(state_open_dry(path, &st, &error), 0);
	if (st != NULL) {
		CHECK_INT_EQ(state_mailbox_find(st, "INBOX", 5, &found, NULL,
		                                &error),
		             1);
		CHECK_INT_EQ(state_mailbox_create(st, "new", 3, false, &idx,
		                                  &error),
		             0);
	}
	/* A real run meanwhile is refused, as with any run. */
	{
		struct state *st2 = NULL;

		CHECK_INT_EQ(state_open(path, &st2, &error), STATE_LOCKED);
	}
	state_close(&st);
	after = slurp(path, &alen);
	CHECK(before != NULL && after != NULL && blen == alen &&
	      memcmp(before, after, blen) == 0);
	free(before);
	free(after);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	CHECK(access(lock, F_OK) != 0);
	st = open_ok(path);
	CHECK_INT_EQ(state_mailbox_find(st, "new", 3, &found, NULL, &error), 0);
	state_close(&st);

	/* A lock file a killed run left stays as it was. */
	{
		FILE *f = fopen(lock, "w");
		char *l;
		size_t llen = 0;

		CHECK(f != NULL);
		if (f != NULL) {
			fputs("99999\n", f);
			fclose(f);
		}
		CHECK_INT_EQ(state_open_dry(path, &st, &error), 0);
		state_close(&st);
		l = slurp(lock, &llen);
		CHECK(l != NULL && llen == 6 && memcmp(l, "99999\n", 6) == 0);
		free(l);
	}
	teardown();
}

TEST(pair_bases)
{
	struct state *st;
	const char *error;
	char *base = NULL;
	uint64_t forgotten = 9;
	int64_t idx = 0;
	const char *path = setup();

	st = open_ok(path);
	CHECK(st != NULL);
	if (st == NULL) {
		teardown();
		return;
	}
	CHECK(state_mailbox_create(st, "INBOX", 5, false, &idx, &error) == 0);
	CHECK(state_begin(st, &error) == 0);
	CHECK(state_mapping_add_base(st, idx, 1, 11, 100, "\\Seen", &error) ==
	      0);
	CHECK(state_mapping_add_base(st, idx, 2, 12, 100, "\\Seen", &error) ==
	      0);
	CHECK(state_mapping_add_base(st, idx, 3, 13, 0, "", &error) == 0);
	CHECK(state_mapping_add_base(st, idx, 4, 14, 0, NULL, &error) == 0);
	CHECK(state_mapping_add(st, idx, 5, 15, 0, &error) == 0);
	CHECK(state_commit(st, &error) == 0);
	/* Known, by either side's UID; "" is a base, NULL none. */
	CHECK(state_mapping_get_base(st, idx, SIDE_REMOTE, 12, &base,
	                             &error) == 1 &&
	      base != NULL && strcmp(base, "\\Seen") == 0);
	free(base);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 3, &base, &error) ==
	          1 &&
	      base != NULL && strcmp(base, "") == 0);
	free(base);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 4, &base, &error) ==
	          0 &&
	      base == NULL);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 5, &base, &error) ==
	          0 &&
	      base == NULL);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 9, &base, &error) ==
	          0 &&
	      base == NULL);
	/* A list is stored once. */
	CHECK(state_mapping_set_base(st, idx, 5, "\\Seen", &error) == 0);
	CHECK(state_mapping_set_base(st, idx, 1, "$a \\Flagged", &error) == 0);
	/* A rolled back list is not taken for one that exists. */
	CHECK(state_begin(st, &error) == 0);
	CHECK(state_mapping_set_base(st, idx, 2, "kw_new", &error) == 0);
	CHECK(state_rollback(st, &error) == 0);
	CHECK(state_mapping_set_base(st, idx, 3, "kw_new", &error) == 0);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 3, &base, &error) ==
	          1 &&
	      base != NULL && strcmp(base, "kw_new") == 0);
	free(base);
	/* An intent's base. */
	CHECK(state_pending_add_base(st, idx, SIDE_REMOTE, 21, "", 0,
	                             "\\Draft", &error) == 0);
	CHECK(state_pending_add(st, idx, SIDE_REMOTE, 22, "", 0, &error) ==
	      0);
	CHECK(state_pending_get_base(st, idx, SIDE_REMOTE, 21, &base,
	                             &error) == 1 &&
	      base != NULL && strcmp(base, "\\Draft") == 0);
	free(base);
	CHECK(state_pending_get_base(st, idx, SIDE_REMOTE, 22, &base,
	                             &error) == 0 &&
	      base == NULL);
	CHECK(state_pending_get_base(st, idx, SIDE_LOCAL, 21, &base,
	                             &error) == 0 &&
	      base == NULL);
	/* The mark: the same numbers keep the bases, others forget them. */
	CHECK(state_base_mark(st, idx, 40, 50, &error) == 0);
	CHECK(state_base_check(st, idx, 40, 50, &forgotten, &error) == 0 &&
	      forgotten == 0);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 1, &base, &error) ==
	      1);
	free(base);
	CHECK(state_base_check(st, idx, 40, 51, &forgotten, &error) == 0 &&
	      forgotten == 4);
	CHECK(state_mapping_get_base(st, idx, SIDE_LOCAL, 1, &base, &error) ==
	      0);
	state_close(&st);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM flagset"), 5);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM mapping "
	                           "WHERE base IS NOT NULL"),
	             0);
	/* The mark goes with its mailbox. */
	st = open_ok(path);
	CHECK(st != NULL && state_mailbox_delete(st, idx, &error) == 0);
	state_close(&st);
	CHECK_INT_EQ(raw_int(path, "SELECT count(*) FROM base_mark"), 0);
	teardown();
}
