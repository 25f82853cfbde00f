/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mailboxes table and what the database keeps of each mailbox: its
 * local and remote rows (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ), its ids
 * (mailbox_id) and when it was last found in step (synced). Deleting
 * and renaming a mailbox take its rows along. */
#include "state-private.h"

#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mailbox name for messages: NUL shown as '/'. */
static const char *
pretty(char *buf, size_t size, const void *name, size_t len)
{
	const unsigned char *p = name;
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		buf[i] = p[i] == '\0' ? '/' : p[i] < 0x20 ? '?' : (char)p[i];
	buf[len] = '\0';
	return buf;
}

int
state_mailbox_find(struct state *st, const void *name, size_t len,
                   int64_t *idx_r, bool *subscribed_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MAILBOX_FIND, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, name, len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*idx_r = sqlite3_column_int64(s, 0);
		if (subscribed_r != NULL)
			*subscribed_r = sqlite3_column_int(s, 1) != 0;
	}
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "find mailbox");
	return rc == SQLITE_ROW ? 1 : 0;
}

int
state_mailbox_create(struct state *st, const void *name, size_t len,
                     bool subscribed, int64_t *idx_r, const char **error_r)
{
	sqlite3_stmt *s;

	if (len == 0)
		return state_set_error(st, error_r, "empty mailbox name");
	if ((s = state_stmt(st, STMT_MAILBOX_CREATE, error_r)) == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, name, len, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, subscribed ? 1 : 0);
	if (state_run(st, s, "create mailbox", error_r) < 0)
		return -1;
	*idx_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
state_mailbox_set_subscribed(struct state *st, int64_t idx, bool subscribed,
                             const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MAILBOX_SUBSCRIBE, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int(s, 2, subscribed ? 1 : 0);
	return state_run(st, s, "subscribe mailbox", error_r) < 0 ? -1 : 0;
}

/* A savepoint makes a multi-statement change all-or-nothing whether or
 * not the caller has a transaction open; ret < 0 undoes it, error_r
 * keeping what failed. */
static int
savepoint_end(struct state *st, int ret, const char **error_r)
{
	const char *ignored;

	if (ret < 0) {
		(void)state_savepoint_end(st, false, &ignored);
		return -1;
	}
	return state_savepoint_end(st, true, error_r);
}

int
state_mailbox_delete(struct state *st, int64_t idx, const char **error_r)
{
	/* interimap's order, so its foreign keys hold at every step */
	static const enum stmt order[] = {
	    STMT_DELETE_MAPPING, STMT_DELETE_LOCAL,     STMT_DELETE_REMOTE,
	    STMT_DELETE_PENDING, STMT_DELETE_EXPUNGING, STMT_DELETE_MAILBOX,
	};
	sqlite3_stmt *s;
	int ret = 0;

	if (state_savepoint(st, error_r) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && ret >= 0;
	     i++) {
		if ((s = state_stmt(st, order[i], error_r)) == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_int64(s, 1, idx);
		ret = state_run(st, s, "delete mailbox", error_r);
	}
	return savepoint_end(st, ret, error_r);
}

struct rename_row {
	int64_t idx;
	unsigned char *name;
	size_t len;
};

static int
rename_rows(struct state *st, struct rename_row *rows, size_t count,
            size_t from_len, const void *to, size_t to_len,
            const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_RENAME_SET, error_r);
	char pbuf[256];

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		size_t len = to_len + rows[i].len - from_len;
		unsigned char *name = xmalloc(len);
		int rc;

		memcpy(name, to, to_len);
		memcpy(name + to_len, rows[i].name + from_len,
		       rows[i].len - from_len);
		sqlite3_bind_int64(s, 1, rows[i].idx);
		sqlite3_bind_blob(s, 2, name, len, SQLITE_STATIC);
		rc = sqlite3_step(s);
		state_done(s);
		if (rc == SQLITE_CONSTRAINT)
			state_set_error(
			    st, error_r,
			    "database %s: cannot rename: mailbox %s "
			    "exists",
			    st->path, pretty(pbuf, sizeof(pbuf), name, len));
		else if (rc != SQLITE_DONE)
			state_db_error(st, error_r, "rename mailbox");
		free(name);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

int
state_mailbox_rename(struct state *st, const void *from, size_t from_len,
                     const void *to, size_t to_len, unsigned *count_r,
                     const char **error_r)
{
	struct rename_row *rows = NULL;
	size_t count = 0;
	unsigned char *lo, *hi;
	sqlite3_stmt *s;
	char pbuf[256];
	int rc, ret = 0;
	int64_t idx;

	if (from_len == 0 || to_len == 0)
		return state_set_error(st, error_r, "empty mailbox name");
	if (to_len > from_len && memcmp(to, from, from_len) == 0 &&
	    ((const char *)to)[from_len] == '\0')
		return state_set_error(
		    st, error_r, "cannot move mailbox %s under itself",
		    pretty(pbuf, sizeof(pbuf), from, from_len));
	rc = state_mailbox_find(st, to, to_len, &idx, NULL, error_r);
	if (rc != 0)
		return rc < 0 ? -1
		              : state_set_error(
		                    st, error_r,
		                    "database %s: cannot rename: mailbox "
		                    "%s exists",
		                    st->path,
		                    pretty(pbuf, sizeof(pbuf), to, to_len));
	if ((s = state_stmt(st, STMT_RENAME_LIST, error_r)) == NULL)
		return -1;
	lo = xmalloc(from_len + 1);
	hi = xmalloc(from_len + 1);
	memcpy(lo, from, from_len);
	memcpy(hi, from, from_len);
	lo[from_len] = '\0';
	hi[from_len] = '\1';
	sqlite3_bind_blob(s, 1, from, from_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, lo, from_len + 1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, hi, from_len + 1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t len = sqlite3_column_bytes(s, 1);

		rows = xreallocarray(rows, count + 1, sizeof(*rows));
		rows[count].name = xmalloc(len + 1);
		rows[count].idx = sqlite3_column_int64(s, 0);
		rows[count].len = len;
		if (len > 0)
			memcpy(rows[count].name, sqlite3_column_blob(s, 1),
			       len);
		count++;
	}
	state_done(s);
	free(lo);
	free(hi);
	if (rc != SQLITE_DONE)
		ret = state_db_error(st, error_r, "rename mailbox");
	if (ret == 0 && count > 0) {
		if (state_savepoint(st, error_r) < 0)
			ret = -1;
		else
			ret =
			    savepoint_end(st,
			                  rename_rows(st, rows, count, from_len,
			                              to, to_len, error_r),
			                  error_r);
	}
	for (size_t i = 0; i < count; i++)
		free(rows[i].name);
	free(rows);
	if (ret == 0 && count_r != NULL)
		*count_r = count;
	return ret;
}

static bool
read_status(sqlite3_stmt *s, int col, struct state_side_status *st_r)
{
	int64_t v = sqlite3_column_int64(s, col);
	int64_t n = sqlite3_column_int64(s, col + 1);
	int64_t m = sqlite3_column_int64(s, col + 2);

	if (v <= 0 || v > UINT32_MAX || n < 0 || n > UINT32_MAX || m < 0)
		return false;
	st_r->uidvalidity = v;
	st_r->uidnext = n;
	st_r->highestmodseq = m;
	return true;
}

int
state_mailbox_foreach(struct state *st, state_mailbox_fn *fn, void *context,
                      const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MAILBOX_LIST, error_r);
	struct state_mailbox mb;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&mb, 0, sizeof(mb));
		mb.idx = sqlite3_column_int64(s, 0);
		mb.name = sqlite3_column_blob(s, 1);
		mb.name_len = sqlite3_column_bytes(s, 1);
		mb.subscribed = sqlite3_column_int(s, 2) != 0;
		for (int side = 0; side < SIDE_COUNT; side++) {
			if (sqlite3_column_type(s, 3 + 3 * side) == SQLITE_NULL)
				continue;
			if (!read_status(s, 3 + 3 * side, &mb.status[side])) {
				state_done(s);
				return state_set_error(
				    st, error_r,
				    "database %s: bad %s row for "
				    "mailbox %lld",
				    st->path, side_name(side),
				    (long long)mb.idx);
			}
			mb.have[side] = true;
		}
		if ((ret = fn(context, &mb)) != 0)
			break;
	}
	state_done(s);
	if (ret == 0 && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "list mailboxes");
	return ret;
}

