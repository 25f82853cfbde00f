/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the sync records before it sends a command, so that a run killed
 * in between can tell its own work from the user's: the pending table
 * (an intent to copy a message, before its APPEND) and the expunging
 * table (the messages an expunge flags \Deleted, before its STORE). */
#include "state-private.h"

#include <string.h>
#include <time.h>

int
state_pending_add(struct state *st, int64_t idx, enum side from, uint32_t uid,
                  const void *fingerprint, size_t fp_len, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PENDING_ADD, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	/* zero-length blobs bind as NULL otherwise */
	sqlite3_bind_blob(s, 4, fp_len > 0 ? fingerprint : "", fp_len,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
	return state_run(st, s, "add pending copy", error_r) < 0 ? -1 : 0;
}

int
state_pending_add_base(struct state *st, int64_t idx, enum side from,
                       uint32_t uid, const void *fingerprint, size_t fp_len,
                       const char *base, const char **error_r)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (base != NULL && flagset_id(st, base, &id, error_r) < 0)
		return -1;
	if ((s = state_stmt(st, STMT_PENDING_ADD_BASE, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	sqlite3_bind_blob(s, 4, fp_len > 0 ? fingerprint : "", fp_len,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)time(NULL));
	state_bind_or_null(s, 6, base != NULL, id);
	return state_run(st, s, "add pending copy", error_r) < 0 ? -1 : 0;
}

int
state_pending_get_base(struct state *st, int64_t idx, enum side from,
                       uint32_t uid, char **base_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PENDING_BASE_GET, error_r);

	*base_r = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	return state_step_text(st, s, base_r, "look up intent base", error_r);
}

int
state_pending_remove(struct state *st, int64_t idx, enum side from,
                     uint32_t uid, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_PENDING_REMOVE, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	return state_run(st, s, "remove pending copy", error_r);
}

int
state_pending_foreach(struct state *st, int64_t idx, state_pending_fn *fn,
                      void *context, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(
	    st, idx != 0 ? STMT_PENDING_LIST_ONE : STMT_PENDING_LIST_ALL,
	    error_r);
	struct state_pending p;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	if (idx != 0)
		sqlite3_bind_int64(s, 1, idx);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *side = (const char *)sqlite3_column_text(s, 1);

		p.idx = sqlite3_column_int64(s, 0);
		p.from = side != NULL && strcmp(side, "remote") == 0
		             ? SIDE_REMOTE
		             : SIDE_LOCAL;
		p.uid = (uint32_t)sqlite3_column_int64(s, 2);
		p.fingerprint = sqlite3_column_blob(s, 3);
		p.fingerprint_len = sqlite3_column_bytes(s, 3);
		p.created = sqlite3_column_int64(s, 4);
		if ((ret = fn(context, &p)) != 0)
			break;
	}
	state_done(s);
	if (ret == 0 && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "list pending copies");
	return ret;
}

static int
expunging_set(struct state *st, enum stmt id, int64_t idx, enum side side,
              uint32_t uid, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, id, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	return state_run(st, s, "expunging", error_r) < 0 ? -1 : 0;
}

int
state_expunging_add(struct state *st, int64_t idx, enum side side, uint32_t uid,
                    const char **error_r)
{
	return expunging_set(st, STMT_EXPUNGING_ADD, idx, side, uid, error_r);
}

int
state_expunging_remove(struct state *st, int64_t idx, enum side side,
                       uint32_t uid, const char **error_r)
{
	return expunging_set(st, STMT_EXPUNGING_REMOVE, idx, side, uid,
	                     error_r);
}

int
state_expunging_any(struct state *st, bool *any_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_EXPUNGING_ANY, error_r);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	*any_r = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	state_done(s);
	if (rc != SQLITE_ROW)
		return state_db_error(st, error_r, "expunging");
	return 0;
}

int
state_expunging_foreach(struct state *st, int64_t idx, enum side side,
                        state_uid_fn *fn, void *context, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_EXPUNGING_LIST, error_r);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_text(s, 2, side_name(side), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = fn(context, (uint32_t)sqlite3_column_int64(s, 0));
		if (ret != 0)
			break;
	}
	state_done(s);
	if (ret == 0 && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "list expunging");
	return ret;
}
