/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mapping table: the pairs of UIDs, one per message found on both
 * sides, with its size and its base (the flags as last synchronized,
 * a flagset row), and base_mark, which tells whether a mailbox's bases
 * are still good. */
#include "state-private.h"

#include <stdint.h>

int
state_mapping_add_base(struct state *st, int64_t idx, uint32_t luid,
                       uint32_t ruid, uint32_t size, const char *base,
                       const char **error_r)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (base != NULL && flagset_id(st, base, &id, error_r) < 0)
		return -1;
	if ((s = state_stmt(st, STMT_MAPPING_ADD_BASE, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, luid);
	sqlite3_bind_int64(s, 3, ruid);
	state_bind_or_null(s, 4, size > 0, size);
	state_bind_or_null(s, 5, base != NULL, id);
	return state_run(st, s, "add mapping", error_r) < 0 ? -1 : 0;
}

int
state_mapping_add(struct state *st, int64_t idx, uint32_t luid, uint32_t ruid,
                  uint32_t size, const char **error_r)
{
	return state_mapping_add_base(st, idx, luid, ruid, size, NULL, error_r);
}

int
state_mapping_set_base(struct state *st, int64_t idx, uint32_t luid,
                       const char *base, const char **error_r)
{
	sqlite3_stmt *s;
	int64_t id = 0;

	if (base != NULL && flagset_id(st, base, &id, error_r) < 0)
		return -1;
	if ((s = state_stmt(st, STMT_BASE_SET, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, luid);
	state_bind_or_null(s, 3, base != NULL, id);
	return state_run(st, s, "set base flags", error_r) < 0 ? -1 : 0;
}

int
state_mapping_get_base(struct state *st, int64_t idx, enum side side,
                       uint32_t uid, char **base_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_BASE_GET_LOCAL + side, error_r);

	*base_r = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, uid);
	return state_step_text(st, s, base_r, "look up base flags", error_r);
}

int
state_base_mark(struct state *st, int64_t idx, uint64_t local_hms,
                uint64_t remote_hms, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MARK_SET, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, (int64_t)local_hms);
	sqlite3_bind_int64(s, 3, (int64_t)remote_hms);
	return state_run(st, s, "mark bases", error_r) < 0 ? -1 : 0;
}

int
state_base_check(struct state *st, int64_t idx, uint64_t local_hms,
                 uint64_t remote_hms, uint64_t *forgotten_r,
                 const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MARK_GET, error_r);
	bool same = false;
	int rc, n;

	*forgotten_r = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		same = (uint64_t)sqlite3_column_int64(s, 0) == local_hms &&
		       (uint64_t)sqlite3_column_int64(s, 1) == remote_hms;
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "look up base mark");
	if (same)
		return 0;
	if ((s = state_stmt(st, STMT_BASE_FORGET, error_r)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	if ((n = state_run(st, s, "forget bases", error_r)) < 0)
		return -1;
	*forgotten_r = (uint64_t)n;
	return 0;
}

int
state_mapping_remove(struct state *st, int64_t idx, enum side side,
                     uint32_t uid, const char **error_r)
{
	sqlite3_stmt *s =
	    state_stmt(st, STMT_MAPPING_REMOVE_LOCAL + side, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, uid);
	return state_run(st, s, "remove mapping", error_r);
}

int
state_mapping_lookup(struct state *st, int64_t idx, enum side side,
                     uint32_t uid, uint32_t *other_r, const char **error_r)
{
	return state_mapping_lookup_size(st, idx, side, uid, other_r, NULL,
	                                 error_r);
}

int
state_mapping_lookup_size(struct state *st, int64_t idx, enum side side,
                          uint32_t uid, uint32_t *other_r, uint32_t *size_r,
                          const char **error_r)
{
	sqlite3_stmt *s =
	    state_stmt(st, STMT_MAPPING_LOOKUP_LOCAL + side, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, uid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int64_t size = sqlite3_column_int64(s, 1); /* 0 if NULL */

		*other_r = (uint32_t)sqlite3_column_int64(s, 0);
		if (size_r != NULL)
			*size_r =
			    size > 0 && size <= UINT32_MAX ? (uint32_t)size : 0;
	}
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "look up mapping");
	return rc == SQLITE_ROW ? 1 : 0;
}

int
state_mapping_count(struct state *st, int64_t idx, uint64_t *count_r,
                    const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_MAPPING_COUNT, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count_r = (uint64_t)sqlite3_column_int64(s, 0);
	state_done(s);
	if (rc != SQLITE_ROW)
		return state_db_error(st, error_r, "count mapping");
	return 0;
}

int
state_mapping_foreach(struct state *st, int64_t idx, enum side order,
                      state_mapping_fn *fn, void *context, const char **error_r)
{
	return state_mapping_foreach_range(st, idx, order, 1, UINT32_MAX, fn,
	                                   context, error_r);
}

int
state_mapping_foreach_range(struct state *st, int64_t idx, enum side order,
                            uint32_t lo, uint32_t hi, state_mapping_fn *fn,
                            void *context, const char **error_r)
{
	sqlite3_stmt *s =
	    state_stmt(st, STMT_MAPPING_LIST_LOCAL + order, error_r);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = fn(context, (uint32_t)sqlite3_column_int64(s, 0),
		         (uint32_t)sqlite3_column_int64(s, 1));
		if (ret != 0)
			break;
	}
	state_done(s);
	if (ret == 0 && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "list mapping");
	return ret;
}

int
state_mapping_clear(struct state *st, int64_t idx, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_DELETE_MAPPING, error_r);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, idx);
	return state_run(st, s, "clear mapping", error_r) < 0 ? -1 : 0;
}