int
state_status_get(struct state *st, int64_t idx, enum side side,
                 struct state_side_status *status_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_STATUS_GET_LOCAL + side, error_r);
	int rc;
	bool ok = true;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ok = read_status(s, 0, status_r);
	state_done(s);
	if (!ok)
		return state_set_error(
		    st, error_r, "database %s: bad %s row for mailbox %lld",
		    st->path, side_name(side), (long long)idx);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "get status");
	return rc == SQLITE_ROW ? 1 : 0;
}

int
state_status_set(struct state *st, int64_t idx, enum side side,
                 const struct state_side_status *status, const char **error_r)
{
	sqlite3_stmt *s;

	if (status->highestmodseq > INT64_MAX)
		return state_set_error(
		    st, error_r, "HIGHESTMODSEQ %llu is out of range",
		    (unsigned long long)status->highestmodseq);
	if ((s = state_stmt(st, STMT_STATUS_SET_LOCAL + side, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, status->uidvalidity);
	sqlite3_bind_int64(s, 3, status->uidnext);
	sqlite3_bind_int64(s, 4, (int64_t)status->highestmodseq);
	return state_run(st, s, "set status", error_r) < 0 ? -1 : 0;
}

int
state_mailbox_id_set(struct state *st, int64_t idx, enum side side,
                     const char *id, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_ID_SET, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, id, -1, SQLITE_TRANSIENT);
	return state_run(st, s, "set mailbox id", error_r) < 0 ? -1 : 0;
}

int
state_mailbox_id_find(struct state *st, enum side side, const char *id,
                      int64_t *idx_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_ID_FIND, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*idx_r = sqlite3_column_int64(s, 0);
	state_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return state_db_error(st, error_r, "find mailbox id");
	return 0;
}

int
state_mailbox_id_get(struct state *st, int64_t idx, enum side side, char *id,
                     size_t size, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_ID_GET, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(side), -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(id, size, "%s",
		         (const char *)sqlite3_column_text(s, 0));
	state_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return state_db_error(st, error_r, "get mailbox id");
	return 0;
}

int
state_mailbox_ids_missing(struct state *st, enum side side, uint64_t *count_r,
                          const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_ID_MISSING, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, side_name(side), -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(s, 0);
	state_done(s);
	if (rc != SQLITE_ROW)
		return state_db_error(st, error_r,
		                      "count mailboxes without id");
	return 0;
}

int
state_mailbox_count(struct state *st, uint64_t *count_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MAILBOX_COUNT, error_r);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(s, 0);
	state_done(s);
	if (rc != SQLITE_ROW)
		return state_db_error(st, error_r, "count mailboxes");
	return 0;
}

int
state_synced_set(struct state *st, int64_t idx, int64_t when,
                 const char **error_r)
{
	sqlite3_stmt *s;

	if ((s = state_stmt(st, STMT_SYNCED_SET, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, when);
	return state_run(st, s, "set synced", error_r) < 0 ? -1 : 0;
}

int
state_synced_set_range(struct state *st, int64_t lo, int64_t hi, int64_t when,
                       const char **error_r)
{
	sqlite3_stmt *s;
	int changed;

	if ((s = state_stmt(st, STMT_SYNCED_SET_RANGE, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, lo);
	sqlite3_bind_int64(s, 2, hi);
	sqlite3_bind_int64(s, 3, when);
	if ((changed = state_run(st, s, "set synced", error_r)) < 0)
		return -1;
	/* Rows missing (mailboxes never in step before): one by one. */
	if (changed < hi - lo + 1) {
		for (; lo <= hi; lo++) {
			if (state_synced_set(st, lo, when, error_r) < 0)
				return -1;
		}
	}
	return 0;
}
