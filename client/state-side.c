/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the database keeps of each side's server as a whole: what it
 * refused or botched (refusal) and its hierarchy delimiter (delimiter). */
#include "state-private.h"

#include <time.h>

int
state_refusal_get(struct state *st, enum side side, const char *feature,
                  bool *refused_r, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_REFUSAL_GET, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, feature, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	*refused_r = rc == SQLITE_ROW;
	state_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_db_error(st, error_r, "read refusals");
	return 0;
}

int
state_refusal_set(struct state *st, enum side side, const char *feature,
                  const char *reason, const char **error_r)
{
	sqlite3_stmt *s = state_stmt(st, STMT_REFUSAL_SET, error_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, feature, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	state_done(s);
	if (rc != SQLITE_DONE)
		return state_db_error(st, error_r, "record a refusal");
	return 0;
}

int
state_delimiter_set(struct state *st, enum side side, char delim,
                    const char **error_r)
{
	sqlite3_stmt *s;

	if ((s = state_stmt(st, STMT_DELIM_SET, error_r)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, side_name(side), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, &delim, delim != '\0' ? 1 : 0,
	                  SQLITE_TRANSIENT);
	return state_run(st, s, "set delimiter", error_r) < 0 ? -1 : 0;
}
